"""`open`: an incident becomes a branch with one commit per SDD phase and a pull request.

Incidents are per remediation target (bot/rules/delivery.py decides what each alert of a delivery does:
open, join, wait behind a lock, resolve, validate or nothing); this module reads what that rule needs
from the forge and carries its decision out. A delivery with several targets (a Grafana or Alertmanager
group) is one event per target, each decided on its own, and `open` prints one line per incident touched.

Every phase is recomputed from the recorded sources and the desired state; only phases whose files
differ get a commit, and the branch moves once, after the last one (compare-and-swap). A re-run after a
crash, a duplicate delivery or a racing process therefore converges to the same branch. Reads of the
default branch come from the forge's view of it (a local checkout in CI), so opening an incident on
GitHub costs a fixed, small number of API requests, plus about three per other incident branch (see bench/).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bot.config.loader import canonical_json, parse_json
from bot.config.policy import Policy
from bot.errors import InputError, RuleRefusal
from bot.flows import escalation, history, trace, validation, waiting
from bot.flows.derive import derive, renormalized, target
from bot.flows.workspace import Workspace, source_name
from bot.forge.base import RefCollision, RefConflict, blocking_ref
from bot.intake.normalize import normalize
from bot.intake.sources import SOURCES
from bot.model.enums import AuditStatus, AuditStep
from bot.model.ids import incident_branch, incident_dir
from bot.render.escape import commit_message
from bot.render.report import pull_body, pull_title
from bot.rules import audit, codeowners, delivery
from bot.rules import sync as sync_rule
from bot.rules.delivery import Arrival, Known, Outcome

Phase = tuple[str, dict[str, str], str]  # name, files, why


@dataclass(frozen=True)
class Opened:
    incident_id: str
    outcome: Outcome
    pull: int | None
    detail: str = ""

    def line(self) -> str:
        pull = f" pull=#{self.pull}" if self.pull else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.outcome} incident={self.incident_id}{pull}{detail}"


def open_incidents(ws: Workspace, payloads: dict[str, tuple[Any, str]]) -> list[Opened]:
    policy = ws.policy()
    events = normalize(payloads, policy.incident_types)
    sources = {}
    for source, (data, _) in payloads.items():
        kept = SOURCES[source].kept(data)  # only what normalization reads (bot/intake/redact.py)
        sources[source_name(source, kept)] = canonical_json(kept)
    results: list[Opened] = []
    for event in events:
        results += _open_one(ws, policy, event, sources)
    return one_line_each(results)


def one_line_each(results: list[Opened]) -> list[Opened]:
    """One line per incident, in the order first touched, saying the most telling thing that happened."""
    best: dict[str, Opened] = {}
    for r in results:
        old = best.get(r.incident_id)
        if old is None or delivery.PRECEDENCE.index(r.outcome) < delivery.PRECEDENCE.index(old.outcome):
            best[r.incident_id] = r if old is None else dataclasses.replace(r, pull=r.pull or old.pull)
    return list(best.values())


def _arrival(ws: Workspace, event: dict[str, Any], sources: dict[str, str]) -> Arrival:
    ends = [r["ends_at"] for refs in event["source_refs"].values() for r in refs if r.get("ends_at")]
    resolved_at = (max(ends) if ends else ws.clock()) if event["status"] == "resolved" else None
    return Arrival(event["type"], event["incident_key"], target(ws)(event), event["status"], frozenset(sources),
                   resolved_at)


def _open_one(ws: Workspace, policy: Policy, event: dict[str, Any], sources: dict[str, str]) -> list[Opened]:
    if event["type"] == policy.incident_types.unclassified.name:
        return [Opened(event["incident_id"], Outcome.SKIPPED, None,
                       f"alert {event['alertname']!r} matches no incident type in policies/incident_types.yaml")]
    arrival = _arrival(ws, event, sources)
    for _ in range(10):
        branches = ws.forge.branches("incident/")
        known, keys = _known(ws, arrival, branches, sources)
        decision = delivery.decide(arrival, known)
        try:
            return _carry_out(ws, policy, event, sources, decision, branches, keys)
        except RefConflict:
            continue  # a racer created or moved the branch: look again
    raise RuleRefusal(f"could not open {event['incident_key']}: the incident branch kept moving")


def _known(ws: Workspace, a: Arrival, branches: dict[str, str], sources: dict[str, str]
           ) -> tuple[list[Known], dict[str, str]]:
    """Every incident as the rule needs it: its event.json always; its pull request, whether it holds this
    delivery and its trace only when it may matter (same workload, or the alert's own key)."""
    known, anchors = [], {}
    of = target(ws)
    main = history.main_commit(ws)
    for branch, head in sorted(branches.items()):
        incident_id = branch.split("/", 1)[1]
        d = incident_dir(incident_id)
        try:  # an event.json made unreadable on its branch joins nothing (and blocks no other incident)
            data = parse_json(ws.forge.read(head, f"{d}/event.json") or "null", f"{d}/event.json on {branch}")
        except InputError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("incident_key"), str):
            continue  # not an incident the bot can read: it joins nothing
        listed = data.get("alert_keys")
        keys: list[Any] = listed if isinstance(listed, list) else [data["incident_key"]]
        k = Known(incident_id, str(data.get("type")), of(data), frozenset(str(x) for x in keys), "")
        anchors[incident_id] = data["incident_key"]
        if not delivery.same_target(k, a) and a.key not in k.keys:
            known.append(k)
            continue
        holds = all(ws.forge.read(head, f"{d}/sources/{name}") is not None for name in sorted(sources))
        # merged: no pull request lookup (a workload's past incidents would each cost one)
        if history.merged_plan(ws, main, incident_id) is not None:
            state = delivery.MERGED
        else:
            pull = ws.forge.find_pull(branch)
            state = delivery.UNOPENED if pull is None else pull.state
        facts = _trace_facts(ws, incident_id) if a.status == "resolved" and a.key in k.keys else {}
        known.append(dataclasses.replace(k, state=state, holds=holds, **facts))
    return known, anchors


def _trace_facts(ws: Workspace, incident_id: str) -> dict[str, Any]:
    """What the audit trace says about the incident's resolutions and its merge."""
    resolved: set[str] = set()
    files: set[str] = set()
    ended, remediated = False, None
    for e in trace.entries(ws, incident_id):
        if e.status != AuditStatus.OK or e.evidence.get("rollback"):
            continue
        if e.step in (AuditStep.ALERT_RESOLVED, AuditStep.VALIDATE, AuditStep.RESOLVED_UNREMEDIATED):
            resolved |= {str(x) for x in e.evidence.get("keys", [])}
            files |= {str(f).rsplit("/", 1)[-1] for f in e.evidence.get("files", [])}
            ended = ended or e.step != AuditStep.ALERT_RESOLVED
        # applied no earlier than its merge, and no earlier than the sync Argo CD reported (bot/rules/sync.py);
        # a `sync pending` (status not ok, skipped above) observed nothing and moves nothing
        at = e.at if e.step == AuditStep.MERGE else sync_rule.observed_at(e) if e.step == AuditStep.SYNC else None
        if at is not None:
            remediated = max(remediated or at, at)
    return {"resolved_keys": frozenset(resolved), "resolutions": frozenset(files), "ended": ended,
            "remediated_at": remediated}


def _carry_out(ws: Workspace, policy: Policy, event: dict[str, Any], sources: dict[str, str],
               decision: delivery.Decision, branches: dict[str, str], anchors: dict[str, str]) -> list[Opened]:
    outcome, incident_id = decision.outcome, decision.incident_id
    if incident_id is None and outcome == Outcome.SKIPPED:
        return [Opened(event["incident_id"], outcome, None, decision.detail)]
    if outcome == Outcome.WAITING:
        assert incident_id is not None
        waiting.record(ws, incident_id, event, sources)
        return [Opened(incident_id, outcome, _pull_number(ws, incident_id), decision.detail)]
    if outcome in (Outcome.SKIPPED, Outcome.PARTIALLY_RESOLVED, Outcome.RESOLVED_UNREMEDIATED, Outcome.VALIDATED):
        assert incident_id is not None
        return _resolution(ws, policy, event, sources, decision, incident_id)
    if outcome == Outcome.DUPLICATE:
        assert incident_id is not None
        existing = ws.forge.find_pull(incident_branch(incident_id))
        # a pull request without its labels was left by a crash between opening and labelling:
        # take the full path, which repairs it
        if existing is None or existing.state != "open" or any(lb.startswith("incident:") for lb in existing.labels):
            return [Opened(incident_id, outcome, existing.number if existing else None)]
    if incident_id is None:  # a new incident, unless its service is at its cap of open pull requests
        capped = escalation.cap_reached(ws, event, branches)
        if capped is not None:
            return [Opened(escalation.escalate(ws, event, sources, capped)[0], Outcome.ESCALATED, None, capped)]
    return [_write(ws, policy, event, sources, incident_id, branches, anchors)]


def _write(ws: Workspace, policy: Policy, event: dict[str, Any], sources: dict[str, str], found: str | None,
           branches: dict[str, str], anchors: dict[str, str]) -> Opened:
    """Open a new incident (`found` None: the next sequence number of its type and day) or add to one."""
    stem = event["incident_id"].rsplit("-", 1)[0]
    taken = [int(b.rsplit("-", 1)[1]) for b in branches if b.startswith(f"incident/{stem}-")
             and b.rsplit("-", 1)[1].isdigit()]
    if found is None:  # an escalated incident has a record (audit/<id>) and no branch: its number stays taken
        records = ws.forge.branches(f"audit/{stem}-")
        taken += escalation.numbers(records)
    incident_id = found or f"{stem}-{max(taken, default=0) + 1:02d}"
    if found is None:  # the trace is written after the branch: refuse a collision of either before writing
        for ref, existing in ((incident_branch(incident_id), branches), (f"audit/{incident_id}", records)):
            blocking = blocking_ref(ref, list(existing))
            if blocking is not None:
                raise RefCollision(f"refs/heads/{ref}", f"refs/heads/{blocking}")
    head = branches.get(incident_branch(incident_id)) if found else None
    key = anchors.get(incident_id, event["incident_key"]) if found else event["incident_key"]
    phases, summary = _phases(ws, policy, incident_id, key, event, sources, head)
    if phases:
        head = _commit(ws, incident_id, key, head, phases)
    pull, created = _ensure_pull(ws, incident_id, summary, head, new=found is None)
    # a pull request this run created is OPENED even when an earlier, interrupted run wrote the branch:
    # its head still needs judging, which DUPLICATE would skip (intake judges OPENED and UPDATED only)
    outcome = Outcome.OPENED if found is None or created else (Outcome.UPDATED if phases else Outcome.DUPLICATE)
    detail = "pull request opened for a branch an interrupted run left; needs its checks" \
        if created and found is not None else ""
    return Opened(incident_id, outcome, pull, detail)


def _pull_number(ws: Workspace, incident_id: str) -> int | None:
    pull = ws.forge.find_pull(incident_branch(incident_id))
    return pull.number if pull else None


def _resolution(ws: Workspace, policy: Policy, event: dict[str, Any], sources: dict[str, str],
                decision: delivery.Decision, incident_id: str) -> list[Opened]:
    """Record a resolution of the incident's alerts: partial, before any remediation (the pull request is
    closed with the reason), or after the merged change (validation); a premature one records nothing."""
    pull = ws.forge.find_pull(incident_branch(incident_id))
    number = pull.number if pull else None
    outcome = decision.outcome
    if outcome == Outcome.SKIPPED:
        return [Opened(incident_id, outcome, number, decision.detail)]
    files = {f"{incident_dir(incident_id)}/validation/{name}": text for name, text in sources.items()}
    evidence: dict[str, Any] = {"files": sorted(files), "keys": [event["incident_key"]]}
    if outcome == Outcome.PARTIALLY_RESOLVED:
        trace.record(ws, incident_id, AuditStep.ALERT_RESOLVED, AuditStatus.OK,
                     {**evidence, "still_firing": sorted(decision.remaining)}, extra_files=files)
        return [Opened(incident_id, outcome, number, f"{decision.detail}; {len(decision.remaining)} still firing")]
    if outcome == Outcome.RESOLVED_UNREMEDIATED:
        reason = (f"Closed by incident-bot: every alert of {incident_id} resolved before a remediation was "
                  "merged, so no change is needed (an unjustified restart would reach main). The trace records "
                  "`resolved_unremediated`; a new alert opens a new incident.")
        trace.record(ws, incident_id, AuditStep.RESOLVED_UNREMEDIATED, AuditStatus.OK,
                     {**evidence, "pull": number, "note": "every alert resolved before any merge"}, extra_files=files)
        if pull is not None and pull.state == "open":
            ws.forge.close_pull(pull.number, reason)
        return [Opened(incident_id, outcome, number, "pull request closed: resolved before remediation"),
                *release(ws, incident_id)]
    trace.record(ws, incident_id, AuditStep.VALIDATE, AuditStatus.OK, {
        **evidence, "merged": True, "note": "alert resolved after the remediation merged",
        **validation.checked_criteria(ws, incident_id, sorted(files))}, extra_files=files)
    return [Opened(incident_id, outcome, number), *release(ws, incident_id)]


def release(ws: Workspace, holder: str) -> list[Opened]:
    """Open what waited behind `holder`'s lock (now that it no longer holds the workload), then record it."""
    pending = waiting.pending(ws, holder)
    results: list[Opened] = []
    for source, data, name in pending:
        results += open_incidents(ws, {source: (data, name)})
    if pending:
        waiting.released(ws, holder, [name for _, _, name in pending], [r.line() for r in results])
    return results


def _commit(ws: Workspace, incident_id: str, key: str, head: str | None, phases: list[Phase]) -> str:
    base = ws.forge.head(ws.main)
    assert base is not None
    changes = [(files, phase_message(incident_id, key, name, files, why)) for name, files, why in phases]
    if ws.command is not None:  # the run's command, base and verdict: the trace implies its entry from these
        name, files, why = phases[-1]
        ran = [("Command", ws.command(incident_id).replace("\n", " ")), ("Base", base),
               ("Verdict", "OPENED" if head is None else "UPDATED")]
        changes[-1] = (files, phase_message(incident_id, key, name, files, why, ran))
    return ws.forge.commit_chain(incident_branch(incident_id), head or base, changes, create=head is None,
                                 seal=ws.sealer())


def phases_on_main(ws: Workspace, policy: Policy, incident_id: str, event: dict[str, Any], sources: dict[str, str]
                   ) -> tuple[list[Phase], dict[str, Any]]:
    """Every phase of the incident rendered afresh on the default branch (`refresh` rebuilds a branch so)."""
    return _phases(ws, policy, incident_id, event["incident_key"], event, sources, None)


def ensure_pull(ws: Workspace, incident_id: str, summary: dict[str, Any], head: str) -> int:
    """The incident's pull request with its body rendered for `head` (opened if none is open)."""
    return _ensure_pull(ws, incident_id, summary, head, new=False)[0]


def phase_message(incident_id: str, key: str, name: str, files: dict[str, str], why: str,
                  ran: list[tuple[str, str]] | None = None) -> str:
    return commit_message(f"{incident_id}: {name}", f"{why}\n\n" + "".join(f"- {p}\n" for p in sorted(files)),
                          [("Incident-Id", incident_id), ("Incident-Key", key), ("Phase", name), *(ran or [])])


def _phases(ws: Workspace, policy: Policy, incident_id: str, key: str, event: dict[str, Any],
            sources: dict[str, str], head: str | None) -> tuple[list[Phase], dict[str, Any]]:
    """The phases whose files differ from the branch at `head` (all of them for a new incident)."""
    d = incident_dir(incident_id)
    current = ws.incident_files(head, incident_id) if head else {}
    deploy = ws.deploy()
    deploy_at_head = ws.deploy(head) if head else deploy
    phases: list[Phase] = []

    def phase(name: str, files: dict[str, str], why: str) -> None:
        changed = {p: t for p, t in files.items() if (current if p.startswith(d) else deploy_at_head).get(p) != t}
        if changed:
            phases.append((name, changed, why))

    received = {f"{d}/sources/{n}": t for n, t in sources.items()}
    recorded = {p: t for p, t in {**current, **received}.items() if p.startswith(f"{d}/sources/")}
    event = renormalized(ws, recorded, incident_id, key) or {**event, "incident_id": incident_id}
    phase("received", {**received, f"{d}/event.json": canonical_json(event)},
          "Alert sources as received (redacted) and the normalized incident_event.")

    derived = derive(ws, policy, incident_id, event)
    itype = policy.incident_types.types[event["type"]]
    phase("specify", {f"{d}/specify.md": derived.files[f"{d}/specify.md"]},
          f"Specify instantiated from {itype.spec}: WHY / WHAT / constraints, no command.")
    phase("plan", {f"{d}/plan.md": derived.plan_text}, "Plan: a strategy among the pre-approved actions whose "
          "preconditions hold.")
    phase("tasks", {f"{d}/tasks.md": derived.files[f"{d}/tasks.md"]}, "Tasks: idempotent steps, each with its radius.")
    rendered = derived.rendered
    phase("implement", rendered, "The planned action rendered into the desired state under deploy/.")

    files = sorted({*current, *received, f"{d}/event.json", f"{d}/specify.md", f"{d}/plan.md", f"{d}/tasks.md"})
    summary = {"event": event, "files": files + sorted(rendered), "plan": derived.plan.data,
               "changed": sorted({*rendered, *files})}
    return phases, summary


def _ensure_pull(ws: Workspace, incident_id: str, summary: dict[str, Any], head: str | None, *, new: bool
                 ) -> tuple[int, bool]:
    """Open the pull request (labels, code-owner reviewers) or refresh its body; one call when nothing changed.
    (number, whether this call opened it)"""
    branch = incident_branch(incident_id)
    event = summary["event"]
    labels = (f"incident:{event['type']}", f"severity:{event['severity']}")
    chain = audit.ChainView(reached=audit.BEFORE_READINESS)
    at = head or ws.forge.head(branch) or ""
    body = pull_body(incident_id, event, summary["files"], summary["plan"], chain, lambda p: ws.forge.blob_url(at, p))
    rules = ws.codeowners()
    bot = f"@{ws.forge.bot_identity}"
    owners = sorted({o for p in summary["changed"] for o in codeowners.owners(rules, p)} - {bot})
    title = pull_title(incident_id, event)
    pull = None if new else ws.forge.find_pull(branch)
    if pull is None or pull.state != "open":
        return ws.forge.open_pull(branch, title, body, labels, tuple(owners)).number, True
    if pull.body != body or not set(labels) <= set(pull.labels):
        ws.forge.update_pull(pull.number, body=body, labels=labels)
    return pull.number, False

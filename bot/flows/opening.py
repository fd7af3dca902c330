"""`open`: an incident becomes a branch with one commit per SDD phase and a pull request.

Every phase is recomputed from the recorded sources and the desired state; only phases whose files
differ get a commit, and the branch moves once, after the last one (compare-and-swap). A re-run after a
crash, a duplicate delivery or a racing process therefore converges to the same branch. Reads of the
default branch come from the forge's view of it (a local checkout in CI), so opening an incident on
GitHub costs a fixed, small number of API requests (see bench/).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config.loader import canonical_json, parse_json
from bot.config.policy import Policy
from bot.errors import RuleRefusal, SourceConflict
from bot.flows import trace
from bot.flows.derive import derive
from bot.flows.workspace import Workspace, source_name
from bot.forge.base import RefConflict
from bot.intake.normalize import normalize
from bot.intake.redact import redact
from bot.intake.renormalize import renormalize
from bot.model.enums import AuditStatus, AuditStep
from bot.model.ids import incident_branch, incident_dir
from bot.render.escape import commit_message
from bot.render.report import pull_body, pull_title
from bot.rules import audit, codeowners

Phase = tuple[str, dict[str, str], str]  # name, files, why


@dataclass(frozen=True)
class Opened:
    incident_id: str
    outcome: str  # opened | updated | duplicate | validated | skipped
    pull: int | None
    detail: str = ""

    def line(self) -> str:
        pull = f" pull=#{self.pull}" if self.pull else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.outcome.upper()} incident={self.incident_id}{pull}{detail}"


def open_incidents(ws: Workspace, payloads: dict[str, tuple[Any, str]]) -> list[Opened]:
    policy = ws.policy()
    events = normalize(payloads, policy.incident_types)
    sources = {}
    for source, (data, _) in payloads.items():
        clean = redact(data)
        sources[source_name(source, clean)] = canonical_json(clean)
    return [_open_one(ws, policy, event, sources) for event in events]


@dataclass(frozen=True)
class _Found:
    incident_id: str
    head: str
    has_sources: bool  # every delivered source file is already on the branch


def _find(ws: Workspace, event: dict[str, Any], branches: dict[str, str], sources: dict[str, str]) -> _Found | None:
    """The incident this event belongs to: a branch holding this very delivery, or the same key."""
    for branch, head in sorted(branches.items()):
        incident_id = branch.split("/", 1)[1]
        d = incident_dir(incident_id)
        held = [ws.forge.read(head, f"{d}/sources/{name}") is not None for name in sorted(sources)]
        if any(held):
            return _Found(incident_id, head, all(held))
        text = ws.forge.read(head, f"{d}/event.json")
        known = parse_json(text, f"{d}/event.json on {branch}") if text is not None else {}
        if isinstance(known, dict) and known.get("incident_key") == event["incident_key"]:
            _same_identity(incident_id, known, event)
            return _Found(incident_id, head, False)
    return None


def _same_identity(incident_id: str, known: dict[str, Any], event: dict[str, Any]) -> None:
    """A delivery that reuses an incident's key must describe the same workload: a key is a vendor's claim,
    and letting it rewrite the incident's identity would retarget the plan (e.g. at the database)."""
    for field in ("service", "namespace", "pod"):
        if known.get(field) is not None and event.get(field) is not None and known[field] != event[field]:
            raise SourceConflict(
                f"incident_key {event['incident_key']!r} belongs to {incident_id} ({field} {known[field]!r}); "
                f"this delivery says {field} {event[field]!r}: refused, nothing written")


def _open_one(ws: Workspace, policy: Policy, event: dict[str, Any], sources: dict[str, str]) -> Opened:
    if event["type"] == policy.incident_types.unclassified.name:
        return Opened(event["incident_id"], "skipped", None,
                      f"alert {event['alertname']!r} matches no incident type in policies/incident_types.yaml")
    stem = event["incident_id"].rsplit("-", 1)[0]
    for _ in range(10):
        branches = ws.forge.branches(f"incident/{stem}-")
        found = _find(ws, event, branches, sources)
        if event["status"] == "resolved":
            if found is None:
                return Opened(event["incident_id"], "skipped", None, "resolved alert for no known incident")
            return _validated(ws, found.incident_id, sources)
        if found is not None and found.has_sources:
            existing = ws.forge.find_pull(incident_branch(found.incident_id))
            # a pull request without its labels was left by a crash between opening and labelling:
            # take the full path, which repairs it
            if existing is not None and any(label.startswith("incident:") for label in existing.labels):
                return Opened(found.incident_id, "duplicate", existing.number)
        taken = [int(b.rsplit("-", 1)[1]) for b in branches if b.rsplit("-", 1)[1].isdigit()]
        incident_id = found.incident_id if found else f"{stem}-{max(taken, default=0) + 1:02d}"
        head = found.head if found else None
        try:
            phases, summary = _phases(ws, policy, incident_id, event, sources, head)
            if phases:
                head = _commit(ws, incident_id, event["incident_key"], head, phases)
        except RefConflict:
            continue  # a racer created or moved the branch: look again
        pull, created = _ensure_pull(ws, incident_id, summary, head, new=found is None)
        # a pull request this run created is OPENED even when an earlier, interrupted run wrote the branch:
        # its head still needs judging, which DUPLICATE would skip (intake judges OPENED and UPDATED only)
        outcome = "opened" if found is None or created else ("updated" if phases else "duplicate")
        detail = "pull request opened for a branch an interrupted run left; needs its checks" \
            if created and found is not None else ""
        return Opened(incident_id, outcome, pull, detail)
    raise RuleRefusal(f"could not open {event['incident_key']}: the incident branch kept moving")


def _validated(ws: Workspace, incident_id: str, sources: dict[str, str]) -> Opened:
    files = {f"{incident_dir(incident_id)}/validation/{name}": text for name, text in sources.items()}
    pull = ws.forge.find_pull(incident_branch(incident_id))
    merged = pull is not None and pull.state == "merged"
    trace.record(ws, incident_id, AuditStep.VALIDATE, AuditStatus.OK, {
        "files": sorted(files), "merged": merged,
        "note": "alert resolved after the remediation merged" if merged else "alert resolved before any merge",
    }, extra_files=files)
    return Opened(incident_id, "validated", pull.number if pull else None)


def _commit(ws: Workspace, incident_id: str, key: str, head: str | None, phases: list[Phase]) -> str:
    base = ws.forge.head(ws.main)
    assert base is not None
    changes = [(files, phase_message(incident_id, key, name, files, why)) for name, files, why in phases]
    return ws.forge.commit_chain(incident_branch(incident_id), head or base, changes, create=head is None,
                                 seal=ws.sealer())


def phases_on_main(ws: Workspace, policy: Policy, incident_id: str, event: dict[str, Any], sources: dict[str, str]
                   ) -> tuple[list[Phase], dict[str, Any]]:
    """Every phase of the incident rendered afresh on the default branch (`refresh` rebuilds a branch so)."""
    return _phases(ws, policy, incident_id, event, sources, None)


def ensure_pull(ws: Workspace, incident_id: str, summary: dict[str, Any], head: str) -> int:
    """The incident's pull request with its body rendered for `head` (opened if none is open)."""
    return _ensure_pull(ws, incident_id, summary, head, new=False)[0]


def phase_message(incident_id: str, key: str, name: str, files: dict[str, str], why: str) -> str:
    return commit_message(f"{incident_id}: {name}", f"{why}\n\n" + "".join(f"- {p}\n" for p in sorted(files)),
                          [("Incident-Id", incident_id), ("Incident-Key", key), ("Phase", name)])


def _phases(ws: Workspace, policy: Policy, incident_id: str, event: dict[str, Any], sources: dict[str, str],
            head: str | None) -> tuple[list[Phase], dict[str, Any]]:
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
    event = renormalize(recorded, policy, incident_id, event["incident_key"]) or {**event, "incident_id": incident_id}
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

"""`open`: an incident becomes a branch with one commit per SDD phase and a pull request.

Every phase is recomputed from the recorded sources and committed only if its files differ, so a
re-run (after a crash between any two phases, or for a duplicate alert) converges to the same branch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot import artifacts, manifests, trace
from bot.errors import RuleRefusal
from bot.forge.base import RefConflict
from bot.loader import canonical_json
from bot.normalize import normalize
from bot.policy import Policy
from bot.redact import redact
from bot.report import pull_body
from bot.workspace import Workspace, incident_branch, incident_dir, renormalize, source_name


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


def _known_incident(ws: Workspace, event: dict[str, Any]) -> str | None:
    stem = event["incident_id"].rsplit("-", 1)[0]
    for branch in ws.forge.branches(f"incident/{stem}-"):
        incident_id = branch.split("/", 1)[1]
        text = ws.forge.read(branch, f"{incident_dir(incident_id)}/event.json")
        if text is not None:
            keys = {json.loads(text).get("incident_key")}
        else:  # interrupted before the event was committed: the phase commits carry the key
            keys = {c.trailers.get("Incident-Key") for c in ws.forge.commits(ws.main, branch)}
        if event["incident_key"] in keys:
            return incident_id
    return None


def _next_id(ws: Workspace, event: dict[str, Any]) -> str:
    stem = event["incident_id"].rsplit("-", 1)[0]
    taken = [int(b.rsplit("-", 1)[1]) for b in ws.forge.branches(f"incident/{stem}-") if b.rsplit("-", 1)[1].isdigit()]
    return f"{stem}-{max(taken, default=0) + 1:02d}"


def _open_one(ws: Workspace, policy: Policy, event: dict[str, Any], sources: dict[str, str]) -> Opened:
    if event["type"] == policy.incident_types.unclassified.name:
        return Opened(event["incident_id"], "skipped", None,
                      f"alert {event['alertname']!r} matches no incident type in policies/incident_types.yaml")
    for _ in range(10):
        known = _known_incident(ws, event)
        incident_id = known or _next_id(ws, event)
        if event["status"] == "resolved":
            if known is None:
                return Opened(incident_id, "skipped", None, "resolved alert for no known incident")
            return _validated(ws, incident_id, sources)
        try:
            changed = _phases(ws, policy, incident_id, event, sources)
        except RefConflict:
            continue  # a racer created or moved the branch: look again
        pull = _ensure_pull(ws, incident_id)
        outcome = "duplicate" if not changed else ("updated" if known else "opened")
        return Opened(incident_id, outcome, pull)
    raise RuleRefusal(f"could not open {event['incident_key']}: the incident branch kept moving")


def _validated(ws: Workspace, incident_id: str, sources: dict[str, str]) -> Opened:
    files = {f"{incident_dir(incident_id)}/validation/{name}": text for name, text in sources.items()}
    pull = ws.forge.find_pull(incident_branch(incident_id))
    merged = pull is not None and pull.state == "merged"
    trace.record(ws, incident_id, "validate", "ok", {
        "files": sorted(files), "merged": merged,
        "note": "alert resolved after the remediation merged" if merged else "alert resolved before any merge",
    }, extra_files=files)
    return Opened(incident_id, "validated", pull.number if pull else None)


def _phases(ws: Workspace, policy: Policy, incident_id: str, event: dict[str, Any], sources: dict[str, str]) -> bool:
    """Commit each phase whose files differ from the branch; True if anything was committed."""
    branch = incident_branch(incident_id)
    d = incident_dir(incident_id)
    base = ws.forge.head(ws.main)
    assert base is not None
    head = ws.forge.head(branch)
    current = ws.incident_files(head, incident_id) if head else {}
    deploy_at_head = ws.deploy(head) if head else ws.deploy()
    key = event["incident_key"]
    committed = False

    def commit(phase: str, files: dict[str, str], what: str) -> None:
        nonlocal head, committed
        files = {p: t for p, t in files.items() if (current.get(p) if p.startswith(d) else deploy_at_head.get(p)) != t}
        if not files:
            return
        message = (f"{incident_id}: {phase}\n\n{what}\n\n" + "".join(f"- {p}\n" for p in sorted(files))
                   + f"\nIncident-Id: {incident_id}\nIncident-Key: {key}\nPhase: {phase}\n")
        head = ws.forge.commit(branch, head or base, dict(files), message, create=head is None)
        for path, text in files.items():
            (current if path.startswith(d) else deploy_at_head)[path] = text
        committed = True

    received = {f"{d}/sources/{n}": t for n, t in sources.items()}
    recorded = {p: t for p, t in {**current, **received}.items() if p.startswith(f"{d}/sources/")}
    event = renormalize(recorded, policy, incident_id, key) or {**event, "incident_id": incident_id}
    commit("received", {**received, f"{d}/event.json": canonical_json(event)},
           "Alert sources as received (redacted) and the normalized incident_event.")

    itype = policy.incident_types.types[event["type"]]
    spec = ws.spec(itype.spec)
    commit("specify", {f"{d}/specify.md": artifacts.render_specify(event, spec, itype.spec)},
           f"Specify instantiated from {itype.spec}: WHY / WHAT / constraints, no command.")

    deploy = ws.deploy()
    workload: dict[str, Any] | None = None
    rendered: dict[str, str] = {}
    try:
        found = manifests.find_workload(deploy, event["namespace"], event["pod"], event["service"])
        facts = manifests.preconditions(deploy, found)
        workload = {"kind": found.kind, "name": found.name, "namespace": found.namespace, "path": found.path}
        choice = artifacts.choose(spec, policy.catalog, facts)
        if choice.action is not None:
            rendered = manifests.render(deploy, found, choice.action.renders, incident_id)
    except RuleRefusal as exc:
        choice = artifacts.PlanChoice(None, {}, {"(workload)": [str(exc)]})
    commit("plan", {f"{d}/plan.md": artifacts.render_plan(incident_id, choice, workload or {})},
           "Plan: a strategy among the pre-approved actions whose preconditions hold.")
    commit("tasks", {f"{d}/tasks.md": artifacts.render_tasks(incident_id, choice, sorted(rendered))},
           "Tasks: idempotent steps, each with its radius.")
    commit("implement", rendered, "The planned action rendered into the desired state under deploy/.")
    return committed


def _ensure_pull(ws: Workspace, incident_id: str) -> int:
    branch = incident_branch(incident_id)
    event = ws.event(branch, incident_id)
    files = sorted(ws.incident_files(branch, incident_id))
    head = ws.forge.head(branch)
    assert head is not None
    files += sorted(p for p in ws.forge.changed_paths(ws.main, branch) if not p.startswith("incidents/"))
    plan = artifacts.front_matter(ws.forge.read(branch, f"{incident_dir(incident_id)}/plan.md"), "plan.md")
    labels = (f"incident:{event['type']}", f"severity:{event['severity']}")
    pull = ws.forge.find_pull(branch)
    from bot.audit import view

    body = pull_body(incident_id, event, files, plan, view(trace.current(ws, incident_id)))
    if pull is None or pull.state != "open":
        pull = ws.forge.open_pull(branch, f"{incident_id}: {event['type']} on {event['service']}", body, labels)
    if pull.body != body:
        ws.forge.update_pull(pull.number, body=body, labels=labels)
    return pull.number

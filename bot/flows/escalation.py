"""Caps: a new incident of a service that already has its maximum of open remediation pull requests is recorded
(its audit trace, with the delivered sources) and escalated to a person instead of opened (`ESCALATED`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.config.loader import parse_json
from bot.errors import InputError
from bot.flows import history, trace
from bot.flows.workspace import Workspace
from bot.model.enums import AuditStep
from bot.model.ids import incident_dir, is_incident_id
from bot.rules.caps import over_cap

ESCALATED = "escalated"  # the audit status of an incident recorded instead of opened


def open_pulls_of(ws: Workspace, service: str | None, branches: dict[str, str]) -> list[str]:
    """The incidents of `service` with an open pull request (their event.json names the service), among the
    incident `branches` (name -> head)."""
    found = []
    main = history.main_commit(ws)
    for branch, head in sorted(branches.items()):
        incident_id = branch.split("/", 1)[1]
        path = f"{incident_dir(incident_id)}/event.json"
        if not is_incident_id(incident_id):
            continue
        if history.merged_plan(ws, main, incident_id) is not None:
            continue  # merged (main holds its files): not open, and no pull request lookup for it
        try:
            event = parse_json(ws.forge.read(head, path) or "{}", path)
        except InputError:
            continue
        if not isinstance(event, dict) or event.get("service") != service:
            continue
        pull = ws.forge.find_pull(branch)
        if pull is not None and pull.state == "open":
            found.append(incident_id)
    return found


def cap_reached(ws: Workspace, event: dict[str, Any], branches: dict[str, str]) -> str | None:
    """Why the new incident `event` must not be opened (policies/remediation.yaml), or None. `branches`: every
    incident branch and its head, as `open` just listed them."""
    cap = ws.policy().limits.open_pull_cap(event.get("service"))
    if cap is None:
        return None
    return over_cap(event.get("service"), open_pulls_of(ws, event.get("service"), branches), cap)


def taken(ws: Workspace, stem: str) -> list[int]:
    """Sequence numbers of `stem` (e.g. HM-2026-05-17) used by an incident branch or an escalated record."""
    found: set[int] = set()
    for prefix in ("incident/", "audit/"):
        found.update(numbers(ws.forge.branches(f"{prefix}{stem}-")))
    return sorted(found)


def numbers(branches: Iterable[str]) -> list[int]:
    """The sequence numbers of `branches` (`<prefix>/<stem>-<n>`); a branch under one of them has none."""
    return sorted({int(tail) for b in branches if (tail := b.rsplit("-", 1)[1]).isdigit()})


def escalate(ws: Workspace, event: dict[str, Any], sources: dict[str, str], reason: str) -> tuple[str, str]:
    """Record the escalated incident (the same alert again adds its new sources to the same record, a repeat
    writes nothing); (incident id, what happened)."""
    stem = event["incident_id"].rsplit("-", 1)[0]
    existing = _escalated(ws, stem, event["incident_key"])
    incident_id = existing or f"{stem}-{max(taken(ws, stem), default=0) + 1:02d}"
    d = incident_dir(incident_id)
    files = {f"{d}/sources/{name}": text for name, text in sources.items()}
    if existing and all(ws.forge.read(f"audit/{incident_id}", p) is not None for p in files):
        return incident_id, "already recorded"
    trace.record(ws, incident_id, AuditStep.ESCALATE, ESCALATED, {
        "reasons": [reason], "service": event.get("service"), "keys": [event["incident_key"]],
        "files": sorted(files), "note": "recorded instead of opened: a human decides"}, extra_files=files)
    return incident_id, "recorded"


def _escalated(ws: Workspace, stem: str, key: str) -> str | None:
    """The escalated record (an audit trace with no incident branch) of this alert's key, if any."""
    incidents = ws.forge.branches(f"incident/{stem}-")
    for branch in sorted(ws.forge.branches(f"audit/{stem}-")):
        incident_id = branch.split("/", 1)[1]
        if f"incident/{incident_id}" in incidents:
            continue
        if any(e.status == ESCALATED and key in e.evidence.get("keys", []) for e in trace.entries(ws, incident_id)):
            return incident_id
    return None

"""Alerts waiting behind an incident's lock on a workload: kept on the holder's audit branch (the redacted
delivery under `incidents/<holder>/waiting/`, a `waiting` entry naming it) until the holder lets go of the
workload; then `open` runs on each and a `lock_released` entry says what it opened."""

from __future__ import annotations

from typing import Any

from bot.config.loader import parse_json
from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.model.enums import AuditStatus, AuditStep
from bot.model.ids import audit_branch, incident_dir


def _names(ws: Workspace, holder: str, step: str) -> set[str]:
    return {str(f).rsplit("/", 1)[-1] for e in trace.entries(ws, holder) if e.step == step
            for f in e.evidence.get("files", [])}


def record(ws: Workspace, holder: str, event: dict[str, Any], sources: dict[str, str]) -> None:
    """Keep the delivery on the holder's trace (once: a redelivery records nothing new)."""
    if set(sources) <= _names(ws, holder, AuditStep.WAITING) - _names(ws, holder, AuditStep.LOCK_RELEASED):
        return
    files = {f"{incident_dir(holder)}/waiting/{name}": text for name, text in sources.items()}
    trace.record(ws, holder, AuditStep.WAITING, AuditStatus.OK, {
        "files": sorted(files), "type": event["type"], "incident_key": event["incident_key"],
        "note": f"a {event['type']} alert for the workload {holder} remediates waits until it is merged or closed",
    }, extra_files=files)


def pending(ws: Workspace, holder: str) -> list[tuple[str, Any, str]]:
    """(source, redacted payload, file name) of every delivery still waiting behind `holder`."""
    names = sorted(_names(ws, holder, AuditStep.WAITING) - _names(ws, holder, AuditStep.LOCK_RELEASED))
    out = []
    for name in names:
        text = ws.forge.read(audit_branch(holder), f"{incident_dir(holder)}/waiting/{name}")
        if text is not None:
            path = f"{incident_dir(holder)}/waiting/{name}"
            out.append((name.split("-", 1)[0], parse_json(text, path), path))
    return out


def released(ws: Workspace, holder: str, paths: list[str], lines: list[str]) -> None:
    trace.record(ws, holder, AuditStep.LOCK_RELEASED, AuditStatus.OK, {"files": sorted(paths), "opened": lines})

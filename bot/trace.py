"""Audit storage: `incidents/<id>/audit.jsonl` on branch `audit/<id>`, one commit per entry.

Each commit carries the entry's hash as an `Audit-Hash:` trailer, so rewriting the file without
rewriting the branch history (which branch protection forbids) is detected by `audit verify`.
"""

from __future__ import annotations

from typing import Any

from bot import audit
from bot.audit import AuditEntry, Verification
from bot.forge.base import RefConflict
from bot.workspace import Workspace, incident_dir


def audit_branch(incident_id: str) -> str:
    return f"audit/{incident_id}"


def audit_path(incident_id: str) -> str:
    return f"{incident_dir(incident_id)}/audit.jsonl"


def entries(ws: Workspace, incident_id: str) -> list[AuditEntry]:
    text = ws.forge.read(audit_branch(incident_id), audit_path(incident_id))
    return audit.parse(text or "", audit_path(incident_id))


def record(ws: Workspace, incident_id: str, step: str, status: str, evidence: dict[str, Any],
           extra_files: dict[str, str] | None = None) -> AuditEntry:
    """Append one entry (and optional evidence files) to the incident's audit branch, race-safe."""
    branch = audit_branch(incident_id)
    for _ in range(30):
        head = ws.forge.head(branch)
        current = entries(ws, incident_id) if head else []
        entry = audit.append(current, incident_id, step, status, ws.clock(), evidence)
        files = {audit_path(incident_id): audit.serialize([*current, entry]), **(extra_files or {})}
        message = (f"audit {incident_id}: {entry.seq} {step} {status}\n\n"
                   f"Incident-Id: {incident_id}\nAudit-Seq: {entry.seq}\nAudit-Hash: {entry.hash}\n")
        parent = head or ws.forge.head(ws.main)
        assert parent is not None
        try:
            ws.forge.commit(branch, parent, files, message, create=head is None)
            return entry
        except RefConflict:
            continue
    raise RefConflict(f"could not append to {branch}: too much contention")


def anchors(ws: Workspace, incident_id: str) -> list[str]:
    branch = audit_branch(incident_id)
    if ws.forge.head(branch) is None:
        return []
    return [c.trailers["Audit-Hash"] for c in ws.forge.commits(ws.main, branch) if "Audit-Hash" in c.trailers]


def verify(ws: Workspace, incident_id: str) -> Verification:
    return audit.verify(entries(ws, incident_id), anchors(ws, incident_id))

"""`merge`: merge the incident (or rollback) pull request only when the lifecycle table allows it on the
head SHA: both checks, a code owner's approval of that SHA, and the emergency stop lifted."""

from __future__ import annotations

from bot.errors import IllegalTransition, RuleRefusal
from bot.flows import trace
from bot.flows.subject import snapshot, subject
from bot.flows.workspace import Workspace
from bot.forge.base import RefConflict
from bot.model.enums import AuditStatus, AuditStep
from bot.rules import lifecycle


def merge(ws: Workspace, incident_id: str, *, rollback: bool = False) -> str:
    s = subject(ws, incident_id, rollback=rollback)
    snap = snapshot(ws, s, "merge")
    try:
        lifecycle.require("merge", snap)
    except IllegalTransition as exc:
        trace.record(ws, incident_id, AuditStep.MERGE, AuditStatus.REFUSED,
                     {"commit": s.head, "reasons": [str(exc)], **s.tag})
        raise
    reviewers = sorted({r.reviewer for r in snap.reviews if r.sha == s.head})
    message = (f"Merge {incident_id}: {s.plan.action} (#{s.pull.number})\n\n"
               f"Incident-Id: {incident_id}\nPhase: merge\nReviewed-by: " + ", ".join(reviewers) + "\n")
    try:
        merged = ws.forge.merge(s.pull.number, s.head, message)
    except RefConflict as exc:
        raise RuleRefusal(f"merge refused: {exc}") from None
    trace.record(ws, incident_id, AuditStep.MERGE, AuditStatus.OK, {
        "commit": merged, "head": s.head, "pull": s.pull.number,
        "sync": "Argo CD application incident-bot-deploy syncs main", **s.tag})
    return merged

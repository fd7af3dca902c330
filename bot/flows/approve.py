"""`approve`: a human code owner approves the head commit (and, with `--action`, the planned action a
semi-manual readiness needs); the lifecycle table decides who may."""

from __future__ import annotations

from bot.errors import IllegalTransition
from bot.flows import trace
from bot.flows.subject import snapshot, subject
from bot.flows.workspace import Workspace
from bot.forge.base import Review
from bot.model.enums import AuditStatus, AuditStep
from bot.rules import lifecycle


def approve(ws: Workspace, incident_id: str, reviewer: str, action: str | None = None, *,
            rollback: bool) -> Review:
    s = subject(ws, incident_id, rollback=rollback)
    step = "approve" if action is None else "approve --action"
    snap = snapshot(ws, s, step, reviewer=reviewer, approves_action=action)
    try:
        lifecycle.require(step, snap)
    except IllegalTransition as exc:
        trace.record(ws, incident_id, AuditStep.REVIEW, AuditStatus.REFUSED,
                     {"commit": s.head, "reviewer": reviewer, "reasons": [str(exc)], **s.tag})
        raise
    review = Review(lifecycle.handle(reviewer), s.head, "approved", action)
    ws.forge.add_review(s.pull.number, review)
    trace.record(ws, incident_id, AuditStep.REVIEW, AuditStatus.OK, {
        "commit": s.head, "reviewer": review.reviewer, "approves_action": action, "pull": s.pull.number, **s.tag})
    return review

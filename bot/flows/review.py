"""The incident pull request's review section kept current: the rubric of the latest readiness run and the audit
chain with the arrow a blocker broke, re-rendered from the stored trace after every command that changed the
incident (bot/cli/main.py), so the part-16 review starts from the pull request. The body is written only when its
text changed (one PATCH on GitHub, none when equal)."""

from __future__ import annotations

from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.model.ids import incident_branch
from bot.render.evidence import review_rubric
from bot.render.report import review_markdown, with_review
from bot.rules import audit

# The steps whose result belongs to one head: on the pull request they count only for its current head.
PER_HEAD = ("readiness", "dry_run", "review")


def refresh_pull_body(ws: Workspace, incident_id: str) -> bool:
    """Re-render the open incident pull request's review section; True when the body changed and was written."""
    pull = ws.forge.find_pull(incident_branch(incident_id))
    if pull is None or pull.state != "open":
        return False
    entries = trace.entries(ws, incident_id)  # stored: the command's own write stored every implied entry first
    on_head = [e for e in entries if e.step not in PER_HEAD or e.evidence.get("commit") == pull.head_sha]
    review = review_markdown(review_rubric(incident_id, entries, pull.head_sha), audit.view(on_head))
    body = with_review(pull.body, review)
    if body == pull.body:
        return False
    ws.forge.update_pull(pull.number, body=body)
    return True

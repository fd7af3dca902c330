"""`merge`: merge the incident (or rollback) pull request only when the lifecycle table allows it on the
head SHA: both checks, a code owner's approval of that SHA, and the emergency stop lifted."""

from __future__ import annotations

from bot.config.loader import parse_yaml_all
from bot.errors import IllegalTransition, InputError, RuleRefusal
from bot.flows import trace
from bot.flows.subject import Subject, snapshot, subject
from bot.flows.workspace import Workspace
from bot.forge.base import RefConflict
from bot.model.enums import AuditStatus, AuditStep
from bot.render.escape import commit_message
from bot.rules import lifecycle


def merge(ws: Workspace, incident_id: str, *, rollback: bool) -> str:
    s = subject(ws, incident_id, rollback=rollback)
    if s.pull.state == "merged" and s.pull.merge_sha:  # a re-run after the merge whose audit entry was lost
        if not ws.forge.is_ancestor(s.pull.merge_sha, ws.main):  # a record's claim the default branch refutes
            raise RuleRefusal(f"merge refused: pull request #{s.pull.number} says merged as"
                              f" {s.pull.merge_sha[:12]}, which is not on {ws.main}")
        ws.forge.finish_merge(s.pull.number)
        if not merge_recorded(ws, incident_id, s.pull.merge_sha):
            trace.record(ws, incident_id, AuditStep.MERGE, AuditStatus.OK, merge_evidence(ws, s, s.pull.merge_sha))
        return s.pull.merge_sha
    snap = snapshot(ws, s, "merge")
    try:
        lifecycle.require("merge", snap)
    except IllegalTransition as exc:
        trace.record(ws, incident_id, AuditStep.MERGE, AuditStatus.REFUSED,
                     {"commit": s.head, "reasons": [str(exc)], **s.tag})
        raise
    reviewers = sorted({r.reviewer for r in snap.reviews if r.sha == s.head})
    message = commit_message(f"Merge {incident_id}: {s.plan.action} (#{s.pull.number})", "",
                             [("Incident-Id", incident_id), ("Phase", "merge"), ("Reviewed-by", ", ".join(reviewers)),
                              ("Head-Branch", s.pull.branch)])  # post-merge looks up this pull request only
    try:
        merged = ws.forge.merge(s.pull.number, s.head, message)
    except RefConflict as exc:
        raise RuleRefusal(f"merge refused: {exc}") from None
    trace.record(ws, incident_id, AuditStep.MERGE, AuditStatus.OK, merge_evidence(ws, s, merged))
    return merged


def argocd_application(ws: Workspace) -> str | None:
    """The Argo CD Application that syncs `deploy/` (deploy/argocd/application.yaml on the default branch)."""
    text = ws.forge.read(ws.main, "deploy/argocd/application.yaml")
    try:
        docs = [d for d in parse_yaml_all(text or "", "deploy/argocd/application.yaml") if isinstance(d, dict)]
    except InputError:
        return None
    for doc in docs:
        if doc.get("kind") == "Application" and (doc.get("spec") or {}).get("source", {}).get("path") == "deploy":
            return str((doc.get("metadata") or {}).get("name") or "") or None
    return None


def merge_evidence(ws: Workspace, s: Subject, sha: str, **extra: str) -> dict[str, object]:
    """What is known at a merge: the commit, the pull request, and which Application should pick it up."""
    return {"commit": sha, "head": s.head, "pull": s.pull.number, "argocd_application": argocd_application(ws),
            "revision": sha, **extra, **s.tag}


def merge_recorded(ws: Workspace, incident_id: str, sha: str) -> bool:
    return any(e.step == "merge" and e.status == "ok" and e.evidence.get("commit") == sha
               for e in trace.entries(ws, incident_id))

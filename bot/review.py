"""`approve`, `merge` and `rollback`: the human half of the lifecycle, guarded by the lifecycle table."""

from __future__ import annotations

import re

import yaml

from bot import codeowners, lifecycle, trace
from bot.errors import IllegalTransition, InputError, RuleRefusal
from bot.forge.base import RefConflict, Review
from bot.gates import Subject, action_approved, gate_allows_dry_run, subject
from bot.workspace import Workspace, incident_branch


def _handle(name: str) -> str:
    return name if name.startswith("@") else f"@{name}"


def _is_bot(ws: Workspace, reviewer: str) -> bool:
    return _handle(reviewer).lower() == _handle(ws.forge.bot_identity).lower()


def _owner_problems(ws: Workspace, s: Subject, reviewer: str) -> list[str]:
    return codeowners.may_approve(ws.codeowners(), sorted(s.changed), _handle(reviewer))


def approve(ws: Workspace, incident_id: str, reviewer: str, action: str | None = None, *,
            rollback: bool = False) -> Review:
    s = subject(ws, incident_id, rollback=rollback)
    not_owned = _owner_problems(ws, s, reviewer)
    facts = {"pull_open": s.pull.state == "open", "reviewer_is_human": not _is_bot(ws, reviewer),
             "reviewer_is_code_owner": not not_owned}
    try:
        lifecycle.require("approve", facts, s.head)
        if action is not None and action != s.plan.get("action"):
            raise IllegalTransition(f"approve refused: the plan's action is {s.plan.get('action')!r}, not {action!r}")
    except IllegalTransition as exc:
        detail = f" ({', '.join(not_owned[:3])})" if not_owned else ""
        trace.record(ws, incident_id, "review", "refused", {"commit": s.head, "reviewer": reviewer,
                                                            "reasons": [str(exc) + detail], **s.tag})
        raise IllegalTransition(str(exc) + detail) from None
    review = Review(_handle(reviewer), s.head, "approved", action)
    ws.forge.add_review(s.pull.number, review)
    trace.record(ws, incident_id, "review", "ok", {"commit": s.head, "reviewer": review.reviewer,
                                                    "approves_action": action, "pull": s.pull.number, **s.tag})
    return review


def merge_facts(ws: Workspace, s: Subject) -> dict[str, bool]:
    checks = ws.forge.checks(s.head)
    readiness = checks.get("readiness")
    approvals = [r for r in ws.forge.reviews(s.pull.number)
                 if r.sha == s.head and r.state == "approved" and not _is_bot(ws, r.reviewer)]
    owners_ok = any(not _owner_problems(ws, s, r.reviewer) for r in approvals)
    semi = readiness is not None and readiness.conclusion == "action_required"
    return {
        "pull_open": s.pull.state == "open",
        "gate_allows_dry_run": gate_allows_dry_run(ws, s),
        "action_approved_if_semi_manual": (not semi) or action_approved(ws, s),
        "dry_run_success_on_head": checks.get("dry-run") is not None and checks["dry-run"].conclusion == "success",
        "code_owner_approved_on_head": owners_ok,
        "emergency_stop_lifted": not ws.policy().emergency_stop,
    }


def merge(ws: Workspace, incident_id: str, *, rollback: bool = False) -> str:
    s = subject(ws, incident_id, rollback=rollback)
    if s.pull.state == "merged" and s.pull.merge_sha:  # a re-run after the merge whose audit entry was lost
        if not _merge_recorded(ws, incident_id, s.pull.merge_sha):
            trace.record(ws, incident_id, "merge", "ok", _merge_evidence(ws, s, s.pull.merge_sha))
        return s.pull.merge_sha
    try:
        lifecycle.require("merge", merge_facts(ws, s), s.head)
    except IllegalTransition as exc:
        trace.record(ws, incident_id, "merge", "refused", {"commit": s.head, "reasons": [str(exc)], **s.tag})
        raise
    message = (f"Merge {incident_id}: {s.plan.get('action')} (#{s.pull.number})\n\n"
               f"Incident-Id: {incident_id}\nPhase: merge\nReviewed-by: "
               + ", ".join(sorted({r.reviewer for r in ws.forge.reviews(s.pull.number) if r.sha == s.head})) + "\n")
    try:
        merged = ws.forge.merge(s.pull.number, s.head, message)
    except RefConflict as exc:
        raise RuleRefusal(f"merge refused: {exc}") from None
    trace.record(ws, incident_id, "merge", "ok", _merge_evidence(ws, s, merged))
    return merged


def argocd_application(ws: Workspace) -> str | None:
    """The Argo CD Application that syncs `deploy/` (deploy/argocd/application.yaml on the default branch)."""
    text = ws.forge.read(ws.main, "deploy/argocd/application.yaml")
    try:
        docs = [d for d in yaml.safe_load_all(text or "") if isinstance(d, dict)]
    except yaml.YAMLError:
        return None
    for doc in docs:
        if doc.get("kind") == "Application" and (doc.get("spec") or {}).get("source", {}).get("path") == "deploy":
            return str((doc.get("metadata") or {}).get("name") or "") or None
    return None


def _merge_evidence(ws: Workspace, s: Subject, sha: str, **extra: str) -> dict[str, object]:
    """What is known at a merge: the commit, the pull request, and which Application should pick it up."""
    return {"commit": sha, "head": s.head, "pull": s.pull.number, "argocd_application": argocd_application(ws),
            "revision": sha, **extra, **s.tag}


def _merge_recorded(ws: Workspace, incident_id: str, sha: str) -> bool:
    return any(e.step == "merge" and e.status == "ok" and e.evidence.get("commit") == sha
               for e in trace.entries(ws, incident_id))


def rollback(ws: Workspace, incident_id: str) -> int:
    """A revert pull request of the merged remediation's deploy/ changes (Argo CD has no rollback
    under automated sync: the revert in git *is* the rollback). It goes through the same review."""
    pull = ws.forge.find_pull(incident_branch(incident_id))
    merged = pull is not None and pull.state == "merged" and pull.merge_sha is not None
    lifecycle.require("rollback", {"pull_merged": merged})
    assert pull is not None and pull.merge_sha is not None
    branch = f"rollback/{incident_id}"
    existing = ws.forge.find_pull(branch)
    if existing is not None and existing.state == "open":
        return existing.number
    before_ref = pull.merge_sha + "~1"  # the default branch just before the merge (first parent)
    changed = ws.forge.changed_paths(before_ref, pull.merge_sha)
    files = {p: ws.forge.read(before_ref, p) for p in changed if p.startswith("deploy/")}
    if not files:
        raise RuleRefusal(f"rollback refused: the merge of {incident_id} changed nothing under deploy/")
    head = ws.forge.head(branch)
    base = ws.forge.head(ws.main)
    assert base is not None
    if head is None:
        message = (f"Rollback {incident_id}: revert the deploy/ change of {pull.merge_sha[:12]}\n\n"
                   + "".join(f"- {p}\n" for p in sorted(files))
                   + f"\nIncident-Id: {incident_id}\nPhase: rollback\nReverts: {pull.merge_sha}\n")
        head = ws.forge.commit_chain(branch, base, [(files, message)], create=True)
    artifacts_list = "".join(f"- [`{p}`]({ws.forge.blob_url(head, p)})\n"
                             for p in sorted(ws.incident_files(ws.main, incident_id)))
    body = (f"## Rollback of incident {incident_id}\n\nReverts the `deploy/` change merged in "
            f"`{pull.merge_sha}` (#{pull.number}). It goes through the same gate and review "
            f"(`check readiness --rollback`, `check dry-run --rollback`).\n\n### Artifacts\n\n"
            + artifacts_list + "".join(f"- [`{p}`]({ws.forge.blob_url(head, p)})\n" for p in sorted(files)))
    opened = ws.forge.open_pull(branch, f"Rollback {incident_id}", body, ("rollback",))
    trace.record(ws, incident_id, "rollback", "ok", {"commit": head, "pull": opened.number, "reverts": pull.merge_sha})
    return opened.number


_INCIDENT_ID = re.compile(r"\b([A-Z]{2,4}-\d{4}-\d{2}-\d{2}-\d{2,})\b")


def post_merge(ws: Workspace, commit: str, argocd_url: str = "") -> list[tuple[str, str | None]]:
    """Record `merge` (when it happened outside `incident-bot merge`, e.g. in the GitHub UI, as a merge commit,
    a squash or a rebase) and a `sync pending` entry naming the Argo CD Application and the revision to look at,
    for every incident or rollback pull request the commit merged. A sync is never claimed here: it is
    confirmed only by what Argo CD reports. Returns (incident id, Application name)."""
    info = ws.forge.get_commit(commit)
    ids = set(_INCIDENT_ID.findall(info.message))  # merge: "from owner/incident/ID"; squash: title and trailers
    done = []
    app = argocd_application(ws)
    for incident_id in sorted(ids):
        for rollback in (False, True):
            try:
                s = subject(ws, incident_id, rollback=rollback)
            except InputError:
                continue  # no such pull request
            if s.pull.state != "merged" or s.pull.merge_sha != info.sha:
                continue
            if not _merge_recorded(ws, incident_id, info.sha):
                trace.record(ws, incident_id, "merge", "ok",
                             _merge_evidence(ws, s, info.sha, merged="outside incident-bot"))
            pending = any(e.step == "sync" and e.evidence.get("revision") == info.sha
                          for e in trace.entries(ws, incident_id))
            if not pending:  # a re-delivered push event records nothing twice
                trace.record(ws, incident_id, "sync", "pending", {
                    "revision": info.sha, "argocd_application": app, "argocd": argocd_url or None, **s.tag,
                    "note": "not observed: Argo CD's automated sync should apply this revision; confirm it in "
                            "Argo CD (sync status and revision of the Application)"})
            done.append((incident_id, app))
    return done

"""`post-merge`: after a merge to main (also one made in the GitHub UI), record `merge` if it is missing
and the Argo CD `sync` in the trace of every incident the commit merged."""

from __future__ import annotations

from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.model.enums import AuditStatus, AuditStep
from bot.model.ids import MERGED_BRANCH, incident_branch


def post_merge(ws: Workspace, commit: str, argocd_url: str = "") -> list[str]:
    """Record `merge` (when it happened outside `incident-bot merge`, e.g. in the GitHub UI) and the
    Argo CD sync for every incident the commit merged; return their ids."""
    info = ws.forge.get_commit(commit)
    ids = set(MERGED_BRANCH.findall(info.message))
    if "Incident-Id" in info.trailers and info.trailers.get("Phase") == "merge":
        ids.add(info.trailers["Incident-Id"])
    done = []
    for incident_id in sorted(ids):
        pull = ws.forge.find_pull(incident_branch(incident_id))
        if pull is None or pull.merge_sha != info.sha:
            continue
        merges = [e for e in trace.entries(ws, incident_id) if e.step == "merge" and e.status == "ok"]
        if not any(e.evidence.get("commit") == info.sha for e in merges):
            trace.record(ws, incident_id, AuditStep.MERGE, AuditStatus.OK, {"commit": info.sha, "head": pull.head_sha,
                                                           "pull": pull.number, "merged": "outside incident-bot"})
        synced = any(e.step == "sync" and e.evidence.get("commit") == info.sha for e in trace.entries(ws, incident_id))
        if not synced:  # a re-delivered push event records nothing twice
            trace.record(ws, incident_id, AuditStep.SYNC, AuditStatus.OK, {
                "commit": info.sha, "argocd": argocd_url or None,
                "note": "Argo CD automated sync applies main's deploy/"})
        done.append(incident_id)
    return done

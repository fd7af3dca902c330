"""`post-merge`: after a merge to main (also one made in the GitHub UI, a squash or a rebase), record
`merge` if it is missing and a `sync pending` entry naming the Argo CD Application and the revision."""

from __future__ import annotations

from bot.errors import InputError
from bot.flows import trace
from bot.flows.merge import argocd_application, merge_evidence, merge_recorded
from bot.flows.refresh import Refreshed, refresh_all
from bot.flows.subject import subject
from bot.flows.workspace import Workspace
from bot.forge.base import Commit
from bot.model.enums import AuditStatus, AuditStep
from bot.model.ids import IN_TEXT


def post_merge(ws: Workspace, commit: str, argocd_url: str = "") -> list[tuple[str, str | None]]:
    """Record `merge` (when it happened outside `incident-bot merge`, e.g. in the GitHub UI, as a merge commit,
    a squash or a rebase) and a `sync pending` entry naming the Argo CD Application and the revision to look at,
    for every incident or rollback pull request the commit merged. A sync is never claimed here: it is
    confirmed only by what Argo CD reports. Returns (incident id, Application name)."""
    info = ws.forge.get_commit(commit)
    ids = set(IN_TEXT.findall(info.message))  # merge: "from owner/incident/ID"; squash: title and trailers
    done = []
    app = argocd_application(ws)
    for incident_id in sorted(ids):
        for rollback in _kinds(info, incident_id):
            try:
                s = subject(ws, incident_id, rollback=rollback)
            except InputError:
                continue  # no such pull request
            if s.pull.state != "merged" or s.pull.merge_sha != info.sha:
                continue
            if not merge_recorded(ws, incident_id, info.sha):
                trace.record(ws, incident_id, AuditStep.MERGE, AuditStatus.OK,
                             merge_evidence(ws, s, info.sha, merged="outside incident-bot"))
            pending = any(e.step == "sync" and e.evidence.get("revision") == info.sha
                          for e in trace.entries(ws, incident_id))
            if not pending:  # a re-delivered push event records nothing twice
                trace.record(ws, incident_id, AuditStep.SYNC, "pending", {
                    "revision": info.sha, "argocd_application": app, "argocd": argocd_url or None, **s.tag,
                    "note": "not observed: Argo CD's automated sync should apply this revision; confirm it in "
                            "Argo CD (sync status and revision of the Application)"})
            done.append((incident_id, app))
    return done


def _kinds(info: Commit, incident_id: str) -> tuple[bool, ...]:
    """Which of the incident's pull requests (rollback or not) the commit can have merged: the one GitHub's merge
    commit title ("Merge pull request #3 from o/incident/<id>") or incident-bot's Head-Branch trailer names; else
    both (a squash or a rebase names no branch). Either way the pull request's own state decides."""
    title = info.message.split("\n", 1)[0]
    named = info.trailers.get("Head-Branch") or (title.rsplit(" from ", 1)[-1] if " from " in title else "")
    for kind in ("incident", "rollback"):
        if named == kind + "/" + incident_id or named.endswith("/" + kind + "/" + incident_id):
            return (kind == "rollback",)
    return (False, True)


def after_push(ws: Workspace, commit: str, argocd_url: str = ""
               ) -> tuple[list[tuple[str, str | None]], list[Refreshed]]:
    """A push to main: what it merged is recorded, then every open incident branch is rebuilt on it."""
    return post_merge(ws, commit, argocd_url), refresh_all(ws)

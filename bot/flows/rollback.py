"""`rollback`: a revert pull request of the merged remediation's deploy/ change. Argo CD has no rollback
under automated sync: the revert in git *is* the rollback, and it goes through the same gate and review."""

from __future__ import annotations

from dataclasses import replace

from bot.errors import RuleRefusal
from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.model.enums import AuditStatus, AuditStep
from bot.model.ids import incident_branch, rollback_branch
from bot.render.escape import commit_message
from bot.rules import lifecycle


def recorded_merge(ws: Workspace, incident_id: str) -> str | None:
    """The merge commit the incident's sealed, verified trace records (never a branch's `Reverts:` claim)."""
    if not trace.verify(ws, incident_id).ok:
        return None
    merges = [e.evidence.get("commit") for e in trace.entries(ws, incident_id)
              if e.step == AuditStep.MERGE and e.status == AuditStatus.OK and not e.evidence.get("rollback")]
    last = merges[-1] if merges else None
    return last if isinstance(last, str) else None


def rollback(ws: Workspace, incident_id: str) -> int:
    """A revert pull request of the merged remediation's deploy/ changes (Argo CD has no rollback
    under automated sync: the revert in git *is* the rollback). It goes through the same review."""
    pull = ws.forge.find_pull(incident_branch(incident_id))
    # rollback's facts are about the incident pull request alone (lifecycle.inputs("rollback") is empty)
    lifecycle.require("rollback", lifecycle.Snapshot(
        head=pull.head_sha if pull else "", pull_state=pull.state if pull else "absent", checks={}, reviews=(),
        planned_action=None, changed_paths=(), owners=(), bot_identity=ws.forge.bot_identity,
        emergency_stop=False, merged_commit=pull.merge_sha if pull else None))
    assert pull is not None and pull.merge_sha is not None
    branch = rollback_branch(incident_id)
    existing = ws.forge.find_pull(branch)
    if existing is not None and existing.state == "open":
        return existing.number
    if existing is not None and existing.state == "merged":  # a second revert would revert nothing, or a re-fix
        raise RuleRefusal(f"rollback refused: the rollback of {incident_id} was merged (#{existing.number}"
                          + (f", as {existing.merge_sha[:12]}" if existing.merge_sha else "")
                          + "): its deploy/ change is already reverted on main")
    merged = recorded_merge(ws, incident_id)
    if merged is None:
        raise RuleRefusal(f"rollback refused: the sealed audit trace of {incident_id} records no merge")
    pull = replace(pull, merge_sha=merged)  # what it reverts is the trace's merge, not a claim of the forge
    before_ref = merged + "~1"  # the default branch just before the merge (first parent)
    changed = ws.forge.changed_paths(before_ref, merged)
    files = {p: ws.forge.read(before_ref, p) for p in changed if p.startswith("deploy/")}
    if not files:
        raise RuleRefusal(f"rollback refused: the merge of {incident_id} changed nothing under deploy/")
    head = ws.forge.head(branch)
    base = ws.forge.head(ws.main)
    assert base is not None
    if head is not None:
        foreign = [c.sha for c in ws.forge.commits(ws.main, branch) if not ws.is_sealed(c)]
        if foreign or not ws.forge.commits(ws.main, branch):
            raise RuleRefusal(f"rollback refused: {branch} exists and holds commits the bot did not seal"
                              f" ({', '.join(c[:12] for c in foreign) or 'none of its own'}): delete it and re-run")
    if head is None:
        message = commit_message(f"Rollback {incident_id}: revert the deploy/ change of {merged[:12]}",
                                 "".join(f"- {p}\n" for p in sorted(files)),
                                 [("Incident-Id", incident_id), ("Phase", "rollback"),
                                  ("Reverts", str(pull.merge_sha))])
        head = ws.forge.commit_chain(branch, base, [(files, message)], create=True, seal=ws.sealer())
    artifacts_list = "".join(f"- [`{p}`]({ws.forge.blob_url(head, p)})\n"
                             for p in sorted(ws.incident_files(ws.main, incident_id)))
    body = (f"## Rollback of incident {incident_id}\n\nReverts the `deploy/` change merged in "
            f"`{pull.merge_sha}` (#{pull.number}). It goes through the same gate and review "
            f"(`check readiness --rollback`, `check dry-run --rollback`).\n\n### Artifacts\n\n"
            + artifacts_list + "".join(f"- [`{p}`]({ws.forge.blob_url(head, p)})\n" for p in sorted(files)))
    opened = ws.forge.open_pull(branch, f"Rollback {incident_id}", body, ("rollback",))
    trace.record(ws, incident_id, AuditStep.ROLLBACK, AuditStatus.OK,
                 {"commit": head, "pull": opened.number, "reverts": pull.merge_sha})
    return opened.number

"""`refresh`: an open incident branch the bot owns is rebuilt on the current main, so it merges cleanly and is
judged again on its new head (GitHub's "require branches to be up to date" then needs no one to press
"Update branch").

The rebuild is the derivation `open` writes (bot/flows/opening.py's phases, bot/flows/derive.py) from the
sources recorded on the branch, on main's `deploy/`, spec and policy; the branch is then moved from its old
head to the new chain in one compare-and-swap. Only a branch every commit of which carries the bot's seal is
rebuilt: a commit the bot cannot prove it wrote is a person's work, never rewritten; the branch is marked as
needing a human (label `needs-human`, a `refresh` entry in the audit trace) and the reason is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import InputError, RuleRefusal
from bot.flows import trace
from bot.flows.derive import renormalized
from bot.flows.opening import ensure_pull, phase_message, phases_on_main
from bot.flows.workspace import Workspace
from bot.forge.base import BRIDGE_PHASE, Commit, PullRequest, RefConflict
from bot.model.enums import AuditStatus, AuditStep
from bot.model.ids import incident_branch, incident_dir, is_incident_id

NEEDS_HUMAN = "needs-human"  # the pull request label of a branch refresh did not rewrite
NEEDS_HUMAN_STATUS = "needs_human"


@dataclass(frozen=True)
class Refreshed:
    incident_id: str
    outcome: str  # refreshed | current | needs-human | skipped
    pull: int | None
    detail: str = ""

    @property
    def needs_human(self) -> bool:
        return self.outcome == NEEDS_HUMAN

    def line(self) -> str:
        pull = f" pull=#{self.pull}" if self.pull else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.outcome.upper()} incident={self.incident_id}{pull}{detail}"


def refresh_all(ws: Workspace) -> list[Refreshed]:
    """Every incident branch with an open pull request, in id order."""
    found = []
    for branch in sorted(ws.forge.branches("incident/")):
        incident_id = branch.split("/", 1)[1]
        if is_incident_id(incident_id):
            found.append(refresh(ws, incident_id, listed=True))
    return [r for r in found if r.outcome != "skipped"]


def refresh(ws: Workspace, incident_id: str, *, listed: bool = False) -> Refreshed:
    branch = incident_branch(incident_id)
    for _ in range(5):
        head, pull = ws.forge.head(branch), ws.forge.find_pull(branch)
        if head is None and not listed:
            raise InputError(incident_id, "incident_id", f"no branch {branch}")
        if head is None or pull is None or pull.state != "open":
            state = pull.state if pull is not None else "not opened"
            return Refreshed(incident_id, "skipped", pull.number if pull else None,
                             f"pull request {state}: nothing to keep current")
        base = ws.forge.head(ws.main)
        assert base is not None
        commits = ws.forge.commits(ws.main, branch)
        foreign = [c for c in commits if not ws.is_sealed(c)]
        if foreign:
            return _needs_human(ws, incident_id, pull, head, foreign)
        if not ws.forge.commits(head, base) and not _is_bridge(ws.forge.get_commit(head)):
            return Refreshed(incident_id, "current", pull.number, f"already on main {base[:12]}")
        try:
            new = _rebuild(ws, incident_id, head, base, _sealed_key(commits))
        except RefConflict:
            continue  # the branch moved (an `open`, a person's push): look again
        return Refreshed(incident_id, "refreshed", pull.number,
                         f"rebuilt on main {base[:12]}: head {head[:12]} -> {new[:12]}, to be judged again")
    raise RuleRefusal(f"could not refresh {incident_id}: the incident branch kept moving")


def _is_bridge(commit: Commit) -> bool:
    return commit.trailers.get("Phase") == BRIDGE_PHASE


def _rebuild(ws: Workspace, incident_id: str, head: str, base: str, key: str) -> str:
    d = incident_dir(incident_id)
    files = ws.incident_files(head, incident_id)
    sources = {p.removeprefix(f"{d}/sources/"): t for p, t in files.items() if p.startswith(f"{d}/sources/")}
    policy = ws.policy()
    event = renormalized(ws, {f"{d}/sources/{n}": t for n, t in sources.items()}, incident_id, key) if key else None
    if event is None:
        raise RuleRefusal(f"refresh {incident_id}: the recorded sources give no incident of key {key!r}")
    phases, summary = phases_on_main(ws, policy, incident_id, event, sources)
    changes = [(dict(f), phase_message(incident_id, key, name, f, why)) for name, f, why in phases]
    new = ws.forge.commit_chain(incident_branch(incident_id), base, changes, create=False, seal=ws.sealer(),
                                replace=head)
    trace.record(ws, incident_id, AuditStep.REFRESH, AuditStatus.OK, {
        "from": head, "head": new, "base": base, "note": "rebuilt on main from the recorded sources"})
    ensure_pull(ws, incident_id, summary, new)
    return new


def _sealed_key(commits: list[Commit]) -> str:
    """The incident key the bot's own phase commits carry (every commit here is sealed): it only selects which
    of the recorded alerts the incident is about."""
    return next((c.trailers["Incident-Key"] for c in reversed(commits) if c.trailers.get("Incident-Key")), "")


def _needs_human(ws: Workspace, incident_id: str, pull: PullRequest, head: str, foreign: list[Commit]) -> Refreshed:
    named = ", ".join(f"{c.sha[:12]} by {c.author}" for c in foreign)
    reason = (f"commit {named} is not the bot's (no valid seal): not rewritten; a person brings the branch up to "
              f"date with main (or drops the commit)")
    if not any(e.step == AuditStep.REFRESH and e.status == NEEDS_HUMAN_STATUS and e.evidence.get("head") == head
               for e in trace.entries(ws, incident_id)):  # each push to main records it once per head
        trace.record(ws, incident_id, AuditStep.REFRESH, NEEDS_HUMAN_STATUS, {
            "head": head, "commits": [c.sha for c in foreign], "reasons": [reason]})
    if NEEDS_HUMAN not in pull.labels:
        ws.forge.update_pull(pull.number, labels=(NEEDS_HUMAN,))
    return Refreshed(incident_id, NEEDS_HUMAN, pull.number, reason)

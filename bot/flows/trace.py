"""Audit storage: `incidents/<id>/audit.jsonl` on branch `audit/<id>`, one commit per write.

Phase commits on the incident branch describe themselves (trailers, file list, bot authorship); the
trace *implies* their entries (`pending`) and every write materializes them first, in commit order,
with the commit's own timestamp, so the trace is the same whether an entry was written at once or
after a crash. Each audit commit carries its entries' hashes as `Audit-Hash:` trailers, so rewriting
the file without rewriting the branch history (which branch protection forbids) is detected.

One commit per command: under the CLI (`Workspace.defer_audit`) a step's entry waits in the workspace and is
stored with the command's own entry (`record_command`, or `flush` when no command entry is due), in the order
recorded and with the time it was recorded at. A reader in the same command sees those entries (`entries`), and
checking the chain against the branch history (`verify`, `anchors`) stores them first.
"""

from __future__ import annotations

from typing import Any

from bot.errors import RuleRefusal
from bot.flows.workspace import Workspace
from bot.forge.base import RefConflict
from bot.model.ids import audit_branch, incident_branch, incident_dir
from bot.render.escape import commit_message
from bot.rules import audit
from bot.rules.audit import AuditEntry, Verification

# The audit steps a phase commit stands for (issue 4: sources and event are one phase).
PHASE_STEPS = {
    "received": ("webhook_received", "incident_event_normalized"),
    "specify": ("specify",),
    "plan": ("spec_diff_created",),
    "tasks": ("spec_diff_created",),
    "implement": ("spec_diff_created",),
}
Item = tuple[str, str, dict[str, Any], str | None]  # step, status, evidence, at (None: now)


def audit_path(incident_id: str) -> str:
    return f"{incident_dir(incident_id)}/audit.jsonl"


def entries(ws: Workspace, incident_id: str) -> list[AuditEntry]:
    """The stored entries; with what this command recorded and has not stored yet, as they will be stored (after
    the pending ones): a reader in the command sees what it recorded."""
    stored = _stored(ws, incident_id)
    waiting = ws.deferred.get(incident_id)
    if not waiting:
        return stored
    items = [item for item, _ in waiting]
    return _extend(stored, incident_id, [*pending(ws, incident_id, stored), *items], _first_time(items, ws))


def _stored(ws: Workspace, incident_id: str) -> list[AuditEntry]:
    return stored_at(ws, incident_id, audit_branch(incident_id))


def stored_at(ws: Workspace, incident_id: str, commit: str) -> list[AuditEntry]:
    """The entries stored in the trace as of `commit` (a commit id reads without resolving the branch)."""
    text = ws.forge.read(commit, audit_path(incident_id))
    return audit.parse(text or "", audit_path(incident_id))


def pending(ws: Workspace, incident_id: str, stored: list[AuditEntry]) -> list[Item]:
    """Entries the bot's phase commits and the open pull request imply and the trace lacks."""
    branch = incident_branch(incident_id)
    head = ws.forge.head(branch)
    if head is None:
        return []
    traced = {e.evidence.get("commit") for e in stored}
    items: list[Item] = []
    last_at = None
    for c in ws.forge.commits(ws.main, branch):
        phase = c.trailers.get("Phase", "")
        if c.sha in traced or phase not in PHASE_STEPS or not ws.is_sealed(c):
            continue
        files = [line[2:] for line in c.message.splitlines() if line.startswith("- ")]
        for step in PHASE_STEPS[phase]:
            items.append((step, "ok", {"commit": c.sha, "phase": phase, "files": files}, c.date))
        if "Command" in c.trailers:  # the last commit of an `open` run names the command that wrote it
            items.append((audit.COMMAND, "ok", audit.command_evidence(
                c.trailers["Command"], c.sha, c.trailers.get("Base"), 0, c.trailers.get("Verdict", "OPENED")),
                c.date))
        last_at = c.date
    pull = ws.forge.find_pull(branch)
    if pull is not None and pull.state == "open" and not any(
        e.step == "commit" and e.evidence.get("head") == head for e in stored
    ):
        items.append(("commit", "ok", {"head": head, "pull": pull.number, "branch": branch}, last_at))
    return items


def current(ws: Workspace, incident_id: str) -> list[AuditEntry]:
    """Stored entries followed by the pending ones, exactly as the next write will store them."""
    stored = entries(ws, incident_id)
    return _extend(stored, incident_id, pending(ws, incident_id, stored), ws.clock())


def _extend(stored: list[AuditEntry], incident_id: str, items: list[Item], now: str) -> list[AuditEntry]:
    out = list(stored)
    for step, status, evidence, at in items:
        out.append(audit.append(out, incident_id, step, status, at or now, evidence))
    return out


def preview(ws: Workspace, incident_id: str, step: str, status: str, evidence: dict[str, Any]) -> list[AuditEntry]:
    """The trace as it will read once this entry is recorded (a check's summary shows it before it is)."""
    entries = current(ws, incident_id)
    return [*entries, audit.append(entries, incident_id, step, status, ws.clock(), evidence)]


def record(ws: Workspace, incident_id: str, step: str, status: str, evidence: dict[str, Any],
           extra_files: dict[str, str] | None = None) -> None:
    """Append one entry (after the pending ones) with optional evidence files, in one commit, race-safe; under
    `ws.defer_audit` it waits for the command's entry (see the module docstring)."""
    item: Item = (step, status, evidence, ws.clock())
    if ws.defer_audit:
        ws.deferred.setdefault(incident_id, []).append((item, dict(extra_files or {})))
        return
    record_many(ws, incident_id, [item], extra_files)


def record_command(ws: Workspace, incident_id: str, evidence: dict[str, Any]) -> list[AuditEntry]:
    """One command's entry (see bot.rules.audit.command_evidence), after the pending ones and the entries the
    command recorded, in the same commit."""
    status = audit.command_status(int(evidence["exit_code"]), str(evidence["verdict"]))
    return flush(ws, incident_id, [(audit.COMMAND, status, evidence, ws.clock())])


def flush(ws: Workspace, incident_id: str, more: list[Item] | None = None) -> list[AuditEntry]:
    """Store what this command recorded for the incident and is still waiting (then `more`), in one commit.
    Forgotten only once stored: after a failed write it is still there for the CLI to report."""
    waiting = ws.deferred.get(incident_id, [])
    if not waiting and not more:
        return []
    files: dict[str, str] = {}
    for _, extra in waiting:
        files.update(extra)
    written = record_many(ws, incident_id, [*(item for item, _ in waiting), *(more or [])], files or None)
    ws.deferred.pop(incident_id, None)
    return written


def reconcile(ws: Workspace, incident_id: str) -> list[AuditEntry]:
    """Store the pending entries (and what waits), if any."""
    return flush(ws, incident_id) if ws.deferred.get(incident_id) else record_many(ws, incident_id, [], None)


def head_sealed(ws: Workspace, head: str) -> bool:
    """The audit branch's head is a commit the bot sealed. Its seal covers its parents, hence the whole history
    beneath it, since the bot never appends to a head it did not seal (record_many)."""
    return ws.is_sealed(ws.forge.get_commit(head))


def require_writable(ws: Workspace, incident_id: str) -> None:
    """Refuse before anything is posted when the trace could not record it (its head not the bot's): a check
    posted without its audit entry would count on the forge and be missing from the record."""
    head = ws.forge.head(audit_branch(incident_id))
    if head is not None and not head_sealed(ws, head):
        raise _not_sealed(incident_id, head)


def _not_sealed(incident_id: str, head: str) -> RuleRefusal:
    branch = audit_branch(incident_id)
    return RuleRefusal(f"{branch} ends in commit {head[:12]}, which incident-bot did not seal: nothing recorded; "
                       f"see `incident-bot audit verify {incident_id}`, and reset {branch} to its last sealed commit")


def record_many(ws: Workspace, incident_id: str, items: list[Item],
                extra_files: dict[str, str] | None) -> list[AuditEntry]:
    branch = audit_branch(incident_id)
    for _ in range(30):
        head = ws.forge.head(branch)
        if head is not None and not head_sealed(ws, head):
            raise _not_sealed(incident_id, head)  # appending would seal someone else's entries into history
        stored = _stored(ws, incident_id) if head else []
        now = _first_time(items, ws)
        written = _extend(stored, incident_id, [*pending(ws, incident_id, stored), *items], now)
        new = written[len(stored):]
        if not new:
            return []
        files = {audit_path(incident_id): audit.serialize(written), **(extra_files or {})}
        message = commit_message(f"audit {incident_id}: " + ", ".join(f"{e.seq} {e.step} {e.status}" for e in new),
                                 "", [("Incident-Id", incident_id), *(("Audit-Hash", e.hash) for e in new)])
        parent = head or ws.forge.head(ws.main)
        assert parent is not None
        try:
            ws.forge.commit_chain(branch, parent, [(files, message)], create=head is None, seal=ws.sealer())
            return new
        except RefConflict:
            continue
    raise RefConflict(f"could not append to {branch}: too much contention")


def _first_time(items: list[Item], ws: Workspace) -> str:
    """The time entries implied without one of their own take: when the first item was recorded (else now)."""
    return next((at for *_, at in items if at), None) or ws.clock()


def anchors(ws: Workspace, incident_id: str) -> list[str]:
    """Every entry hash the audit branch history recorded, oldest first."""
    flush(ws, incident_id)
    branch = audit_branch(incident_id)
    if ws.forge.head(branch) is None:
        return []
    found = []
    for c in ws.forge.commits(ws.main, branch):
        found += [line.split(": ", 1)[1] for line in c.message.splitlines() if line.startswith("Audit-Hash: ")]
    return found


def _went_beyond_open(ws: Workspace, incident_id: str) -> bool:
    """Whether the incident has records only an audit write precedes (checks, reviews, a closed pull
    request): then a missing audit branch was deleted. Right after `open` the trace is only implied."""
    pull = ws.forge.find_pull(incident_branch(incident_id))
    if pull is None:
        return True
    return pull.state != "open" or bool(ws.forge.checks(pull.head_sha)) or bool(ws.forge.reviews(pull.number))


def verify(ws: Workspace, incident_id: str) -> Verification:
    """The chain, checked against the audit branch history, every commit of which the bot must have sealed."""
    flush(ws, incident_id)
    branch = audit_branch(incident_id)
    if ws.forge.head(branch) is None:
        return audit.verify([], [], exists=not _went_beyond_open(ws, incident_id))
    unsealed = [c.sha for c in ws.forge.commits(ws.main, branch) if not ws.is_sealed(c)]
    return audit.verify(entries(ws, incident_id), anchors(ws, incident_id), unsealed=unsealed)

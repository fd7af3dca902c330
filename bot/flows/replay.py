"""`replay`: recompute the event, the readiness verdict and the dry-run verdict from the recorded
inputs at the recorded commits, and list every difference from what the audit trace says happened.

The gate runs the same replay on the trace so far for its Process point (the chapter's case study: 5 only
for a replay by incident id from git alone; a log alone, or a replay needing manual substitution, is 4)."""

from __future__ import annotations

from bot.config.loader import canonical_json
from bot.errors import BotError, InputError
from bot.flows import trace
from bot.flows.check_dry_run import evaluate_dry_run
from bot.flows.check_readiness import evaluate_readiness
from bot.flows.derive import renormalized
from bot.flows.subject import subject
from bot.flows.workspace import Workspace
from bot.model.ids import incident_dir
from bot.rules.audit import AuditEntry

JUDGED = ("readiness", "dry_run")


def replay(ws: Workspace, incident_id: str) -> list[str]:
    entries = trace.current(ws, incident_id)  # stored, then implied by the bot's phase commits
    if not entries:
        raise InputError(incident_id, "incident_id", "no audit trace for this incident")
    return reproduce(ws, incident_id, entries)


def reproduce(ws: Workspace, incident_id: str, entries: list[AuditEntry]) -> list[str]:
    """Every entry git alone does not reproduce: a different result, or one that cannot be recomputed (its
    commit or base is not recorded, or git no longer holds them). A readiness entry is judged again with the
    problems of the entries before it, as its own gate saw them, so the same trace always replays the same."""
    problems: list[str] = []
    for index, entry in enumerate(entries):
        commit, base = entry.evidence.get("commit"), entry.evidence.get("base")
        if entry.status == "refused":
            continue
        if entry.step in JUDGED and not (isinstance(commit, str) and isinstance(base, str)):
            problems.append(f"entry {entry.seq} ({entry.step}) records no commit or base: replay would need "
                            "them substituted by hand")
            continue
        if not isinstance(commit, str) or entry.step not in (*JUDGED, "incident_event_normalized"):
            continue
        label = f"entry {entry.seq} ({entry.step} at {commit[:12]})"
        try:
            found = _difference(ws, incident_id, entries, index, list(problems))
        except BotError as exc:  # git no longer holds what it names: nothing to replay from
            found = f"cannot be recomputed from git: {exc}"
        if found:
            problems.append(f"{label}: {found}")
    return problems


def _difference(ws: Workspace, incident_id: str, entries: list[AuditEntry], index: int, before: list[str]
                ) -> str | None:
    entry = entries[index]
    commit = str(entry.evidence["commit"])
    if entry.step == "incident_event_normalized":
        d = incident_dir(incident_id)
        files = ws.forge.tree(commit, f"{d}/sources/")
        recorded = ws.forge.read(commit, f"{d}/event.json")
        key = (ws.event(commit, incident_id) if recorded else {}).get("incident_key", "")
        again = renormalized(ws, files, incident_id, key)
        if again is None or canonical_json(again) != recorded:
            return "re-normalizing the recorded sources does not give event.json"
        return None
    pinned = ws.pinned(str(entry.evidence["base"]), entry.at)
    s = subject(pinned, incident_id, head=commit, rollback=bool(entry.evidence.get("rollback")))
    got: tuple[object, ...]
    want: tuple[object, ...]
    if entry.step == "readiness":
        # the pull request's description is the forge's, not git's: its point is taken as the entry recorded it
        links = [bool(p[2]) for p in entry.evidence.get("points") or [] if list(p[:2]) == ["process", "pull request"]]
        _, _, gate = evaluate_readiness(pinned, s, entry.evidence.get("profile"), entries[:index], before,
                                        links[0] if links else None)
        got = (gate.verdict, gate.score, list(gate.reasons))
        want = (entry.evidence.get("verdict"), entry.evidence.get("score"), entry.evidence.get("reasons"))
    else:
        result, _ = evaluate_dry_run(pinned, s)
        got = (result.verdict, None, list(result.reasons))
        want = (entry.evidence.get("verdict"), None, entry.evidence.get("reasons"))
    if got == want:
        return None
    return f"recorded {want[0]} {want[1] or ''} {want[2]}, replay gives {got[0]} {got[1] or ''} {got[2]}".replace(
        "  ", " ")

"""`replay`: recompute the event, the readiness verdict and the dry-run verdict from the recorded
inputs at the recorded commits, and list every difference from what the audit trace says happened."""

from __future__ import annotations

from bot.config.loader import canonical_json
from bot.errors import InputError
from bot.flows import trace
from bot.flows.check_dry_run import evaluate_dry_run
from bot.flows.check_readiness import evaluate_readiness
from bot.flows.derive import renormalized
from bot.flows.subject import subject
from bot.flows.workspace import Workspace
from bot.model.ids import incident_dir


def replay(ws: Workspace, incident_id: str) -> list[str]:
    entries = trace.current(ws, incident_id)  # stored, then implied by the bot's phase commits
    if not entries:
        raise InputError(incident_id, "incident_id", "no audit trace for this incident")
    d = incident_dir(incident_id)
    problems: list[str] = []
    for index, entry in enumerate(entries):
        commit = entry.evidence.get("commit")
        if entry.status == "refused" or not isinstance(commit, str):
            continue
        label = f"entry {entry.seq} ({entry.step} at {commit[:12]})"
        if entry.step == "incident_event_normalized":
            files = ws.forge.tree(commit, f"{d}/sources/")
            recorded = ws.forge.read(commit, f"{d}/event.json")
            key = (ws.event(commit, incident_id) if recorded else {}).get("incident_key", "")
            again = renormalized(ws, files, incident_id, key)
            if again is None or canonical_json(again) != recorded:
                problems.append(f"{label}: re-normalizing the recorded sources does not give event.json")
        elif entry.step in ("readiness", "dry_run") and isinstance(entry.evidence.get("base"), str):
            pinned = ws.pinned(entry.evidence["base"], entry.at)
            s = subject(pinned, incident_id, head=commit, rollback=bool(entry.evidence.get("rollback")))
            got: tuple[object, ...]
            want: tuple[object, ...]
            if entry.step == "readiness":
                _, _, gate = evaluate_readiness(pinned, s, entry.evidence.get("profile"), entries[:index])
                got = (gate.verdict, gate.score, list(gate.reasons))
                want = (entry.evidence.get("verdict"), entry.evidence.get("score"), entry.evidence.get("reasons"))
            else:
                result, _ = evaluate_dry_run(pinned, s)
                got = (result.verdict, None, list(result.reasons))
                want = (entry.evidence.get("verdict"), None, entry.evidence.get("reasons"))
            if got != want:
                problems.append(f"{label}: recorded {want[0]} {want[1] or ''} {want[2]}, replay gives "
                                f"{got[0]} {got[1] or ''} {got[2]}".replace("  ", " "))
    return problems

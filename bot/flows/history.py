"""The remediations merged so far, read from trusted records only: the default branch (which holds every merged
incident's `plan.md`, naming its workload) and each incident's audit trace (its sealed `merge` entry, with the
merge's time). Nothing an open incident branch says about itself is read here."""

from __future__ import annotations

from typing import Any

from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.model.ids import incident_dir, is_incident_id
from bot.model.values import Plan
from bot.rules.recurrence import Remediation, escalations, workload_key


def main_commit(ws: Workspace) -> str:
    """Main's head, resolved once by a caller that then reads many files of it by commit id (no ref lookups)."""
    return ws.forge.head(ws.main) or ws.main


def merged_plan(ws: Workspace, main: str, incident_id: str) -> str | None:
    """The incident's plan.md as `main` holds it: main holds an incident's files only once it was merged (main
    changes through reviewed merges), so this says whether it was, whatever its pull record says."""
    return ws.forge.read(main, f"{incident_dir(incident_id)}/plan.md")


def remediations(ws: Workspace, before: str | None = None) -> list[Remediation]:
    """Every remediation merged into main (as main is in `ws`: a replay pins it), oldest first. `before`: only
    incidents whose id date (their first firing) is on or before that day, the others cannot precede an alert."""
    key = "history" if before is None else f"history:{before[:10]}"
    if key in ws._cache:
        cached: list[Remediation] = ws._cache[key]
        return cached
    policy = ws.policy()
    found = []
    main = main_commit(ws)
    for branch, head in sorted(ws.forge.branches("audit/").items()):
        incident_id = branch.split("/", 1)[1]
        if not is_incident_id(incident_id) or (before is not None and incident_id.split("-", 1)[1][:10] > before[:10]):
            continue
        itype = policy.incident_types.by_prefix(incident_id.split("-", 1)[0])
        if itype is None:
            continue
        plan = merged_plan(ws, main, incident_id)
        if plan is None:  # not merged, or not on this main (e.g. a replay pinned before the merge)
            continue
        workload = workload_key(Plan.from_text(plan, f"{incident_dir(incident_id)}/plan.md").workload)
        # main holds its plan: it was merged, and its trace must say when, in entries the bot sealed
        merges = [e for e in trace.stored_at(ws, incident_id, head)
                  if e.step == "merge" and e.status == "ok" and not e.evidence.get("rollback")]
        if not merges or not trace.head_sealed(ws, head):
            found.append(Remediation(incident_id, itype.name, workload, "", verified=False))
            continue
        found.append(Remediation(incident_id, itype.name, workload, merges[0].at))
    ws._cache[key] = found
    return found


def repeated_failure(ws: Workspace, incident_id: str, event: dict[str, Any], workload: dict[str, Any]
                     ) -> tuple[str, ...]:
    """Why this incident must not be remediated automatically (policies/remediation.yaml), judged at the time
    its alert fired: the same verdict at any later time, and in a replay."""
    limits = ws.policy().limits.types.get(str(event.get("type", "")))
    at = event.get("started_at")
    if limits is None or not isinstance(at, str) or not workload:
        return ()
    return escalations(remediations(ws, at), incident_id, str(event["type"]), workload_key(workload), at, limits)

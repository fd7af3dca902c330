"""The validate step's check of the spec's acceptance criteria: after the merge, each Given/When/Then criterion
on the state after the remediation is checked against the resolved alert the step stores (bot/rules/criteria.py);
the result goes into the `validate` audit entry, which the evidence package's validation.md shows."""

from __future__ import annotations

from typing import Any

from bot.config.loader import front_matter
from bot.flows.workspace import Workspace
from bot.model.ids import incident_dir
from bot.rules import criteria


def checked_criteria(ws: Workspace, incident_id: str, resolved: list[str]) -> dict[str, Any]:
    """The `validate` entry's evidence on the criteria: how many the spec has, and each one checked. The
    merged incident's files are read from main (the merge brought them there)."""
    d = incident_dir(incident_id)
    specify = ws.forge.read(ws.main, f"{d}/specify.md") or ""
    tasks = ws.forge.read(ws.main, f"{d}/tasks.md")
    planned = front_matter(tasks, f"{d}/tasks.md").get("validation") if tasks else None
    windows = planned.get("windows") if isinstance(planned, dict) else None
    found = criteria.parse(specify)
    # validate runs only after the merged remediation (bot/rules/delivery.py: VALIDATED follows a merge entry);
    # the record's windows: the firing one of event.json and one per resolved alert
    post = criteria.PostRemediation(merged=True, resolved=tuple(resolved),
                                    windows_wanted=windows if isinstance(windows, int) else None,
                                    windows_recorded=1 + len(resolved))
    return {"criteria_total": len(found),
            "criteria": [{"criterion": c.criterion, "met": c.met, "evidence": c.evidence}
                         for c in criteria.check(found, post)]}

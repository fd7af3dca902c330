"""`evidence`: the review package of one incident (readiness.md, validation.md) from its audit trace and the
artifacts the trace records; reads only, writes nothing to the forge (bot/render/evidence.py renders it)."""

from __future__ import annotations

from typing import Any

from bot.config.loader import front_matter, parse_json, schema_errors
from bot.errors import InputError
from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.intake.renormalize import renormalize
from bot.model.ids import audit_branch, incident_branch, incident_dir
from bot.render.evidence import Package, PostEvidence
from bot.rules import criteria
from bot.rules.audit import COMMAND, AuditEntry
from bot.rules.remedies import Context


def package(ws: Workspace, incident_id: str) -> Package:
    entries = trace.entries(ws, incident_id)  # stored only: the package never depends on when it is made
    if not entries:
        raise InputError(incident_id, "incident_id", "no audit trace for this incident")
    _check_commands(incident_id, entries)
    d = incident_dir(incident_id)
    ready = [e for e in entries if e.step == "readiness" and not e.evidence.get("rollback")]
    at = ready[-1].evidence.get("commit") if ready else ws.forge.head(incident_branch(incident_id))

    def read(path: str) -> str | None:
        return ws.forge.read(at, path) if isinstance(at, str) else None

    specify_text = read(f"{d}/specify.md")
    specify = _front(specify_text, f"{d}/specify.md")
    plan = _front(read(f"{d}/plan.md"), f"{d}/plan.md")
    tasks = _front(read(f"{d}/tasks.md"), f"{d}/tasks.md")
    found = plan.get("workload")
    workload: dict[str, Any] = found if isinstance(found, dict) else {}
    event_text = read(f"{d}/event.json")
    event = parse_json(event_text, f"{d}/event.json") if event_text else {}
    context = Context(
        incident_id=incident_id,
        spec=str(specify.get("spec") or f"specs/{event.get('type', '<type>')}/specify.md"),
        action=plan.get("action") if isinstance(plan.get("action"), str) else None,
        workload=str(workload.get("path") or f"deploy/{event.get('namespace', '<namespace>')}/"),
        workload_name=str(workload.get("name") or event.get("service") or "<workload>"),
        namespace=str(workload.get("namespace") or event.get("namespace") or "<namespace>"),
        profile=str(ready[-1].evidence.get("profile") or "default") if ready else "default",
    )
    planned = tasks.get("validation")
    windows = planned.get("windows") if isinstance(planned, dict) else None
    post = [_firing(at, event)] if event else []
    post += _resolved(ws, incident_id, entries, event.get("incident_key", ""))
    return Package(
        incident_id=incident_id,
        entries=entries,
        integrity=trace.verify(ws, incident_id).problems,
        context=context,
        tasks=[t for t in tasks.get("tasks") or [] if isinstance(t, dict)],
        windows=windows if isinstance(windows, int) else None,
        post=post,
        judged=at if isinstance(at, str) else None,
        criteria=criteria.parse(specify_text or ""),
    )


def _front(text: str | None, source: str) -> dict[str, Any]:
    return front_matter(text, source) if text else {}


def _check_commands(incident_id: str, entries: list[AuditEntry]) -> None:
    """The command entries are validated once, here at the edge (bot/config/schemas/audit_command.schema.json)."""
    for e in entries:
        if e.step == COMMAND:
            for path, message in schema_errors(e.evidence, "audit_command"):
                raise InputError(trace.audit_path(incident_id), f"entry {e.seq}: evidence{path[1:]}", message)


def _firing(at: object, event: dict[str, Any]) -> PostEvidence:
    return PostEvidence(file=f"{incident_dir(str(event.get('incident_id')))}/event.json at commit {str(at)[:12]}",
                        source="normalized event", status=str(event.get("status")), ended_at=None,
                        metric_context=dict(event.get("metric_context") or {}),
                        window_minutes=event.get("window_minutes"))


def _resolved(ws: Workspace, incident_id: str, entries: list[AuditEntry], key: str) -> list[PostEvidence]:
    """Each resolved alert the validate entries stored on the audit branch, normalized again."""
    out = []
    for e in entries:
        if e.step != "validate":
            continue
        for path in e.evidence.get("files", []):
            text = ws.forge.read(audit_branch(incident_id), str(path))
            if text is None:
                continue
            name = str(path).rsplit("/", 1)[-1]
            again = renormalize({f"{incident_dir(incident_id)}/sources/{name}": text}, ws.policy(), incident_id, key)
            if again is None:
                continue
            refs = [r for items in again.get("source_refs", {}).values() for r in items]
            ended = next((r.get("ends_at") for r in refs if r.get("ends_at")), None)
            out.append(PostEvidence(str(path), name.split("-", 1)[0], str(again.get("status")), ended,
                                    dict(again.get("metric_context") or {}), again.get("window_minutes")))
    return out

"""The SDD files of an incident (specify.md, plan.md, tasks.md): rendered from facts, parsed back (pure).

Each file starts with YAML front matter (the machine-readable part the gate reads) followed by prose
for the reviewer. Rendering is deterministic: the same facts give the same bytes, so re-running a
phase is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from bot.config import loader
from bot.config.policy import Action, Catalog
from bot.rules.spec import Spec


def front_matter(text: str | None, source: str) -> dict[str, Any]:
    return {} if text is None else loader.front_matter(text, source)


def _dump(data: dict[str, Any]) -> str:
    return "---\n" + yaml.safe_dump(data, sort_keys=True, default_flow_style=False) + "---\n"


def render_specify(event: dict[str, Any], spec: Spec, spec_path: str) -> str:
    """The type's spec instantiated with the incident's facts: still WHY/WHAT/constraints, no command."""
    facts = {
        "incident_id": event["incident_id"],
        "incident_key": event["incident_key"],
        "incident_type": spec.incident_type,
        "spec": spec_path,
        "service": event["service"],
        "namespace": event["namespace"],
        "pod": event["pod"],
        "affected_pods": event.get("pods", [event["pod"]] if event["pod"] else []),
        "severity": event["severity"],
        "window_minutes": event["window_minutes"],
        "metric_context": event["metric_context"],
        "pre_approved_actions": sorted(spec.pre_approved),
        "max_blast_radius": spec.max_blast_radius,
    }
    header = (
        f"# Specify {event['incident_id']}: {spec.incident_type}\n\n"
        f"Instantiated from `{spec_path}` for incident `{event['incident_id']}` "
        f"(`{event['incident_key']}`), from the normalized event `event.json`.\n"
    )
    return _dump(facts) + header + spec.body


@dataclass(frozen=True)
class PlanChoice:
    action: Action | None
    facts: dict[str, bool]  # everything read from the desired state
    rejected: dict[str, list[str]]  # action -> unmet preconditions
    required: tuple[str, ...] = ()  # the chosen action's preconditions (catalog + spec `requires`)

    @property
    def preconditions(self) -> dict[str, bool]:
        return {name: self.facts.get(name, False) for name in self.required}


def choose(spec: Spec, catalog: Catalog, facts: dict[str, bool]) -> PlanChoice:
    """The first pre-approved action (in spec order) whose catalog and spec preconditions all hold."""
    rejected: dict[str, list[str]] = {}
    for name, approved in spec.pre_approved.items():
        action = catalog.actions.get(name)
        if action is None or name in catalog.forbidden:
            rejected[name] = ["not in the action catalog"]
            continue
        unmet = [p for p in (*action.preconditions, *approved.requires) if not facts.get(p, False)]
        if unmet:
            rejected[name] = sorted(set(unmet))
            continue
        required = tuple(dict.fromkeys((*action.preconditions, *approved.requires)))
        return PlanChoice(action, facts, rejected, required)
    return PlanChoice(None, facts, rejected)


def render_plan(incident_id: str, choice: PlanChoice, workload: dict[str, Any]) -> str:
    data: dict[str, Any] = {
        "incident_id": incident_id,
        "action": choice.action.name if choice.action else None,
        "blast_radius": choice.action.blast_radius if choice.action else None,
        "workload": workload,
        "preconditions": choice.preconditions,
        "facts": choice.facts,
        "rejected": choice.rejected,
    }
    lines = [f"# Plan {incident_id}", ""]
    if choice.action is None:
        lines += ["No pre-approved action applies: a human takes over (manual intervention).", ""]
    else:
        a = choice.action
        lines += [
            f"Strategy: **{a.name}** on {workload['kind']} `{workload['namespace']}/{workload['name']}`.", "",
            "- Why this one: the first pre-approved action of the spec whose preconditions hold ("
            + (", ".join(f"{k}={str(v).lower()}" for k, v in sorted(choice.preconditions.items())) or "none needed")
            + ").",
            "- Facts read from deploy/: "
            + ", ".join(f"{k}={str(v).lower()}" for k, v in sorted(choice.facts.items())) + ".",
            f"- What it changes: {a.description}",
            f"- Blast radius: {a.blast_radius}.",
            f"- Rollback: {a.rollback}", "",
        ]
    for name, unmet in sorted(choice.rejected.items()):
        lines.append(f"- Not chosen: {name} ({', '.join(unmet)})")
    return _dump(data) + "\n".join(lines).rstrip() + "\n"


def render_tasks(incident_id: str, choice: PlanChoice, changed: list[str]) -> str:
    tasks: list[dict[str, Any]] = []
    if choice.action is not None:
        radius = choice.action.blast_radius
        tasks = [
            {"id": "T1", "step": f"render {choice.action.name} into the desired state", "files": changed,
             "radius": radius, "idempotent": True, "dry_run_verified": False},
            {"id": "T2", "step": "readiness gate on the head commit", "radius": "none", "idempotent": True,
             "dry_run_verified": False},
            {"id": "T3", "step": "dry-run: the diff under deploy/ equals the rendering, manifests validate",
             "radius": "none", "idempotent": True, "dry_run_verified": False},
            {"id": "T4", "step": "human review by a code owner, then merge; Argo CD syncs", "radius": radius,
             "idempotent": True, "dry_run_verified": False},
            {"id": "T5", "step": "validate: memory_percent below threshold in two windows, alert resolved",
             "radius": "none", "idempotent": True, "dry_run_verified": False},
        ]
    data = {"incident_id": incident_id, "tasks": tasks, "validation": {"windows": 2, "evidence": "resolved alert"}}
    lines = [f"# Tasks {incident_id}", ""]
    for t in tasks:
        files = f" ({', '.join(t['files'])})" if t.get("files") else ""
        lines.append(f"- [ ] {t['id']} {t['step']}{files}: radius {t['radius']}, idempotent, "
                     f"dry-run {'verified' if t['dry_run_verified'] else 'pending until readiness passes'}")
    if not tasks:
        lines.append("- [ ] escalate to the on-call engineer: no pre-approved action applies")
    return _dump(data) + "\n".join(lines) + "\n"

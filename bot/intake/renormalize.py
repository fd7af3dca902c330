"""The event of one incident recomputed from its recorded (redacted) sources (pure): `open` writes it,
the gate and `replay` check that event.json is exactly this.

An incident is per remediation target: the alert its key names (the anchor) together with every other
firing alert of the same incident type that resolves to the same workload (any pod, any source). Each
recorded delivery is normalized on its own, so alerts of different pods are never correlated into one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.config.loader import parse_json
from bot.config.policy import Policy
from bot.intake.alert import SEVERITY_RANK
from bot.intake.normalize import normalize

# event -> its remediation target (`Kind/namespace/name` through main's deploy/), None when none resolves
Target = Callable[[dict[str, Any]], str | None]


def recorded_alerts(sources: dict[str, str], policy: Policy) -> list[dict[str, Any]]:
    """One event per target of every recorded delivery (`sources`: path -> redacted JSON), in path order;
    their `incident_id` holds the stem only."""
    events: list[dict[str, Any]] = []
    for path, text in sorted(sources.items()):
        name = path.rsplit("/", 1)[-1]
        events += normalize({name.split("-", 1)[0]: (parse_json(text, path), path)}, policy.incident_types)
    return events


def members(events: list[dict[str, Any]], incident_key: str, target: Target | None = None) -> list[dict[str, Any]]:
    """The alerts of the incident anchored at `incident_key`, the anchor's first (empty: no such alert)."""
    anchor = next((e for e in events if e["incident_key"] == incident_key), None)
    if anchor is None:
        return []
    goal = target(anchor) if target is not None else None

    def belongs(e: dict[str, Any]) -> bool:
        if e["incident_key"] == incident_key:
            return True
        if e["type"] != anchor["type"] or e["status"] != "firing":
            return False
        return goal is not None and target is not None and target(e) == goal

    return [anchor] + [e for e in events if e is not anchor and belongs(e)]


def renormalize(sources: dict[str, str], policy: Policy, incident_id: str, incident_key: str,
                target: Target | None = None) -> dict[str, Any] | None:
    """The event of the incident anchored at `incident_key`, recomputed from recorded sources, numbered
    `incident_id`; `pods` and `alert_keys` list every pod and alert key it holds."""
    found: dict[str, Any] | None = None
    for event in members(recorded_alerts(sources, policy), incident_key, target):
        found = _merge_events(found, {**event, "incident_id": incident_id})
    if found is None:
        return None
    return {**found, "pods": sorted(found.pop("pods")), "alert_keys": sorted(found.pop("alert_keys"))}


def _merge_events(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    if old is None:
        return {**new, "pods": {new["pod"]} - {None}, "alert_keys": {new["incident_key"]}}
    refs: dict[str, list[Any]] = {}
    for event in (old, new):
        for source, items in event["source_refs"].items():
            for item in items:
                if item not in refs.setdefault(source, []):
                    refs[source].append(item)
    merged = {**old, "source_refs": {s: sorted(v, key=lambda r: json.dumps(r, sort_keys=True))
                                     for s, v in sorted(refs.items())}}
    merged["started_at"] = min(old["started_at"], new["started_at"])
    merged["status"] = "firing" if "firing" in (old["status"], new["status"]) else "resolved"
    merged["severity"] = max(old["severity"], new["severity"], key=SEVERITY_RANK.__getitem__)
    for key in ("service", "namespace", "pod", "alertname", "window_minutes"):
        merged[key] = old[key] if old[key] is not None else new[key]
    merged["metric_context"] = {**new["metric_context"], **old["metric_context"]}
    merged["pods"] = old["pods"] | ({new["pod"]} - {None})
    merged["alert_keys"] = old["alert_keys"] | {new["incident_key"]}
    return merged

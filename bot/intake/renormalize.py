"""The event of one incident recomputed from its recorded (redacted) sources (pure): `open` writes it,
the gate and `replay` check that event.json is exactly this."""

from __future__ import annotations

import json
from typing import Any

from bot.config.loader import parse_json
from bot.config.policy import Policy
from bot.intake.normalize import normalize


def renormalize(sources: dict[str, str], policy: Policy, incident_id: str, incident_key: str) -> dict[str, Any] | None:
    """The event of `incident_key` recomputed from recorded (redacted) sources, numbered `incident_id`."""
    by_source: dict[str, list[tuple[Any, str]]] = {}
    for path, text in sorted(sources.items()):
        name = path.rsplit("/", 1)[-1]
        by_source.setdefault(name.split("-", 1)[0], []).append((parse_json(text, path), path))
    # Deliveries of one source are normalized one by one and their alerts pooled per source.
    found: dict[str, Any] | None = None
    combos = _combinations(by_source)
    for payloads in combos:
        for event in normalize(payloads, policy.incident_types):
            if event["incident_key"] == incident_key:
                found = _merge_events(found, {**event, "incident_id": incident_id})
    return found


def _combinations(by_source: dict[str, list[tuple[Any, str]]]) -> list[dict[str, tuple[Any, str]]]:
    """Pair the i-th delivery of each source (a later delivery of one source is merged on its own)."""
    longest = max((len(v) for v in by_source.values()), default=0)
    return [{s: items[min(i, len(items) - 1)] for s, items in by_source.items()} for i in range(longest)]


def _merge_events(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    if old is None:
        return new
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
    for key in ("service", "namespace", "pod", "alertname", "window_minutes"):
        merged[key] = old[key] if old[key] is not None else new[key]
    merged["metric_context"] = {**new["metric_context"], **old["metric_context"]}
    return merged

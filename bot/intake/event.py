"""The `incident_event` of one correlated incident, before it is numbered (pure)."""

from __future__ import annotations

import json
from typing import Any

from bot.config.policy import IncidentTypes
from bot.intake.alert import SEVERITY_RANK, Alert
from bot.intake.correlate import effective_key, merged_identity


def event_of(alerts: tuple[Alert, ...], types: IncidentTypes) -> dict[str, Any]:
    """The event of one incident; `incident_id` holds only its stem (prefix and date) until numbered."""
    if len(alerts) == 1:
        return _event_of_one(alerts[0], types)
    identity = merged_identity(alerts)
    alertname = next((a.alertname for a in alerts if a.alertname), None)
    title = next((a.title for a in alerts if a.title), None)
    itype = types.classify(alertname, title)
    started = min(a.started_at for a in alerts)
    key = effective_key(alerts, identity)
    metrics: dict[str, float] = {}
    for alert in alerts:
        for name, value in alert.metrics.items():
            metrics.setdefault(name, value)
    refs: dict[str, list[dict[str, Any]]] = {}
    ordered = alerts if len(alerts) == 1 else sorted(  # one alert needs no sort key (a json.dumps each)
        alerts, key=lambda a: (a.source, json.dumps(a.ref, sort_keys=True)))
    for alert in ordered:
        refs.setdefault(alert.source, []).append(alert.ref)
    return {
        "incident_id": f"{itype.prefix}-{started[:10]}",
        "incident_key": key,
        "type": itype.name,
        "alertname": alertname,
        "service": identity.get("service"),
        "namespace": identity.get("namespace"),
        "pod": identity.get("pod"),
        "severity": max((a.severity for a in alerts), key=SEVERITY_RANK.__getitem__),
        "window_minutes": next((a.window_minutes for a in alerts if a.window_minutes is not None), None),
        "metric_context": metrics,
        "source_refs": refs,
        "status": "firing" if any(a.status == "firing" for a in alerts) else "resolved",
        "started_at": started,
    }


def _event_of_one(alert: Alert, types: IncidentTypes) -> dict[str, Any]:
    """`event_of` for the usual case, an incident of one alert, without the merging."""
    identity = alert.identity
    itype = types.classify(alert.alertname, alert.title)
    return {
        "incident_id": f"{itype.prefix}-{alert.started_at[:10]}",
        "incident_key": alert.key,
        "type": itype.name,
        "alertname": alert.alertname,
        "service": identity.get("service"),
        "namespace": identity.get("namespace"),
        "pod": identity.get("pod"),
        "severity": alert.severity,
        "window_minutes": alert.window_minutes,
        "metric_context": dict(alert.metrics),
        "source_refs": {alert.source: [alert.ref]},
        "status": alert.status,
        "started_at": alert.started_at,
    }

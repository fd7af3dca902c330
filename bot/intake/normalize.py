"""Normalizes Grafana, Alertmanager and PagerDuty webhooks into `incident_event` values (pure)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from bot.config.policy import IncidentTypes
from bot.errors import InputError, SourceConflict
from bot.intake.redact import clean_url, scrub_text

IDENTITY_FIELDS = ("incident_key", "service", "namespace", "pod")
METRIC_FIELDS = ("window_minutes", "metric_context")
SOURCES = ("grafana", "alertmanager", "pagerduty")
SEVERITY_RANK = {"unknown": 0, "info": 1, "warning": 2, "critical": 3}
_SEVERITY_ALIASES = {
    "critical": "critical", "crit": "critical", "page": "critical", "high": "critical", "p1": "critical",
    "p2": "critical", "error": "critical", "warning": "warning", "warn": "warning", "low": "warning",
    "p3": "warning", "p4": "info", "p5": "info", "info": "info", "none": "info",
}
_SERVICE_LABELS = ("service", "app_kubernetes_io_name", "app", "job")
_ZERO_TIME = "0001-01-01T00:00:00Z"
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
_VALUE_STRING = re.compile(r"var='(?P<var>[^']+)'[^\]]*?value=(?P<value>[-+0-9.eE]+|NaN)")
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass
class Alert:
    """One alert of one source, reduced to the fields incident-bot keeps (an allowlist).

    Internal to normalization and never mutated after parsing; not frozen because a frozen dataclass's
    __init__ (object.__setattr__ per field) was a third of the per-alert cost (bench/normalize_bench.py).
    """

    source: str
    status: str
    started_at: str
    alertname: str | None = None
    title: str | None = None
    incident_key: str | None = None
    service: str | None = None
    namespace: str | None = None
    pod: str | None = None
    severity: str = "unknown"
    window_minutes: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    ref: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def identity(self) -> dict[str, str]:
        """The identity fields this alert carries (computed once: correlation asks often)."""
        return {f: v for f in IDENTITY_FIELDS if (v := getattr(self, f)) is not None}

    @cached_property
    def key(self) -> str:
        """Its incident key: the vendor's, else derived from its identity."""
        return self.incident_key or _derived_key(self.alertname, self.identity)


# ---------------------------------------------------------------- small readers


def _get(data: Any, path: str, source: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
    """Walk a dotted path; raise InputError naming the path when it is missing or of the wrong kind."""
    node = data
    walked = "$"
    for part in path.split("."):
        walked += f".{part}"
        if not isinstance(node, dict) or part not in node or node[part] is None:
            if required:
                raise InputError(source, walked, "required field is missing")
            return None
        node = node[part]
    if not isinstance(node, kind) or (isinstance(node, bool) and bool not in _as_tuple(kind)):
        raise InputError(source, walked, f"expected {_kind_name(kind)}, got {type(node).__name__}")
    return node


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean"}
    return " or ".join(names.get(k, k.__name__) for k in _as_tuple(kind))


def _utc(text: str, source: str, where: str) -> str:
    """ISO-8601 in any offset and precision (Grafana sends nanoseconds) to UTC seconds, `Z` suffix."""
    raw = text.strip()
    match = _RFC3339.match(raw)
    if not match:
        raise InputError(source, where, f"not an RFC 3339 timestamp: {raw[:40]!r}")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    try:
        moment = datetime.fromisoformat(match.group(1) + zone)
    except ValueError:
        raise InputError(source, where, f"not a valid date: {raw[:40]!r}") from None
    if zone == "+00:00" and moment.year >= 1000:  # already UTC: the same digits strftime would give
        return f"{match.group(1)}Z"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    match = _DURATION.match(text)
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2) or "m"
    return {"s": amount // 60, "m": amount, "h": amount * 60, "d": amount * 1440}[unit]


def _severity(text: Any) -> str:
    return _SEVERITY_ALIASES.get(str(text).strip().lower(), "unknown") if text else "unknown"


def _clean(text: Any) -> str | None:
    """A label value fit for the event: stripped and scrubbed, or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    return scrub_text(text.strip())


def _metrics(alert: dict[str, Any]) -> dict[str, float]:
    values = alert.get("values")
    out: dict[str, float] = {}
    if isinstance(values, dict):
        for key, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[str(key)] = value
    elif isinstance(alert.get("valueString"), str):
        for match in _VALUE_STRING.finditer(alert["valueString"]):
            try:
                number = float(match.group("value"))
            except ValueError:
                continue
            if number == number:  # NaN never enters the event
                out[match.group("var")] = int(number) if number.is_integer() else number
    return out


# ---------------------------------------------------------------- vendor parsers


def _prometheus_style(data: Any, source: str, vendor: str) -> list[Alert]:
    """Grafana unified alerting and Alertmanager v4 share the Alertmanager webhook shape."""
    if not isinstance(data, dict):
        raise InputError(source, "$", f"expected a {vendor} webhook object, got {type(data).__name__}")
    if vendor == "grafana" and "alerts" not in data and ("evalMatches" in data or "ruleId" in data):
        raise InputError(source, "$.alerts", "legacy Grafana dashboard alert (removed in Grafana 11); "
                         "use a unified alerting contact point")
    alerts = _get(data, "alerts", source, list)
    if not alerts:
        raise InputError(source, "$.alerts", "empty: the webhook carries no alert")
    group_key = data.get("groupKey") if isinstance(data.get("groupKey"), str) else None
    # Alerts of one group repeat most label values and the rule's URL: scrub each distinct one once.
    cleaned: dict[str, str | None] = {}
    urls: dict[str, str] = {}

    def clean(text: Any) -> str | None:
        if not isinstance(text, str):
            return None
        if text not in cleaned:
            cleaned[text] = _clean(text)
        return cleaned[text]

    out = []
    for i, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise InputError(source, f"$.alerts[{i}]", "expected an object")
        labels: dict[str, Any] = alert["labels"] if isinstance(alert.get("labels"), dict) else {}
        annotations: dict[str, Any] = alert["annotations"] if isinstance(alert.get("annotations"), dict) else {}
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise InputError(source, f"$.alerts[{i}].status", f"unknown alert status {status!r}")
        fingerprint = alert.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise InputError(source, f"$.alerts[{i}].fingerprint", "required field is missing")
        starts = alert.get("startsAt")
        if not isinstance(starts, str):
            raise InputError(source, f"$.alerts[{i}].startsAt", "required field is missing")
        if starts.startswith("0001-01-01"):
            raise InputError(source, f"$.alerts[{i}].startsAt", "zero time: a test notification, not an alert")
        started = _utc(starts, source, f"$.alerts[{i}].startsAt")
        ends = alert.get("endsAt")
        ends_at = _utc(ends, source, f"$.alerts[{i}].endsAt") if isinstance(ends, str) and ends != _ZERO_TIME \
            and not ends.startswith("0001-01-01") else None
        generator = alert.get("generatorURL")
        service = next((value for k in _SERVICE_LABELS if (value := clean(labels.get(k)))), None)
        window = _minutes(labels.get("window")) or _minutes(annotations.get("window"))
        out.append(
            Alert(
                source=vendor,
                status=status,
                started_at=started,
                alertname=clean(labels.get("alertname")),
                incident_key=clean(labels.get("incident_key")),
                service=service,
                namespace=clean(labels.get("namespace")),
                pod=clean(labels.get("pod")),
                severity=_severity(labels.get("severity")),
                window_minutes=window,
                metrics=_metrics(alert),
                ref={
                    "fingerprint": fingerprint,
                    "status": status,
                    "starts_at": started,
                    "ends_at": ends_at,
                    "generator_url": (urls.get(generator) or urls.setdefault(generator, clean_url(generator)))
                    if isinstance(generator, str) and generator else None,
                    "group_key": group_key,
                },
            )
        )
    return out


def parse_grafana(data: Any, source: str) -> list[Alert]:
    if isinstance(data, dict) and data.get("version") not in (None, "1"):
        raise InputError(source, "$.version", f"webhook version {data.get('version')!r} is not Grafana's '1' "
                         "(an Alertmanager payload? use --alertmanager)")
    return _prometheus_style(data, source, "grafana")


def parse_alertmanager(data: Any, source: str) -> list[Alert]:
    if isinstance(data, dict) and data.get("version") not in (None, "4"):
        raise InputError(source, "$.version", f"Alertmanager webhook version {data.get('version')!r}, expected '4'")
    return _prometheus_style(data, source, "alertmanager")


def parse_pagerduty(data: Any, source: str) -> list[Alert]:
    """PagerDuty Webhooks v3: one incident.* event per delivery."""
    if isinstance(data, dict) and "messages" in data and "event" not in data:
        raise InputError(source, "$.event", "PagerDuty V2 webhook (deprecated); subscribe with a V3 webhook")
    if not isinstance(data, dict):
        raise InputError(source, "$", f"expected a PagerDuty webhook object, got {type(data).__name__}")
    event = _get(data, "event", source, dict)
    resource = _get(data, "event.resource_type", source, str)
    if resource != "incident":
        raise InputError(source, "$.event.resource_type", f"{resource!r} event is not an incident alert")
    event_type = _get(data, "event.event_type", source, str)
    incident = _get(data, "event.data", source, dict)
    pd_id = _get(data, "event.data.id", source, str)
    pd_status = _get(data, "event.data.status", source, str)
    created = incident.get("created_at") if isinstance(incident.get("created_at"), str) else None
    if created:
        started = _utc(created, source, "$.event.data.created_at")
    else:
        started = _utc(_get(data, "event.occurred_at", source, str), source, "$.event.occurred_at")
    status = "resolved" if pd_status == "resolved" or event_type == "incident.resolved" else "firing"
    priority = incident.get("priority")
    severity = _severity(priority.get("summary")) if isinstance(priority, dict) else "unknown"
    if severity == "unknown":
        severity = _severity(incident.get("urgency"))
    number = incident.get("number")
    html_url = incident.get("html_url")
    key = incident.get("incident_key")
    return [
        Alert(
            source="pagerduty",
            status=status,
            started_at=started,
            title=_clean(incident.get("title")),
            incident_key=key if isinstance(key, str) and key else None,
            service=_clean(_get(data, "event.data.service.summary", source, str, required=False)),
            severity=severity,
            ref={
                "incident_id": pd_id,
                "incident_number": number if isinstance(number, int) and not isinstance(number, bool) else None,
                "incident_key": key if isinstance(key, str) and key else None,
                "html_url": clean_url(html_url) if isinstance(html_url, str) else None,
                "event_id": event.get("id") if isinstance(event.get("id"), str) else None,
                "event_type": event_type,
                "status": status,
            },
        )
    ]


PARSERS = {"grafana": parse_grafana, "alertmanager": parse_alertmanager, "pagerduty": parse_pagerduty}


# ---------------------------------------------------------------- correlation


@dataclass
class _Group:
    """Alerts believed to be one incident; identity holds every field some alert carried."""

    alerts: tuple[Alert, ...]
    identity: dict[str, str]

    def sources(self) -> str:
        return ",".join(sorted({a.source for a in self.alerts}))


def _derived_key(alertname: str | None, identity: dict[str, str]) -> str:
    """Key for sources that carry none: alertname/service/namespace/pod ('-' where unknown)."""
    parts = [alertname or "-"] + [identity.get(f) or "-" for f in ("service", "namespace", "pod")]
    return "/".join(parts)


def _effective_key(alerts: tuple[Alert, ...], identity: dict[str, str] | None = None) -> str:
    explicit = next((a.incident_key for a in alerts if a.incident_key), None)
    if explicit:
        return explicit
    alertname = next((a.alertname for a in alerts if a.alertname), None)
    return _derived_key(alertname, _merged_identity(alerts) if identity is None else identity)


def _disagreement(a: dict[str, str], b: dict[str, str]) -> str | None:
    for name in IDENTITY_FIELDS:
        if name in a and name in b and a[name] != b[name]:
            return name
    return None


def _group_one_source(alerts: list[Alert]) -> list[_Group]:
    """Within one payload, alerts with the same key (explicit or derived) are one incident."""
    buckets: dict[str, list[Alert]] = {}
    for alert in alerts:
        buckets.setdefault(alert.key, []).append(alert)
    return [_Group(tuple(b), b[0].identity if len(b) == 1 else _merged_identity(b)) for _, b in sorted(buckets.items())]


def _merged_identity(alerts: list[Alert] | tuple[Alert, ...]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for alert in alerts:
        for name, value in alert.identity.items():
            merged.setdefault(name, value)
    return merged


def correlate(per_source: dict[str, list[Alert]]) -> list[tuple[Alert, ...]]:
    """Merge sources on identity: fields both sides carry must agree, and at least one must be shared.

    Metric context (values, window) never takes part. Raises SourceConflict naming the field.
    """
    merged: list[_Group] = []
    for source in SOURCES:
        if source not in per_source:
            continue
        groups = _group_one_source(per_source[source])
        if not merged:
            merged = groups
            continue
        for group in groups:
            shared = [m for m in merged if set(m.identity) & set(group.identity)]
            fits = [m for m in shared if _disagreement(m.identity, group.identity) is None]
            if len(fits) > 1 and "incident_key" in group.identity:
                # A vendor key (e.g. PagerDuty's dedup key) picks among incidents whose key is derived.
                fits = [m for m in fits if _effective_key(m.alerts) == group.identity["incident_key"]] or fits
            if len(fits) == 1:
                target = fits[0]
                joined = target.alerts + group.alerts
                merged[merged.index(target)] = _Group(joined, _merged_identity(joined))
                continue
            if len(fits) > 1:
                raise SourceConflict(
                    f"{source} incident matches {len(fits)} incidents of {fits[0].sources()}: "
                    "ambiguous, it needs an incident_key"
                )
            if shared:
                other = shared[0]
                name = _disagreement(other.identity, group.identity) or "incident_key"
                raise SourceConflict(
                    f"sources describe different incidents: {name} differs "
                    f"({other.sources()}: {other.identity.get(name)!r}, {source}: {group.identity.get(name)!r})"
                )
            carried = ",".join(sorted(group.identity)) or "none"
            theirs = ",".join(sorted({k for m in merged for k in m.identity})) or "none"
            raise SourceConflict(
                f"sources describe different incidents: no identity field in common "
                f"({source} carries {carried}; {merged[0].sources()} carry {theirs})"
            )
    return [g.alerts for g in merged]


# ---------------------------------------------------------------- events


def _event(alerts: tuple[Alert, ...], types: IncidentTypes) -> dict[str, Any]:
    """The event of one incident; `incident_id` holds only its stem (prefix and date) until numbered."""
    if len(alerts) == 1:
        return _event_of_one(alerts[0], types)
    identity = _merged_identity(alerts)
    alertname = next((a.alertname for a in alerts if a.alertname), None)
    title = next((a.title for a in alerts if a.title), None)
    itype = types.classify(alertname, title)
    started = min(a.started_at for a in alerts)
    key = _effective_key(alerts, identity)
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
    """`_event` for the usual case, an incident of one alert, without the merging."""
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


def normalize(
    payloads: dict[str, tuple[Any, str]], types: IncidentTypes, sequence: int = 1
) -> list[dict[str, Any]]:
    """Events for `payloads` ({source: (parsed JSON, file name)}), one per incident, in a stable order.

    Incidents of the same type and day get consecutive sequence numbers starting at `sequence`.
    """
    if not payloads:
        raise InputError("normalize", "sources", "give at least one of --grafana, --pagerduty, --alertmanager")
    per_source = {}
    for source, (data, name) in payloads.items():
        if source not in PARSERS:
            raise InputError(name, "source", f"unknown source {source!r}")
        per_source[source] = PARSERS[source](data, name)
    groups = correlate(per_source)
    events = [_event(g, types) for g in groups]
    events.sort(key=lambda e: (e["started_at"], e["incident_key"]))
    counters: dict[str, int] = {}
    for event in events:
        stem = event["incident_id"]
        counters[stem] = counters.get(stem, sequence - 1) + 1
        event["incident_id"] = f"{stem}-{counters[stem]:02d}"
    return events

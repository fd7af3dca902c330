"""The Alertmanager webhook shape, which Grafana unified alerting shares: a group of alerts to `Alert`s (pure)."""

from __future__ import annotations

import math
import re
from typing import Any

from bot.errors import InputError
from bot.intake.alert import SERVICE_LABELS, Alert, get, minutes, severity, url, utc
from bot.intake.alert import clean as clean_value
from bot.intake.redact import KEEP, TEXT, project

_ZERO_TIME = "0001-01-01T00:00:00Z"
_VALUE_STRING = re.compile(r"var='(?P<var>[^']+)'[^\]]*?value=(?P<value>[-+0-9.eE]+|NaN)")


def metrics(alert: dict[str, Any]) -> dict[str, float]:
    """Grafana's evaluated values: `values` when sent, else the numbers in `valueString` (never NaN)."""
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
            if math.isfinite(number):  # NaN and infinities never enter the event (they are not JSON)
                out[match.group("var")] = int(number) if number.is_integer() else number
    return out


# What parse_group reads, the only part of a delivery that is stored (bot.intake.redact.project).
LABELS_READ = ("alertname", "incident_key", "namespace", "pod", "severity", "window", *SERVICE_LABELS)
GROUP_KEPT: dict[str, Any] = {
    "version": KEEP,
    "groupKey": KEEP,
    "alerts": [{
        "status": KEEP, "fingerprint": KEEP, "startsAt": KEEP, "endsAt": KEEP, "generatorURL": KEEP,
        "labels": dict.fromkeys(LABELS_READ, TEXT), "annotations": {"window": TEXT},
        "values": {}, "valueString": {},
    }],
}


def kept_group(data: Any) -> Any:
    """The stored projection of a group delivery: `values` keeps every evaluated number, nothing else."""
    kept = project(data, GROUP_KEPT)
    for alert, original in zip(kept.get("alerts", []), data.get("alerts", []), strict=False):
        values = original.get("values")
        alert.pop("valueString", None)
        if isinstance(values, dict):
            alert["values"] = {str(k): v for k, v in values.items()
                               if isinstance(v, int | float) and not isinstance(v, bool)}
        elif isinstance(original.get("valueString"), str):  # only the var='...' value=... pairs metrics() reads
            alert["valueString"] = ", ".join(f"[ var='{m.group('var')}' value={m.group('value')} ]"
                                             for m in _VALUE_STRING.finditer(original["valueString"]))
    return kept


def parse_group(data: Any, source: str, vendor: str) -> list[Alert]:
    """Every alert of one delivery, firing and resolved; `vendor` is the source name the alerts carry."""
    if not isinstance(data, dict):
        raise InputError(source, "$", f"expected a {vendor} webhook object, got {type(data).__name__}")
    if vendor == "grafana" and "alerts" not in data and ("evalMatches" in data or "ruleId" in data):
        raise InputError(source, "$.alerts", "legacy Grafana dashboard alert (removed in Grafana 11); "
                         "use a unified alerting contact point")
    alerts = get(data, "alerts", source, list)
    if not alerts:
        raise InputError(source, "$.alerts", "empty: the webhook carries no alert")
    group_key = data.get("groupKey") if isinstance(data.get("groupKey"), str) else None
    # Alerts of one group repeat most label values and the rule's URL: scrub each distinct one once.
    cleaned: dict[str, str | None] = {}
    urls: dict[str, str] = {}
    times: dict[str, str] = {}  # one evaluation stamps every alert of a group with the same startsAt

    def when(text: str, i: int, name: str) -> str:
        found = times.get(text)
        if found is None:
            found = times[text] = utc(text, source, f"$.alerts[{i}].{name}")
        return found

    def clean(text: Any) -> str | None:
        if not isinstance(text, str):
            return None
        if text not in cleaned:
            cleaned[text] = clean_value(text)
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
        started = when(starts, i, "startsAt")
        ends = alert.get("endsAt")
        ends_at = when(ends, i, "endsAt") if isinstance(ends, str) and ends != _ZERO_TIME \
            and not ends.startswith("0001-01-01") else None
        generator = alert.get("generatorURL")
        service = next((value for k in SERVICE_LABELS if (value := clean(labels.get(k)))), None)
        window = minutes(labels.get("window")) or minutes(annotations.get("window"))
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
                severity=severity(labels.get("severity")),
                window_minutes=window,
                metrics=metrics(alert),
                ref={
                    "fingerprint": fingerprint,
                    "status": status,
                    "starts_at": started,
                    "ends_at": ends_at,
                    "generator_url": (urls.get(generator) or urls.setdefault(
                        generator, url(generator, source, f"$.alerts[{i}].generatorURL")))
                    if isinstance(generator, str) and generator else None,
                    "group_key": group_key,
                },
            )
        )
    return out

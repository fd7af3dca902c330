"""PagerDuty Webhooks v3: one `incident.*` event per delivery, its `v1=` signatures and its secret (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from bot.errors import InputError
from bot.intake.alert import Alert, clean, get, severity, url, utc, vendor_key
from bot.intake.base import AlertSource
from bot.intake.redact import KEEP, TEXT, project
from bot.intake.signatures import Secrets, SignatureError, any_equal, env_values, hmac_hex

PAGERDUTY_HEADER = "X-PagerDuty-Signature"
ENV_PAGERDUTY = "INCIDENT_BOT_PAGERDUTY_SECRET"


def parse_pagerduty(data: Any, source: str) -> list[Alert]:
    """PagerDuty Webhooks v3: one incident.* event per delivery."""
    if isinstance(data, dict) and "messages" in data and "event" not in data:
        raise InputError(source, "$.event", "PagerDuty V2 webhook (deprecated); subscribe with a V3 webhook")
    if not isinstance(data, dict):
        raise InputError(source, "$", f"expected a PagerDuty webhook object, got {type(data).__name__}")
    event = get(data, "event", source, dict)
    resource = get(data, "event.resource_type", source, str)
    if resource != "incident":
        raise InputError(source, "$.event.resource_type", f"{resource!r} event is not an incident alert")
    event_type = get(data, "event.event_type", source, str)
    incident = get(data, "event.data", source, dict)
    pd_id = get(data, "event.data.id", source, str)
    pd_status = get(data, "event.data.status", source, str)
    created = incident.get("created_at") if isinstance(incident.get("created_at"), str) else None
    if created:
        started = utc(created, source, "$.event.data.created_at")
    else:
        started = utc(get(data, "event.occurred_at", source, str), source, "$.event.occurred_at")
    status = "resolved" if pd_status == "resolved" or event_type == "incident.resolved" else "firing"
    priority = incident.get("priority")
    level = severity(priority.get("summary")) if isinstance(priority, dict) else "unknown"
    if level == "unknown":
        level = severity(incident.get("urgency"))
    number = incident.get("number")
    html_url = incident.get("html_url")
    key = vendor_key(incident.get("incident_key"), source, "$.event.data.incident_key")
    return [
        Alert(
            source="pagerduty",
            status=status,
            started_at=started,
            title=clean(incident.get("title")),
            incident_key=key,
            service=clean(get(data, "event.data.service.summary", source, str, required=False)),
            severity=level,
            ref={
                "incident_id": pd_id,
                "incident_number": number if isinstance(number, int) and not isinstance(number, bool) else None,
                "incident_key": key,
                "html_url": url(html_url, source, "$.event.data.html_url") if isinstance(html_url, str) else None,
                "event_id": event.get("id") if isinstance(event.get("id"), str) else None,
                "event_type": event_type,
                "status": status,
            },
        )
    ]


# What parse_pagerduty reads, the only part of a delivery that is stored (bot.intake.redact.project).
KEPT: dict[str, Any] = {"event": {
    "id": KEEP, "event_type": KEEP, "resource_type": KEEP, "occurred_at": KEEP,
    "data": {"id": KEEP, "status": KEEP, "created_at": KEEP, "number": KEEP, "html_url": KEEP,
             "incident_key": KEEP, "urgency": KEEP, "title": TEXT, "priority": {"summary": KEEP},
             "service": {"summary": TEXT}},
}}


def verify_pagerduty(headers: dict[str, str], body: bytes, secrets: Secrets, now: float) -> None:
    # PagerDuty Webhooks v3, "Verifying Signatures"
    # (https://developer.pagerduty.com/docs/webhooks/webhook-signatures/, PagerDuty/developer-docs
    # docs/webhooks/04-Signatures.md): the header holds one or more comma-separated signatures, one per
    # signing secret during a rotation; keep the `v1=` ones, each the Base16 HMAC-SHA256 of the raw body
    # with the subscription's secret; the delivery is authentic if at least one matches, compared in
    # constant time.
    source, header, keys = "pagerduty", PAGERDUTY_HEADER, secrets.pagerduty
    if not keys:
        raise SignatureError(source, header, "no secret configured for this source; delivery refused")
    value = headers.get(header.lower())
    if value is None:
        raise SignatureError(source, header, "missing")
    given = [item.strip()[3:].lower() for item in value.split(",") if item.strip().startswith("v1=")]
    if not given:
        raise SignatureError(source, header, "holds no v1= signature")
    expected = [hmac_hex(key, body) for key in keys]
    if not any_equal(given, expected):
        raise SignatureError(source, header, f"none of the {len(given)} v1 signature(s) matches the body")


def _read_env(env: Mapping[str, str], secrets: Secrets) -> Secrets:
    return dataclasses.replace(secrets, pagerduty=env_values(env, ENV_PAGERDUTY))


SOURCE = AlertSource(
    name="pagerduty",
    parse=parse_pagerduty,
    verify=verify_pagerduty,
    configured=lambda secrets: bool(secrets.pagerduty),
    read_env=_read_env,
    env=(ENV_PAGERDUTY,),
    cli_help="PagerDuty Webhooks v3 incident event (JSON)",
    kept=lambda data: project(data, KEPT),
)

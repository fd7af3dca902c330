"""Opsgenie: its outgoing Webhook integration (alert actions Create and Close), checked by a shared
bearer token (pure).

Opsgenie signs nothing; its Webhook integration can "add custom headers" to every request
(https://docs.opsgenie.com/v1.0/docs/webhook-integration), so the integration is configured with
`Authorization: Bearer <INCIDENT_BOT_OPSGENIE_TOKEN>`. The payload shape is Opsgenie's alert action data
(https://docs.opsgenie.com/docs/marid-alert-action-data): `action`, and `alert` with `alertId`, `tinyId`,
`alias`, `message`, `tags`, `details` (Create only), `createdAt` in epoch milliseconds, `priority`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.errors import InputError
from bot.intake.alert import Alert, clean, get, severity, vendor_key
from bot.intake.base import AlertSource
from bot.intake.redact import KEEP, TEXT, project
from bot.intake.signatures import AUTHORIZATION, Secrets, SignatureError, any_equal, env_values

NAME = "opsgenie"
ENV_OPSGENIE = "INCIDENT_BOT_OPSGENIE_TOKEN"
_STATUS = {"Create": "firing", "Close": "resolved"}


def _labels(alert: dict[str, Any]) -> dict[str, str]:
    """`key:value` tags, then `details` (which Opsgenie sends on Create): identity labels by name."""
    labels = {}
    for tag in alert.get("tags") or []:
        if isinstance(tag, str) and ":" in tag:
            key, _, value = tag.partition(":")
            labels[key.strip()] = value.strip()
    details = alert.get("details")
    if isinstance(details, dict):
        labels.update({str(k): v for k, v in details.items() if isinstance(v, str)})
    return labels


def parse_opsgenie(data: Any, source: str) -> list[Alert]:
    if not isinstance(data, dict):
        raise InputError(source, "$", f"expected an Opsgenie webhook object, got {type(data).__name__}")
    action = get(data, "action", source, str)
    if action not in _STATUS:
        raise InputError(source, "$.action", f"Opsgenie action {action!r} is not an alert opening or closing")
    alert = get(data, "alert", source, dict)
    alert_id = get(data, "alert.alertId", source, str)
    created = get(data, "alert.createdAt", source, int)
    try:
        started = datetime.fromtimestamp(created / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        raise InputError(source, "$.alert.createdAt", "not a time in epoch milliseconds") from None
    labels = _labels(alert)
    alias = vendor_key(alert.get("alias"), source, "$.alert.alias")
    priority = alert.get("priority")
    level = severity(f"p{priority}" if isinstance(priority, int) else priority)
    return [
        Alert(
            source=NAME,
            status=_STATUS[action],
            started_at=started,
            alertname=clean(labels.get("alertname")),
            title=clean(alert.get("message")),
            incident_key=alias,
            service=clean(labels.get("service")),
            namespace=clean(labels.get("namespace")),
            pod=clean(labels.get("pod")),
            severity=level,
            ref={
                "alert_id": alert_id,
                "tiny_id": alert.get("tinyId") if isinstance(alert.get("tinyId"), str) else None,
                "alias": alias,
                "status": _STATUS[action],
            },
        )
    ]


# What parse_opsgenie reads, the only part of a delivery that is stored (bot.intake.redact.project): not
# the responders, recipients, userId or username Opsgenie sends along, and only the identity tags.
LABELS_READ = ("alertname", "service", "namespace", "pod")
KEPT: dict[str, Any] = {"action": KEEP, "alert": {
    "alertId": KEEP, "tinyId": KEEP, "alias": KEEP, "createdAt": KEEP, "priority": KEEP, "message": TEXT,
    "details": dict.fromkeys(LABELS_READ, TEXT),
}}


def kept_opsgenie(data: Any) -> Any:
    kept = project(data, KEPT)
    tags = data["alert"].get("tags")
    if isinstance(tags, list):
        kept["alert"]["tags"] = [project(t, TEXT) for t in tags if isinstance(t, str) and ":" in t
                                 and t.partition(":")[0].strip() in LABELS_READ]
    return kept


def verify_opsgenie(headers: dict[str, str], body: bytes, secrets: Secrets, now: float) -> None:
    tokens = secrets.tokens.get(NAME, ())
    if not tokens:
        raise SignatureError(NAME, AUTHORIZATION, "no token configured for this source; delivery refused")
    value = headers.get(AUTHORIZATION.lower())
    if value is None:
        raise SignatureError(NAME, AUTHORIZATION, "missing")
    scheme, _, credentials = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise SignatureError(NAME, AUTHORIZATION, "expected the Bearer scheme")
    if not any_equal([credentials.strip()], list(tokens)):
        raise SignatureError(NAME, AUTHORIZATION, "bearer token does not match")


def _read_env(env: Mapping[str, str], secrets: Secrets) -> Secrets:
    return dataclasses.replace(secrets, tokens={**secrets.tokens, NAME: env_values(env, ENV_OPSGENIE)})


SOURCE = AlertSource(
    name=NAME,
    parse=parse_opsgenie,
    verify=verify_opsgenie,
    configured=lambda secrets: bool(secrets.tokens.get(NAME)),
    read_env=_read_env,
    env=(ENV_OPSGENIE,),
    cli_help="Opsgenie Webhook integration alert action, Create or Close (JSON)",
    kept=kept_opsgenie,
)

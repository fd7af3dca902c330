"""Argo CD's report of an Application's sync: its Notifications webhook, or `argocd app get|wait -o json`,
read into a `bot.rules.sync.Observation`, and the webhook's shared token and its check (pure).

The webhook service of Argo CD Notifications signs nothing; it sends the `headers` of its
`service.webhook.<name>` entry with every request (notifications-engine pkg/services/webhook.go:
`retryReq.Header.Set(header.Name, header.Value)`; https://argo-cd.readthedocs.io/en/stable/operator-manual/
notifications/services/webhook/), with `$key` replaced from `argocd-notifications-secret`. So the service in
deploy/argocd/notifications.yaml sends `Authorization: Bearer $incident-bot-token`, compared here in constant
time with INCIDENT_BOT_ARGOCD_TOKEN. The body is the template `incident-bot-sync` of that file
(schema bot/config/schemas/argocd_notification.schema.json).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.intake.base import NotificationSource
from bot.intake.signatures import AUTHORIZATION, Secrets, SignatureError, any_equal, env_values

if TYPE_CHECKING:  # the registry imports this module for every command that lists sources: kept light
    from bot.rules.sync import Observation

NAME = "argocd"
ENV_ARGOCD = "INCIDENT_BOT_ARGOCD_TOKEN"
NOTIFICATION, APPLICATION = "argocd-notifications", "argocd-app"
SKEW = timedelta(minutes=5)  # how far ahead of the bot's clock Argo CD's clock may be
_ABSENT = ("", "<no value>")  # how Go's text/template renders a field the Application does not have


def _given(value: Any) -> str | None:
    return None if value is None or value in _ABSENT else str(value)


def _time(value: Any) -> str | None:
    """RFC 3339 in UTC to whole seconds, as the audit trace writes times (so that they compare as text)."""
    given = _given(value)
    return None if given is None else given.split(".", 1)[0].removesuffix("Z") + "Z"


def is_application(data: Any) -> bool:
    """The JSON of `argocd app get|wait -o json` (an Application object), rather than a notification body."""
    return isinstance(data, dict) and ("status" in data or "metadata" in data or data.get("kind") == "Application")


def observation(data: Any, source: str, received_at: str) -> Observation:
    """Either shape, validated against its schema (InputError naming the file and the field otherwise)."""
    from bot.config.loader import validate
    from bot.rules.sync import Observation

    if is_application(data):
        validate(data, "argocd_application", source)
        status = data["status"]
        operation = status.get("operationState") or {}
        finished = _not_ahead(_time(operation.get("finishedAt")), received_at, source,
                              "$.status.operationState.finishedAt")
        return Observation(APPLICATION, data["metadata"]["name"], status["sync"]["revision"],
                           status["sync"]["status"], status["health"]["status"], _given(operation.get("phase")),
                           finished, received_at)
    validate(data, "argocd_notification", source)
    finished = _not_ahead(_time(data["finished_at"]), received_at, source, "$.finished_at")
    return Observation(NOTIFICATION, data["application"], data["revision"], data["sync_status"],
                       data["health_status"], _given(data["operation_phase"]), finished, received_at)


def _not_ahead(at: str | None, received_at: str, source: str, field: str) -> str | None:
    """A time Argo CD states, refused when it is later than the report's receipt (beyond clock skew): a sync
    that "finished" in the future would bound every later validation (bot/rules/sync.py observed_at)."""
    if at is None or not received_at:  # group_key reads a report without a receipt
        return at
    from bot.errors import InputError

    try:
        stated = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(source, field, f"not an RFC 3339 time: {at!r}") from None
    received = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
    if stated > received + SKEW:
        raise InputError(source, field, f"{at} is later than the report was received ({received_at}, allowing "
                                        f"{int(SKEW.total_seconds() // 60)} minutes of clock skew)")
    return at


def group_key(data: Any, source: str) -> str:
    """What makes two reports the same for coalescing: the Application, the revision and what Argo CD said."""
    o = observation(data, source, "")
    return f"{o.application}@{o.revision} {o.sync_status} {o.health_status} {o.operation_phase or '-'}"


def verify_argocd(headers: dict[str, str], body: bytes, secrets: Secrets, now: float) -> None:
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
    return dataclasses.replace(secrets, tokens={**secrets.tokens, NAME: env_values(env, ENV_ARGOCD)})


SOURCE = NotificationSource(
    name=NAME,
    verify=verify_argocd,
    configured=lambda secrets: bool(secrets.tokens.get(NAME)),
    read_env=_read_env,
    env=(ENV_ARGOCD,),
    group_key=group_key,
    dispatch_event="argocd-sync",
)

"""What the receiver decides from a verified body alone, without the policy on main: is it an alert at
all (else 400, never retried), which incident(s) it is about (the coalescing key), and the dedup keys.

A broken policy on main therefore cannot turn a valid delivery into a 400: the policy is read only when
the worker forwards it, and a failure there is retried."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bot.config.loader import canonical_json, parse_json
from bot.config.policy import IncidentType, IncidentTypes
from bot.errors import InputError
from bot.intake.normalize import normalize
from bot.intake.redact import scrub_text
from bot.intake.sources import NOTIFICATIONS

# Every alert is "unclassified" here: only its incident_key and status are used, and those never
# depend on incident_types.yaml.
_NO_TYPES = IncidentTypes(types={}, unclassified=IncidentType("unclassified", "UN", "", ()))
EXCERPT_CHARS = 16 * 1024
WEBHOOK_ID = "x-webhook-id"
# Headers kept with a delivery: none is a credential or a signature.
KEPT_HEADERS = ("content-type", "user-agent", WEBHOOK_ID, "x-webhook-subscription", "x-grafana-alerting-timestamp")


class Unusable(InputError):
    """The body will never become an incident (not JSON, not an alert of this source): HTTP 400."""

    def __init__(self, source: str, reason: str, problem: str, excerpt: str) -> None:
        self.reason = reason  # a short label for the metric: not_json | not_an_alert | not_a_notification
        self.excerpt = excerpt  # the reason and the body's shape, for the rejected table (no value of the body)
        super().__init__(f"POST /webhook/{source}", "body", problem)


@dataclass(frozen=True)
class Parsed:
    group_key: str  # incident_key@status of every incident in the body, sorted
    content_hash: str


def content_hash(source: str, body: bytes) -> str:
    return hashlib.sha256(source.encode() + b"\0" + body).hexdigest()


def parse(source: str, body: bytes) -> Parsed:
    try:
        data = parse_json(body, f"POST /webhook/{source}")
    except InputError as exc:
        problem = f"{exc.field}: {exc.problem}" if exc.field else exc.problem
        raise Unusable(source, "not_json", problem, _excerpt(problem, {"bytes": len(body)})) from None
    if source in NOTIFICATIONS:  # not an alert: its own shape (e.g. Argo CD's sync report)
        try:
            key = NOTIFICATIONS[source].group_key(data, f"POST /webhook/{source}")
        except InputError as exc:
            problem = f"{exc.field}: {exc.problem}"
            raise Unusable(source, "not_a_notification", problem, _excerpt(problem, {"shape": shape(data)})) from None
        return Parsed(group_key=key, content_hash=content_hash(source, body))
    try:
        events = normalize({source: (data, f"POST /webhook/{source}")}, _NO_TYPES)
    except InputError as exc:  # SourceConflict cannot happen with one source; anything else is a bug: 500
        problem = f"{exc.field}: {exc.problem}"
        raise Unusable(source, "not_an_alert", problem, _excerpt(problem, {"shape": shape(data)})) from None
    if not events:
        problem = "no alert in the body"
        raise Unusable(source, "not_an_alert", problem, _excerpt(problem, {"shape": shape(data)}))
    keys = sorted({f"{e['incident_key']}@{e['status']}" for e in events})
    return Parsed(group_key=" ".join(keys), content_hash=content_hash(source, body))


def _excerpt(problem: str, found: dict[str, Any]) -> str:
    """What the rejected table keeps of a body that is no alert: the parser's own one-line reason (which quotes
    only the field it refused) and the body's shape. An allowlist by construction: no value of the body is
    kept that the parser did not name, so a secret or a person's address in it is never stored."""
    return canonical_json({"problem": scrub_text(problem), **found})[:EXCERPT_CHARS]


def shape(value: Any, depth: int = 0) -> Any:
    """The structure of a JSON value without its values: object keys (scrubbed) with the shapes of their
    values, an array as its length and its first item's shape, a scalar as its type (a string with its length)."""
    if depth >= 8:
        return "..."
    if isinstance(value, dict):
        return {scrub_text(str(k))[:100]: shape(v, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, list):
        return {"items": len(value), **({"first": shape(value[0], depth + 1)} if value else {})}
    if isinstance(value, str):
        return f"string({len(value)})"
    if isinstance(value, bool) or value is None:
        return "boolean" if value is not None else "null"
    return "number"


def kept_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: headers[name][:200] for name in KEPT_HEADERS if name in headers}


def webhook_id(source: str, headers: dict[str, str]) -> str | None:
    """PagerDuty's X-Webhook-Id: the same across its retries of one delivery."""
    # PagerDuty "Webhook Behavior", At-Least-Once Delivery (https://developer.pagerduty.com/docs/webhooks/
    # webhook-behavior/, PagerDuty/developer-docs docs/webhooks/02-Behavior.md): the X-Webhook-Id value "is
    # unique to the webhook but is repeated for each delivery attempt".
    value = headers.get(WEBHOOK_ID, "").strip() if source == "pagerduty" else ""
    return value[:200] or None

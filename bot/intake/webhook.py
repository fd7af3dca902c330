"""Verifies that a webhook delivery comes from the vendor it claims to (pure: no sockets, no clock).

The receiver's entry point: the route names the source, the source's module checks the delivery
(bot/intake/sources.py lists them), a relay signature replaces the vendor check when configured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from bot.intake.signatures import (
    GRAFANA_HEADER,
    GRAFANA_TIMESTAMP_HEADER,
    MAX_BODY,
    RELAY_HEADER,
    PayloadTooLarge,
    Secrets,
    SignatureError,
    UnknownRoute,
    lower,
    verify_relay,
)
from bot.intake.sources import RECEIVED as _REGISTRY

__all__ = ["GRAFANA_HEADER", "GRAFANA_TIMESTAMP_HEADER", "MAX_BODY", "SOURCES", "PayloadTooLarge", "Secrets",
           "SignatureError", "UnknownRoute", "detect_source", "verify"]

# The sources a delivery may claim: every registered alert source (the names of bot.intake.normalize.PARSERS),
# then the senders that are not alerts (bot.intake.sources.NOTIFICATIONS).
SOURCES = tuple(_REGISTRY)

_ROUTE = re.compile(r"^/webhook/(?P<source>[a-z]+)/?$")


def detect_source(path: str) -> str:
    """`/webhook/<source>` (a query string and a trailing slash allowed) to the source name.

    The path alone decides: sniffing vendor headers would let the sender pick the verifier."""
    match = _ROUTE.match(urlsplit(path).path)
    if not match or match.group("source") not in _REGISTRY:
        raise UnknownRoute("webhook", "path", f"no webhook here; use /webhook/{{{','.join(SOURCES)}}}")
    return match.group("source")


def verify(source: str, headers: Mapping[str, str], body: bytes, secrets: Secrets, now: float) -> None:
    """Return when `body` is an authentic delivery from `source`; raise SignatureError otherwise.

    `headers` is matched case-insensitively; `now` is Unix seconds, passed in so this stays pure."""
    if source not in _REGISTRY:
        raise UnknownRoute("webhook", "source", f"unknown source {source!r}")
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(source, "body", f"{len(body)} bytes is over the {MAX_BODY}-byte limit")
    folded = lower(headers)
    if secrets.relay and RELAY_HEADER.lower() in folded:
        verify_relay(source, folded, body, secrets.relay)
    else:
        _REGISTRY[source].verify(folded, body, secrets, now)

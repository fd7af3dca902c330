"""Prometheus Alertmanager: its webhook (version "4"), its `http_config` credentials and their check (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from bot.errors import InputError
from bot.intake.alert import Alert
from bot.intake.base import AlertSource
from bot.intake.prometheus import kept_group, parse_group
from bot.intake.signatures import AUTHORIZATION, Secrets, SignatureError, any_equal, env_values

ENV_ALERTMANAGER = "INCIDENT_BOT_ALERTMANAGER_TOKEN"
ENV_ALERTMANAGER_BASIC = "INCIDENT_BOT_ALERTMANAGER_BASIC_AUTH"  # "user:password", optional


def parse_alertmanager(data: Any, source: str) -> list[Alert]:
    if isinstance(data, dict) and data.get("version") not in (None, "4"):
        raise InputError(source, "$.version", f"Alertmanager webhook version {data.get('version')!r}, expected '4'")
    return parse_group(data, source, "alertmanager")


def verify_alertmanager(headers: dict[str, str], body: bytes, secrets: Secrets, now: float) -> None:
    # Prometheus Alertmanager signs no body. Its <webhook_config> takes an <http_config>
    # (https://prometheus.io/docs/alerting/latest/configuration/#http_config) whose `authorization`
    # (type defaults to Bearer) sends "Authorization: Bearer <credentials>", or whose `basic_auth` sends
    # "Authorization: Basic base64(user:password)". The auth-scheme is case-insensitive (RFC 9110 §11.1).
    source, header = "alertmanager", AUTHORIZATION
    if not (secrets.alertmanager_tokens or secrets.alertmanager_basic):
        raise SignatureError(source, header, "no token configured for this source; delivery refused")
    value = headers.get(header.lower())
    if value is None:
        raise SignatureError(source, header, "missing")
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and secrets.alertmanager_tokens:
        if any_equal([credentials], list(secrets.alertmanager_tokens)):
            return
        raise SignatureError(source, header, "bearer token does not match")
    if scheme.lower() == "basic" and secrets.alertmanager_basic:
        import base64
        import binascii

        try:
            pair = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise SignatureError(source, header, "basic credentials are not base64 'user:password'") from None
        if any_equal([pair], list(secrets.alertmanager_basic)):
            return
        raise SignatureError(source, header, "basic credentials do not match")
    accepted = " or ".join(n for n, on in (("Bearer", secrets.alertmanager_tokens),
                                           ("Basic", secrets.alertmanager_basic)) if on)
    raise SignatureError(source, header, f"expected the {accepted} scheme")


def _read_env(env: Mapping[str, str], secrets: Secrets) -> Secrets:
    return dataclasses.replace(secrets, alertmanager_tokens=env_values(env, ENV_ALERTMANAGER),
                               alertmanager_basic=env_values(env, ENV_ALERTMANAGER_BASIC))


SOURCE = AlertSource(
    name="alertmanager",
    parse=parse_alertmanager,
    verify=verify_alertmanager,
    configured=lambda secrets: bool(secrets.alertmanager_tokens or secrets.alertmanager_basic),
    read_env=_read_env,
    env=(ENV_ALERTMANAGER, ENV_ALERTMANAGER_BASIC),
    cli_help="Prometheus Alertmanager webhook v4 (JSON)",
    kept=kept_group,
    groups=True,
)

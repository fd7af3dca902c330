"""Grafana unified alerting: its webhook (version "1"), its HMAC signature and its credentials (pure)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from bot.errors import InputError
from bot.intake.alert import Alert
from bot.intake.base import AlertSource
from bot.intake.prometheus import kept_group, parse_group
from bot.intake.signatures import (
    GRAFANA_HEADER,
    GRAFANA_TIMESTAMP_HEADER,
    Secrets,
    SignatureError,
    any_equal,
    env_values,
    hmac_hex,
)

ENV_GRAFANA = "INCIDENT_BOT_GRAFANA_SECRET"
ENV_GRAFANA_HEADER = "INCIDENT_BOT_GRAFANA_SIGNATURE_HEADER"  # default X-Grafana-Alerting-Signature
ENV_GRAFANA_TIMESTAMP_HEADER = "INCIDENT_BOT_GRAFANA_TIMESTAMP_HEADER"  # default X-Grafana-Alerting-Timestamp;
# set it empty when the contact point sends no timestamp header (then there is no replay window).

_TIMESTAMP = re.compile(r"^[0-9]{1,15}$")


def parse_grafana(data: Any, source: str) -> list[Alert]:
    if isinstance(data, dict) and data.get("version") not in (None, "1"):
        raise InputError(source, "$.version", f"webhook version {data.get('version')!r} is not Grafana's '1' "
                         "(an Alertmanager payload? use --alertmanager)")
    return parse_group(data, source, "grafana")


def verify_grafana(headers: dict[str, str], body: bytes, secrets: Secrets, now: float) -> None:
    # Grafana Alerting webhook contact point, "HMAC signature"
    # (https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/
    # integrations/webhook-notifier/#hmac-signature; signer: grafana/alerting http/hmac.go): the header
    # (default X-Grafana-Alerting-Signature, configurable) is the lower-case hex HMAC-SHA256 of the body;
    # when a timestamp header is configured Grafana sets it to Unix seconds and signs
    # timestamp + ":" + body. The docs ask receivers to check that the timestamp is recent.
    source, header = "grafana", secrets.grafana_header
    if not secrets.grafana:
        raise SignatureError(source, header, "no secret configured for this source; delivery refused")
    value = headers.get(header.lower())
    if value is None:
        raise SignatureError(source, header, "missing")
    signed = body
    if secrets.grafana_timestamp_header is not None:
        ts_header = secrets.grafana_timestamp_header
        stamp = headers.get(ts_header.lower())
        if stamp is None:
            raise SignatureError(source, ts_header, "missing (the contact point must set this timestamp header)")
        stamp = stamp.strip()
        if not _TIMESTAMP.match(stamp):
            raise SignatureError(source, ts_header, "not a Unix timestamp in seconds")
        age = now - int(stamp)
        if age > secrets.max_age_seconds:
            raise SignatureError(source, ts_header, f"stale: {int(age)} s old (limit {int(secrets.max_age_seconds)} s)")
        if -age > secrets.max_age_seconds:
            raise SignatureError(source, ts_header, f"{int(-age)} s in the future "
                                 f"(limit {int(secrets.max_age_seconds)} s)")
        signed = stamp.encode("ascii") + b":" + body
    expected = [hmac_hex(key, signed) for key in secrets.grafana]
    if not any_equal([value.strip().lower()], expected):
        raise SignatureError(source, header, "does not match the body" +
                             (" and timestamp" if secrets.grafana_timestamp_header else ""))


def _read_env(env: Mapping[str, str], secrets: Secrets) -> Secrets:
    timestamp_header = env.get(ENV_GRAFANA_TIMESTAMP_HEADER, GRAFANA_TIMESTAMP_HEADER).strip()
    return dataclasses.replace(
        secrets,
        grafana=env_values(env, ENV_GRAFANA),
        grafana_header=env.get(ENV_GRAFANA_HEADER, "").strip() or GRAFANA_HEADER,
        grafana_timestamp_header=timestamp_header or None,
    )


SOURCE = AlertSource(
    name="grafana",
    parse=parse_grafana,
    verify=verify_grafana,
    configured=lambda secrets: bool(secrets.grafana),
    read_env=_read_env,
    env=(ENV_GRAFANA, ENV_GRAFANA_HEADER, ENV_GRAFANA_TIMESTAMP_HEADER),
    cli_help="Grafana unified alerting webhook (JSON)",
    kept=kept_group,
    groups=True,
)

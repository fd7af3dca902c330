"""The one module of bot.receiver that imports delivery verification (kept in one place on purpose:
as bot.intake moved, only this import changes)."""

from __future__ import annotations

from bot.intake.webhook import (
    GRAFANA_HEADER,
    GRAFANA_TIMESTAMP_HEADER,
    MAX_BODY,
    PayloadTooLarge,
    Secrets,
    SignatureError,
    UnknownRoute,
    detect_source,
    verify,
)

__all__ = ["GRAFANA_HEADER", "GRAFANA_TIMESTAMP_HEADER", "MAX_BODY", "PayloadTooLarge", "Secrets",
           "SignatureError", "UnknownRoute", "detect_source", "verify"]

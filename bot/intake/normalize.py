"""Normalizes the webhooks of any subset of alert sources into `incident_event` values (pure)."""

from __future__ import annotations

from typing import Any

from bot.config.policy import IncidentTypes
from bot.errors import InputError
from bot.intake.alert import Alert
from bot.intake.base import Parse
from bot.intake.correlate import correlate
from bot.intake.event import event_of
from bot.intake.sources import CORRELATION_ORDER, SOURCES
from bot.model.ids import is_incident_id

PARSERS: dict[str, Parse] = {  # one dict lookup per payload
    name: source.parse for name, source in SOURCES.items()}


def normalize(
    payloads: dict[str, tuple[Any, str]], types: IncidentTypes, sequence: int = 1
) -> list[dict[str, Any]]:
    """Events for `payloads` ({source: (parsed JSON, file name)}), one per incident, in a stable order.

    Incidents of the same type and day get consecutive sequence numbers starting at `sequence`.
    """
    if not payloads:
        flags = ", ".join(source.cli_flag for source in SOURCES.values())
        raise InputError("normalize", "sources", f"give at least one of {flags}")
    parsed: dict[str, list[Alert]] = {}
    for source, (data, name) in payloads.items():
        if source not in PARSERS:
            raise InputError(name, "source", f"unknown source {source!r}")
        parsed[source] = PARSERS[source](data, name)
    groups = correlate({source: parsed[source] for source in CORRELATION_ORDER if source in parsed})
    events = [event_of(g, types) for g in groups]
    events.sort(key=lambda e: (e["started_at"], e["incident_key"]))
    counters: dict[str, int] = {}
    for event in events:
        stem = event["incident_id"]
        counters[stem] = counters.get(stem, sequence - 1) + 1
        event["incident_id"] = f"{stem}-{counters[stem]:02d}"
        if not is_incident_id(event["incident_id"]):  # e.g. a --sequence below 1 or a mangled date
            raise InputError("normalize", "incident_id", f"{event['incident_id']!r} is not a valid incident id")
    return events

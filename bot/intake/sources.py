"""The alert sources incident-bot accepts: one module each, registered here (the one list of them).

Adding a source is one module exposing an `AlertSource` and one line below; the CLI flags, the
receiver's routes and credentials, and the test of the event schema's `source_refs` read this dict.
The order is the one the CLI, the receiver and their messages list the sources in.
"""

from __future__ import annotations

from bot.intake import alertmanager, argocd, grafana, opsgenie, pagerduty
from bot.intake.base import AlertSource, NotificationSource

SOURCES: dict[str, AlertSource] = {
    "grafana": grafana.SOURCE,
    "pagerduty": pagerduty.SOURCE,
    "alertmanager": alertmanager.SOURCE,
    "opsgenie": opsgenie.SOURCE,
}

# Sources whose deliveries carry groups come first (see AlertSource.groups); otherwise registry order.
CORRELATION_ORDER: tuple[str, ...] = tuple(sorted(SOURCES, key=lambda name: not SOURCES[name].groups))

# Senders that are not alerts: the receiver takes them on `POST /webhook/<name>` with their own credential and
# forwards them to their own command (argocd: `incident-bot sync confirm`); `open` and the event never see them.
NOTIFICATIONS: dict[str, NotificationSource] = {
    "argocd": argocd.SOURCE,
}

# Everything the receiver takes (routes, credentials): the alert sources, then the other senders.
RECEIVED: dict[str, AlertSource | NotificationSource] = {**SOURCES, **NOTIFICATIONS}

"""Prometheus metrics of one receiver (its own registry, so several can live in one process)."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# the `reason` label of incident_bot_deliveries_rejected_total (source "-" for the last two: refused by the
# HTTP protocol, before any route is known)
REJECT_REASONS = ("bad_signature", "too_large", "slow_body", "not_json", "not_an_alert", "not_a_notification",
                  "unknown_path",
                  "method", "spool_unavailable", "bad_request", "slow_headers", "over_capacity")


class Metrics:
    def __init__(self, depth: Callable[[], tuple[int, float | None]], clock: Callable[[], float] = time.time) -> None:
        self._children: dict[tuple[Counter, tuple[str, ...]], Counter] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter("incident_bot_deliveries_received", "Verified deliveries written to the spool "
                                "(deduplicated ones not included)", ["source"], registry=r)
        self.rejected = Counter("incident_bot_deliveries_rejected", "Requests refused, by reason",
                                ["source", "reason"], registry=r)
        self.deduplicated = Counter("incident_bot_deliveries_deduplicated", "Redeliveries (same X-Webhook-Id or "
                                    "content) acknowledged without writing", ["source"], registry=r)
        self.coalesced = Counter("incident_bot_deliveries_coalesced", "Spooled deliveries forwarded as part of a "
                                 "newer one for the same incident", ["source"], registry=r)
        self.forwarded = Counter("incident_bot_forwards", "Successful forwards to the forge", ["source"], registry=r)
        self.forward_failures = Counter("incident_bot_forward_failures", "Failed forward attempts (retried)",
                                        ["source"], registry=r)
        self.dead_lettered = Counter("incident_bot_deliveries_dead_lettered", "Deliveries whose forward failed "
                                     "the policy number of attempts", ["source"], registry=r)
        self.forward_seconds = Histogram("incident_bot_forward_seconds", "Duration of one forward to the forge",
                                         ["source"], registry=r,
                                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        depth_gauge = Gauge("incident_bot_spool_depth", "Deliveries waiting in the spool (pending)", registry=r)
        oldest_gauge = Gauge("incident_bot_spool_oldest_age_seconds", "Age of the oldest pending delivery "
                             "(0 when none)", registry=r)

        def read_depth() -> float:
            return float(depth()[0])

        def read_oldest() -> float:
            oldest = depth()[1]
            return 0.0 if oldest is None else max(0.0, clock() - oldest)

        depth_gauge.set_function(read_depth)
        oldest_gauge.set_function(read_oldest)

    def count(self, counter: Counter, *labels: str) -> None:
        """counter.labels(*labels).inc(), the child looked up once (`labels` validates and locks each time)."""
        key = (counter, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(*labels)
        child.inc()

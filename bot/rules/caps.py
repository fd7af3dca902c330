"""The per-service cap on open remediation pull requests (pure): beyond it, a new incident is recorded and
escalated to a person instead of opened, so an alert storm across a service cannot flood it with changes."""

from __future__ import annotations

from collections.abc import Sequence


def over_cap(service: str | None, holders: Sequence[str], cap: int | None) -> str | None:
    """Why a new incident of `service` is not opened while `holders` (its incidents with an open pull request)
    are open; None when it may be."""
    if cap is None or len(holders) < cap:
        return None
    listed = ", ".join(sorted(holders))
    return (f"service {service or '-'} has {len(holders)} open remediation pull requests ({listed}), at most {cap} "
            "(policies/remediation.yaml): recorded, not opened; a human decides")

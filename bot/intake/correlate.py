"""The correlation rule: which alerts of which sources are one incident (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import SourceConflict
from bot.intake.alert import IDENTITY_FIELDS, Alert, derived_key


@dataclass
class _Group:
    """Alerts believed to be one incident; identity holds every field some alert carried."""

    alerts: tuple[Alert, ...]
    identity: dict[str, str]

    def sources(self) -> str:
        return ",".join(sorted({a.source for a in self.alerts}))


def effective_key(alerts: tuple[Alert, ...], identity: dict[str, str] | None = None) -> str:
    """The incident key of alerts believed one incident: a vendor's key if any carries one, else derived."""
    explicit = next((a.incident_key for a in alerts if a.incident_key), None)
    if explicit:
        return explicit
    alertname = next((a.alertname for a in alerts if a.alertname), None)
    return derived_key(alertname, merged_identity(alerts) if identity is None else identity)


def merged_identity(alerts: list[Alert] | tuple[Alert, ...]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for alert in alerts:
        for name, value in alert.identity.items():
            merged.setdefault(name, value)
    return merged


def _disagreement(a: dict[str, str], b: dict[str, str]) -> str | None:
    for name in IDENTITY_FIELDS:
        if name in a and name in b and a[name] != b[name]:
            return name
    return None


def _group_one_source(alerts: list[Alert]) -> list[_Group]:
    """Within one payload, alerts with the same key (explicit or derived) are one incident."""
    buckets: dict[str, list[Alert]] = {}
    for alert in alerts:
        buckets.setdefault(alert.key, []).append(alert)
    return [_Group(tuple(b), b[0].identity if len(b) == 1 else merged_identity(b)) for _, b in sorted(buckets.items())]


def correlate(per_source: dict[str, list[Alert]]) -> list[tuple[Alert, ...]]:
    """Merge sources on identity: fields both sides carry must agree, and at least one must be shared.

    Sources are merged in the order of `per_source` (bot.intake.sources.CORRELATION_ORDER). Metric
    context (values, window) never takes part. Raises SourceConflict naming the field.
    """
    merged: list[_Group] = []
    for source, alerts in per_source.items():
        groups = _group_one_source(alerts)
        if not merged:
            merged = groups
            continue
        for group in groups:
            shared = [m for m in merged if set(m.identity) & set(group.identity)]
            fits = [m for m in shared if _disagreement(m.identity, group.identity) is None]
            if len(fits) > 1 and "incident_key" in group.identity:
                # A vendor key (e.g. PagerDuty's dedup key) picks among incidents whose key is derived.
                fits = [m for m in fits if effective_key(m.alerts) == group.identity["incident_key"]] or fits
            if len(fits) == 1:
                target = fits[0]
                joined = target.alerts + group.alerts
                merged[merged.index(target)] = _Group(joined, merged_identity(joined))
                continue
            if len(fits) > 1:
                raise SourceConflict(
                    f"{source} incident matches {len(fits)} incidents of {fits[0].sources()}: "
                    "ambiguous, it needs an incident_key"
                )
            if shared:
                other = shared[0]
                name = _disagreement(other.identity, group.identity) or "incident_key"
                raise SourceConflict(
                    f"sources describe different incidents: {name} differs "
                    f"({other.sources()}: {other.identity.get(name)!r}, {source}: {group.identity.get(name)!r})"
                )
            carried = ",".join(sorted(group.identity)) or "none"
            theirs = ",".join(sorted({k for m in merged for k in m.identity})) or "none"
            raise SourceConflict(
                f"sources describe different incidents: no identity field in common "
                f"({source} carries {carried}; {merged[0].sources()} carry {theirs})"
            )
    return [g.alerts for g in merged]

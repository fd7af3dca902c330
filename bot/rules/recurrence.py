"""Repeated failure (pure): whether an alert for a workload may be remediated automatically again.

A remediation merged for a workload and followed, within the incident type's cool-down, by another alert for
that workload did not hold; so does a workload remediated `max_automatic` times within the window. Either way the
next incident is at best SEMI-MANUAL: a human decides (the chapter's human in the loop on repeated failure).
Judged at the alert's own time against the recorded merge times, never the wall clock, so a replay reproduces it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Remediation:
    """A merged remediation, as the default branch and the audit trace record it."""

    incident_id: str
    incident_type: str
    workload: str  # "Deployment appointments-api/api"
    merged_at: str  # RFC 3339, UTC ("" when not verified)
    # its trace is the bot's (sealed head, a merge entry): else its merge time is a claim, and the workload's
    # next incident is left to a human
    verified: bool = True


@dataclass(frozen=True)
class Limits:
    """One incident type's limits (policies/remediation.yaml)."""

    cooldown_minutes: int
    window_minutes: int
    max_automatic: int


def workload_key(workload: dict[str, object]) -> str:
    """A plan's workload ({kind, name, namespace}) as one comparable name."""
    return f"{workload.get('kind')} {workload.get('namespace')}/{workload.get('name')}"


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)  # "Z" reads as UTC since Python 3.11


def escalations(history: Iterable[Remediation], incident_id: str, incident_type: str, workload: str, at: str,
                limits: Limits | None) -> tuple[str, ...]:
    """Why the incident `incident_id`, alerting at `at`, must not be remediated automatically (empty: it may).
    Only remediations merged at or before `at`, of the same type and workload, by another incident count."""
    if limits is None or not workload:
        return ()
    now = _moment(at)
    same = [r for r in history if r.incident_id != incident_id and r.incident_type == incident_type
            and r.workload == workload]
    unverified = [r.incident_id for r in same if not r.verified]
    if unverified:
        return (f"the audit trace of {', '.join(sorted(unverified))} (merged into main for {workload}) is not the "
                "bot's: its head is not sealed or it has no merge entry, so when it merged cannot be told "
                "(incident-bot audit verify): a human decides",)
    earlier = sorted(
        (r for r in same if _moment(r.merged_at) <= now),
        key=lambda r: (_moment(r.merged_at), r.incident_id))
    reasons = []
    recent = [r for r in earlier if (now - _moment(r.merged_at)).total_seconds() < limits.cooldown_minutes * 60]
    if recent:
        last = recent[-1]
        after = int((now - _moment(last.merged_at)).total_seconds() // 60)
        reasons.append(f"repeated failure: {last.incident_id} merged at {last.merged_at} did not hold ({workload} "
                       f"alerted again {after} min later, within the {limits.cooldown_minutes} min cool-down of "
                       f"{incident_type}): a human decides")
    window = [r for r in earlier if (now - _moment(r.merged_at)).total_seconds() < limits.window_minutes * 60]
    if len(window) >= limits.max_automatic:
        reasons.append(f"{len(window)} remediations of {workload} merged within {limits.window_minutes} min "
                       f"(at most {limits.max_automatic} automatic, policies/remediation.yaml): a human decides")
    return tuple(reasons)

"""What one alert of a delivery does to the incidents (pure): open one, join one, wait behind a lock,
resolve one (with or without its remediation), or nothing new.

Incidents are per remediation target: an alert joins the open incident of its type whose workload
(through main's `deploy/`) is the same, whatever the pod or the source. One remediation of a workload at
a time: an alert of another type for a workload an open incident targets waits behind that incident's
lock (Atlantis's per-project lock, https://www.runatlantis.io/docs/locking: "Locked until the pull request
is merged or closed", and it "links them to the pull request that holds the lock"). A resolution
validates a remediation only after its merge;
before it, the incident closes without one. `decide` is the whole rule; the shell (bot/flows/opening.py)
reads the `Known` records from the forge and carries the `Decision` out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.errors import SourceConflict


class Outcome(StrEnum):
    """What `open` prints for an incident the delivery touched (the word of its line)."""

    OPENED = "OPENED"
    ESCALATED = "ESCALATED"  # a new incident recorded, not opened: its service is at its cap of open pulls
    UPDATED = "UPDATED"  # joined: its sources were added
    WAITING = "WAITING"  # behind another incident's lock on the same workload
    PARTIALLY_RESOLVED = "PARTIALLY-RESOLVED"  # some of its alerts resolved, others still fire
    RESOLVED_UNREMEDIATED = "RESOLVED-UNREMEDIATED"  # every alert resolved before a merge: closed
    VALIDATED = "VALIDATED"  # every alert resolved after the merged remediation
    DUPLICATE = "DUPLICATE"  # nothing new
    SKIPPED = "SKIPPED"  # no incident concerned (or no remediation for it)


# When one delivery touches an incident several times (a group: pods A and B of one Deployment), its one
# line says the most telling thing that happened to it.
PRECEDENCE = (Outcome.OPENED, Outcome.ESCALATED, Outcome.UPDATED, Outcome.RESOLVED_UNREMEDIATED, Outcome.VALIDATED,
              Outcome.WAITING, Outcome.PARTIALLY_RESOLVED, Outcome.DUPLICATE, Outcome.SKIPPED)

OPEN, MERGED, CLOSED, UNOPENED = "open", "merged", "closed", "unopened"  # UNOPENED: a branch, no pull request


@dataclass(frozen=True)
class Arrival:
    """One alert (one event per target) of the delivery."""

    type: str
    key: str
    target: str | None  # `Kind/namespace/name` through main's deploy/, None when no single workload owns it
    status: str  # firing | resolved
    files: frozenset[str]  # the delivery's content-addressed source file names
    resolved_at: str | None = None  # when the vendor says it resolved (else when it reached the bot)


@dataclass(frozen=True)
class Known:
    """An incident as the rule sees it (its event.json, its pull request, its audit trace)."""

    incident_id: str
    type: str
    target: str | None
    keys: frozenset[str]  # the incident_key of every firing alert it holds
    state: str  # open | merged | closed | unopened; "" when not read (the incident cannot matter)
    holds: bool = False  # every file of this delivery is among its sources
    resolved_keys: frozenset[str] = frozenset()  # alerts whose resolution its trace records
    resolutions: frozenset[str] = frozenset()  # resolution files its trace records
    ended: bool = False  # validated, or resolved before any remediation
    remediated_at: str | None = None  # the latest of its merge and sync entries (None: not merged)

    @property
    def live(self) -> bool:
        return self.state in (OPEN, UNOPENED)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    incident_id: str | None = None  # the incident joined / resolved / holding the lock; None: a new one
    detail: str = ""
    remaining: frozenset[str] = frozenset()  # PARTIALLY_RESOLVED: the alerts still firing


def same_target(k: Known, a: Arrival) -> bool:
    """Same workload through deploy/; an alert no workload owns matches only by its key."""
    if a.target is not None and k.target is not None:
        return a.target == k.target
    return a.key in k.keys


def decide(a: Arrival, known: list[Known]) -> Decision:
    return _firing(a, known) if a.status == "firing" else _resolved(a, known)


def _firing(a: Arrival, known: list[Known]) -> Decision:
    for k in known:  # a key is a vendor's claim of sameness: it must not retarget an incident
        if k.live and a.key in k.keys and k.target and a.target and k.target != a.target:
            raise SourceConflict(f"incident_key {a.key!r} belongs to {k.incident_id} ({k.target}); this delivery "
                                 f"resolves to {a.target}: refused, nothing written")
    same = [k for k in known if k.type == a.type and same_target(k, a)]
    live = [k for k in same if k.live]
    if live:
        k = live[0]
        return Decision(Outcome.DUPLICATE if k.holds and k.state == OPEN else Outcome.UPDATED, k.incident_id)
    holder = next((k for k in known if k.live and k.type != a.type and a.target is not None
                   and k.target == a.target), None)
    if holder is not None:
        return Decision(Outcome.WAITING, holder.incident_id,
                        f"{a.type} alert for {a.target} waits: {holder.incident_id} holds the lock on it")
    redelivered = next((k for k in same if k.holds), None)
    if redelivered is not None:  # a closed incident's own delivery again: no recurrence
        return Decision(Outcome.DUPLICATE, redelivered.incident_id)
    return Decision(Outcome.OPENED)


def _resolved(a: Arrival, known: list[Known]) -> Decision:
    """A resolution belongs to the incident holding that very alert (its key); never to another pod's."""
    holding = [k for k in known if k.type == a.type and a.key in k.keys]
    k = next((k for k in holding if k.live), holding[-1] if holding else None)
    if k is None:
        return Decision(Outcome.SKIPPED, None, "resolved alert for no known incident")
    if k.ended or (a.files and a.files <= k.resolutions):
        return Decision(Outcome.DUPLICATE, k.incident_id)
    if k.state == CLOSED:
        return Decision(Outcome.SKIPPED, k.incident_id, "its pull request was closed without a merge")
    remaining = k.keys - k.resolved_keys - {a.key}
    if remaining:
        return Decision(Outcome.PARTIALLY_RESOLVED, k.incident_id,
                        f"{len(k.keys) - len(remaining)} of {len(k.keys)} alerts resolved", frozenset(remaining))
    if k.live:
        return Decision(Outcome.RESOLVED_UNREMEDIATED, k.incident_id,
                        "every alert resolved before a remediation was merged: closed without one")
    if k.remediated_at is None or (a.resolved_at is not None and a.resolved_at < k.remediated_at):
        return Decision(Outcome.SKIPPED, k.incident_id,
                        f"resolved at {a.resolved_at}, before the merged change was synced "
                        f"({k.remediated_at or 'no merge recorded'}): not validation of it")
    return Decision(Outcome.VALIDATED, k.incident_id)

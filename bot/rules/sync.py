"""When a merge counts as synced: only when Argo CD said so (pure).

`post-merge` records `sync pending` (the Application and the merge commit to look for); nothing there observes
Argo CD. A sync is recorded only from what Argo CD itself reports about the Application, as an `Observation`
(an Argo CD Notifications webhook, or `argocd app get|wait -o json`): `sync ok` when its live state is `Synced`
to a revision that contains the merge, `sync failed` when the sync operation failed or the Application is
Degraded at such a revision. This module is the only one that builds those entries (bot/flows/sync.py writes
them); every reader of "synced" (bot/flows/opening.py: validation of a resolved alert) asks `observed_at`.

Argo CD's words, read from argoproj/argo-cd at the commit of tests/argocd/SOURCES.md: sync status codes
(pkg/apis/application/v1alpha1/types.go SyncStatusCode: Synced, OutOfSync, Unknown), health status codes
(gitops-engine/pkg/health/health.go: Healthy, Progressing, Suspended, Degraded, Missing, Unknown), operation
phases (gitops-engine/pkg/sync/common/types.go: Running, Terminating, Failed, Error, Succeeded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.rules.audit import AuditEntry

SYNC = "sync"
PENDING, OK, FAILED = "pending", "ok", "failed"
SYNC_CODES = ("Synced", "OutOfSync", "Unknown")
HEALTH_CODES = ("Healthy", "Progressing", "Suspended", "Degraded", "Missing", "Unknown")
PHASES = ("Running", "Terminating", "Failed", "Error", "Succeeded")
FAILED_PHASES = ("Failed", "Error")


@dataclass(frozen=True)
class Observation:
    """What Argo CD reported about one Application. `revision` is `status.sync.revision`: the commit its live
    state was compared with; `finished_at` the end of its last operation (None: not reported)."""

    source: str  # argocd-notifications | argocd-app (the JSON of `argocd app get|wait -o json`)
    application: str
    revision: str
    sync_status: str
    health_status: str
    operation_phase: str | None
    finished_at: str | None
    received_at: str

    def verdict(self) -> tuple[str | None, str]:
        """(ok | failed | None, why). None: Argo CD has not finished with this revision, nothing is recorded."""
        said = f"sync {self.sync_status}, health {self.health_status}, operation {self.operation_phase or 'none'}"
        if self.operation_phase in FAILED_PHASES:
            return FAILED, f"the sync operation {self.operation_phase} ({said})"
        if self.sync_status == "Synced" and self.health_status == "Degraded":
            return FAILED, f"synced, but the Application is Degraded ({said})"
        if self.sync_status == "Synced" and self.operation_phase in (None, "Succeeded"):
            return OK, f"Argo CD reports the Application synced to this revision ({said})"
        return None, f"not conclusive: {said}"

    def evidence(self) -> dict[str, Any]:
        return {"source": self.source, "application": self.application, "revision": self.revision,
                "sync_status": self.sync_status, "health_status": self.health_status,
                "operation_phase": self.operation_phase, "finished_at": self.finished_at,
                "received_at": self.received_at}


@dataclass(frozen=True)
class Pending:
    """A `sync pending` entry that this observation may settle."""

    incident_id: str
    revision: str  # the merge commit post-merge recorded
    application: str
    tag: dict[str, Any]  # rollback marker of the pending entry, carried over
    confirmed: bool = False  # an observed `sync ok` already names this merge
    reverted_by: tuple[str, ...] = ()  # the merges of the incident's rollbacks that revert this merge


@dataclass(frozen=True)
class Outcome:
    incident_id: str
    kind: str  # CONFIRMED | FAILED | DUPLICATE
    revision: str  # the merge commit
    entry: dict[str, Any] | None  # the evidence of the entry to write (None: nothing to write)


CONFIRMED, SYNC_FAILED, DUPLICATE = "CONFIRMED", "SYNC-FAILED", "DUPLICATE"


def pending(incident_id: str, entries: Sequence[AuditEntry]) -> list[Pending]:
    """The merges post-merge recorded as waiting for their sync, each marked if an observation confirmed it and
    with the merges of the rollbacks that revert it (the trace's `rollback` entry says what pull request #n
    reverts; its `merge` and `sync pending` entries, tagged with that pull, name its merge commit)."""
    confirmed = {str(e.evidence.get("revision")) for e in entries if observed_at(e) is not None}
    reverts = {e.evidence.get("pull"): e.evidence.get("reverts") for e in entries if e.step == "rollback"}
    reverted_by: dict[str, set[str]] = {}
    for e in entries:
        merged, pull = e.evidence.get("revision"), e.evidence.get("pull")
        if e.step in ("merge", SYNC) and e.evidence.get("rollback") and isinstance(merged, str) \
                and isinstance(reverts.get(pull), str):
            reverted_by.setdefault(str(reverts[pull]), set()).add(merged)
    out, seen = [], set()
    for e in entries:
        revision = e.evidence.get("revision")
        if e.step != SYNC or e.status != PENDING or not isinstance(revision, str) or revision in seen:
            continue
        seen.add(revision)
        tag = {k: e.evidence[k] for k in ("rollback", "pull") if k in e.evidence}
        out.append(Pending(incident_id, revision, str(e.evidence.get("argocd_application") or ""), tag,
                           revision in confirmed, tuple(sorted(reverted_by.get(revision, ())))))
    return out


def settle(obs: Observation, waiting: Sequence[Pending], entries_of: Callable[[str], Sequence[AuditEntry]],
           contains: Callable[[str], bool]) -> list[Outcome]:
    """What `obs` settles: every pending merge of its Application that its revision contains (`contains(merge)`:
    the merge is the revision or an ancestor of it), unless the revision also contains a rollback that reverts
    that merge (then what is live is the revert, not the merge). A report is a duplicate (DUPLICATE, nothing
    written) only when it says what the trace already holds for the merge: `ok` after `ok`, or the same failure
    again (same revision and statuses, by whichever way it came); a change of verdict is written, either way
    (`ok` after `failed`: a retry, a later commit; `failed` after `ok`: the Application degraded)."""
    status, why = obs.verdict()
    if status is None:
        return []
    out = []
    for p in waiting:
        if p.application != obs.application or not contains(p.revision) or any(map(contains, p.reverted_by)):
            continue
        if _again(status, obs, p, entries_of(p.incident_id)):
            out.append(Outcome(p.incident_id, DUPLICATE, p.revision, None))
            continue
        entry = {"revision": p.revision, "argocd_application": obs.application, "observed": obs.evidence(),
                 "note": why, **p.tag}
        out.append(Outcome(p.incident_id, CONFIRMED if status == OK else SYNC_FAILED, p.revision, entry))
    return out


def _again(status: str, obs: Observation, p: Pending, entries: Sequence[AuditEntry]) -> bool:
    """Whether the trace's latest observed verdicts for the merge already say `status` (for a failure: this
    same failure)."""
    said = [e for e in entries if e.step == SYNC and e.status in (OK, FAILED) and e.evidence.get("revision") ==
            p.revision and isinstance(e.evidence.get("observed"), dict)]
    run = []  # the latest verdicts, while they agree
    for e in reversed(said):
        if e.status != said[-1].status:
            break
        run.append(e)
    if not run or run[0].status != status:
        return False
    return status == OK or any(_said(e.evidence.get("observed")) == _said(obs.evidence()) for e in run)


def _said(observed: Any) -> tuple[Any, ...] | None:
    """What Argo CD said, whoever relayed it and whenever: the same report twice is one report."""
    if not isinstance(observed, dict):
        return None
    return tuple(observed.get(k) for k in ("application", "revision", "sync_status", "health_status",
                                           "operation_phase"))


def observed_at(entry: AuditEntry) -> str | None:
    """When a `sync ok` entry says the change was applied (Argo CD's `finishedAt`, else when its report arrived);
    None for anything else: a `sync pending`, a `sync failed`, or a `sync ok` that names no observation."""
    observed = entry.evidence.get("observed")
    if entry.step != SYNC or entry.status != OK or not isinstance(observed, dict):
        return None
    at = observed.get("finished_at") or observed.get("received_at")
    return str(at) if at else entry.at

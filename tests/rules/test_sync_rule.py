"""bot/rules/sync.py: when Argo CD's report settles a merge's sync. The status words are Argo CD's
(pkg/apis/application/v1alpha1/types.go SyncStatusCode; gitops-engine pkg/health/health.go HealthStatusCode and
pkg/sync/common/types.go OperationPhase, https://github.com/argoproj/argo-cd/tree/
37ee0097cf851bc2dd7665fc081bbce61a7e836e)."""

from __future__ import annotations

import pytest

from bot.rules import audit
from bot.rules.sync import CONFIRMED, DUPLICATE, Observation, observed_at, pending, settle

MERGE, LATER = "a" * 40, "b" * 40


def report(revision: str = MERGE, sync: str = "Synced", health: str = "Healthy", phase: str | None = "Succeeded"
           ) -> Observation:
    return Observation("argocd-notifications", "appointments", revision, sync, health, phase,
                       "2026-05-17T08:42:58Z", "2026-05-17T08:43:00Z")


@pytest.mark.parametrize(("sync", "health", "phase", "verdict"), [
    ("Synced", "Healthy", "Succeeded", "ok"),
    ("Synced", "Progressing", "Succeeded", "ok"),  # pods still rolling: applied, health follows
    ("Synced", "Healthy", None, "ok"),  # no operation reported (e.g. `argocd app get` long after)
    ("OutOfSync", "Healthy", "Failed", "failed"),
    ("Synced", "Healthy", "Error", "failed"),
    ("Synced", "Degraded", "Succeeded", "failed"),
    ("OutOfSync", "Healthy", "Succeeded", None),  # a newer commit is already waiting: not this one applied
    ("Synced", "Healthy", "Running", None),
    ("Unknown", "Unknown", None, None),
])
def test_the_verdict_reads_argo_cds_status_words(sync: str, health: str, phase: str | None, verdict: str | None):
    assert report(sync=sync, health=health, phase=phase).verdict()[0] == verdict


def trace_with(*entries: tuple[str, str, dict]) -> list[audit.AuditEntry]:
    out: list[audit.AuditEntry] = []
    for step, status, evidence in entries:
        out.append(audit.append(out, "HM-2026-05-17-01", step, status, "2026-05-17T08:41:00Z", evidence))
    return out


PENDING = ("sync", "pending", {"revision": MERGE, "argocd_application": "appointments"})


def test_only_an_observed_sync_ok_says_when_the_change_applied():
    claimed = trace_with(PENDING, ("sync", "ok", {"revision": MERGE}))  # a sync ok that names no observation
    assert [observed_at(e) for e in claimed] == [None, None]
    assert pending("HM-2026-05-17-01", claimed)[0].confirmed is False
    observed = trace_with(PENDING, ("sync", "ok", {"revision": MERGE, "observed": report().evidence()}))
    assert observed_at(observed[-1]) == "2026-05-17T08:42:58Z"


def test_the_same_report_twice_settles_once_and_a_later_revision_confirms_what_it_contains():
    entries = trace_with(PENDING)
    waiting = pending("HM-2026-05-17-01", entries)
    later = settle(report(LATER), waiting, lambda _: entries, lambda merge: merge == MERGE)
    assert [(o.kind, o.revision) for o in later] == [(CONFIRMED, MERGE)]
    assert later[0].entry is not None
    done = trace_with(PENDING, ("sync", "ok", later[0].entry))
    again = settle(report(LATER), pending("HM-2026-05-17-01", done), lambda _: done, lambda merge: True)
    assert [(o.kind, o.entry) for o in again] == [(DUPLICATE, None)]
    assert settle(report(LATER), waiting, lambda _: entries, lambda merge: False) == []  # not in that revision

"""bot/rules/sync.py: when Argo CD's report settles a merge's sync. The status words are Argo CD's
(pkg/apis/application/v1alpha1/types.go SyncStatusCode; gitops-engine pkg/health/health.go HealthStatusCode and
pkg/sync/common/types.go OperationPhase, https://github.com/argoproj/argo-cd/tree/
37ee0097cf851bc2dd7665fc081bbce61a7e836e)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.rules import audit
from bot.rules.sync import CONFIRMED, DUPLICATE, SYNC_FAILED, Observation, Pending, observed_at, pending, settle

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


def test_only_sync_pending_entries_wait_each_merge_once_with_its_rollback_marker():
    entries = trace_with(
        ("merge", "ok", {"commit": MERGE, "revision": MERGE}),
        ("sync", "ok", {"revision": LATER, "observed": report(LATER).evidence()}),  # no pending for it: not waiting
        PENDING, PENDING,  # a re-delivered push event
        ("sync", "pending", {"revision": LATER, "argocd_application": "appointments", "rollback": True, "pull": 2}),
    )
    waiting = pending("HM-2026-05-17-01", entries)
    assert [(p.revision, p.tag, p.confirmed) for p in waiting] == [
        (MERGE, {}, False), (LATER, {"rollback": True, "pull": 2}, True)]
    outcomes = settle(report(LATER), waiting[::-1][1:], lambda _: entries, lambda merge: True)
    assert outcomes[0].entry is not None
    assert outcomes[0].entry["note"].startswith("Argo CD reports the Application synced")
    rollback = [p for p in waiting if p.tag]
    waiting_rollback = [dataclasses.replace(rollback[0], confirmed=False)]
    entry = settle(report(LATER), waiting_rollback, lambda _: entries[:1], lambda merge: True)[0].entry
    assert entry is not None and (entry["rollback"], entry["pull"]) == (True, 2)


def test_a_second_failure_report_is_recorded_only_when_argo_cd_says_something_else():
    entries = trace_with(PENDING)
    waiting = pending("HM-2026-05-17-01", entries)
    failed = report(sync="OutOfSync", phase="Failed")
    first = settle(failed, waiting, lambda _: entries, lambda merge: True)[0]
    assert first.kind == SYNC_FAILED and first.entry is not None
    after = trace_with(PENDING, ("sync", "failed", first.entry))
    for again, kind in [(failed, DUPLICATE), (report(health="Degraded"), SYNC_FAILED),
                        (report(sync="Synced", phase="Failed"), SYNC_FAILED),  # only the sync status differs
                        (report(sync="OutOfSync", phase="Failed", health="Degraded"), SYNC_FAILED),  # only health
                        (report(LATER, sync="OutOfSync", phase="Failed"), SYNC_FAILED),
                        (report(sync="OutOfSync", phase="Error"), SYNC_FAILED), (report(), CONFIRMED)]:
        waiting = pending("HM-2026-05-17-01", after)
        assert [o.kind for o in settle(again, waiting, lambda _: after, lambda merge: True)] == [kind], again


def test_a_failure_after_an_ok_is_recorded_and_an_ok_after_it_again():
    ok = settle(report(), pending("HM-2026-05-17-01", trace_with(PENDING)), lambda _: trace_with(PENDING),
                lambda merge: True)[0].entry
    assert ok is not None
    entries = trace_with(PENDING, ("sync", "ok", ok))
    degraded = settle(report(health="Degraded"), pending("HM-2026-05-17-01", entries), lambda _: entries,
                      lambda merge: True)[0]
    assert degraded.kind == SYNC_FAILED and degraded.entry is not None
    entries = trace_with(PENDING, ("sync", "ok", ok), ("sync", "failed", degraded.entry))
    for again, kind in [(report(health="Degraded"), DUPLICATE), (report(), CONFIRMED)]:
        outcomes = settle(again, pending("HM-2026-05-17-01", entries), lambda _: entries, lambda merge: True)
        assert [o.kind for o in outcomes] == [kind]


def test_a_merge_a_merged_rollback_reverts_is_settled_only_by_a_revision_without_the_revert():
    revert = "d" * 40
    entries = trace_with(PENDING, ("rollback", "ok", {"commit": "e" * 40, "pull": 2, "reverts": MERGE}),
                         ("sync", "pending", {"revision": revert, "argocd_application": "appointments",
                                              "rollback": True, "pull": 2}))
    waiting = pending("HM-2026-05-17-01", entries)
    assert [(p.revision, p.reverted_by) for p in waiting] == [(MERGE, (revert,)), (revert, ())]
    synced_revert = settle(report(revert), waiting, lambda _: entries, lambda merge: True)
    assert [(o.kind, o.revision) for o in synced_revert] == [(CONFIRMED, revert)]
    late = settle(report(MERGE), waiting, lambda _: entries, lambda merge: merge == MERGE)  # before the revert
    assert [(o.kind, o.revision) for o in late] == [(CONFIRMED, MERGE)]


def test_a_report_settles_every_pending_merge_of_its_application_that_its_revision_contains():
    waiting = [Pending("HM-2026-05-17-02", LATER, "billing", {}), Pending("HM-2026-05-17-03", "c" * 40,
               "appointments", {}), Pending("HM-2026-05-17-01", MERGE, "appointments", {})]
    found = settle(report(LATER), waiting, lambda _: [], lambda merge: merge != "c" * 40)
    assert [(o.incident_id, o.kind) for o in found] == [("HM-2026-05-17-01", CONFIRMED)]
    assert found[0].entry is not None
    confirmed = trace_with(PENDING, ("sync", "ok", found[0].entry))
    done = [*pending("HM-2026-05-17-01", confirmed), Pending("HM-2026-05-17-04", LATER, "appointments", {})]
    found = settle(report(LATER), done, lambda i: confirmed if i == "HM-2026-05-17-01" else [], lambda merge: True)
    assert [(o.incident_id, o.kind) for o in found] == [("HM-2026-05-17-01", DUPLICATE), ("HM-2026-05-17-04", CONFIRMED)]


def test_when_argo_cd_gave_no_time_the_report_s_arrival_bounds_the_sync():
    untimed = dataclasses.replace(report(), finished_at=None)
    entries = trace_with(PENDING, ("sync", "ok", {"revision": MERGE, "observed": untimed.evidence()}))
    assert observed_at(entries[-1]) == "2026-05-17T08:43:00Z"
    bare = dataclasses.replace(untimed, received_at="")
    entries = trace_with(PENDING, ("sync", "ok", {"revision": MERGE, "observed": bare.evidence()}))
    assert observed_at(entries[-1]) == entries[-1].at
    assert report(phase=None).verdict()[1].endswith("operation none)")


def test_a_rollback_merged_before_its_sync_was_recorded_already_marks_what_it_reverts():
    """post-merge records the rollback's `sync pending` after its merge; in between, the `merge` entry alone (tagged
    with the rollback pull request) names the revert's commit, so no report of it confirms the reverted merge."""
    entries = trace_with(PENDING, ("rollback", "ok", {"commit": "c" * 40, "pull": 2, "reverts": MERGE}),
                         ("merge", "ok", {"commit": LATER, "revision": LATER, "rollback": True, "pull": 2}))
    assert pending("HM-2026-05-17-01", entries)[0].reverted_by == (LATER,)


def test_a_report_of_one_merge_is_not_a_duplicate_of_another_merges_or_of_a_pending_entry():
    """Only the merge's own observed `sync ok` / `sync failed` entries make a report a duplicate."""
    other = "d" * 40
    entries = trace_with(PENDING, ("sync", "ok", {"revision": other, "argocd_application": "appointments",
                                                  "observed": report(other).evidence()}))
    [outcome] = settle(report(), pending("HM-2026-05-17-01", entries), lambda _: entries, lambda m: m == MERGE)
    assert outcome.kind == CONFIRMED and outcome.entry is not None


def test_a_sync_failed_entry_with_its_observation_says_nothing_applied():
    failed = trace_with(PENDING, ("sync", "failed", {"revision": MERGE,
                                                     "observed": report(sync="OutOfSync", phase="Failed").evidence()}))
    assert observed_at(failed[-1]) is None
    assert pending("HM-2026-05-17-01", failed)[0].confirmed is False

"""What one alert does to the incidents (bot/rules/delivery.py): the word `open` prints for it (OPENED,
UPDATED, WAITING, DUPLICATE, ...), the incident it names and the reason it gives. The command-line paths
are tests/test_coalescing.py and tests/test_lifecycle.py; these pin every branch of the rule itself."""

from __future__ import annotations

import pytest

from bot.errors import SourceConflict
from bot.rules.delivery import CLOSED, MERGED, OPEN, UNOPENED, Arrival, Known, Outcome, decide

API = "Deployment/appointments-api/api"
DB = "StatefulSet/appointments-db/db"
HM, HM2 = "HM-2026-05-17-01", "HM-2026-05-17-02"


def firing(target: str | None = API, key: str = "k1", itype: str = "high_memory_usage",
           files: frozenset[str] = frozenset({"a.json"})) -> Arrival:
    return Arrival(itype, key, target, "firing", files)


def resolved(key: str = "k1", at: str | None = "2026-05-17T10:00:00Z", files: frozenset[str] = frozenset({"r.json"}),
             itype: str = "high_memory_usage") -> Arrival:
    return Arrival(itype, key, API, "resolved", files, at)


def known(incident_id: str = HM, state: str = OPEN, target: str | None = API, keys: tuple[str, ...] = ("k1",),
          itype: str = "high_memory_usage", **kw: object) -> Known:
    return Known(incident_id, itype, target, frozenset(keys), state, **kw)  # type: ignore[arg-type]


# --- a firing alert ------------------------------------------------------------------------------------------

def test_an_alert_no_incident_concerns_opens_a_new_one() -> None:
    assert decide(firing(), []) == decide(firing(), [known(target=DB, keys=("k9",))])
    assert decide(firing(), []).outcome == Outcome.OPENED
    assert decide(firing(), []).incident_id is None


@pytest.mark.parametrize("state", [OPEN, UNOPENED])
def test_an_alert_for_the_workload_of_a_live_incident_of_its_type_joins_it(state: str) -> None:
    """Another pod (another key) of the same Deployment joins; a branch without its pull request too."""
    assert decide(firing(key="k2"), [known(state=state)]).outcome == Outcome.UPDATED
    assert decide(firing(key="k2"), [known(HM2, state=MERGED), known(state=state)]).incident_id == HM


def test_the_same_delivery_again_for_an_open_pull_request_is_a_duplicate() -> None:
    assert decide(firing(), [known(holds=True)]).outcome == Outcome.DUPLICATE
    # a branch without its pull request holding the delivery: `open` must finish it (open the pull request)
    assert decide(firing(), [known(state=UNOPENED, holds=True)]).outcome == Outcome.UPDATED


def test_an_alert_of_the_same_type_after_the_merge_is_a_new_incident_unless_it_is_the_same_delivery() -> None:
    """A recurrence after the merge is a new incident (the recurrence rule judges it); the merged incident's
    own delivery again is nothing new."""
    assert decide(firing(), [known(state=MERGED)]) == decide(firing(), [])
    assert decide(firing(), [known(state=CLOSED, holds=True)]).outcome == Outcome.DUPLICATE
    assert decide(firing(), [known(state=CLOSED, holds=True)]).incident_id == HM


def test_an_alert_of_another_type_for_a_locked_workload_waits_naming_the_holder() -> None:
    d = decide(firing(itype="pod_crashloop", key="c1"), [known(state=UNOPENED)])
    assert (d.outcome, d.incident_id) == (Outcome.WAITING, HM)
    assert d.detail == f"pod_crashloop alert for {API} waits: {HM} holds the lock on it"


def test_no_lock_is_held_by_a_finished_incident_or_on_another_workload() -> None:
    assert decide(firing(itype="pod_crashloop", key="c1"), [known(state=MERGED)]).outcome == Outcome.OPENED
    assert decide(firing(itype="pod_crashloop", key="c1"), [known(target=DB)]).outcome == Outcome.OPENED


def test_an_alert_no_workload_owns_matches_by_its_key_only_and_waits_for_nobody() -> None:
    """Without a target (no single workload under deploy/), sameness is the vendor's key."""
    assert decide(firing(target=None), [known()]).outcome == Outcome.UPDATED
    assert decide(firing(target=None, key="k2"), [known()]).outcome == Outcome.OPENED
    assert decide(firing(key="k2"), [known(target=None, keys=("k1",))]).outcome == Outcome.OPENED
    assert decide(firing(key="k1"), [known(target=None, keys=("k1",))]).outcome == Outcome.UPDATED
    assert decide(firing(target=None, itype="pod_crashloop"), [known(target=None)]).outcome == Outcome.OPENED


def test_a_key_of_a_live_incident_arriving_for_another_workload_is_refused() -> None:
    """A vendor's incident_key must not retarget an incident (issue 11, finding 7)."""
    with pytest.raises(SourceConflict) as refused:
        decide(firing(target=DB), [known(HM2, target=DB, keys=("k5",), state=MERGED), known(state=UNOPENED)])
    assert str(refused.value) == (f"incident_key 'k1' belongs to {HM} ({API}); this delivery resolves to {DB}: "
                                  "refused, nothing written")


def test_a_key_reused_after_its_incident_ended_or_without_a_target_is_no_conflict() -> None:
    assert decide(firing(target=DB), [known(state=MERGED)]).outcome == Outcome.OPENED
    assert decide(firing(target=None), [known()]).outcome == Outcome.UPDATED
    assert decide(firing(target=DB), [known(target=None)]).outcome == Outcome.UPDATED


# --- a resolved alert ----------------------------------------------------------------------------------------

def test_a_resolution_for_no_incident_holding_its_key_is_skipped() -> None:
    """Never another pod's incident: the key, and the type, must be the incident's."""
    for others in ([], [known(keys=("k2",))], [known(itype="pod_crashloop")]):
        d = decide(resolved(), others)
        assert (d.outcome, d.incident_id, d.detail) == (Outcome.SKIPPED, None, "resolved alert for no known incident")


def test_a_resolution_goes_to_the_live_incident_holding_the_key_else_the_latest() -> None:
    merged_then_live = [known(HM, state=MERGED, remediated_at="2026-05-17T09:00:00Z"), known(HM2)]
    assert decide(resolved(), merged_then_live).incident_id == HM2
    two_finished = [known(HM, state=MERGED, remediated_at="2026-05-17T09:00:00Z"),
                    known(HM2, state=MERGED, remediated_at="2026-05-17T09:00:00Z")]
    assert decide(resolved(), two_finished).incident_id == HM2


def test_a_resolution_already_recorded_is_a_duplicate() -> None:
    for recorded in (known(state=MERGED, ended=True), known(resolutions=frozenset({"r.json"})),
                     known(resolutions=frozenset({"r.json", "s.json"}))):
        d = decide(resolved(), [recorded])
        assert (d.outcome, d.incident_id) == (Outcome.DUPLICATE, HM)  # `open` prints "DUPLICATE incident=HM-..."
    partly = decide(resolved(files=frozenset({"r.json", "t.json"})), [known(resolutions=frozenset({"r.json"}))])
    assert partly.outcome == Outcome.RESOLVED_UNREMEDIATED
    # a resolution carrying no file of its own is judged, not taken for one already recorded
    assert decide(resolved(files=frozenset()), [known()]).outcome == Outcome.RESOLVED_UNREMEDIATED


def test_a_resolution_of_an_incident_closed_without_a_merge_is_skipped_with_the_reason() -> None:
    d = decide(resolved(), [known(state=CLOSED)])
    assert (d.outcome, d.incident_id, d.detail) == (Outcome.SKIPPED, HM, "its pull request was closed without a merge")


def test_while_other_alerts_of_the_incident_fire_the_resolution_is_partial() -> None:
    d = decide(resolved(), [known(keys=("k1", "k2", "k3"), resolved_keys=frozenset({"k3"}))])
    assert (d.outcome, d.incident_id) == (Outcome.PARTIALLY_RESOLVED, HM)
    assert (d.detail, d.remaining) == ("2 of 3 alerts resolved", frozenset({"k2"}))
    last = decide(resolved(key="k2"), [known(keys=("k1", "k2"), resolved_keys=frozenset({"k1"}))])
    assert last.outcome == Outcome.RESOLVED_UNREMEDIATED


def test_every_alert_resolved_before_a_merge_closes_the_incident_without_a_remediation() -> None:
    for state in (OPEN, UNOPENED):
        d = decide(resolved(), [known(state=state)])
        assert (d.outcome, d.incident_id) == (Outcome.RESOLVED_UNREMEDIATED, HM)
        assert d.detail == "every alert resolved before a remediation was merged: closed without one"


def test_a_resolution_after_the_synced_merge_validates_it_and_one_before_it_does_not() -> None:
    merged = [known(state=MERGED, remediated_at="2026-05-17T09:00:00Z")]
    assert decide(resolved(at="2026-05-17T09:00:00Z"), merged) == decide(resolved(), merged)
    assert decide(resolved(), merged).outcome == Outcome.VALIDATED
    assert decide(resolved(at=None), merged).outcome == Outcome.VALIDATED  # no vendor time: when it reached the bot
    early = decide(resolved(at="2026-05-17T08:59:59Z"), merged)
    assert (early.outcome, early.incident_id) == (Outcome.SKIPPED, HM)
    assert early.detail == ("resolved at 2026-05-17T08:59:59Z, before the merged change was synced "
                            "(2026-05-17T09:00:00Z): not validation of it")
    unrecorded = decide(resolved(), [known(state=MERGED)])
    assert unrecorded.detail == ("resolved at 2026-05-17T10:00:00Z, before the merged change was synced "
                                 "(no merge recorded): not validation of it")

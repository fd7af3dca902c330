"""The repeated-failure rule (pure): cool-down and the per-window cap, judged at the alert's time."""

from __future__ import annotations

from bot.rules.recurrence import Limits, Remediation, escalations

API = "Deployment appointments-api/api"
LIMITS = Limits(cooldown_minutes=60, window_minutes=1440, max_automatic=2)


def merged(incident_id: str, at: str, workload: str = API, itype: str = "high_memory_usage") -> Remediation:
    return Remediation(incident_id, itype, workload, at)


def test_only_earlier_merges_of_the_same_type_and_workload_by_another_incident_count() -> None:
    history = [merged("HM-2026-05-17-01", "2026-05-17T09:00:00Z", workload="StatefulSet appointments-db/db"),
               merged("XX-2026-05-17-01", "2026-05-17T09:00:00Z", itype="other"),
               merged("HM-2026-05-17-02", "2026-05-17T10:00:00Z"),  # merged after the alert fired
               merged("HM-2026-05-17-03", "2026-05-17T09:00:00Z")]  # the incident itself
    assert escalations(history, "HM-2026-05-17-03", "high_memory_usage", API, "2026-05-17T09:30:00Z", LIMITS) == ()


def test_the_cool_down_names_the_latest_remediation_and_ends_at_its_length() -> None:
    history = [merged("HM-2026-05-17-01", "2026-05-17T08:00:00Z"), merged("HM-2026-05-17-02", "2026-05-17T09:00:00Z")]
    inside = escalations(history, "HM-2026-05-17-03", "high_memory_usage", API, "2026-05-17T09:59:59Z", LIMITS)
    assert inside[0].startswith("repeated failure: HM-2026-05-17-02 merged at 2026-05-17T09:00:00Z did not hold")
    late = escalations(history[1:], "HM-2026-05-17-03", "high_memory_usage", API, "2026-05-17T10:00:00Z", LIMITS)
    assert late == ()


def test_the_window_caps_automatic_remediations_of_one_workload() -> None:
    history = [merged("HM-2026-05-17-01", "2026-05-17T01:00:00Z"), merged("HM-2026-05-17-02", "2026-05-17T05:00:00Z")]
    capped = escalations(history, "HM-2026-05-17-03", "high_memory_usage", API, "2026-05-17T12:00:00Z", LIMITS)
    assert capped == ("2 remediations of Deployment appointments-api/api merged within 1440 min (at most 2 "
                      "automatic, policies/remediation.yaml): a human decides",)
    assert escalations(history, "HM-2026-05-18-01", "high_memory_usage", API, "2026-05-18T05:00:00Z", LIMITS) == ()
    assert escalations(history, "HM-2026-05-17-03", "high_memory_usage", API, "2026-05-17T12:00:00Z", None) == ()


def test_the_reason_names_the_workload_the_plan_targets_and_another_kind_of_the_same_name_is_another() -> None:
    """The history and the new incident are compared by `workload_key` of the plans' workloads."""
    from bot.rules.recurrence import workload_key

    api = workload_key({"kind": "Deployment", "namespace": "appointments-api", "name": "api"})
    assert api == API
    same_name = workload_key({"kind": "StatefulSet", "namespace": "appointments-api", "name": "api"})
    other_namespace = workload_key({"kind": "Deployment", "namespace": "appointments-db", "name": "api"})
    history = [merged("HM-2026-05-17-01", "2026-05-17T09:00:00Z", workload=w) for w in (same_name, other_namespace)]
    assert escalations(history, "HM-2026-05-17-02", "high_memory_usage", api, "2026-05-17T09:10:00Z", LIMITS) == ()


def test_the_reason_says_how_many_whole_minutes_later_the_workload_alerted_again() -> None:
    history = [merged("HM-2026-05-17-01", "2026-05-17T09:00:00Z")]
    [reason] = escalations(history, "HM-2026-05-17-02", "high_memory_usage", API, "2026-05-17T09:59:59Z", LIMITS)
    assert reason == ("repeated failure: HM-2026-05-17-01 merged at 2026-05-17T09:00:00Z did not hold (Deployment "
                      "appointments-api/api alerted again 59 min later, within the 60 min cool-down of "
                      "high_memory_usage): a human decides")
    [half] = escalations(history, "HM-2026-05-17-02", "high_memory_usage", API, "2026-05-17T09:30:00Z", LIMITS)
    assert "alerted again 30 min later" in half


def test_a_merge_in_the_alerts_very_second_counts_as_before_it() -> None:
    history = [merged("HM-2026-05-17-01", "2026-05-17T09:00:00Z")]
    [reason] = escalations(history, "HM-2026-05-17-02", "high_memory_usage", API, "2026-05-17T09:00:00Z", LIMITS)
    assert "alerted again 0 min later" in reason


def test_the_window_ends_at_its_length() -> None:
    """A merge exactly `window_minutes` before the alert is outside the window."""
    history = [merged("HM-2026-05-16-01", "2026-05-16T09:00:00Z"), merged("HM-2026-05-16-02", "2026-05-17T07:00:00Z")]
    at_limit = escalations(history, "HM-2026-05-17-01", "high_memory_usage", API, "2026-05-17T09:00:00Z", LIMITS)
    assert at_limit == ()
    just_inside = escalations(history, "HM-2026-05-17-01", "high_memory_usage", API, "2026-05-17T08:59:59Z", LIMITS)
    assert len(just_inside) == 1 and just_inside[0].startswith("2 remediations of ")
    a_minute_out = [merged("HM-2026-05-16-01", "2026-05-16T08:59:00Z"), history[1]]
    assert escalations(a_minute_out, "HM-2026-05-17-01", "high_memory_usage", API, "2026-05-17T09:00:00Z",
                       LIMITS) == ()


def test_a_merged_remediation_whose_trace_is_not_the_bots_leaves_the_workload_to_a_human() -> None:
    """Its merge time is a claim (the trace's head is not sealed, or it has no merge entry): whenever it says the
    merge was, the next incident of that workload is not automatic; the reason names every such trace."""
    history = [Remediation("HM-2026-05-17-02", "high_memory_usage", API, "", verified=False),
               Remediation("HM-2026-05-17-01", "high_memory_usage", API, "", verified=False),
               Remediation("HM-2026-05-16-01", "high_memory_usage", "StatefulSet appointments-db/db", "",
                           verified=False)]
    assert escalations(history, "HM-2026-05-17-03", "high_memory_usage", API, "2026-05-17T12:00:00Z", LIMITS) == (
        "the audit trace of HM-2026-05-17-01, HM-2026-05-17-02 (merged into main for Deployment appointments-api/api)"
        " is not the bot's: its head is not sealed or it has no merge entry, so when it merged cannot be told "
        "(incident-bot audit verify): a human decides",)
    # another workload's unverifiable trace says nothing about this one
    assert escalations(history[2:], "HM-2026-05-17-03", "high_memory_usage", API, "2026-05-17T12:00:00Z", LIMITS) == ()

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

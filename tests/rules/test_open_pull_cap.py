"""The per-service cap on open remediation pull requests (pure)."""

from __future__ import annotations

from bot.rules.caps import over_cap


def test_below_the_cap_or_without_one_a_new_incident_opens() -> None:
    assert over_cap("appointments-api", ["HM-2026-05-17-01"], 2) is None
    assert over_cap("appointments-api", ["HM-2026-05-17-01", "HM-2026-05-17-02"], None) is None


def test_at_the_cap_the_reason_names_the_service_and_its_open_incidents() -> None:
    reason = over_cap("appointments-api", ["HM-2026-05-17-02", "HM-2026-05-17-01"], 2)
    assert reason == ("service appointments-api has 2 open remediation pull requests (HM-2026-05-17-01, "
                      "HM-2026-05-17-02), at most 2 (policies/remediation.yaml): recorded, not opened; a human decides")


def test_an_alert_without_a_service_is_capped_under_the_default_and_says_so() -> None:
    """policies/remediation.yaml's `default` cap applies to alerts that name no service: the reason shows '-'."""
    assert over_cap(None, ["HM-2026-05-17-01"], 1) == (
        "service - has 1 open remediation pull requests (HM-2026-05-17-01), at most 1 (policies/remediation.yaml): "
        "recorded, not opened; a human decides")

"""The spec's Given/When/Then criteria, and the validate step's check of those on the state after the remediation."""

from __future__ import annotations

from conftest import ROOT

from bot.rules.criteria import Criterion, PostRemediation, check, parse

SPEC = (ROOT / "specs" / "high_memory_usage" / "specify.md").read_text()


def test_the_seed_spec_has_four_criteria_and_one_on_the_state_after_the_remediation():
    found = parse(SPEC)
    assert [c.given for c in found] == [
        "a firing HighMemoryUsage alert for a stateless pod", "the same alert from a second source",
        "a stateful workload without a verified backup", "the remediation is merged and synced"]
    assert [c for c in found if c.after_remediation] == [Criterion(
        "the remediation is merged and synced",
        "memory stays below the threshold for two windows and the alert resolves",
        "the resolved alert is recorded as validation evidence for the incident")]


def test_only_items_of_the_acceptance_section_that_read_given_when_then_are_criteria():
    text = ("## WHAT\n- Given nothing, When ever, Then no (not the acceptance section)\n"
            "## Acceptance\n- Given a, When b, Then c.\n- a note, not a criterion\n* given x\n  when y\n  then z\n"
            "## Notes\n- Given p, When q, Then r\n")
    assert parse(text) == [Criterion("a", "b", "c"), Criterion("x", "y", "z")]
    assert parse("no criteria here") == []


def test_a_criterion_after_the_remediation_is_met_only_with_the_merge_the_resolved_alert_and_the_windows():
    after = [Criterion("the remediation is merged", "the alert resolves", "it is recorded"),
             Criterion("a stateful workload", "the gate runs", "it blocks")]
    met = check(after, PostRemediation(True, ("v/grafana-1.json",), 2, 2))
    assert [(c.criterion, c.met, c.evidence) for c in met] == [
        ("Given the remediation is merged, When the alert resolves, Then it is recorded", True,
         "merged; resolved alert v/grafana-1.json; 2 windows recorded (tasks.md asks for 2)")]
    [short] = check(after, PostRemediation(False, (), 3, 1))
    assert not short.met
    assert short.evidence == ("no merge of the remediation is recorded; no resolved alert is stored; 1 of the 3 "
                              "windows tasks.md asks for are recorded")


def test_every_resolved_alert_is_named_and_a_tasks_md_without_windows_asks_for_one():
    after = [Criterion("the remediation is merged", "the alert resolves", "it is recorded")]
    [met] = check(after, PostRemediation(True, ("v/grafana-1.json", "v/pagerduty-1.json"), None, 1))
    assert (met.met, met.evidence) == (True, "merged; resolved alert v/grafana-1.json, v/pagerduty-1.json; 1 windows "
                                             "recorded (tasks.md asks for 1)")
    [none] = check(after, PostRemediation(True, ("v/grafana-1.json",), None, 0))
    assert (none.met, none.evidence) == (False, "0 of the 1 windows tasks.md asks for are recorded")

"""The gate on plain data: a radius wider than the profile allows, exactly at the edge and one step past."""

from __future__ import annotations

from bot.model.enums import Verdict
from bot.rules.readiness import Profile, Readiness, evaluate

DEFAULT = Profile("default", auto=23, semi_manual=20, max_radius="deployment", min_audit_trace_coverage=1.0)
FULL = {"spec": 5, "implementation": 5, "verification": 5, "process": 5, "security": 5}


def gate(radius: str | None, *, dry_run_verified: bool = False) -> tuple[Verdict, int, tuple[str, ...]]:
    r = Readiness("HM-2026-05-17-01", dict(FULL), 1.0, False, radius_of_impact=radius,
                  dry_run_verified=dry_run_verified)
    result = evaluate(r, DEFAULT)
    return result.verdict, result.score, result.reasons


def test_radius_at_the_profile_maximum_passes() -> None:
    assert gate("deployment") == (Verdict.PASS, 25, ())


def test_radius_one_step_wider_than_the_profile_blocks_and_caps_implementation() -> None:
    verdict, score, reasons = gate("namespace")
    assert (verdict, score) == (Verdict.BLOCK, 22)
    assert reasons == (
        "score=22/25 below threshold 23",
        "implementation<=2: undefined blast radius, radius_of_impact=namespace wider than deployment "
        "(profile default) without dry_run_verified",
    )


def test_wider_radius_with_a_verified_dry_run_passes() -> None:
    assert gate("cluster", dry_run_verified=True) == (Verdict.PASS, 25, ())


def result(scores: dict[str, int], radius: str | None = "pod") -> object:
    return evaluate(Readiness("HM-2026-05-17-01", {**FULL, **scores}, 1.0, False, radius_of_impact=radius), DEFAULT)


def test_boundaries_of_the_blocking_conditions() -> None:
    assert result({"verification": 3}).reasons == ()  # 24/25, verification 3 is not a failed validation
    assert result({"implementation": 3}, radius=None).verdict == Verdict.PASS  # 3 with no radius: not undefined
    assert result({"implementation": 2}, radius=None).reasons == (
        "score=22/25 below threshold 23", "implementation=2 <= 2: undefined blast radius (no radius_of_impact)")
    capped = evaluate(Readiness("I", {**FULL, "implementation": 3}, 1.0, False, radius_of_impact="cluster"), DEFAULT)
    assert (capped.score, capped.scores["implementation"]) == (22, 2)


def test_result_carries_scores_profile_threshold_and_evidence() -> None:
    r = Readiness("I", dict(FULL), 1.0, False, radius_of_impact="pod", evidence={"spec": "+WHY"})
    g = evaluate(r, DEFAULT)
    assert (g.scores, g.profile, g.threshold, g.evidence) == (FULL, "default", 23, {"spec": "+WHY"})


def test_readiness_json_round_trips() -> None:
    r = Readiness("I", dict(FULL), 0.9, True, backup_verified=True, radius_of_impact="pod", dry_run_verified=True,
                  evidence={"spec": "x"})
    assert Readiness.from_dict(r.to_dict()) == r
    assert r.to_dict() == {"incident_id": "I", "scores": FULL, "audit_trace_coverage": 0.9, "stateful": True,
                           "backup_verified": True, "dry_run_verified": True, "evidence": {"spec": "x"},
                           "radius_of_impact": "pod"}
    assert "radius_of_impact" not in Readiness("I", dict(FULL), 1.0, False).to_dict()


def test_every_untrusted_change_blocks_whatever_the_total():
    """Issue 11: a file of the incident branch that is not what the bot derives blocks, named, even at 25/25."""
    from bot.rules.readiness import Profile, Readiness, evaluate

    scores = {c: 5 for c in ("spec", "implementation", "verification", "process", "security")}
    profile = Profile("default", 23, 20, "deployment", 1.0)
    clean = evaluate(Readiness("HM-2026-05-17-01", scores, 1.0, False), profile)
    assert clean.verdict == "PASS"
    changed = Readiness("HM-2026-05-17-01", scores, 1.0, False, untrusted_changes=("incidents/x/plan.md: differs",))
    result = evaluate(changed, profile)
    assert (result.verdict, result.reasons) == ("BLOCK", ("untrusted change: incidents/x/plan.md: differs",))
    assert Readiness.from_dict(changed.to_dict()) == changed


def test_a_remediation_that_did_not_hold_makes_a_passing_gate_semi_manual_naming_why() -> None:
    """bot/rules/recurrence.py's reasons: a human decides whatever the points; a blocker still blocks."""
    why = ("repeated failure: HM-2026-05-17-01 merged at 2026-05-17T09:00:00Z did not hold (...): a human decides",)
    passing = evaluate(Readiness("HM-2026-05-17-02", dict(FULL), 1.0, False, escalations=why), DEFAULT)
    assert (passing.verdict, passing.reasons) == (Verdict.SEMI_MANUAL, why)
    semi = evaluate(Readiness("HM-2026-05-17-02", {**FULL, "spec": 4, "process": 3}, 1.0, False, escalations=why),
                    DEFAULT)
    assert (semi.verdict, semi.reasons) == (
        Verdict.SEMI_MANUAL, ("score=22/25 below threshold 23: semi-manual, a human approves the action", *why))
    blocked = evaluate(Readiness("HM-2026-05-17-02", {**FULL, "spec": 0, "process": 0}, 1.0, False, escalations=why),
                      DEFAULT)
    assert blocked.verdict == Verdict.BLOCK and blocked.reasons[-1] == why[0]


def test_readiness_json_keeps_the_escalations() -> None:
    r = Readiness("I", dict(FULL), 1.0, False, escalations=("a human decides",))
    assert r.to_dict()["escalations"] == ["a human decides"]
    assert Readiness.from_dict(r.to_dict()) == r
    assert "escalations" not in Readiness("I", dict(FULL), 1.0, False).to_dict()

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

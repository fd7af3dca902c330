"""The audit coverage the readiness gate scores (seed: coverage < 1.0 blocks): only an ok entry of a step that
wrote commits accounts for a commit of the branch (issue 11, finding 7: a check's own entry must not)."""

from __future__ import annotations

from bot.rules import audit

C1, C2, HUMAN = "1" * 40, "2" * 40, "9" * 40


def trace(*steps: tuple[str, str, dict]) -> list[audit.AuditEntry]:
    entries: list[audit.AuditEntry] = []
    for step, status, evidence in steps:
        entries.append(audit.append(entries, "HM-2026-05-17-01", step, status, "2026-05-17T10:00:00Z", evidence))
    return entries


PHASES = [(s, "ok", {"commit": C1} if s == "specify" else {}) for s in audit.BEFORE_READINESS]


def test_every_step_and_commit_traced_is_full_coverage():
    entries = trace(*PHASES, ("spec_diff_created", "ok", {"commits": [C2]}))
    assert audit.coverage(entries, [C1, C2]) == (1.0, [])
    assert audit.coverage([], []) == (0.0, [f"step {s}" for s in audit.BEFORE_READINESS])


def test_a_human_commit_stays_untraced_whatever_a_check_or_a_blocked_step_says():
    entries = trace(*PHASES, ("readiness", "ok", {"commit": HUMAN}), ("specify", "blocked", {"commits": [HUMAN]}))
    assert audit.coverage(entries, [C1, HUMAN]) == (0.86, [f"commit {HUMAN[:12]} has no audit entry"])


def test_a_missing_step_and_a_missing_commit_each_cost_their_share():
    entries = trace(*PHASES[:4])
    assert audit.coverage(entries, [C1, C2]) == (
        0.71, ["step commit", f"commit {C2[:12]} has no audit entry"])

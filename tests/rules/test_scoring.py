"""The 25 points from plain facts: each point is lost when its evidence is missing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.rules.criteria import Criterion
from bot.rules.scoring import Facts, score

ID = "HM-2026-05-17-01"
GATE = Criterion("a stateful workload", "the gate runs", "it blocks")
AFTER = Criterion("the remediation is merged", "the alert resolves", "the resolved alert is recorded")


def good() -> Facts:
    d = f"incidents/{ID}"
    return Facts(
        incident_id=ID, branch=f"incident/{ID}", head="a" * 40, files={f"{d}/specify.md": "x"},
        specify_sections={"WHY": True, "WHAT": True, "constraints": True, "acceptance": True}, spec_findings=[],
        plan={"action": "restart_pod", "blast_radius": "pod", "preconditions": {"stateless": True}},
        tasks=[{"idempotent": True, "radius": "pod"}], validation_plan=True, diff_matches_rendering=[],
        event_schema_errors=[], replay_matches=True, manifest_errors=[], commits_without_trailers=[],
        pull_links_artifacts=True, audit_problems=[], audit_coverage=1.0, audit_missing=[], action_allowed=[],
        forbidden_action=False, rollback="revert", personal_data_found=[], codeowners_cover_deploy=True,
        touches_protected=[], stateful=False, backup_verified=False, untrusted_changes=[], replay_problems=[],
        criteria=(GATE, AFTER),
    )


def test_all_evidence_earns_25() -> None:
    readiness, points = score(good())
    assert sum(readiness.scores.values()) == 25
    assert readiness.radius_of_impact == "pod"
    assert all(p.earned for p in points)


@pytest.mark.parametrize(
    ("change", "category", "point", "evidence"),
    [
        ({"touches_protected": ["policies/actions.yaml"]}, "security", "no self-granted permissions",
         "the branch changes policies/actions.yaml"),
        ({"codeowners_cover_deploy": False}, "security", "human review",
         "CODEOWNERS does not require a human for deploy/"),
        ({"personal_data_found": ["sources/pagerduty.json"]}, "security", "no personal data",
         "personal data in sources/pagerduty.json"),
        ({"replay_matches": False}, "verification", "event replayable",
         "re-normalizing the recorded sources differs from event.json"),
        ({"rollback": None}, "security", "rollback", "the action has no rollback"),
        ({"pull_links_artifacts": False}, "process", "pull request", "no pull request linking the artifacts"),
        ({"branch": "feature/x"}, "process", "branch and trailers", f"branch feature/x is not incident/{ID}"),
        ({"commits_without_trailers": ["b" * 40]}, "process", "branch and trailers",
         "commits without trailers: " + "b" * 12),
        # the chapter's case study: a replay that needs manual substitution is worth 4, not 5
        ({"replay_problems": ["entry 7 (readiness) records no commit or base: replay would need them substituted",
                              "entry 9 (dry_run at abc): recorded PASS, replay gives BLOCK", "entry 11: x"]},
         "process", "replay from git", "entry 7 (readiness) records no commit or base: replay would need them "
         "substituted; entry 9 (dry_run at abc): recorded PASS, replay gives BLOCK"),
        ({"criteria": (GATE,)}, "verification", "acceptance criteria",
         "1 Given/When/Then criteria in specify.md, none about the state after the remediation (a Given or When "
         "naming the merge, the sync or the resolved alert): the validate step checks none"),
        ({"criteria": ()}, "verification", "acceptance criteria", "no Given/When/Then criterion in specify.md"),
        ({"validation_plan": False}, "verification", "validation plan", "no validation step in tasks.md"),
        ({"audit_coverage": 0.8, "audit_missing": ["step commit"]}, "process", "audit complete",
         "audit_trace_coverage=0.8: step commit"),
    ],
)
def test_missing_evidence_loses_its_point(change: dict, category: str, point: str, evidence: str) -> None:
    readiness, points = score(replace(good(), **change))
    lost = [p for p in points if not p.earned]
    assert [(p.category, p.name, p.evidence) for p in lost] == [(category, point, evidence)]
    assert readiness.scores[category] == 4
    assert f"-{point}: {evidence}" in readiness.evidence[category]


def test_the_criteria_the_validate_step_checks_are_counted_and_named() -> None:
    _, points = score(good())
    [point] = [p for p in points if p.name == "acceptance criteria"]
    assert point.evidence == ("2 Given/When/Then criteria in specify.md, 1 checked by the validate step against the "
                              "post-remediation evidence: Given the remediation is merged, When the alert resolves, "
                              "Then the resolved alert is recorded")


def test_forbidden_action_zeroes_security() -> None:
    readiness, _ = score(replace(good(), forbidden_action=True))
    assert readiness.scores["security"] == 0
    assert sum(readiness.scores.values()) == 20


def test_unknown_radius_is_not_a_radius() -> None:
    readiness, _ = score(replace(good(), plan={**good().plan, "blast_radius": "galaxy"}))
    assert readiness.radius_of_impact is None

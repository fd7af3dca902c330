"""The 25 points from plain facts: each point is lost when its evidence is missing, and names what it found or
missed (the row `check readiness` shows in the check run's table and its "lost 1 point:" lines)."""

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
        ({"rollback_pull": True}, "process", "branch and trailers", f"branch incident/{ID} is not rollback/{ID}"),
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


# The table a full score shows, row by row (category, point, evidence).
EARNED = [
    ("spec", "specify instantiated", f"incidents/{ID}/specify.md"),
    ("spec", "WHY", "WHY section present"),
    ("spec", "WHAT", "WHAT section present"),
    ("spec", "constraints", "constraints section present"),
    ("spec", "acceptance, no command", "Given/When/Then acceptance, no concrete command"),
    ("implementation", "strategy chosen", "plan.md chooses restart_pod"),
    ("implementation", "preconditions hold", "preconditions read from deploy/: hpa_enabled=True, stateless=True"),
    ("implementation", "idempotent tasks", "tasks.md: 2 idempotent steps"),
    ("implementation", "radius stated", "radius_of_impact=pod on every step"),
    ("implementation", "change equals rendering", "the diff under deploy/ is exactly the rendered action"),
    ("verification", "event valid", "event.json matches the incident_event schema"),
    ("verification", "event replayable", "re-normalizing the recorded sources gives event.json byte for byte"),
    ("verification", "manifests valid", "changed manifests validate (Kubernetes schemas)"),
    ("verification", "validation plan", "tasks.md validates in two windows + resolved alert"),
    ("verification", "acceptance criteria", "2 Given/When/Then criteria in specify.md, 1 checked by the validate "
     "step against the post-remediation evidence: Given the remediation is merged, When the alert resolves, Then "
     "the resolved alert is recorded"),
    ("process", "branch and trailers", f"branch incident/{ID}, every commit has Incident-Id and Phase"),
    ("process", "pull request", "pull request links every artifact"),
    ("process", "audit intact", "audit chain verifies"),
    ("process", "audit complete", "audit_trace_coverage=1.0"),
    ("process", "replay from git",
     "`replay` of the trace so far reproduces every recorded event, readiness and dry-run from git alone"),
    ("security", "action allowed", "pre-approved, not forbidden, within the spec's radius"),
    ("security", "rollback", "rollback: revert"),
    ("security", "no personal data", "stored sources are redacted"),
    ("security", "human review", "CODEOWNERS requires a human for deploy/"),
    ("security", "no self-granted permissions", "the branch leaves policies/, specs/ and .github/ alone"),
]


def full() -> Facts:
    return replace(good(), plan={**good().plan, "preconditions": {"stateless": True, "hpa_enabled": True}},
                   tasks=[{"idempotent": True, "radius": "pod"}, {"idempotent": "yes", "radius": "pod"}])


def without(section: str) -> dict[str, object]:
    return {"specify_sections": {k: v for k, v in good().specify_sections.items() if k != section}}


def test_a_full_score_shows_what_each_point_found() -> None:
    readiness, points = score(full())
    assert [(p.category, p.name, p.evidence) for p in points] == EARNED
    assert readiness.evidence["spec"] == (f"+specify instantiated: incidents/{ID}/specify.md; +WHY: WHY section "
                                          "present; +WHAT: WHAT section present; +constraints: constraints section "
                                          "present; +acceptance, no command: Given/When/Then acceptance, no concrete "
                                          "command")
    assert list(readiness.evidence) == ["spec", "implementation", "verification", "process", "security"]



@pytest.mark.parametrize(("change", "lost"), [
    ({"files": {}}, [("spec", "specify instantiated", f"incidents/{ID}/specify.md missing")]),
    (without("WHY"), [("spec", "WHY", "no WHY section")]),
    (without("WHAT"), [("spec", "WHAT", "no WHAT section")]),
    (without("constraints"), [("spec", "constraints", "no constraints section")]),
    ({"specify_sections": {**good().specify_sections, "WHY": False}}, [("spec", "WHY", "no WHY section")]),
    (without("acceptance"), [("spec", "acceptance, no command", "no Given/When/Then acceptance")]),
    ({"spec_findings": ["specify.md:9: concrete command 'kubectl rollout'", "specify.md:12: concrete command 'helm x'"]},
     [("spec", "acceptance, no command",
       "specify.md:9: concrete command 'kubectl rollout'; specify.md:12: concrete command 'helm x'")]),
    ({"plan": {"blast_radius": "pod", "preconditions": {"stateless": True}}},
     [("implementation", "strategy chosen", "plan.md chooses no pre-approved action"),
      ("implementation", "preconditions hold", "unmet preconditions: no action"),
      ("implementation", "change equals rendering", "nothing rendered"),
      ("security", "action allowed", "no action")]),
    ({"plan": {"action": "scale_up_replicas_one", "blast_radius": "pod",
               "preconditions": {"stateless": False, "hpa_enabled": False, "backup_verified": True}}},
     [("implementation", "preconditions hold", "unmet preconditions: hpa_enabled, stateless")]),
    ({"tasks": [{"idempotent": True, "radius": "pod"}, {"idempotent": False, "radius": "pod"}]},
     [("implementation", "idempotent tasks", "tasks.md has no steps or a non-idempotent one")]),
    ({"tasks": []}, [("implementation", "idempotent tasks", "tasks.md has no steps or a non-idempotent one"),
                     ("implementation", "radius stated", "a step without its radius")]),
    ({"tasks": [{"idempotent": True, "radius": "pod"}, {"idempotent": True}]},
     [("implementation", "radius stated", "a step without its radius")]),
    ({"plan": {"action": "restart_pod", "preconditions": {"stateless": True}}},
     [("implementation", "radius stated", "a step without its radius")]),
    ({"diff_matches_rendering": ["deploy/a.yaml: deleted", "deploy/b.yaml: added"]},
     [("implementation", "change equals rendering", "deploy/a.yaml: deleted; deploy/b.yaml: added")]),
    ({"event_schema_errors": ["$.type: required", "$.pod: not a string"]},
     [("verification", "event valid", "$.type: required; $.pod: not a string")]),
    ({"manifest_errors": ["deploy/a.yaml: spec.replicas", "deploy/b.yaml: kind"]},
     [("verification", "manifests valid", "deploy/a.yaml: spec.replicas; deploy/b.yaml: kind")]),
    ({"commits_without_trailers": ["a" * 40, "b" * 40]},
     [("process", "branch and trailers", "commits without trailers: aaaaaaaaaaaa, bbbbbbbbbbbb")]),
    ({"branch": "feature/x", "commits_without_trailers": ["a" * 40]},
     [("process", "branch and trailers", f"branch feature/x is not incident/{ID}")]),
    ({"audit_problems": ["entry 2: hash", "entry 3: prev", "entry 4: hash"]},
     [("process", "audit intact", "entry 2: hash; entry 3: prev")]),
    ({"audit_coverage": 0.91, "audit_missing": ["commit a", "commit b", "commit c", "commit d"]},
     [("process", "audit complete", "audit_trace_coverage=0.91: commit a; commit b; commit c")]),
    ({"action_allowed": ["radius namespace exceeds deployment", "not pre-approved"]},
     [("security", "action allowed", "radius namespace exceeds deployment; not pre-approved")]),
    ({"personal_data_found": ["sources/a.json", "sources/b.json"]},
     [("security", "no personal data", "personal data in sources/a.json, sources/b.json")]),
    ({"touches_protected": ["policies/actions.yaml", ".github/CODEOWNERS"]},
     [("security", "no self-granted permissions", "the branch changes policies/actions.yaml, .github/CODEOWNERS")]),
])
def test_each_point_is_lost_alone_and_names_what_is_missing(change: dict, lost: list) -> None:
    readiness, points = score(replace(full(), **change))
    assert [(p.category, p.name, p.evidence) for p in points if not p.earned] == lost
    # the audit entry stores every point as [category, name, earned, evidence]: a lost one is false, never null
    assert all(p.earned is False for p in points if not p.earned)
    for category in readiness.scores:
        assert readiness.scores[category] == 5 - sum(1 for c, _, _ in lost if c == category)
    for category, point, evidence in lost:
        assert f"-{point}: {evidence}" in readiness.evidence[category]


def test_every_criterion_the_validate_step_checks_is_named() -> None:
    merged = Criterion("the change is synced", "memory stays low", "the incident validates")
    _, points = score(replace(good(), criteria=(GATE, AFTER, merged)))
    assert next(p for p in points if p.name == "acceptance criteria").evidence == (
        "3 Given/When/Then criteria in specify.md, 2 checked by the validate step against the post-remediation "
        "evidence: Given the remediation is merged, When the alert resolves, Then the resolved alert is recorded; "
        "Given the change is synced, When memory stays low, Then the incident validates")


def test_an_action_without_preconditions_holds_them() -> None:
    _, points = score(replace(good(), plan={"action": "restart_pod", "blast_radius": "pod"}))
    assert next(p for p in points if p.name == "preconditions hold").evidence == "preconditions read from deploy/: none"
    assert all(p.earned for p in points)


def test_a_forbidden_action_loses_every_security_point_naming_it_and_nothing_else() -> None:
    readiness, points = score(replace(full(), forbidden_action=True))
    assert [(p.category, p.name, p.evidence) for p in points] == [
        (c, n, "forbidden action restart_pod" if c == "security" else e) for c, n, e in EARNED]
    assert [p.earned for p in points] == [c != "security" for c, _, _ in EARNED]
    assert readiness.scores == {"spec": 5, "implementation": 5, "verification": 5, "process": 5, "security": 0}


def test_coverage_just_short_of_complete_loses_the_point() -> None:
    _, points = score(replace(good(), audit_coverage=0.999, audit_missing=["commit a"]))
    assert [(p.name, p.evidence) for p in points if not p.earned] == [
        ("audit complete", "audit_trace_coverage=0.999: commit a")]


@pytest.mark.parametrize("radius", ["pod", "deployment", "namespace", "cluster"])
def test_the_readiness_record_carries_the_facts_the_gate_judges(radius: str) -> None:
    facts = replace(good(), plan={**good().plan, "blast_radius": radius}, stateful=True, backup_verified=True,
                    audit_coverage=0.5, untrusted_changes=["incidents/x/plan.md"], escalations=("a human decides",))
    readiness, _ = score(facts)
    assert (readiness.incident_id, readiness.radius_of_impact, readiness.audit_trace_coverage) == (ID, radius, 0.5)
    assert (readiness.stateful, readiness.backup_verified, readiness.dry_run_verified) == (True, True, False)
    assert (readiness.untrusted_changes, readiness.escalations) == (("incidents/x/plan.md",), ("a human decides",))
    assert score(replace(facts, plan={**good().plan, "blast_radius": 3}))[0].radius_of_impact is None


def test_the_rollback_pull_request_earns_the_branch_point_on_its_own_branch() -> None:
    """`rollback` opens rollback/<id> (bot/flows/rollback.py): that is the branch its gate expects."""
    points = {p.name: p for p in score(replace(good(), branch=f"rollback/{ID}", rollback_pull=True))[1]}
    assert points["branch and trailers"].earned
    assert points["branch and trailers"].evidence == f"branch rollback/{ID}, every commit has Incident-Id and Phase"

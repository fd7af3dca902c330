"""Scores the 25-point readiness model from the incident's own artifacts (pure).

Every point names the evidence it found or missed; nothing is typed by hand. The result is a
`Readiness` in the seed's format plus the per-point table that the check output shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.rules.criteria import Criterion
from bot.rules.readiness import CATEGORIES, Readiness


@dataclass(frozen=True)
class Point:
    category: str
    name: str
    earned: bool
    evidence: str


@dataclass(frozen=True)
class Facts:
    """What the shell gathered from the forge for one head commit; plain data only."""

    incident_id: str
    branch: str
    head: str
    files: dict[str, str]            # incidents/<id>/... at head
    specify_sections: dict[str, bool]  # WHY, WHAT, constraints, acceptance
    spec_findings: list[str]         # spec lint findings on the instantiated specify.md
    plan: dict[str, Any]             # plan.md front matter
    tasks: list[dict[str, Any]]      # tasks.md front matter tasks
    validation_plan: bool
    diff_matches_rendering: list[str]  # problems; empty = the manifest change is exactly the rendering
    event_schema_errors: list[str]
    replay_matches: bool
    manifest_errors: list[str]
    commits_without_trailers: list[str]
    pull_links_artifacts: bool
    audit_problems: list[str]
    audit_coverage: float
    audit_missing: list[str]
    action_allowed: list[str]        # problems with the action vs catalog/spec (empty = fine)
    forbidden_action: bool
    rollback: str | None
    personal_data_found: list[str]
    codeowners_cover_deploy: bool
    touches_protected: list[str]     # policies/, specs/, .github/ changed by the branch
    stateful: bool
    untrusted_changes: list[str]
    backup_verified: bool
    # what `replay` of the trace so far could not reproduce from git alone (bot/flows/replay.py); empty = all
    replay_problems: list[str]
    criteria: tuple[Criterion, ...]  # the Given/When/Then criteria of specify.md (bot/rules/criteria.py)
    escalations: tuple[str, ...] = ()  # why a human decides (bot/rules/recurrence.py): at best semi-manual
    rollback_pull: bool = False  # the rollback pull request of the incident: its branch is rollback/<id>


def _p(category: str, name: str, ok: bool, good: str, bad: str) -> Point:
    return Point(category, name, ok, good if ok else bad)


def score(f: Facts) -> tuple[Readiness, list[Point]]:
    d = f"incidents/{f.incident_id}"
    action = f.plan.get("action")
    radius = f.plan.get("blast_radius")
    pre: dict[str, bool] = dict(f.plan.get("preconditions") or {})
    checked = [c for c in f.criteria if c.after_remediation]
    branch = f"{'rollback' if f.rollback_pull else 'incident'}/{f.incident_id}"
    pts = [
        # spec
        _p("spec", "specify instantiated", f"{d}/specify.md" in f.files,
           f"{d}/specify.md", f"{d}/specify.md missing"),
        _p("spec", "WHY", f.specify_sections.get("WHY", False), "WHY section present", "no WHY section"),
        _p("spec", "WHAT", f.specify_sections.get("WHAT", False), "WHAT section present", "no WHAT section"),
        _p("spec", "constraints", f.specify_sections.get("constraints", False),
           "constraints section present", "no constraints section"),
        _p("spec", "acceptance, no command", f.specify_sections.get("acceptance", False) and not f.spec_findings,
           "Given/When/Then acceptance, no concrete command",
           "; ".join(f.spec_findings) or "no Given/When/Then acceptance"),
        # implementation
        _p("implementation", "strategy chosen", bool(action), f"plan.md chooses {action}",
           "plan.md chooses no pre-approved action"),
        _p("implementation", "preconditions hold", bool(action) and all(pre.values()),
           "preconditions read from deploy/: " + (", ".join(f"{k}={v}" for k, v in sorted(pre.items())) or "none"),
           "unmet preconditions: " + (", ".join(k for k, v in sorted(pre.items()) if not v) or "no action")),
        _p("implementation", "idempotent tasks", bool(f.tasks) and all(t.get("idempotent") for t in f.tasks),
           f"tasks.md: {len(f.tasks)} idempotent steps", "tasks.md has no steps or a non-idempotent one"),
        _p("implementation", "radius stated", bool(f.tasks) and all(t.get("radius") for t in f.tasks) and bool(radius),
           f"radius_of_impact={radius} on every step", "a step without its radius"),
        _p("implementation", "change equals rendering", not f.diff_matches_rendering and bool(action),
           "the diff under deploy/ is exactly the rendered action",
           "; ".join(f.diff_matches_rendering) or "nothing rendered"),
        # verification
        _p("verification", "event valid", not f.event_schema_errors, "event.json matches the incident_event schema",
           "; ".join(f.event_schema_errors)),
        _p("verification", "event replayable", f.replay_matches,
           "re-normalizing the recorded sources gives event.json byte for byte",
           "re-normalizing the recorded sources differs from event.json"),
        _p("verification", "manifests valid", not f.manifest_errors, "changed manifests validate (Kubernetes schemas)",
           "; ".join(f.manifest_errors)),
        _p("verification", "validation plan", f.validation_plan, "tasks.md validates in two windows + resolved alert",
           "no validation step in tasks.md"),
        # the chapter counts the criteria a run checked: the validate step checks those about the state after the
        # remediation against the resolved alert it stores (bot/rules/criteria.py)
        _p("verification", "acceptance criteria", bool(checked),
           f"{len(f.criteria)} Given/When/Then criteria in specify.md, {len(checked)} checked by the validate step "
           "against the post-remediation evidence: " + "; ".join(c.text for c in checked),
           f"{len(f.criteria)} Given/When/Then criteria in specify.md, none about the state after the remediation "
           "(a Given or When naming the merge, the sync or the resolved alert): the validate step checks none"
           if f.criteria else "no Given/When/Then criterion in specify.md"),
        # process
        # the log (branch, trailers, pull request, audit) earns 4; the chapter's fifth point is a replay by incident
        # id from git alone (its case study: a replay that needs manual substitution is worth 4)
        _p("process", "branch and trailers", f.branch == branch and not f.commits_without_trailers,
           f"branch {f.branch}, every commit has Incident-Id and Phase",
           f"branch {f.branch} is not {branch}" if f.branch != branch
           else "commits without trailers: " + ", ".join(c[:12] for c in f.commits_without_trailers)),
        _p("process", "pull request", f.pull_links_artifacts, "pull request links every artifact",
           "no pull request linking the artifacts"),
        _p("process", "audit intact", not f.audit_problems, "audit chain verifies", "; ".join(f.audit_problems[:2])),
        _p("process", "audit complete", f.audit_coverage >= 1.0, "audit_trace_coverage=1.0",
           f"audit_trace_coverage={f.audit_coverage:g}: " + "; ".join(f.audit_missing[:3])),
        _p("process", "replay from git", not f.replay_problems,
           "`replay` of the trace so far reproduces every recorded event, readiness and dry-run from git alone",
           "; ".join(f.replay_problems[:2])),
        # security
        _p("security", "action allowed", not f.action_allowed and bool(action),
           "pre-approved, not forbidden, within the spec's radius", "; ".join(f.action_allowed) or "no action"),
        _p("security", "rollback", bool(f.rollback), f"rollback: {f.rollback}", "the action has no rollback"),
        _p("security", "no personal data", not f.personal_data_found, "stored sources are redacted",
           "personal data in " + ", ".join(f.personal_data_found)),
        _p("security", "human review", f.codeowners_cover_deploy, "CODEOWNERS requires a human for deploy/",
           "CODEOWNERS does not require a human for deploy/"),
        _p("security", "no self-granted permissions", not f.touches_protected,
           "the branch leaves policies/, specs/ and .github/ alone",
           "the branch changes " + ", ".join(f.touches_protected)),
    ]
    if f.forbidden_action:
        # A forbidden action in the plan is the worst security failure: security 0 blocks at any total.
        pts = [p if p.category != "security" else Point(p.category, p.name, False, f"forbidden action {action}")
               for p in pts]
    scores = {c: sum(1 for p in pts if p.category == c and p.earned) for c in CATEGORIES}
    evidence = {
        c: "; ".join(f"{'+' if p.earned else '-'}{p.name}: {p.evidence}" for p in pts if p.category == c)
        for c in CATEGORIES
    }
    readiness = Readiness(
        incident_id=f.incident_id,
        scores=scores,
        audit_trace_coverage=f.audit_coverage,
        stateful=f.stateful,
        backup_verified=f.backup_verified,
        radius_of_impact=radius if isinstance(radius, str) and radius in ("pod", "deployment", "namespace",
                                                                           "cluster") else None,
        dry_run_verified=False,
        evidence=evidence,
        untrusted_changes=tuple(f.untrusted_changes),
        escalations=tuple(f.escalations),
    )
    return readiness, pts

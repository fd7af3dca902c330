"""`check readiness`: score the 25 points from the incident's artifacts, run the gate, and record the
`readiness` check bound to the head SHA with its audit entry (a new commit has no check)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config.loader import canonical_json, parse_json, schema_errors
from bot.desired_state import validate
from bot.errors import InputError
from bot.flows import trace
from bot.flows.derive import renormalized
from bot.flows.history import repeated_failure
from bot.flows.subject import (
    Subject,
    diff_problems,
    expected_change,
    head_files,
    own_file_problems,
    snapshot,
    subject,
)
from bot.flows.workspace import Workspace
from bot.forge.base import Commit
from bot.intake.sources import SOURCES
from bot.model.enums import AuditStatus, AuditStep, Conclusion, Verdict
from bot.model.ids import incident_dir
from bot.model.values import Tasks
from bot.render.report import readiness_markdown
from bot.rules import audit, codeowners, criteria, dryrun, lifecycle, readiness, scoring
from bot.rules.spec import command_findings, sections

PROTECTED = ("policies/", "specs/", ".github/")


def evaluate_readiness(ws: Workspace, s: Subject, profile: str | None,
                       entries: list[audit.AuditEntry] | None = None, replay_found: list[str] | None = None,
                       recorded: bool | None = None,
                       ) -> tuple[readiness.Readiness, list[scoring.Point], readiness.GateResult]:
    """`entries`: the trace so far (default: as it stands); `replay_found`: what its replay found (default: the
    replay runs here, from git alone; `replay` passes what it found before the entry it judges again, and the
    forge's fact the entry recorded, see `gather`)."""
    ready, points = scoring.score(gather(ws, s, entries, replay_found, recorded))
    return ready, points, readiness.evaluate(ready, ws.policy().profile(profile))


@dataclass(frozen=True)
class ReadinessRun:
    """What `check readiness` posted: the gate, every scored point, the check's Markdown and title."""

    gate: readiness.GateResult
    points: list[scoring.Point]
    summary: str
    title: str


def point_records(points: list[scoring.Point]) -> list[list[object]]:
    """The scored points as the audit entry stores them: [category, name, earned, evidence]."""
    return [[p.category, p.name, p.earned, p.evidence] for p in points]


def _approval_traced(ws: Workspace, s: Subject, reviewer: str) -> bool:
    """The trace holds `approve --action` of the planned action on this head by `reviewer`: the forge's review
    is corroborated (as merge requires, lifecycle fact action_approval_traced_if_semi_manual)."""
    who = lifecycle.handle(reviewer).lower()
    return any(e.step == AuditStep.REVIEW and e.status == AuditStatus.OK and e.evidence.get("commit") == s.head
               and e.evidence.get("approves_action") == s.plan.action
               and lifecycle.handle(str(e.evidence.get("reviewer"))).lower() == who
               for e in trace.entries(ws, s.incident_id))


def check_readiness(ws: Workspace, incident_id: str, profile: str | None = None, *, rollback: bool) -> ReadinessRun:
    """Run the gate on the pull request head; record the check, then the audit entry (nothing is recorded
    as passed unless the check was posted). A semi-manual verdict whose action a code owner has approved on
    this head is posted as a success, naming the approval. (result, Markdown, the check's title)"""
    s = subject(ws, incident_id, rollback=rollback)
    snap = snapshot(ws, s, "check_readiness")
    lifecycle.require("check_readiness", snap)
    base = ws.forge.head(ws.main)
    ready, points, gate = evaluate_readiness(ws, s, profile)
    path = f"{incident_dir(incident_id)}/readiness.json"
    approval = None
    if gate.verdict == Verdict.SEMI_MANUAL:  # posted as a success once a code owner approved the action (the
        # reviews and owners are read for that only: one request fewer on every other verdict)
        approval = lifecycle.action_approval(snapshot(ws, s, "check_readiness", also=frozenset({"reviews", "owners"})))
        if approval is not None and not _approval_traced(ws, s, approval.reviewer):
            approval = None  # a review the pull record holds but `approve --action` never recorded: a claim
    evidence: dict[str, object] = {
        "commit": s.head, "base": base, "check": "readiness", "verdict": gate.verdict, "score": gate.score,
        "profile": gate.profile, "reasons": list(gate.reasons), "file": path, **s.tag,
        "points": point_records(points), "scores": dict(gate.scores), "threshold": gate.threshold,
    }
    conclusion, title = Conclusion.of(gate.verdict), gate.line()
    if approval is not None:
        evidence["action_approved_by"] = approval.reviewer
        conclusion, title = Conclusion.SUCCESS, f"{gate.line()}; action approved by {approval.reviewer}"
    status = AuditStatus.OK if gate.verdict != Verdict.BLOCK else AuditStatus.BLOCKED
    summary = readiness_markdown(gate, points, audit.view(trace.preview(ws, incident_id, AuditStep.READINESS,
                                                                        status, evidence)))
    if approval is not None:
        summary += (f"\n\n**Approved:** {approval.reviewer} (a code owner) approved the action "
                    f"`{s.plan.action}` on `{s.head[:12]}`; the semi-manual gate is satisfied.\n")
    trace.require_writable(ws, incident_id)
    ws.forge.record_check(s.head, "readiness", conclusion, title, summary)
    if gate.verdict == Verdict.SEMI_MANUAL:
        ws.forge.update_pull(s.pull.number, labels=("semi-manual",))
    trace.record(ws, incident_id, AuditStep.READINESS, status, evidence,
                 extra_files={path: canonical_json(ready.to_dict())})
    return ReadinessRun(gate, points, summary, title)


def _links_artifacts(ws: Workspace, s: Subject, files: dict[str, str], commits: list[Commit]) -> bool:
    """Links that open: each artifact linked at a commit of the branch (GitHub: the blob URL; local: the path)."""
    return all(any(f"]({ws.forge.blob_url(c.sha, p)})" in s.pull.body for c in commits)
               for p in files if "/sources/" not in p)


def _more_than_kept(path: str, stored: Any) -> bool:
    """A stored source holding more than its source's projection (personal data, credentials) keeps."""
    source = SOURCES.get(path.rsplit("/", 1)[-1].split("-", 1)[0])
    return source is None or source.kept(stored) != stored


def gather(ws: Workspace, s: Subject, entries: list[audit.AuditEntry] | None = None,
           replay_found: list[str] | None = None, recorded: bool | None = None) -> scoring.Facts:
    """Every fact the 25 points are scored from, read from the subject and the default branch. `recorded`: the
    one fact that lives in the forge, not in git (the pull request's description links the artifacts), as the
    entry replay re-judges recorded it."""
    policy = ws.policy()
    d = incident_dir(s.incident_id)
    # scored from what the bot derives; the branch's own copies are compared with it (untrusted_changes)
    files = {**ws.incident_files(s.head, s.incident_id), **(s.derived or {})}
    specify = files.get(f"{d}/specify.md", "")
    tasks = Tasks.from_text(files.get(f"{d}/tasks.md"), "tasks.md")
    event_text = files.get(f"{d}/event.json", "{}")
    event = parse_json(event_text, f"{d}/event.json")
    if not isinstance(event, dict):
        raise InputError(f"{d}/event.json", "$", f"expected an object, got {type(event).__name__}")
    sources = {p: t for p, t in files.items() if p.startswith(f"{d}/sources/")}
    replayed = renormalized(ws, sources, s.incident_id, event.get("incident_key", "")) if sources else None
    expected = expected_change(ws, s)
    at_head = head_files(ws, s)
    commits = ws.forge.commits(ws.main, s.head)
    anchors = trace.anchors(ws, s.incident_id)
    if entries is None:
        entries = trace.current(ws, s.incident_id)  # stored + implied by the bot's phase commits
    stored = entries[: len(anchors)]
    verification = audit.verify(stored, anchors[: len(stored)])
    coverage, missing = audit.coverage(entries, [c.sha for c in commits])
    if replay_found is None:
        from bot.flows.replay import reproduce  # replay judges with this module: imported when the gate runs

        replay_found = reproduce(ws, s.incident_id, entries)
    action = s.plan.action
    itype = policy.incident_types.types.get(event.get("type", ""))
    allowed: list[str] = []
    stateful, backup = False, False
    if itype is not None and action:
        spec = ws.spec(itype.spec)
        result = dryrun.evaluate(spec, action, dict(s.plan.preconditions), policy.catalog)
        allowed = [r for r in result.reasons if "precondition" not in r]
        known = s.plan.facts
        stateful, backup = not known.get("stateless", False), bool(known.get("backup_verified", False))
    rules = ws.codeowners()
    deploy_owners = codeowners.owners(rules, "deploy/x.yaml")
    changed_manifests = {p: t for p, t in at_head.items() if p.startswith("deploy/") and t is not None}
    return scoring.Facts(
        incident_id=s.incident_id,
        branch=s.pull.branch,
        head=s.head,
        files=files,
        specify_sections=sections(specify),
        spec_findings=command_findings(specify, f"{d}/specify.md"),
        plan=s.plan.data,
        tasks=list(tasks.tasks),
        validation_plan=tasks.has_validation,
        diff_matches_rendering=diff_problems(s, at_head, expected),
        event_schema_errors=[f"{p}: {m}" for p, m in schema_errors(event, "incident_event")],
        replay_matches=replayed is not None and canonical_json(replayed) == event_text,
        manifest_errors=validate.manifest_errors(changed_manifests),
        commits_without_trailers=[c.sha for c in commits if not {"Incident-Id", "Phase"} <= set(c.trailers)],
        pull_links_artifacts=_links_artifacts(ws, s, files, commits) if recorded is None else recorded,
        audit_problems=list(verification.problems),
        audit_coverage=coverage,
        audit_missing=missing,
        action_allowed=allowed,
        forbidden_action=action is not None and action in policy.catalog.forbidden,
        rollback=policy.catalog.actions[action].rollback if action is not None and action in policy.catalog.actions
        else None,
        personal_data_found=[p for p, t in sources.items() if _more_than_kept(p, parse_json(t, p))],
        codeowners_cover_deploy=bool(deploy_owners) and f"@{ws.forge.bot_identity}" not in deploy_owners,
        touches_protected=sorted(p for p in s.changed if p.startswith(PROTECTED)),
        stateful=stateful,
        backup_verified=backup,
        untrusted_changes=own_file_problems(s, at_head) if s.derived is not None else [],
        replay_problems=replay_found,
        criteria=tuple(criteria.parse(specify)),
        # a remediation of this workload that did not hold: a human decides (a rollback is never escalated)
        escalations=() if s.rollback_of else repeated_failure(ws, s.incident_id, event, s.plan.workload),
        rollback_pull=s.rollback_of is not None,
    )

"""`check dry-run`: admitted only when the lifecycle table allows it on the head SHA (readiness passed,
or semi-manual with a human's approval of the action); judges the planned action against the spec and
the catalog, and the diff under deploy/ against its exact rendering; records the `dry-run` check."""

from __future__ import annotations

from bot.desired_state import validate
from bot.errors import IllegalTransition
from bot.flows import trace
from bot.flows.subject import Subject, diff_problems, expected_change, head_files, snapshot, subject, unified_diff
from bot.flows.workspace import Workspace
from bot.model.enums import AuditStatus, AuditStep, Conclusion, Verdict
from bot.render.report import dry_run_markdown
from bot.rules import audit, dryrun, lifecycle

STEP = "check_dry_run"
# The CI job's check (ci.yml), required on main like the gate's. An incident or rollback pull request that passed
# dry-run changes nothing but incidents/<id>/ and the planned deploy/ change (every other difference blocks),
# so there is no code for the test suite to test: the job skips itself there, and GitHub starts no CI at all
# for a pull request opened with the plain GITHUB_TOKEN, so the passed dry-run posts it `skipped` itself.
TESTS_CHECK = "make test"


def evaluate_dry_run(ws: Workspace, s: Subject, snap: lifecycle.Snapshot | None = None,
                     ) -> tuple[dryrun.DryRunResult, str]:
    """The dry-run verdict for the subject's head, and the manifest diff it judged (records nothing)."""
    policy = ws.policy()
    action = s.plan.action
    event = ws.event(s.head, s.incident_id)
    spec = ws.spec(policy.incident_types.types[event["type"]].spec)
    stopped = lifecycle.verdict_blockers(STEP, snap or snapshot(ws, s, STEP))
    stop = (policy.emergency_reason or "policies/emergency_stop.yaml") if stopped else None
    if s.rollback_of:
        # a revert re-applies the reviewed state from before the merge: the catalog's promised rollback (every
        # catalog action has one, actions.schema.json; an action retired from the catalog has none)
        known = policy.catalog.actions.get(action or "")
        reasons = [] if known else [f"BLOCK: action {action} has no rollback in the catalog"]
        if stop:
            reasons = [f"BLOCK: emergency stop engaged ({stop})"]
        result = dryrun.DryRunResult(f"rollback:{action}", Verdict.BLOCK if reasons else Verdict.PASS,
                                     known.blast_radius if known else None, tuple(reasons))
    else:
        result = dryrun.evaluate(spec, str(s.plan.action), dict(s.plan.preconditions), policy.catalog,
                                 emergency_stop=stop)
    at_head = head_files(ws, s)
    extra = [f"BLOCK: {p}" for p in diff_problems(s, at_head, expected_change(ws, s))]
    changed_manifests = {p: t for p, t in at_head.items() if p.startswith("deploy/") and t is not None}
    extra += [f"BLOCK: {e}" for e in validate.manifest_errors(changed_manifests)]
    if extra and stop is None:
        result = dryrun.DryRunResult(result.action, Verdict.BLOCK, result.radius, (*result.reasons, *extra))
    return result, unified_diff(ws, s, at_head)


def check_dry_run(ws: Workspace, incident_id: str, *, rollback: bool) -> tuple[dryrun.DryRunResult, str]:
    """Refused unless the gate allows it on the head SHA; record the check and the audit entry."""
    s = subject(ws, incident_id, rollback=rollback)
    # the reviews count only for a semi-manual gate (an approved action) and only ever add approvals: they are
    # read when the gate is not open without them (one request fewer after every passed readiness)
    snap = snapshot(ws, s, STEP, without=frozenset({"reviews"}))
    if lifecycle.missing(STEP, snap):
        snap = snapshot(ws, s, STEP)
    try:
        lifecycle.require(STEP, snap)
    except IllegalTransition as exc:
        trace.record(ws, incident_id, AuditStep.DRY_RUN, AuditStatus.REFUSED,
                     {"commit": s.head, "reasons": [str(exc)], **s.tag})
        raise
    base = ws.forge.head(ws.main)
    result, diff = evaluate_dry_run(ws, s, snap)
    passed = result.verdict == Verdict.PASS
    status = AuditStatus.OK if passed else AuditStatus.BLOCKED
    evidence = {"commit": s.head, "base": base, "check": "dry-run", "verdict": result.verdict,
                "action": result.action, "reasons": list(result.reasons), **s.tag}
    summary = dry_run_markdown(result, diff, audit.view(trace.preview(ws, incident_id, AuditStep.DRY_RUN,
                                                                      status, evidence)))
    # the check first, then the trace: nothing is recorded as passed unless the check was posted
    trace.require_writable(ws, incident_id)
    ws.forge.record_check(s.head, "dry-run", Conclusion.SUCCESS if passed else Conclusion.FAILURE, result.line(),
                          summary)
    if passed:
        ws.forge.record_check(s.head, TESTS_CHECK, Conclusion.SKIPPED, "incident pull request: no code changed",
                              f"dry-run passed on {s.head[:12]}: this pull request changes only "
                              f"`incidents/{incident_id}/` and the planned `deploy/` change, which dry-run verified "
                              "line by line and validated; the test suite runs on changes to code.")
    trace.record(ws, incident_id, AuditStep.DRY_RUN, status, evidence)
    return result, summary

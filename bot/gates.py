"""`check readiness` and `check dry-run`: each judges the pull request's head commit and records a
check bound to that SHA. A new commit invalidates both (they are looked up by SHA)."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from bot import artifacts, audit, codeowners, dryrun, k8s, lifecycle, manifests, readiness, scoring, trace
from bot.errors import IllegalTransition, InputError, RuleRefusal
from bot.forge.base import PullRequest, Review
from bot.loader import canonical_json, schema_errors
from bot.redact import redact
from bot.report import dry_run_markdown, readiness_markdown
from bot.spec import command_findings, sections
from bot.workspace import Workspace, incident_branch, incident_dir, renormalize

CONCLUSION = {readiness.PASS: "success", readiness.SEMI_MANUAL: "action_required", readiness.BLOCK: "failure"}
PROTECTED = ("policies/", "specs/", ".github/")


@dataclass(frozen=True)
class Subject:
    """The incident pull request as the checks see it."""

    incident_id: str
    pull: PullRequest
    head: str
    plan: dict[str, Any]
    changed: dict[str, str]
    rollback_of: str | None = None  # the merge commit a rollback pull request reverts

    @property
    def tag(self) -> dict[str, Any]:
        """Evidence marking audit entries about the rollback pull request."""
        return {"rollback": True, "pull": self.pull.number} if self.rollback_of else {}


def rollback_branch(incident_id: str) -> str:
    return f"rollback/{incident_id}"


def subject(ws: Workspace, incident_id: str, head: str | None = None, *, rollback: bool = False) -> Subject:
    branch = rollback_branch(incident_id) if rollback else incident_branch(incident_id)
    pull = ws.forge.find_pull(branch)
    if pull is None:
        hint = "incident-bot rollback" if rollback else "incident-bot open"
        raise InputError(incident_id, "incident_id", f"no pull request for {branch} (run `{hint}` first)")
    head = head or pull.head_sha
    plan = artifacts.front_matter(ws.forge.read(head, f"{incident_dir(incident_id)}/plan.md"), "plan.md")
    reverts = ws.forge.get_commit(head).trailers.get("Reverts") if rollback else None
    return Subject(incident_id, pull, head, plan, ws.forge.changed_paths(ws.main, head), reverts)


def expected_change(ws: Workspace, s: Subject) -> dict[str, str | None]:
    """What the planned action renders on the default branch's desired state; for a rollback, the
    exact inverse of the merged change (each file as it was before the merge, None if it was added)."""
    if s.rollback_of:
        before = f"{s.rollback_of}~1"
        changed = ws.forge.changed_paths(before, s.rollback_of)
        return {p: ws.forge.read(before, p) for p in changed if p.startswith("deploy/")}
    action = ws.policy().catalog.actions.get(str(s.plan.get("action")))
    workload = s.plan.get("workload") or {}
    if action is None or not workload:
        return {}
    deploy = ws.deploy()
    try:
        found = manifests.workload_named(deploy, workload["kind"], workload["name"], workload["namespace"])
    except RuleRefusal:
        return {}
    return dict(manifests.render(deploy, found, action.renders, s.incident_id))


def diff_problems(s: Subject, head_files: dict[str, str | None], expected: dict[str, str | None]) -> list[str]:
    """Every path whose change is not exactly the rendering of the planned action."""
    own = incident_dir(s.incident_id) + "/"
    problems = []
    what = f"the revert of {s.rollback_of[:12]}" if s.rollback_of else f"the planned action {s.plan.get('action')}"
    for path, status in sorted(s.changed.items()):
        if path.startswith(own):
            continue
        if path not in expected:
            verb = {"D": "deleted", "A": "added"}.get(status, "changed")
            problems.append(f"{path}: {verb}, not part of {what}")
        elif head_files.get(path) != expected[path]:
            problems.append(f"{path}: differs from {what}")
    problems += [f"{p}: the planned change is missing" for p in sorted(set(expected) - set(s.changed))]
    return problems


def _head_files(ws: Workspace, s: Subject) -> dict[str, str | None]:
    return {p: ws.forge.read(s.head, p) for p in s.changed}


# ------------------------------------------------------------------ readiness


def evaluate_readiness(ws: Workspace, s: Subject, profile: str | None,
                       entries: list[audit.AuditEntry] | None = None,
                       ) -> tuple[readiness.Readiness, list[scoring.Point], readiness.GateResult]:
    ready, points = scoring.score(gather(ws, s, entries))
    return ready, points, readiness.evaluate(ready, ws.policy().profile(profile))


def check_readiness(ws: Workspace, incident_id: str, profile: str | None = None, *, rollback: bool = False
                    ) -> tuple[readiness.GateResult, str, str]:
    """Run the gate on the pull request head; record the check, then the audit entry (nothing is recorded
    as passed unless the check was posted). A semi-manual verdict whose action a code owner has approved on
    this head is posted as a success, naming the approval. (result, Markdown, the check's title)"""
    s = subject(ws, incident_id, rollback=rollback)
    lifecycle.require("check_readiness", {"pull_open": s.pull.state == "open"}, s.head)
    base = ws.forge.head(ws.main)
    ready, points, gate = evaluate_readiness(ws, s, profile)
    path = f"{incident_dir(incident_id)}/readiness.json"
    approval = approving_review(ws, s) if gate.verdict == readiness.SEMI_MANUAL else None
    evidence: dict[str, Any] = {
        "commit": s.head, "base": base, "check": "readiness", "verdict": gate.verdict, "score": gate.score,
        "profile": gate.profile, "reasons": list(gate.reasons), "file": path, **s.tag,
    }
    conclusion, title = CONCLUSION[gate.verdict], gate.line()
    if approval is not None:
        evidence["action_approved_by"] = approval.reviewer
        conclusion, title = "success", f"{gate.line()}; action approved by {approval.reviewer}"
    status = "ok" if gate.verdict != readiness.BLOCK else "blocked"
    summary = readiness_markdown(gate, points, audit.view(preview(ws, incident_id, "readiness", status, evidence)))
    if approval is not None:
        summary += (f"\n\n**Approved:** {approval.reviewer} (a code owner) approved the action "
                    f"`{s.plan.get('action')}` on `{s.head[:12]}`; the semi-manual gate is satisfied.\n")
    ws.forge.record_check(s.head, "readiness", conclusion, title, summary)
    if gate.verdict == readiness.SEMI_MANUAL:
        ws.forge.update_pull(s.pull.number, labels=("semi-manual",))
    trace.record(ws, incident_id, "readiness", status, evidence,
                 extra_files={path: canonical_json(ready.to_dict())})
    return gate, summary, title


def preview(ws: Workspace, incident_id: str, step: str, status: str, evidence: dict[str, Any]
            ) -> list[audit.AuditEntry]:
    """The trace as it will read once this entry is recorded (a check's summary shows it before it is)."""
    entries = trace.current(ws, incident_id)
    return [*entries, audit.append(entries, incident_id, step, status, ws.clock(), evidence)]


def gather(ws: Workspace, s: Subject, entries: list[audit.AuditEntry] | None = None) -> scoring.Facts:
    policy = ws.policy()
    d = incident_dir(s.incident_id)
    files = ws.incident_files(s.head, s.incident_id)
    specify = files.get(f"{d}/specify.md", "")
    tasks = artifacts.front_matter(files.get(f"{d}/tasks.md"), "tasks.md")
    event_text = files.get(f"{d}/event.json", "{}")
    event = json.loads(event_text)
    sources = {p: t for p, t in files.items() if p.startswith(f"{d}/sources/")}
    replayed = renormalize(sources, policy, s.incident_id, event.get("incident_key", "")) if sources else None
    expected = expected_change(ws, s)
    head_files = _head_files(ws, s)
    commits = ws.forge.commits(ws.main, s.head)
    anchors = trace.anchors(ws, s.incident_id)
    if entries is None:
        entries = trace.current(ws, s.incident_id)  # stored + implied by the bot's phase commits
    stored = entries[: len(anchors)]
    verification = audit.verify(stored, anchors[: len(stored)])
    coverage, missing = audit.coverage(entries, [c.sha for c in commits])
    action = str(s.plan.get("action"))
    spec_path = policy.incident_types.types[event["type"]].spec if event.get("type") in policy.incident_types.types \
        else None
    allowed: list[str] = []
    stateful, backup = False, False
    if spec_path and s.plan.get("action"):
        spec = ws.spec(spec_path)
        result = dryrun.evaluate(spec, action, dict(s.plan.get("preconditions", {})), policy.catalog)
        allowed = [r for r in result.reasons if "precondition" not in r]
        known = s.plan.get("facts", {})
        stateful, backup = not known.get("stateless", False), bool(known.get("backup_verified", False))
    rules = ws.codeowners()
    deploy_owners = codeowners.owners(rules, "deploy/x.yaml")
    changed_manifests = {p: t for p, t in head_files.items() if p.startswith("deploy/") and t is not None}
    return scoring.Facts(
        incident_id=s.incident_id,
        branch=s.pull.branch,
        head=s.head,
        files=files,
        specify_sections=sections(specify),
        spec_findings=command_findings(specify, f"{d}/specify.md"),
        plan=s.plan,
        tasks=list(tasks.get("tasks", [])),
        validation_plan=bool(tasks.get("validation")),
        diff_matches_rendering=diff_problems(s, head_files, expected),
        event_schema_errors=[f"{p}: {m}" for p, m in schema_errors(event, "incident_event")],
        replay_matches=replayed is not None and canonical_json(replayed) == event_text,
        manifest_errors=k8s.validate(changed_manifests),
        commits_without_trailers=[c.sha for c in commits if not {"Incident-Id", "Phase"} <= set(c.trailers)],
        # links that open: each artifact linked at a commit of the branch (GitHub: the blob URL; local: the path)
        pull_links_artifacts=all(any(f"]({ws.forge.blob_url(c.sha, p)})" in s.pull.body for c in commits)
                                 for p in files if "/sources/" not in p),
        audit_problems=list(verification.problems),
        audit_coverage=coverage,
        audit_missing=missing,
        action_allowed=allowed,
        forbidden_action=action in policy.catalog.forbidden,
        rollback=policy.catalog.actions[action].rollback if action in policy.catalog.actions else None,
        personal_data_found=[p for p, t in sources.items() if redact(json.loads(t)) != json.loads(t)],
        codeowners_cover_deploy=bool(deploy_owners) and f"@{ws.forge.bot_identity}" not in deploy_owners,
        touches_protected=sorted(p for p in s.changed if p.startswith(PROTECTED)),
        stateful=stateful,
        backup_verified=backup,
    )


# ------------------------------------------------------------------ dry-run


def gate_allows_dry_run(ws: Workspace, s: Subject) -> bool:
    check = ws.forge.checks(s.head).get("readiness")
    if check is None:
        return False
    if check.conclusion == "success":
        return True
    return check.conclusion == "action_required" and action_approved(ws, s)


def action_approved(ws: Workspace, s: Subject) -> bool:
    return approving_review(ws, s) is not None


def approving_review(ws: Workspace, s: Subject) -> Review | None:
    """A code owner's (never the bot's) explicit approval of the planned action on this very head."""
    rules = ws.codeowners()
    bot = f"@{ws.forge.bot_identity}".lower()
    for r in ws.forge.reviews(s.pull.number):
        if (r.sha == s.head and r.state == "approved" and r.approves_action == s.plan.get("action")
                and r.reviewer.lower() != bot and not codeowners.may_approve(rules, sorted(s.changed), r.reviewer)):
            return r
    return None


def evaluate_dry_run(ws: Workspace, s: Subject) -> tuple[dryrun.DryRunResult, str]:
    """The dry-run verdict for the subject's head, and the manifest diff it judged (records nothing)."""
    policy = ws.policy()
    action = str(s.plan.get("action"))
    event = ws.event(s.head, s.incident_id)
    spec = ws.spec(policy.incident_types.types[event["type"]].spec)
    stop = (policy.emergency_reason or "policies/emergency_stop.yaml") if policy.emergency_stop else None
    if s.rollback_of:
        # a revert re-applies the reviewed state from before the merge: the catalog's promised rollback
        known = policy.catalog.actions.get(action)
        reasons = [] if known and known.rollback else [f"BLOCK: action {action} has no rollback in the catalog"]
        if stop:
            reasons = [f"BLOCK: emergency stop engaged ({stop})"]
        result = dryrun.DryRunResult(f"rollback:{action}", "BLOCK" if reasons else "PASS",
                                     known.blast_radius if known else None, tuple(reasons))
    else:
        result = dryrun.evaluate(spec, action, dict(s.plan.get("preconditions", {})), policy.catalog,
                                 emergency_stop=stop)
    head_files = _head_files(ws, s)
    extra = [f"BLOCK: {p}" for p in diff_problems(s, head_files, expected_change(ws, s))]
    changed_manifests = {p: t for p, t in head_files.items() if p.startswith("deploy/") and t is not None}
    extra += [f"BLOCK: {e}" for e in k8s.validate(changed_manifests)]
    if extra and stop is None:
        result = dryrun.DryRunResult(result.action, "BLOCK", result.radius, (*result.reasons, *extra))
    return result, unified_diff(ws, s, head_files)


def check_dry_run(ws: Workspace, incident_id: str, *, rollback: bool = False) -> tuple[dryrun.DryRunResult, str]:
    """Refused unless the gate allows it on the head SHA; record the check and the audit entry."""
    s = subject(ws, incident_id, rollback=rollback)
    facts = {"pull_open": s.pull.state == "open", "gate_allows_dry_run": gate_allows_dry_run(ws, s)}
    try:
        lifecycle.require("check_dry_run", facts, s.head)
    except IllegalTransition as exc:
        trace.record(ws, incident_id, "dry_run", "refused", {"commit": s.head, "reasons": [str(exc)], **s.tag})
        raise
    base = ws.forge.head(ws.main)
    result, diff = evaluate_dry_run(ws, s)
    status = "ok" if result.verdict == "PASS" else "blocked"
    evidence = {"commit": s.head, "base": base, "check": "dry-run", "verdict": result.verdict,
                "action": result.action, "reasons": list(result.reasons), **s.tag}
    summary = dry_run_markdown(result, diff, audit.view(preview(ws, incident_id, "dry_run", status, evidence)))
    ws.forge.record_check(s.head, "dry-run", "success" if result.verdict == "PASS" else "failure", result.line(),
                          summary)
    trace.record(ws, incident_id, "dry_run", status, evidence)
    return result, summary


def unified_diff(ws: Workspace, s: Subject, head_files: dict[str, str | None]) -> str:
    out: list[str] = []
    for path in sorted(p for p in s.changed if not p.startswith("incidents/")):
        before = ws.forge.read(ws.main, path) or ""
        after = head_files.get(path) or ""
        out += difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{path}", f"b/{path}")
    return "".join(out)

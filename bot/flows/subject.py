"""What the checks and the human steps judge: the incident pull request at its head (`Subject`), the
lifecycle `Snapshot` read for it from the forge, and the change the planned action must be."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from bot.desired_state import renderers, workloads
from bot.errors import InputError, RuleRefusal
from bot.flows.derive import recorded
from bot.flows.workspace import Workspace
from bot.forge.base import PullRequest
from bot.model.enums import AuditStatus, AuditStep, Conclusion, Verdict
from bot.model.ids import incident_branch, incident_dir, rollback_branch
from bot.model.values import Plan
from bot.rules import lifecycle


@dataclass(frozen=True)
class Subject:
    """The incident pull request as the checks see it."""

    incident_id: str
    pull: PullRequest
    head: str
    plan: Plan
    changed: dict[str, str]
    rollback_of: str | None = None  # the merge commit a rollback pull request reverts
    # the incident's files as the bot derives them from the recorded sources, main, the spec and the
    # policy (None: the recorded sources give no incident); every one must be on the branch as it is here
    derived: dict[str, str] | None = None

    @property
    def tag(self) -> dict[str, object]:
        """Evidence marking audit entries about the rollback pull request."""
        return {"rollback": True, "pull": self.pull.number} if self.rollback_of else {}


def subject(ws: Workspace, incident_id: str, head: str | None = None, *, rollback: bool = False) -> Subject:
    branch = rollback_branch(incident_id) if rollback else incident_branch(incident_id)
    pull = ws.forge.find_pull(branch)
    if pull is None:
        hint = "incident-bot rollback" if rollback else "incident-bot open"
        raise InputError(incident_id, "incident_id", f"no pull request for {branch} (run `{hint}` first)")
    head = head or pull.head_sha
    changed = ws.forge.changed_paths(ws.main, head)
    if rollback:  # the incident's files were merged under the gate: main's plan is the one that was judged
        plan = Plan.from_text(ws.forge.read(ws.main, f"{incident_dir(incident_id)}/plan.md"), "plan.md")
        return Subject(incident_id, pull, head, plan, changed, _recorded_merge(ws, incident_id))  # the trace's
    derived = recorded(ws, incident_id, head)
    if derived is None:
        return Subject(incident_id, pull, head, Plan(), changed, None, {})
    return Subject(incident_id, pull, head, derived.plan, changed, None, derived.files)


def _recorded_merge(ws: Workspace, incident_id: str) -> str | None:
    from bot.flows.rollback import recorded_merge

    return recorded_merge(ws, incident_id)


def snapshot(ws: Workspace, s: Subject, step: str, *, reviewer: str | None = None,
             approves_action: str | None = None, also: frozenset[str] = frozenset(),
             without: frozenset[str] = frozenset()) -> lifecycle.Snapshot:
    """The inputs of `step`'s facts for the subject (checks and reviews on its head, main's CODEOWNERS and
    emergency stop), reading from the forge only what the table says the step needs (less `without`)."""
    need = (lifecycle.inputs(step) | also) - without
    checks = ws.forge.checks(s.head) if "checks" in need else {}
    reviews = ws.forge.reviews(s.pull.number) if "reviews" in need else ()
    return lifecycle.Snapshot(
        head=s.head,
        pull_state=s.pull.state,
        checks={name: check.conclusion for name, check in checks.items()},
        reviews=tuple(lifecycle.Approval(r.reviewer, r.sha, r.state, r.approves_action) for r in reviews),
        planned_action=s.plan.action,
        changed_paths=tuple(s.changed),
        owners=tuple(ws.codeowners()) if "owners" in need else (),
        bot_identity=ws.forge.bot_identity,
        emergency_stop=ws.policy().emergency_stop if "policy" in need else False,
        merged_commit=s.pull.merge_sha,
        reviewer=reviewer,
        approves_action=approves_action,
        **(_traced(ws, s) if "trace" in need else {}),
        main_head=ws.forge.head(ws.main) if "main" in need else None,
        resolved_unremediated_at=_resolved_unremediated(ws, s) if "resolution" in need else None,
        head_contains_main=ws.forge.is_ancestor(ws.main, s.head) if "ancestry" in need else None,
        incident_id=s.incident_id,
    )


def _resolved_unremediated(ws: Workspace, s: Subject) -> str | None:
    """When the trace recorded that the incident's alerts resolved before any remediation (None: never)."""
    from bot.flows import trace

    if s.rollback_of:
        return None
    found = [e.at for e in trace.entries(ws, s.incident_id)
             if e.step == AuditStep.RESOLVED_UNREMEDIATED and e.status == AuditStatus.OK]
    return found[0] if found else None


def _traced(ws: Workspace, s: Subject) -> dict[str, Any]:
    """What the sealed, verified audit trace says about the subject's head: the latest readiness entry on
    it, the latest dry-run at the same base, and the reviews; nothing if the trace does not verify."""
    from bot.flows import trace

    verification = trace.verify(ws, s.incident_id)
    if not verification.ok:
        return {"trace_ok": False}
    rollback = bool(s.rollback_of)
    mine = [e for e in trace.entries(ws, s.incident_id)
            if e.evidence.get("commit") == s.head and bool(e.evidence.get("rollback")) == rollback]
    reviews = tuple(lifecycle.Approval(str(e.evidence.get("reviewer")), s.head, "approved",
                                       e.evidence.get("approves_action"))
                    for e in mine if e.step == AuditStep.REVIEW and e.status == AuditStatus.OK)
    traced: dict[str, Any] = {"trace_ok": True, "traced_reviews": reviews}
    ready = [e for e in mine if e.step == AuditStep.READINESS]
    base = ready[-1].evidence.get("base") if ready else None
    if not isinstance(base, str):  # no readiness on this head (or one without its base): no traced check
        return traced
    verdict = Verdict(str(ready[-1].evidence.get("verdict")))
    # a semi-manual verdict whose action a code owner approved was posted as a success, naming the approval
    approved = verdict == Verdict.SEMI_MANUAL and bool(ready[-1].evidence.get("action_approved_by"))
    checks = {"readiness": Conclusion.SUCCESS if approved else Conclusion.of(verdict)}
    dry = [e for e in mine if e.step == AuditStep.DRY_RUN and e.evidence.get("base") == base]
    if dry:
        checks["dry-run"] = Conclusion.SUCCESS if dry[-1].status == AuditStatus.OK else Conclusion.FAILURE
    return {**traced, "traced_checks": checks, "traced_base": base,
            "traced_semi_manual": verdict == Verdict.SEMI_MANUAL}


def expected_change(ws: Workspace, s: Subject) -> dict[str, str | None]:
    """What the planned action renders on the default branch's desired state; for a rollback, the
    exact inverse of the merged change (each file as it was before the merge, None if it was added)."""
    if s.rollback_of:
        before = f"{s.rollback_of}~1"
        changed = ws.forge.changed_paths(before, s.rollback_of)
        return {p: ws.forge.read(before, p) for p in changed if p.startswith("deploy/")}
    action = ws.policy().catalog.actions.get(s.plan.action or "")
    workload = s.plan.workload
    if action is None or not workload:
        return {}
    deploy = ws.deploy()
    try:
        found = workloads.workload_named(deploy, workload["kind"], workload["name"], workload["namespace"])
    except RuleRefusal:
        return {}
    return dict(renderers.render(deploy, found, action.renders, s.incident_id))


def diff_problems(s: Subject, head_files: dict[str, str | None], expected: dict[str, str | None]) -> list[str]:
    """Every path whose change is not exactly the rendering of the planned action."""
    own = incident_dir(s.incident_id) + "/"
    problems = [] if s.derived is None else own_file_problems(s, head_files)
    what = f"the revert of {s.rollback_of[:12]}" if s.rollback_of else f"the planned action {s.plan.action}"
    for path, status in sorted(s.changed.items()):
        if path.startswith(own):
            continue  # judged against the derivation above
        if status == "T":  # a file turned into a symlink (or back): what Argo CD applies is not the text judged
            problems.append(f"{path}: changed its file type (e.g. into a symlink), not part of {what}")
        elif path not in expected:
            verb = {"D": "deleted", "A": "added"}.get(status, "changed")
            problems.append(f"{path}: {verb}, not part of {what}")
        elif head_files.get(path) != expected[path]:
            problems.append(f"{path}: differs from {what}")
    problems += [f"{p}: the planned change is missing" for p in sorted(set(expected) - set(s.changed))]
    return problems


def own_file_problems(s: Subject, at_head: dict[str, str | None]) -> list[str]:
    """Every file under incidents/<id>/ that is not what the bot derives (the sources are the inputs)."""
    assert s.derived is not None
    d = incident_dir(s.incident_id)
    if not s.derived:
        return [f"{d}/sources/: the recorded sources give no incident of a known type for the claimed key"]
    problems = []
    for path in sorted(p for p in s.changed if p.startswith(d + "/") and not p.startswith(f"{d}/sources/")):
        if path not in s.derived:
            problems.append(f"{path}: not part of what the bot derives for {s.incident_id}")
        elif at_head.get(path) != s.derived[path]:
            problems.append(f"{path}: differs from what the bot derives from the recorded sources, "
                            "main's deploy/, the spec and the policy")
    problems += [f"{p}: missing" for p in sorted(set(s.derived) - set(s.changed))]
    return problems


def head_files(ws: Workspace, s: Subject) -> dict[str, str | None]:
    return {p: ws.forge.read(s.head, p) for p in s.changed}


def unified_diff(ws: Workspace, s: Subject, files: dict[str, str | None]) -> str:
    """The change under review against main, file by file as `git diff` shows it: an added file comes from
    /dev/null and a deleted one goes to it (the reviewer reads the check's diff, not the bot's inputs)."""
    out: list[str] = []
    for path in sorted(p for p in s.changed if not p.startswith("incidents/")):
        before, after = ws.forge.read(ws.main, path), files.get(path)
        out += difflib.unified_diff((before or "").splitlines(True), (after or "").splitlines(True),
                                    "/dev/null" if before is None else f"a/{path}",
                                    "/dev/null" if after is None else f"b/{path}")
    return "".join(out)

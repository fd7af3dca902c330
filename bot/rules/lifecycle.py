"""The incident lifecycle as a table: each step, the facts it requires, and the refusal when one fails.

Everything that decides whether a step may happen lives here (h11's `_state.py` rule): the table, the
computation of every fact from a `Snapshot` (plain data the flows read from the forge: the pull request,
the checks and reviews on its head, CODEOWNERS and the emergency stop of the default branch), the states
drawn in the README (`mermaid()`, kept equal by a test) and the refusal. An illegal step raises
IllegalTransition naming every missing requirement.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import IllegalTransition
from bot.model.enums import Conclusion
from bot.rules import codeowners

# fact name -> refusal shown when the fact does not hold (formatted with the Snapshot's `message_fields`)
FACTS = {
    "not_resolved_unremediated": "the incident's alerts resolved at {resolved_at} before any remediation was merged: "
                                 "it is closed without a change (resolved_unremediated)",
    "pull_open": "the incident pull request is not open",
    "pull_merged": "the remediation has not been merged",
    "gate_allows_dry_run": "readiness check has not succeeded on head {head}",
    "dry_run_success_on_head": "dry-run check has not succeeded on head {head}",
    "code_owner_approved_on_head": "no approval from a code owner (other than the bot) on head {head}",
    "action_approved_if_semi_manual": "semi-manual readiness: a human must approve the action (approve --action)",
    "emergency_stop_lifted": "emergency stop engaged (policies/emergency_stop.yaml)",
    "reviewer_is_human": "the bot cannot approve its own pull request",
    "reviewer_is_a_person": "{reviewer} is a team: only a person (a member of it) can approve",
    "reviewer_is_code_owner": "reviewer is not a code owner of the changed paths ({not_owned})",
    "approved_action_is_planned": "the plan's action is {planned!r}, not {approves!r}",
    "trace_verified": "the audit trace does not verify (run `incident-bot audit verify`)",
    "checks_traced_on_head": "the sealed audit trace holds no successful readiness and dry-run on head {head}"
                             " at one base, matching the recorded checks",
    "review_traced_on_head": "the sealed audit trace holds no code owner's approval of head {head} that the"
                             " forge's reviews corroborate",
    "action_approval_traced_if_semi_manual": "semi-manual readiness: the sealed audit trace holds no code owner's"
                                             " approval of the action {planned!r} on head {head} that the forge's"
                                             " reviews corroborate (approve --action)",
    "main_unmoved_since_checks": "main moved since the checks ran on {base}: re-run the checks",
    "head_contains_main": "head {head} does not contain main's head {main}: the checks judge only a branch"
                          " whose merge is its own tree; bring it up to date (`incident-bot refresh {incident}`)",
}

# What each fact is computed from, beyond the pull request itself: a flow reads only the inputs of the
# facts its step needs (`inputs`), so a check costs no forge reads it does not use.
FACT_INPUTS: dict[str, frozenset[str]] = {
    "not_resolved_unremediated": frozenset({"resolution"}),
    "gate_allows_dry_run": frozenset({"checks", "reviews", "owners"}),
    "dry_run_success_on_head": frozenset({"checks"}),
    "code_owner_approved_on_head": frozenset({"reviews", "owners"}),
    "action_approved_if_semi_manual": frozenset({"checks", "reviews", "owners"}),
    "emergency_stop_lifted": frozenset({"policy"}),
    "reviewer_is_code_owner": frozenset({"owners"}),
    "trace_verified": frozenset({"trace"}),
    "checks_traced_on_head": frozenset({"trace", "checks"}),
    "review_traced_on_head": frozenset({"trace", "reviews", "owners"}),
    "action_approval_traced_if_semi_manual": frozenset({"trace", "reviews", "owners"}),
    "main_unmoved_since_checks": frozenset({"trace", "main"}),
    "head_contains_main": frozenset({"main", "ancestry"}),
}


@dataclass(frozen=True)
class Step:
    """A lifecycle step: the facts it requires, and the state edges it draws (from, to)."""

    requires: tuple[str, ...]
    edges: tuple[tuple[str, str], ...] = ()


# A pull request reopened by hand after its alerts resolved unremediated is still refused by every step
# that moves a remediation towards main (issue 13): the first fact of each.
TRANSITIONS: dict[str, Step] = {
    "open": Step((), (("[*]", "opened"),)),
    "check_readiness": Step(("not_resolved_unremediated", "pull_open", "head_contains_main"),
                            (("opened", "gate_passed"), ("opened", "semi_manual"))),
    "approve --action": Step(
        ("not_resolved_unremediated", "pull_open", "reviewer_is_human", "reviewer_is_a_person",
         "reviewer_is_code_owner", "approved_action_is_planned"),
        (("semi_manual", "gate_passed"),),
    ),
    "check_dry_run": Step(("not_resolved_unremediated", "pull_open", "head_contains_main", "gate_allows_dry_run"),
                          (("gate_passed", "dry_run_passed"),)),
    "approve": Step(
        ("not_resolved_unremediated", "pull_open", "reviewer_is_human", "reviewer_is_a_person",
         "reviewer_is_code_owner", "approved_action_is_planned"),
        (("dry_run_passed", "approved"),),
    ),
    "merge": Step(
        ("not_resolved_unremediated", "pull_open", "gate_allows_dry_run", "action_approved_if_semi_manual",
         "dry_run_success_on_head", "code_owner_approved_on_head", "emergency_stop_lifted", "trace_verified",
         "checks_traced_on_head", "review_traced_on_head", "action_approval_traced_if_semi_manual",
         "main_unmoved_since_checks", "head_contains_main"),
        (("approved", "merged"),),
    ),
    "rollback": Step(("pull_merged",), (("merged", "rollback_opened"),)),
    "validate": Step((), (("merged", "validated"), ("validated", "[*]"))),
    "resolve_unremediated": Step((), (("opened", "resolved_unremediated"), ("semi_manual", "resolved_unremediated"),
                                      ("gate_passed", "resolved_unremediated"),
                                      ("dry_run_passed", "resolved_unremediated"),
                                      ("approved", "resolved_unremediated"), ("resolved_unremediated", "[*]"))),
}
_LABELS = {"validate": "resolved alert", "resolve_unremediated": "alerts resolved before a merge"}
# Events that are not commands but move the state: a new commit invalidates the checks bound to the old head.
EVENTS = (("opened", "new commit", "opened"), ("dry_run_passed", "new commit", "opened"))
# The dry-run runs under an engaged emergency stop and records BLOCK (so the check shows why) instead of
# being refused: this fact turns its verdict, not its admission.
VERDICT_FACTS = {"check_dry_run": ("emergency_stop_lifted",)}


@dataclass(frozen=True)
class Approval:
    """A review as the rules see it."""

    reviewer: str
    sha: str
    state: str  # "approved" is the only state that counts
    approves_action: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything the facts depend on, read by the flows from the forge and the default branch."""

    head: str
    pull_state: str  # open | merged | closed
    checks: Mapping[str, str]  # check name -> conclusion, on `head`
    reviews: tuple[Approval, ...]
    planned_action: str | None
    changed_paths: tuple[str, ...]
    owners: tuple[codeowners.Rule, ...]
    bot_identity: str
    emergency_stop: bool
    merged_commit: str | None = None
    reviewer: str | None = None  # approve: who approves
    approves_action: str | None = None  # approve --action: the action approved
    # merge re-derives its requirements from the sealed audit trace (issue 11): plain refs are claims
    trace_ok: bool = False  # the trace verifies, every audit commit sealed
    traced_checks: Mapping[str, str] = dataclasses.field(default_factory=dict)  # check -> conclusion on head
    traced_base: str | None = None  # the main the traced checks judged
    traced_reviews: tuple[Approval, ...] = ()  # review entries of the trace
    # the trace's readiness on head was semi-manual: the merge then needs the action's approval in the trace
    # too (a readiness posted as a success after the approval no longer says so on the forge)
    traced_semi_manual: bool = False
    main_head: str | None = None  # main now
    resolved_unremediated_at: str | None = None  # when the trace recorded resolved_unremediated (None: never)
    # main's head is an ancestor of `head` (None: not read): then the merge result is `head`'s own tree,
    # the tree the checks judged; otherwise a criss-cross history could merge something never judged
    head_contains_main: bool | None = None
    incident_id: str = ""


def inputs(step: str) -> frozenset[str]:
    """The inputs the facts of `step` (its requirements and verdict facts) are computed from."""
    needed = (*TRANSITIONS[step].requires, *VERDICT_FACTS.get(step, ()))
    return frozenset().union(*(FACT_INPUTS.get(f, frozenset()) for f in needed))


def handle(name: str) -> str:
    return name if name.startswith("@") else f"@{name}"


def is_person(who: str) -> bool:
    """`@org/team` names a team, which never approves anything itself."""
    return "/" not in who


def is_bot(snap: Snapshot, who: str) -> bool:
    return handle(who).lower() == handle(snap.bot_identity).lower()


def not_owned(snap: Snapshot, who: str) -> list[str]:
    """The changed paths `who` does not own (empty: `who` may approve all of them)."""
    return codeowners.may_approve(list(snap.owners), sorted(snap.changed_paths), handle(who))


def action_approval(snap: Snapshot) -> Approval | None:
    """A code owner's (never the bot's) explicit approval of the planned action, on the head commit."""
    for r in snap.reviews:
        if (snap.planned_action is not None and r.sha == snap.head and r.state == "approved"
                and r.approves_action == snap.planned_action and is_person(r.reviewer)
                and not is_bot(snap, r.reviewer) and not not_owned(snap, r.reviewer)):
            return r
    return None


def action_approved(snap: Snapshot) -> bool:
    return action_approval(snap) is not None


def _owner_approvals(snap: Snapshot, reviews: tuple[Approval, ...], of_action: bool = False) -> set[str]:
    """Code owners (people, never the bot) approving `head`; `of_action`: only those approving the planned action."""
    return {handle(r.reviewer).lower() for r in reviews if r.sha == snap.head and r.state == "approved"
            and is_person(r.reviewer) and not is_bot(snap, r.reviewer) and not not_owned(snap, r.reviewer)
            and (not of_action or (snap.planned_action is not None and r.approves_action == snap.planned_action))}


def _checks_traced(snap: Snapshot) -> bool:
    readiness = snap.traced_checks.get("readiness")
    return (readiness in (Conclusion.SUCCESS, Conclusion.ACTION_REQUIRED) and readiness == snap.checks.get("readiness")
            and snap.traced_checks.get("dry-run") == Conclusion.SUCCESS == snap.checks.get("dry-run"))


def facts(snap: Snapshot) -> dict[str, bool]:
    """Every fact of the table for this snapshot."""
    readiness = snap.checks.get("readiness")
    semi = readiness == Conclusion.ACTION_REQUIRED
    approvals = [r for r in snap.reviews
                 if r.sha == snap.head and r.state == "approved" and not is_bot(snap, r.reviewer)
                 and is_person(r.reviewer)]
    return {
        "not_resolved_unremediated": snap.resolved_unremediated_at is None,
        "pull_open": snap.pull_state == "open",
        "pull_merged": snap.pull_state == "merged" and snap.merged_commit is not None,
        "gate_allows_dry_run": readiness == Conclusion.SUCCESS or (semi and action_approved(snap)),
        "dry_run_success_on_head": snap.checks.get("dry-run") == Conclusion.SUCCESS,
        "code_owner_approved_on_head": any(not not_owned(snap, r.reviewer) for r in approvals),
        "action_approved_if_semi_manual": not semi or action_approved(snap),
        "emergency_stop_lifted": not snap.emergency_stop,
        "reviewer_is_human": snap.reviewer is not None and not is_bot(snap, snap.reviewer),
        "reviewer_is_a_person": snap.reviewer is not None and is_person(snap.reviewer),
        "reviewer_is_code_owner": snap.reviewer is not None and not not_owned(snap, snap.reviewer),
        "approved_action_is_planned": snap.approves_action is None or snap.approves_action == snap.planned_action,
        "trace_verified": snap.trace_ok,
        "checks_traced_on_head": _checks_traced(snap),
        "review_traced_on_head": bool(_owner_approvals(snap, snap.traced_reviews)
                                      & _owner_approvals(snap, snap.reviews)),
        "action_approval_traced_if_semi_manual": not snap.traced_semi_manual
        or bool(_owner_approvals(snap, snap.traced_reviews, of_action=True)
                & _owner_approvals(snap, snap.reviews, of_action=True)),
        "main_unmoved_since_checks": snap.traced_base is not None and snap.traced_base == snap.main_head,
        "head_contains_main": snap.head_contains_main is True,
    }


def _message_fields(snap: Snapshot) -> dict[str, object]:
    missing_paths = not_owned(snap, snap.reviewer) if snap.reviewer else []
    return {"head": snap.head[:12], "planned": snap.planned_action, "approves": snap.approves_action,
            "reviewer": snap.reviewer, "not_owned": ", ".join(missing_paths[:3]),
            "base": snap.traced_base[:12] if snap.traced_base else "an unknown base",
            "resolved_at": snap.resolved_unremediated_at,
            "main": snap.main_head[:12] if snap.main_head else "unknown", "incident": snap.incident_id or "<id>"}


def missing(step: str, snap: Snapshot) -> list[str]:
    """Every requirement of `step` that the snapshot does not meet, as refusal messages."""
    have = facts(snap)
    fields = _message_fields(snap)
    return [FACTS[f].format(**fields) for f in TRANSITIONS[step].requires if not have[f]]


def require(step: str, snap: Snapshot) -> None:
    problems = missing(step, snap)
    if problems:
        name = step.split(" ", 1)[0].replace("_", " ")
        raise IllegalTransition(f"{name} refused: " + "; ".join(problems))


def verdict_blockers(step: str, snap: Snapshot) -> list[str]:
    """The facts that let `step` run but turn its verdict to BLOCK (see VERDICT_FACTS)."""
    have = facts(snap)
    return [f for f in VERDICT_FACTS.get(step, ()) if not have[f]]


def mermaid() -> str:
    """The state diagram of the README, drawn from the table."""
    lines = ["stateDiagram-v2"]
    for name, step in TRANSITIONS.items():
        label = _LABELS.get(name, name)
        lines += [f"  {a} --> {b}" + ("" if b == "[*]" else f": {label}") for a, b in step.edges]
    lines += [f"  {a} --> {b}: {label}" for a, label, b in EVENTS]
    return "\n".join(lines)

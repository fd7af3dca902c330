"""The lifecycle table owns its facts: every guard of every step is pinned by a generated test that makes
exactly that fact false and expects the refusal naming it; the README's state diagram is the table's."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.errors import IllegalTransition
from bot.rules import codeowners, lifecycle
from bot.rules.lifecycle import Approval, Snapshot

ROOT = Path(__file__).resolve().parents[2]
HEAD, OLD, BASE = "a" * 40, "b" * 40, "d" * 40
OWNERS = tuple(codeowners.parse("/deploy/ @alice @acme/sre @incident-bot\n/incidents/ @alice @acme/sre @incident-bot\n"))


def happy(step: str) -> Snapshot:
    """A snapshot in which every fact of `step` holds."""
    merged = step == "rollback"
    return Snapshot(
        head=HEAD,
        pull_state="merged" if merged else "open",
        merged_commit="c" * 40 if merged else None,
        checks={"readiness": "success", "dry-run": "success"},
        reviews=(Approval("@alice", HEAD, "approved"),),
        planned_action="restart_pod",
        changed_paths=("deploy/appointments-api/deployment.yaml", "incidents/HM-2026-05-17-01/plan.md"),
        owners=OWNERS,
        bot_identity="incident-bot",
        emergency_stop=False,
        reviewer="@alice" if step.startswith("approve") else None,  # only `approve` names who approves
        approves_action="restart_pod" if step == "approve --action" else None,
        trace_ok=True,
        traced_checks={"readiness": "success", "dry-run": "success"},
        traced_base=BASE,
        traced_reviews=(Approval("@alice", HEAD, "approved"),),
        main_head=BASE,
        head_contains_main=True,
        incident_id="HM-2026-05-17-01",
    )


# fact -> (how to make it false, every fact that is then false: coupled facts are named, not hidden; a check
# or review the forge reports differently from the sealed trace also breaks its traced twin)
BREAK: dict[str, tuple[Callable[[Snapshot], Snapshot], set[str]]] = {
    "pull_open": (lambda s: dataclasses.replace(s, pull_state="closed"), {"pull_open"}),
    "pull_merged": (lambda s: dataclasses.replace(s, pull_state="open", merged_commit=None), {"pull_merged"}),
    "gate_allows_dry_run": (lambda s: dataclasses.replace(s, checks={**s.checks, "readiness": "failure"}),
                            {"gate_allows_dry_run", "checks_traced_on_head"}),
    "dry_run_success_on_head": (lambda s: dataclasses.replace(s, checks={**s.checks, "dry-run": "failure"}),
                                {"dry_run_success_on_head", "checks_traced_on_head"}),
    # an approval of an older head does not count
    "code_owner_approved_on_head": (lambda s: dataclasses.replace(s, reviews=(Approval("@alice", OLD, "approved"),)),
                                    {"code_owner_approved_on_head", "review_traced_on_head"}),
    # semi-manual without the explicit approval of the action: the gate does not allow the dry-run either
    "action_approved_if_semi_manual": (
        lambda s: dataclasses.replace(s, checks={**s.checks, "readiness": "action_required"}),
        {"action_approved_if_semi_manual", "gate_allows_dry_run", "checks_traced_on_head"}),
    "emergency_stop_lifted": (lambda s: dataclasses.replace(s, emergency_stop=True), {"emergency_stop_lifted"}),
    "reviewer_is_human": (lambda s: dataclasses.replace(s, reviewer="@incident-bot"), {"reviewer_is_human"}),
    # a team handle never approves, even one CODEOWNERS names
    "reviewer_is_a_person": (lambda s: dataclasses.replace(s, reviewer="@acme/sre"),
                             {"reviewer_is_a_person"}),
    "reviewer_is_code_owner": (lambda s: dataclasses.replace(s, reviewer="@carol"), {"reviewer_is_code_owner"}),
    "approved_action_is_planned": (lambda s: dataclasses.replace(s, approves_action="scale_up_replicas_one"),
                                   {"approved_action_is_planned"}),
    # issue 11: merge re-derives its requirements from the sealed trace, not from plain refs
    "trace_verified": (lambda s: dataclasses.replace(s, trace_ok=False), {"trace_verified"}),
    # a forged success note the trace does not hold
    "checks_traced_on_head": (lambda s: dataclasses.replace(s, traced_checks={"readiness": "success"}),
                              {"checks_traced_on_head"}),
    # a review in the pull record that the trace never recorded
    "review_traced_on_head": (lambda s: dataclasses.replace(s, traced_reviews=()), {"review_traced_on_head"}),
    # the trace's readiness was semi-manual and no approval of the action is traced (a plain one is)
    "action_approval_traced_if_semi_manual": (lambda s: dataclasses.replace(s, traced_semi_manual=True),
                                              {"action_approval_traced_if_semi_manual"}),
    "main_unmoved_since_checks": (lambda s: dataclasses.replace(s, main_head="e" * 40),
                                  {"main_unmoved_since_checks"}),
    # issue 13: the alerts resolved before a merge; a pull request reopened by hand is refused all the same
    "not_resolved_unremediated": (lambda s: dataclasses.replace(s, resolved_unremediated_at="2026-05-17T08:20:00Z"),
                                  {"not_resolved_unremediated"}),
    # a head built on an older main (or a criss-cross merge of older mains): its merge is not its own tree
    "head_contains_main": (lambda s: dataclasses.replace(s, head_contains_main=False), {"head_contains_main"}),
}
GUARDS = [(step, fact) for step, t in lifecycle.TRANSITIONS.items() for fact in t.requires]


def test_every_fact_is_a_guard_and_every_guard_can_be_broken():
    used = {f for t in lifecycle.TRANSITIONS.values() for f in t.requires}
    used |= {f for facts in lifecycle.VERDICT_FACTS.values() for f in facts}
    assert used == set(lifecycle.FACTS) == set(BREAK)  # no dead guard, no guard without its test


@pytest.mark.parametrize("step", sorted(lifecycle.TRANSITIONS))
def test_the_happy_snapshot_passes(step):
    lifecycle.require(step, happy(step))


@pytest.mark.parametrize(("step", "fact"), GUARDS, ids=[f"{s}-{f}" for s, f in GUARDS])
def test_each_guard_refuses_with_its_message(step, fact):
    breaker, expected_false = BREAK[fact]
    snap = breaker(happy(step))
    have = lifecycle.facts(snap)
    assert {f for f in lifecycle.TRANSITIONS[step].requires if not have[f]} == \
        expected_false & set(lifecycle.TRANSITIONS[step].requires)
    with pytest.raises(IllegalTransition) as refused:
        lifecycle.require(step, snap)
    message = str(refused.value)
    assert message.startswith(f"{step.split(' ')[0].replace('_', ' ')} refused: ")
    first_words = lifecycle.FACTS[fact].split("{")[0].strip(" (")
    assert first_words in message


# More ways the same facts fail, each one a case the table must refuse
MORE_BREAKS: list[tuple[str, str, Callable[[Snapshot], Snapshot]]] = [
    # a pull request marked merged with no recorded merge commit has nothing rollback can revert
    ("pull_merged", "no merge commit", lambda s: dataclasses.replace(s, merged_commit=None)),
    ("pull_merged", "a merge commit but still open", lambda s: dataclasses.replace(s, pull_state="open")),
]


@pytest.mark.parametrize(("fact", "case", "breaker"), MORE_BREAKS, ids=[f"{f}-{c}" for f, c, _ in MORE_BREAKS])
def test_more_ways_a_fact_fails(fact, case, breaker):
    for step in [s for s, t in lifecycle.TRANSITIONS.items() if fact in t.requires]:
        assert lifecycle.missing(step, breaker(happy(step))) == [lifecycle.FACTS[fact]]


def test_refusal_messages_name_the_head_and_the_paths():
    snap = dataclasses.replace(happy("merge"), reviews=(), reviewer="@carol")
    assert f"no approval from a code owner (other than the bot) on head {HEAD[:12]}" in lifecycle.missing("merge", snap)
    assert lifecycle.missing("approve", snap) == [
        "reviewer is not a code owner of the changed paths "
        "(deploy/appointments-api/deployment.yaml, incidents/HM-2026-05-17-01/plan.md)"]


def test_a_refusal_names_every_missing_requirement():
    snap = dataclasses.replace(happy("merge"), checks={**happy("merge").checks, "dry-run": "failure"},
                               emergency_stop=True)
    with pytest.raises(IllegalTransition) as refused:
        lifecycle.require("merge", snap)
    assert str(refused.value) == (
        f"merge refused: dry-run check has not succeeded on head {HEAD[:12]}; "
        "emergency stop engaged (policies/emergency_stop.yaml); "
        f"the sealed audit trace holds no successful readiness and dry-run on head {HEAD[:12]} at one base, "
        "matching the recorded checks")


def test_a_refusal_names_at_most_three_paths_the_reviewer_does_not_own():
    paths = tuple(f"deploy/app-{n}/deployment.yaml" for n in range(5))
    snap = dataclasses.replace(happy("approve"), changed_paths=paths, reviewer="@carol")
    assert lifecycle.missing("approve", snap) == [
        f"reviewer is not a code owner of the changed paths ({', '.join(paths[:3])})"]


def test_main_moved_names_the_base_the_checks_judged():
    moved = dataclasses.replace(happy("merge"), main_head="e" * 40)
    assert lifecycle.missing("merge", moved) == [
        f"main moved since the checks ran on {BASE[:12]}: re-run the checks"]
    untraced = dataclasses.replace(happy("merge"), traced_base=None)
    assert lifecycle.missing("merge", untraced) == [
        "main moved since the checks ran on an unknown base: re-run the checks"]


def semi_manual(step: str, approval: Approval | None) -> Snapshot:
    """`step` after a semi-manual readiness verdict, with `approval` the only review (beside @alice's plain one)."""
    snap = happy(step)
    checks = {**snap.checks, "readiness": "action_required"}
    reviews = (*snap.reviews, *([approval] if approval else []))
    return dataclasses.replace(snap, checks=checks, traced_checks=checks, reviews=reviews, traced_reviews=reviews,
                               traced_semi_manual=True)


ACTION_APPROVAL = Approval("@alice", HEAD, "approved", approves_action="restart_pod")
# approvals of the action that do not open the semi-manual gate (issue 11: "on the GitHub forge any COMMENT
# review from anyone carrying `Approves-Action:` opens the semi-manual gate")
NOT_AN_ACTION_APPROVAL = {
    "of an older head": dataclasses.replace(ACTION_APPROVAL, sha=OLD),
    "a comment, not an approval": dataclasses.replace(ACTION_APPROVAL, state="commented"),
    "by a team CODEOWNERS names": dataclasses.replace(ACTION_APPROVAL, reviewer="@acme/sre"),
    "by the bot": dataclasses.replace(ACTION_APPROVAL, reviewer="@incident-bot"),
    "by someone who owns no changed path": dataclasses.replace(ACTION_APPROVAL, reviewer="@carol"),
    "of another action": dataclasses.replace(ACTION_APPROVAL, approves_action="scale_up_replicas_one"),
    "a plain approval": dataclasses.replace(ACTION_APPROVAL, approves_action=None),
}


@pytest.mark.parametrize("step", ["check_dry_run", "merge"])
def test_a_code_owners_approval_of_the_action_on_head_opens_the_semi_manual_gate(step):
    lifecycle.require(step, semi_manual(step, ACTION_APPROVAL))
    assert lifecycle.action_approval(semi_manual(step, ACTION_APPROVAL)) == ACTION_APPROVAL


@pytest.mark.parametrize("step", ["check_dry_run", "merge"])
@pytest.mark.parametrize("case", sorted(NOT_AN_ACTION_APPROVAL))
def test_an_approval_of_the_action_counts_only_from_a_code_owner_on_head(step, case):
    with pytest.raises(IllegalTransition, match="semi-manual|readiness check has not succeeded"):
        lifecycle.require(step, semi_manual(step, NOT_AN_ACTION_APPROVAL[case]))


def approved_and_reposted(forge: tuple[Approval, ...], traced: tuple[Approval, ...]) -> Snapshot:
    """merge after a semi-manual readiness that `check readiness` re-posted as a success once the action was
    approved (the GitHub flow: branch protection counts only a success), with these reviews."""
    return dataclasses.replace(semi_manual("merge", None), checks=happy("merge").checks,
                               traced_checks=happy("merge").traced_checks, reviews=forge, traced_reviews=traced)


def test_merge_after_a_reposted_semi_manual_readiness_needs_the_action_approval_in_the_trace_and_the_forge():
    plain = Approval("@alice", HEAD, "approved")
    lifecycle.require("merge", approved_and_reposted((ACTION_APPROVAL,), (ACTION_APPROVAL,)))
    refusal = lifecycle.FACTS["action_approval_traced_if_semi_manual"].format(planned="restart_pod", head=HEAD[:12])
    # an approval of the action written into the pull record (plain refs) that the trace never recorded
    assert lifecycle.missing("merge", approved_and_reposted((ACTION_APPROVAL,), (plain,))) == [refusal]
    # the trace's approval of the action, dismissed on the forge since (only a plain approval is left there)
    assert lifecycle.missing("merge", approved_and_reposted((plain,), (ACTION_APPROVAL,))) == [refusal]


def test_a_plan_without_an_action_has_no_action_to_approve():
    """A plain approval (no action named) must not pass for the approval of a plan that names none."""
    snap = dataclasses.replace(semi_manual("merge", None), planned_action=None)
    assert lifecycle.action_approval(snap) is None
    assert "semi-manual readiness: a human must approve the action (approve --action)" in lifecycle.missing("merge", snap)


def test_the_dry_run_under_an_emergency_stop_runs_and_blocks():
    """The stop turns the dry-run's verdict (so its check says why) rather than refusing it."""
    stopped = dataclasses.replace(happy("check_dry_run"), emergency_stop=True)
    lifecycle.require("check_dry_run", stopped)
    assert lifecycle.verdict_blockers("check_dry_run", stopped) == ["emergency_stop_lifted"]
    assert lifecycle.verdict_blockers("check_dry_run", happy("check_dry_run")) == []


@pytest.mark.parametrize("step", sorted(lifecycle.TRANSITIONS))
@pytest.mark.parametrize("fact", sorted(BREAK))
def test_a_step_reads_every_input_its_facts_use(step, fact):
    """Blanking the inputs a step does not declare (FACT_INPUTS) never changes its answer."""
    need = lifecycle.inputs(step)
    snap = BREAK[fact][0](happy(step))
    blank = dataclasses.replace(
        snap,
        checks=snap.checks if "checks" in need else {},
        reviews=snap.reviews if "reviews" in need else (),
        owners=snap.owners if "owners" in need else (),
        emergency_stop=snap.emergency_stop if "policy" in need else False,
        trace_ok=snap.trace_ok if "trace" in need else False,
        traced_checks=snap.traced_checks if "trace" in need else {},
        traced_base=snap.traced_base if "trace" in need else None,
        traced_reviews=snap.traced_reviews if "trace" in need else (),
        main_head=snap.main_head if "main" in need else None,
    )
    assert lifecycle.missing(step, blank) == lifecycle.missing(step, snap)
    assert lifecycle.verdict_blockers(step, blank) == lifecycle.verdict_blockers(step, snap)


def test_readme_state_diagram_is_the_table():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- lifecycle:start")
    block = readme[start:readme.index("<!-- lifecycle:end -->")]
    assert "```mermaid\n" + lifecycle.mermaid() + "\n```" in block


def test_a_head_behind_main_is_refused_naming_both_commits_and_the_refresh_command():
    """What a person reads when main moved after `open`: which head, which main, and the command to run."""
    snap = dataclasses.replace(happy("merge"), head_contains_main=False)
    with pytest.raises(IllegalTransition) as refused:
        lifecycle.require("merge", snap)
    assert (f"head {HEAD[:12]} does not contain main's head {BASE[:12]}: the checks judge only a branch"
            in str(refused.value))
    assert "(`incident-bot refresh HM-2026-05-17-01`)" in str(refused.value)

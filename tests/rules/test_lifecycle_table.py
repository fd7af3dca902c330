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
OWNERS = tuple(codeowners.parse("/deploy/ @alice @incident-bot\n/incidents/ @alice @incident-bot\n"))


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
        reviewer="@alice",
        approves_action="restart_pod" if step == "approve --action" else None,
        trace_ok=True,
        traced_checks={"readiness": "success", "dry-run": "success"},
        traced_base=BASE,
        traced_reviews=(Approval("@alice", HEAD, "approved"),),
        main_head=BASE,
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
                             {"reviewer_is_a_person", "reviewer_is_code_owner"}),
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
    "main_unmoved_since_checks": (lambda s: dataclasses.replace(s, main_head="e" * 40),
                                  {"main_unmoved_since_checks"}),
    # issue 13: the alerts resolved before a merge; a pull request reopened by hand is refused all the same
    "not_resolved_unremediated": (lambda s: dataclasses.replace(s, resolved_unremediated_at="2026-05-17T08:20:00Z"),
                                  {"not_resolved_unremediated"}),
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


def test_refusal_messages_name_the_head_and_the_paths():
    snap = dataclasses.replace(happy("merge"), reviews=(), reviewer="@carol")
    assert f"no approval from a code owner (other than the bot) on head {HEAD[:12]}" in lifecycle.missing("merge", snap)
    assert lifecycle.missing("approve", snap) == [
        "reviewer is not a code owner of the changed paths "
        "(deploy/appointments-api/deployment.yaml, incidents/HM-2026-05-17-01/plan.md)"]


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

"""The incident lifecycle as a table: each step, the facts it requires, and the refusal when one fails.

Everything that decides whether a step may happen lives here (like h11's _state.py). The facts are
computed by the caller from the forge (checks on the head SHA, reviews, pull request state, policy);
an illegal step raises IllegalTransition naming every missing requirement.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.errors import IllegalTransition

# fact name -> refusal shown when the fact does not hold ({head} is the pull request head SHA)
FACTS = {
    "pull_open": "the incident pull request is not open",
    "pull_merged": "the remediation has not been merged",
    "gate_allows_dry_run": "readiness check has not succeeded on head {head}",
    "readiness_success_on_head": "readiness check has not succeeded on head {head}",
    "dry_run_success_on_head": "dry-run check has not succeeded on head {head}",
    "code_owner_approved_on_head": "no approval from a code owner (other than the bot) on head {head}",
    "action_approved_if_semi_manual": "semi-manual readiness: a human must approve the action (approve --action)",
    "emergency_stop_lifted": "emergency stop engaged (policies/emergency_stop.yaml)",
    "reviewer_is_code_owner": "reviewer is not a code owner of the changed paths",
    "reviewer_is_human": "the bot cannot approve its own pull request",
}

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": (),
    "check_readiness": ("pull_open",),
    "check_dry_run": ("pull_open", "gate_allows_dry_run"),
    "approve": ("pull_open", "reviewer_is_human", "reviewer_is_code_owner"),
    "merge": (
        "pull_open", "gate_allows_dry_run", "action_approved_if_semi_manual", "dry_run_success_on_head",
        "code_owner_approved_on_head", "emergency_stop_lifted",
    ),
    "rollback": ("pull_merged",),
    "validate": (),
}

# The states a pull request passes through, for the README diagram (derived from the checks).
STATES = (
    ("opened", "check_readiness", "gate_passed"),
    ("opened", "check_readiness", "semi_manual"),
    ("semi_manual", "approve --action", "gate_passed"),
    ("gate_passed", "check_dry_run", "dry_run_passed"),
    ("dry_run_passed", "approve", "approved"),
    ("approved", "merge", "merged"),
    ("merged", "resolved alert", "validated"),
    ("merged", "rollback", "rollback_opened"),
    ("opened", "new commit", "opened"),
    ("dry_run_passed", "new commit", "opened"),
)


def missing(step: str, facts: Mapping[str, bool], head: str = "") -> list[str]:
    """Every requirement of `step` that the facts do not meet, as refusal messages."""
    if step not in TRANSITIONS:
        raise KeyError(step)
    return [FACTS[f].format(head=head[:12]) for f in TRANSITIONS[step] if not facts.get(f, False)]


def require(step: str, facts: Mapping[str, bool], head: str = "") -> None:
    problems = missing(step, facts, head)
    if problems:
        raise IllegalTransition(f"{step.replace('_', ' ')} refused: " + "; ".join(problems))


def mermaid() -> str:
    lines = ["stateDiagram-v2", "  [*] --> opened: open"]
    lines += [f"  {a} --> {b}: {label}" for a, label, b in STATES]
    lines.append("  validated --> [*]")
    return "\n".join(lines)

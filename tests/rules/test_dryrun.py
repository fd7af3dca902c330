"""The dry-run verdict on plain data: radius against the spec's maximum, preconditions, gate first."""

from __future__ import annotations

from bot.config.policy import Action, Catalog
from bot.model.enums import Verdict
from bot.rules.dryrun import evaluate
from bot.rules.spec import PreApproved, Spec


def catalog(radius: str, preconditions: tuple[str, ...] = ()) -> Catalog:
    act = Action("scale_up", "one more replica", radius, preconditions, "scale down", "replicas_plus_one")
    return Catalog(actions={"scale_up": act}, forbidden={"delete_namespace": "irreversible"})


def spec(max_radius: str, requires: tuple[str, ...] = ()) -> Spec:
    return Spec("high_memory_usage", {"scale_up": PreApproved(requires)}, max_radius, "", "specify.md")


def test_radius_within_the_spec_passes() -> None:
    result = evaluate(spec("deployment"), "scale_up", {}, catalog("deployment"))
    assert (result.verdict, result.reasons, result.exit_code) == (Verdict.PASS, (), 0)
    assert result.line() == "PASS action=scale_up radius=deployment"


def test_radius_one_step_wider_than_the_spec_blocks() -> None:
    result = evaluate(spec("deployment"), "scale_up", {}, catalog("namespace"))
    assert result.verdict == Verdict.BLOCK
    assert result.exit_code == 1
    assert result.reasons == ("BLOCK: radius namespace exceeds the spec's maximum deployment",)


def test_radius_narrower_than_the_spec_passes() -> None:
    assert evaluate(spec("namespace"), "scale_up", {}, catalog("pod")).verdict == Verdict.PASS


def test_precondition_false_and_unknown_are_told_apart() -> None:
    result = evaluate(spec("cluster", requires=("hpa_enabled",)), "scale_up", {"stateless": False},
                      catalog("pod", ("stateless",)))
    assert result.reasons == (
        "BLOCK: precondition 'stateless' not met (stateless=false)",
        "BLOCK: precondition 'hpa_enabled' not met (hpa_enabled=unknown)",
    )


def test_spec_requirement_already_in_the_catalog_is_reported_once() -> None:
    result = evaluate(spec("cluster", requires=("stateless",)), "scale_up", {}, catalog("pod", ("stateless",)))
    assert result.reasons == ("BLOCK: precondition 'stateless' not met (stateless=unknown)",)


def test_forbidden_action_is_refused_by_name_not_as_unknown() -> None:
    result = evaluate(spec("cluster"), "delete_namespace", {}, catalog("pod"))
    assert result.reasons == (
        "BLOCK: action not in pre-approved list",
        "BLOCK: action 'delete_namespace' is forbidden by policy (irreversible)",
    )
    assert result.radius is None
    assert result.line() == "BLOCK action=delete_namespace"


def test_emergency_stop_blocks_before_anything_else() -> None:
    result = evaluate(spec("cluster"), "scale_up", {}, catalog("pod"), emergency_stop="drill")
    assert result.reasons == ("BLOCK: emergency stop engaged (drill)",)


def _gate(verdict: Verdict):  # type: ignore[no-untyped-def]
    from bot.rules.readiness import GateResult

    return GateResult("HM-2026-05-17-01", verdict, 21, {}, (), "default", 23, {})


def test_semi_manual_gate_blocks_until_a_human_approves_the_action() -> None:
    s, c = spec("cluster"), catalog("pod")
    blocked = evaluate(s, "scale_up", {}, c, gate=_gate(Verdict.SEMI_MANUAL))
    assert blocked.reasons == ("BLOCK: readiness gate not passed (semi-manual, needs a human approval of the action)",)
    assert blocked.line() == "BLOCK action=scale_up"
    approved = evaluate(s, "scale_up", {}, c, gate=_gate(Verdict.SEMI_MANUAL), semi_manual_approved=True)
    assert approved.verdict == Verdict.PASS


def test_blocked_gate_is_not_lifted_by_an_action_approval() -> None:
    result = evaluate(spec("cluster"), "scale_up", {}, catalog("pod"), gate=_gate(Verdict.BLOCK),
                      semi_manual_approved=True)
    assert result.reasons == ("BLOCK: readiness gate not passed (BLOCK)",)
    assert result.exit_code == 1


def test_emergency_stop_result_names_the_action() -> None:
    result = evaluate(spec("cluster"), "scale_up", {}, catalog("pod"), emergency_stop="drill")
    assert (result.line(), result.exit_code) == ("BLOCK action=scale_up", 1)


def test_action_outside_the_catalog_is_named() -> None:
    s = Spec("t", {"mystery": PreApproved(())}, "cluster", "", "specify.md")
    assert evaluate(s, "mystery", {}, catalog("pod")).reasons == ("BLOCK: action 'mystery' is not in the action catalog",)

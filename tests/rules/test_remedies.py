"""The evidence package's *What to change* (issue 15) for every point and blocker the rules can produce.

The reasons come from the producers themselves (scoring, the gate, the dry-run rule, the lifecycle table,
the repeated-failure rule), never retyped here, so a reworded reason that the table no longer recognises
fails. Every row must be actionable on this repository: the file is one main holds (or one the incident's
own refs hold), a YAML field resolves in that file, a spec field is a front-matter key or a heading of the
spec, and every `incident-bot ...` command it quotes parses with the CLI. The whole table is kept as
tests/golden/remedies.md, the reviewer's reference of every row (`UPDATE_GOLDEN=1` rewrites it).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.cli.main import build_parser
from bot.config.policy import load_policy
from bot.errors import IllegalTransition
from bot.rules import dryrun, lifecycle, readiness, recurrence, scoring
from bot.rules.remedies import Change, Context, for_blocker, for_point
from bot.rules.spec import parse_spec

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "remedies.md"
ID = "HM-2026-05-17-01"
D = f"incidents/{ID}"
SPEC = "specs/high_memory_usage/specify.md"
API = "deploy/appointments-api/deployment.yaml"
TYPE, WORKLOAD = "high_memory_usage", "Deployment appointments-api/api"
CTX = Context(incident_id=ID, spec=SPEC, action="restart_pod", workload=API, workload_name="api",
              namespace="appointments-api")
POLICY = load_policy(ROOT)


def _good() -> scoring.Facts:
    from tests.rules.test_scoring import full

    return full()


# (case, how the facts differ from a full score): each case loses points with the evidence scoring writes
LOSSES: list[tuple[str, dict[str, object]]] = [
    ("no specify", {"files": {}}),
    ("no sections", {"specify_sections": {}}),
    ("a command in the acceptance", {"spec_findings": [f"{D}/specify.md:9: concrete command 'kubectl rollout' "
                                                       "(specify says what, not how)"]}),
    ("no criteria", {"criteria": ()}),
    ("no criterion after the remediation", {"criteria": (scoring.Criterion("a pod", "the gate runs", "it blocks"),)}),
    ("no action", {"plan": {"preconditions": {}}, "rollback": None}),
    ("no autoscaler", {"plan": {"action": "scale_up_replicas_one", "blast_radius": "deployment",
                                "preconditions": {"stateless": True, "hpa_enabled": False}}}),
    ("stateful", {"plan": {"action": "scale_up_replicas_one", "blast_radius": "deployment",
                           "preconditions": {"stateless": False}}}),
    ("stateful, no autoscaler", {"plan": {"action": "scale_up_replicas_one", "blast_radius": "deployment",
                                          "preconditions": {"stateless": False, "hpa_enabled": False}}}),
    ("no tasks", {"tasks": []}),
    ("no radius", {"plan": {"action": "restart_pod", "preconditions": {}}}),
    ("diff differs", {"diff_matches_rendering": [f"{API}: differs from the planned action restart_pod"]}),
    ("a path ending a sentence", {"diff_matches_rendering": [f"the planned action restart_pod renders {API}."]}),
    ("event invalid", {"event_schema_errors": ["$.type: 'x' is not one of ['high_memory_usage']"],
                       "replay_matches": False}),
    ("manifest invalid", {"manifest_errors": [f"{API}: spec.replicas: 'two' is not of type 'integer'"]}),
    ("manifest error without a file", {"manifest_errors": ["kustomize build failed"]}),
    ("no validation plan", {"validation_plan": False}),
    ("foreign branch", {"branch": "feature/x"}),
    ("commits without trailers", {"commits_without_trailers": ["a1" * 20]}),
    ("no pull request links", {"pull_links_artifacts": False}),
    ("audit broken", {"audit_problems": ["entry 3: hash mismatch"]}),
    ("audit incomplete", {"audit_coverage": 0.5, "audit_missing": [f"commit {'b2' * 20} has no audit entry",
                                                                   "step dry_run has no ok entry"]}),
    ("replay differs", {"replay_problems": ["entry 4 (readiness at aaaaaaaaaaaa): PASS 25/25 recorded, "
                                            "replay gives BLOCK 21/25", "entry 5 (dry_run) records no commit or "
                                            "base"]}),
    ("replay unnamed", {"replay_problems": ["the trace cannot be read"]}),
    ("action not allowed", {"action_allowed": ["BLOCK: radius namespace exceeds the spec's maximum deployment"]}),
    ("forbidden action", {"plan": {"action": "delete_pvc", "blast_radius": "namespace", "preconditions": {}},
                          "forbidden_action": True}),
    ("no rollback", {"rollback": None}),
    ("personal data", {"personal_data_found": [f"{D}/sources/grafana-1.json"]}),
    ("no human owner", {"codeowners_cover_deploy": False}),
    ("self-granted", {"touches_protected": ["policies/actions.yaml", ".github/CODEOWNERS"]}),
]


def lost_points() -> list[tuple[str, scoring.Point, Context]]:
    """Each lost point with the context the evidence package gives it (the plan's action, or none)."""
    out = []
    for case, change in LOSSES:
        facts = replace(_good(), **change)  # type: ignore[arg-type]
        _, points = scoring.score(facts)
        out += [(case, p, replace(CTX, action=facts.plan.get("action"))) for p in points if not p.earned]
    return out


def gate_reasons() -> list[str]:
    profile = POLICY.profile(None)
    limits, now = POLICY.limits.types[TYPE], "2026-05-17T08:10:00Z"
    past = recurrence.Remediation("HM-2026-05-16-01", TYPE, WORKLOAD, "2026-05-17T08:00:00Z")
    full = {"spec": 5, "implementation": 5, "verification": 5, "process": 5, "security": 5}
    cases = [
        readiness.Readiness(ID, {**full, "implementation": 2, "verification": 1, "security": 0}, 0.5, True,
                            radius_of_impact=None, untrusted_changes=(f"{D}/plan.md: differs from what the bot "
                                                                      "derives from the recorded sources",)),
        readiness.Readiness(ID, {**full, "security": 2}, 1.0, False, radius_of_impact="cluster"),
        readiness.Readiness(ID, dict(full), 1.0, False, radius_of_impact="pod", escalations=(
            *recurrence.escalations([past, replace(past, incident_id="HM-2026-05-17-00", merged_at=now)], ID, TYPE,
                                    WORKLOAD, now, replace(limits, max_automatic=2)),
            *recurrence.escalations([replace(past, verified=False)], ID, TYPE, WORKLOAD, now, limits))),
    ]
    return [r for case in cases for r in readiness.evaluate(case, profile).reasons]


def dry_run_reasons() -> list[str]:
    spec = parse_spec((ROOT / SPEC).read_text(), SPEC)
    catalog = POLICY.catalog
    wide = dataclasses.replace(spec, max_blast_radius="pod")
    outside = dataclasses.replace(spec, pre_approved={**spec.pre_approved, "reboot_node": spec.pre_approved[
        "restart_pod"], "delete_pvc": spec.pre_approved["restart_pod"]})
    blocked_gate = readiness.GateResult(ID, readiness.Verdict.BLOCK, 19, {}, (), "default", 23, {})
    results = [
        dryrun.evaluate(spec, "restart_pod", {}, catalog, emergency_stop="policies/emergency_stop.yaml"),
        dryrun.evaluate(spec, "restart_pod", {}, catalog, gate=blocked_gate),
        dryrun.evaluate(spec, "raise_memory_limit", {}, catalog),
        dryrun.evaluate(outside, "delete_pvc", {}, catalog),
        dryrun.evaluate(outside, "reboot_node", {}, catalog),
        dryrun.evaluate(spec, "scale_up_replicas_one", {"stateless": False, "hpa_enabled": False}, catalog),
        dryrun.evaluate(wide, "restart_pod", {}, catalog),
    ]
    return [r for result in results for r in result.reasons]


def refusals() -> list[str]:
    """Every lifecycle refusal: for each step, every fact it requires made false alone (the table's own test
    shows how each is broken)."""
    from tests.rules.test_lifecycle_table import BREAK, happy

    out = []
    for step, transition in lifecycle.TRANSITIONS.items():
        for fact in transition.requires:
            with pytest.raises(IllegalTransition) as refused:
                lifecycle.require(step, BREAK[fact][0](happy(step)))
            out.append(str(refused.value))
    return list(dict.fromkeys(out))


def all_blockers() -> list[str]:
    return [*gate_reasons(), *dry_run_reasons(), *refusals(),
            f"merge refused: pull request #3 says merged as {'c3' * 6}, which is not on main"]


# what is lost, as the producers give it (computed once: they are not what these tests judge)
SUBJECTS: list[tuple[str, str, scoring.Point | str, Context]] = [
    *((f"{case}: {p.category}: {p.name}", f"{p.category}: {p.name}", p, ctx) for case, p, ctx in lost_points()),
    *((reason, f"blocker: {reason}", reason, CTX) for reason in all_blockers()),
    # a plan without an action: the rows name the action to fill in
    *((f"no action: {reason}", f"blocker: {reason}", reason, replace(CTX, action=None))
      for reason in ("BLOCK: action not in pre-approved list",
                     "implementation=2 <= 2: undefined blast radius (no radius_of_impact)",
                     f"merge refused: {lifecycle.FACTS['action_approved_if_semi_manual']}")),
]


def changes_for(subject: scoring.Point | str, ctx: Context) -> list[Change]:
    return for_point(subject, ctx) if isinstance(subject, scoring.Point) else for_blocker(subject, ctx)


def rows() -> list[tuple[str, str, list[Change]]]:
    """(what the row is for, the `lost` every change of it must carry, the changes): built when a test runs."""
    return [(what, lost, changes_for(subject, ctx)) for what, lost, subject, ctx in SUBJECTS]


def test_the_producers_give_every_point_and_blocker_kind():
    """The catalogue is complete: every point of the rubric is lost at least once, each lifecycle fact is
    refused, and the gate's and the dry-run's blocking kinds all appear (else a row kind goes untested)."""
    _, every = scoring.score(_good())
    assert {p.name for _, p, _ in lost_points()} == {p.name for p in every}
    messages = " ".join(refusals())
    assert all(lifecycle.FACTS[f].split("{")[0] in messages for f in lifecycle.FACTS)
    reasons = " ".join(gate_reasons() + dry_run_reasons())
    for kind in ("score=", "implementation<=2", "(no radius_of_impact)", "verification=", "security=0",
                 "missing rollback", "audit_trace_coverage=", "stateful workload without verified backup",
                 "untrusted change: ", "a human decides", "emergency stop engaged", "readiness gate not passed",
                 "action not in pre-approved list", "is forbidden by policy", "is not in the action catalog",
                 "precondition 'stateless' not met", "precondition 'hpa_enabled' not met", "exceeds the spec's maximum"):
        assert kind in reasons, kind


@pytest.mark.parametrize(("what", "lost", "subject", "ctx"), SUBJECTS, ids=[s[0][:70] for s in SUBJECTS])
def test_every_row_names_a_file_and_field_of_this_repository(what: str, lost: str, subject: scoring.Point | str,
                                                             ctx: Context):
    changes = changes_for(subject, ctx)
    # a score or category blocker is recovered by the lost points' own rows; every other one has its own
    if re.match(r"(score=|verification=\d|security=[12] )", what):
        assert changes == []
        return
    assert changes, what
    for change in changes:
        assert "?" not in (change.file, change.field), (what, change)
        assert change.lost == lost
        assert_actionable(change)


INCIDENT_REFS = (f"{D}/", f"incident/{ID} (branch)", f"audit/{ID} (branch)", f"audit/{ID}:{D}/audit.jsonl",
                 f"pull request of incident/{ID}", "pull request", "readiness check on ",
                 "dry-run check on the head commit", f"readiness and dry-run checks of incident/{ID}", "main (branch)")


def assert_actionable(change: Change) -> None:
    """The row can be followed on this repository: its file, its field and every command it quotes."""
    if not change.file.startswith(INCIDENT_REFS):
        path = ROOT / change.file
        assert path.is_file(), f"{change.file}: no such file on main ({change.lost})"
        if change.field == "the whole file":
            pass
        elif change.file.endswith(".yaml") and change.file.startswith("policies/"):
            resolve(yaml.safe_load(path.read_text()), change.field.replace("<type>", "high_memory_usage"),
                    change.file)
        elif change.file == SPEC:
            text = path.read_text()
            front = yaml.safe_load(text.split("---")[1])
            assert (change.field in front or re.search(rf"^{re.escape(change.field)}\s*$", text, re.M)
                    or change.field == "the line the finding names"), f"{SPEC} has no {change.field}"
        elif change.file == ".github/CODEOWNERS":
            assert change.field.split(", ")[0].startswith(("deploy/", "incidents/")), change.field
        elif change.file.startswith("deploy/"):
            assert change.field.startswith(("spec.", "metadata.", "the field the Kubernetes schema names")), change
    for command in re.findall(r"`(incident-bot [^`]+)`", change.value + change.field):
        try:
            build_parser().parse_args(shlex.split(command)[1:])
        except SystemExit:
            pytest.fail(f"{command!r} is not a command of the CLI ({change.lost})")


def resolve(data: object, dotted: str, source: str) -> None:
    node = data
    for key in dotted.split("."):
        assert isinstance(node, dict) and key in node, f"{source}: no field {dotted}"
        node = node[key]


def test_a_refused_step_gets_a_row_for_every_requirement_it_names():
    """One refusal can name several missing requirements: each gets its change (the same change once)."""
    snap = dataclasses.replace(_happy("merge"), emergency_stop=True, reviews=(), traced_reviews=())
    with pytest.raises(IllegalTransition) as refused:
        lifecycle.require("merge", snap)
    changes = for_blocker(str(refused.value), CTX)
    review = (f"pull request of incident/{ID}", "review of the head commit")
    # the forge's and the trace's missing approval are lifted by one review: listed once
    assert [(c.file, c.field) for c in changes] == [review, ("policies/emergency_stop.yaml", "engaged")]


def _happy(step: str) -> lifecycle.Snapshot:
    from tests.rules.test_lifecycle_table import happy

    return happy(step)


def test_a_refusal_carries_its_fields_into_the_row():
    """The team that tried to approve, the paths the reviewer does not own, the planned action: named."""
    team = for_blocker(lifecycle.FACTS["reviewer_is_a_person"].format(reviewer="@acme/sre").join(
        ["approve refused: ", ""]), CTX)
    assert team[0].value.startswith("a person who is a member of @acme/sre")
    paths = for_blocker(f"approve refused: {lifecycle.FACTS['reviewer_is_code_owner'].format(not_owned=API)}", CTX)
    assert (paths[0].file, paths[0].field) == (".github/CODEOWNERS", API)
    planned = for_blocker("approve refused: " + lifecycle.FACTS["approved_action_is_planned"].format(
        planned="scale_up_replicas_one", approves="restart_pod"), CTX)
    assert "`Approves-Action: scale_up_replicas_one`" in planned[0].value
    assert planned[0].value.endswith(" --action scale_up_replicas_one`)")
    stale = for_blocker("check dry run refused: " + lifecycle.FACTS["gate_allows_dry_run"].format(head="ab12" * 3),
                        CTX)
    assert stale[0].file == "readiness check on commit ab12ab12ab12"


def test_a_refusal_that_joins_known_and_unknown_messages_is_split_at_each():
    """`lifecycle.require` joins its messages with "; ", and a message may hold "; " itself (head_contains_main):
    each message is recognised in turn, and a flow's own message between them stays one row of its own."""
    contains = lifecycle.FACTS["head_contains_main"].format(head="a" * 12, main="d" * 12, incident=ID)
    stop = lifecycle.FACTS["emergency_stop_lifted"]
    changes = for_blocker(f"merge refused: {contains}; a flow's own words; {stop}; the last words", CTX)
    assert [(c.file, c.field, c.value if c.file == "?" else "") for c in changes] == [
        (f"incident/{ID} (branch)", "base", ""), ("?", "?", "a flow's own words"),
        ("policies/emergency_stop.yaml", "engaged", ""), ("?", "?", "the last words")]


def test_an_unknown_point_or_reason_is_shown_as_it_is_not_dropped():
    point = scoring.Point("process", "a point no rubric has", False, "what it found")
    assert for_point(point, CTX) == [Change("process: a point no rubric has", "?", "a point no rubric has",
                                            "what it found")]
    assert for_blocker("BLOCK: something no rule says", CTX) == [
        Change("blocker: BLOCK: something no rule says", "?", "?", "something no rule says")]
    assert for_blocker("merge refused: a message no fact has", CTX) == [
        Change("blocker: merge refused: a message no fact has", "?", "?", "a message no fact has")]


def render(table: list[tuple[str, str, list[Change]]]) -> str:
    cell = lambda text: text.replace("|", "\\|")  # noqa: E731
    lines = ["# What to change: every row the evidence package can print",
             "",
             f"Generated by tests/rules/test_remedies.py for incident {ID} (the seed): for each point the rubric",
             "can lose and each blocker the gate, the dry-run and the lifecycle table can raise, the file, field",
             "and value `incident-bot evidence` names in *What to change*. `UPDATE_GOLDEN=1` rewrites it.", ""]
    for what, _, changes in table:
        lines += [f"## {cell(what)}", ""]
        if not changes:
            lines += ["(none of its own: the lost points' rows recover it)", ""]
            continue
        lines += ["| File | Field | Value |", "|---|---|---|"]
        lines += [f"| `{cell(c.file)}` | {cell(c.field)} | {cell(c.value)} |" for c in changes]
        lines.append("")
    return "\n".join(lines)


def test_the_reference_of_every_row_is_current():
    text = render(rows())
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert GOLDEN.read_text() == text, "tests/golden/remedies.md differs: review the rows, then UPDATE_GOLDEN=1"

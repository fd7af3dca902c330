"""`incident-bot spec lint` and the spec's parts other commands read: findings name the file and line, bad front
matter is unusable input, the sections readiness scores are the headings a reader sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, SPEC

from bot.errors import InputError
from bot.render.artifacts import render_specify
from bot.rules.spec import parse_spec, sections

SEED = SPEC.read_text()
FRONT, BODY = SEED[: SEED.index("# Specify")], SEED[SEED.index("# Specify"):]


def test_a_spec_committed_with_windows_line_endings_is_the_same_spec():
    """Text read from git keeps its CRLF (Python's text mode would hide it): the body rendered into the incident's
    specify.md carries no stray front matter."""
    crlf = parse_spec(SEED.replace("\n", "\r\n"), "specs/high_memory_usage/specify.md")
    assert crlf == parse_spec(SEED, "specs/high_memory_usage/specify.md")
    assert crlf.body == BODY


def test_a_spec_that_is_not_utf8_in_git_names_the_file():
    """Bytes read from git that are not UTF-8 arrive as lone surrogates (bot/config/loader.py)."""
    with pytest.raises(InputError) as bad:
        parse_spec(SEED.replace("WHY", "WHY \udcff"), "specs/high_memory_usage/specify.md")
    assert str(bad.value).startswith("specs/high_memory_usage/specify.md: not UTF-8 text (character ")


def test_every_finding_names_the_file_and_the_line(cli, tmp_path: Path):
    front = FRONT.replace("  - name: restart_pod\n", "  - name: restart_pod\n  - name: delete_pvc\n  - name: reboot\n")
    body = (BODY.replace("## WHY", "#### WHY")  # a fourth-level heading is not the section
            .replace("## Constraints", "## Constraintsless")
            .replace("## WHAT\n", "## WHAT\nRun `kubectl rollout restart` then curl -X the API.\n"))
    path = tmp_path / "specify.md"
    path.write_text(front + body)
    line = (front + body).splitlines().index("Run `kubectl rollout restart` then curl -X the API.") + 1
    run = cli("spec", "lint", path, "--repo", ROOT)
    assert run.code == 1
    assert run.err.splitlines() == [
        f"{path}: missing section WHY",
        f"{path}: missing section constraints",
        f"{path}: pre-approved action 'delete_pvc' is forbidden by policy",
        f"{path}: pre-approved action 'reboot' is not in the action catalog",
        f"{path}:{line}: concrete command 'kubectl rollout' (specify says what, not how)",
    ]
    assert run.out == f"FAIL {path}: 5 finding(s)\n"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ((FRONT, ""), "front matter: missing: the spec must start with a '---' YAML block"),
        (("  - name: scale_up_replicas_one", "  - name: restart_pod"),
         "$.pre_approved_actions: action 'restart_pod' listed twice"),
        (("max_blast_radius: deployment", "max_blast_radius: galaxy"),
         "$.max_blast_radius: 'galaxy' is not one of ['pod', 'deployment', 'namespace', 'cluster']"),
        (("incident_type: high_memory_usage", "incident_type: [high"),
         "line 2 column 21: not YAML: did not find expected ',' or ']'"),
    ],
)
def test_a_spec_whose_front_matter_is_unusable_is_exit_2_naming_the_file(cli, tmp_path: Path, change, error):
    path = tmp_path / "specify.md"
    path.write_text(SEED.replace(*change, 1))
    run = cli("spec", "lint", path, "--repo", ROOT)
    assert (run.code, run.out, run.err) == (2, "", f"incident-bot: {path}: {error}\n")


def test_a_precondition_the_spec_adds_to_the_catalogs_is_required_by_the_dry_run(cli, tmp_path: Path):
    path = tmp_path / "specify.md"
    path.write_text(SEED.replace("  - name: restart_pod\n", "  - name: restart_pod\n    requires: [hpa_enabled]\n"))
    run = cli("dry-run", "--repo", ROOT, "--spec", path, "--action", "restart_pod")
    assert (run.code, run.err) == (1, "BLOCK: precondition 'hpa_enabled' not met (hpa_enabled=unknown)\n")
    assert cli("dry-run", "--repo", ROOT, "--spec", path, "--action", "restart_pod",
               "--context", "hpa_enabled=true").code == 0


def test_the_incidents_specify_names_the_specs_incident_type():
    event = {"incident_id": "HM-2026-05-17-01", "incident_key": "k", "service": "appointments-api",
             "namespace": "appointments", "pod": "p", "severity": "warning", "window_minutes": 5,
             "metric_context": {}}
    rendered = render_specify(event, parse_spec(SEED, "specs/high_memory_usage/specify.md"), "s")
    assert "incident_type: high_memory_usage\n" in rendered
    assert "# Specify HM-2026-05-17-01: high_memory_usage\n" in rendered


# The readiness gate's spec points count these (bot/rules/scoring.py): a heading of level 1 to 3 whose first
# word is the section's, in any case; acceptance is Given ... When ... Then in that order.
@pytest.mark.parametrize(
    ("text", "found"),
    [
        (BODY, {"WHY": True, "WHAT": True, "constraints": True, "acceptance": True}),
        ("# why\n### What\n## CONSTRAINTS\nGiven a\nwhen b\nthen c\n",
         {"WHY": True, "WHAT": True, "constraints": True, "acceptance": True}),
        ("#### Why\n## Whatever\nwhy\n## Constraintsless\nThen b when c given a\n",
         {"WHY": False, "WHAT": False, "constraints": False, "acceptance": False}),
        ("Given a, when b: nothing follows\n", {"WHY": False, "WHAT": False, "constraints": False, "acceptance": False}),
    ],
)
def test_sections_are_the_headings_a_reader_sees(text, found):
    assert sections(text) == found

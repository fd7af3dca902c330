"""Golden readiness cases: fixtures/readiness/<case>/{readiness.json, expected.txt}; adding a case is adding files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

CASES = sorted(p for p in (FIXTURES / "readiness").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_gate(cli, case: Path):
    expected = (case / "expected.txt").read_text().splitlines()
    run = cli("readiness", "--repo", ROOT, "--readiness", case / "readiness.json")
    assert f"exit {run.code}" == expected[0]
    assert [run.out.strip(), *run.err.splitlines()] == expected[1:]


def test_no_category_compensates(cli, tmp_path: Path):
    """24/25 with a perfect rest does not save a stateful workload without backup."""
    data = json.loads((FIXTURES / "readiness_pass.json").read_text())
    data["scores"] = {"spec": 5, "implementation": 5, "verification": 5, "process": 5, "security": 5}
    data["stateful"] = True
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    run = cli("readiness", "--repo", ROOT, "--readiness", path)
    assert run.code == 1 and "score=25/25" in run.out


def test_profile_changes_the_verdict_not_the_scores(cli, tmp_path: Path):
    """23/25 is automatic under the default profile, semi-manual under `strict` (threshold 24)."""
    data = json.loads((FIXTURES / "readiness_pass.json").read_text())
    data["scores"]["security"] = 3
    path = tmp_path / "r23.json"
    path.write_text(json.dumps(data))
    assert cli("readiness", "--repo", ROOT, "--readiness", path).code == 0
    run = cli("readiness", "--repo", ROOT, "--readiness", path, "--profile", "strict")
    assert (run.code, run.out.strip()) == (3, "SEMI-MANUAL incident=HM-2026-05-17-01 score=23/25")


def test_unknown_profile_is_unusable_input(cli):
    run = cli("readiness", "--repo", ROOT, "--readiness", FIXTURES / "readiness_pass.json", "--profile", "yolo")
    assert run.code == 2
    assert run.err.strip() == "incident-bot: policies/readiness.yaml: profiles: no profile 'yolo' (known: default, sandbox, strict)"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["scores"].__setitem__("security", 6), "$.scores.security"),
        (lambda d: d["scores"].pop("process"), "$.scores.process"),
        (lambda d: d.__setitem__("radius_of_impact", "galaxy"), "$.radius_of_impact"),
        (lambda d: d.__setitem__("audit_trace_coverage", "full"), "$.audit_trace_coverage"),
        (lambda d: d.pop("incident_id"), "$.incident_id"),
    ],
)
def test_bad_readiness_input_names_file_and_field(cli, tmp_path: Path, mutate, field):
    data = json.loads((FIXTURES / "readiness_pass.json").read_text())
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    run = cli("readiness", "--repo", ROOT, "--readiness", path)
    assert run.code == 2
    assert run.out == ""
    assert len(run.err.splitlines()) == 1
    assert run.err.startswith(f"incident-bot: {path}: {field}: ")


PROFILES = """default_profile: default
profiles:
  default: {auto: 23, semi_manual: 20, max_radius: deployment, min_audit_trace_coverage: 1.0}
  even: {auto: 22, semi_manual: 22, max_radius: deployment, min_audit_trace_coverage: 1.0}
"""


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("semi_manual: 22,", "semi_manual: 23,"), "$.profiles.even.semi_manual: exceeds auto"),
        (("default_profile: default", "default_profile: even-stricter"), "$.default_profile: names no defined profile"),
    ],
)
def test_an_inconsistent_profiles_policy_is_unusable_input(cli, tmp_path: Path, change, error):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "readiness.yaml").write_text(PROFILES.replace(*change))
    run = cli("readiness", "--repo", tmp_path, "--readiness", FIXTURES / "readiness_pass.json")
    assert (run.code, run.out, run.err) == (2, "", f"incident-bot: policies/readiness.yaml: {error}\n")


def test_a_profile_whose_semi_manual_threshold_equals_auto_has_no_semi_manual_band(cli, tmp_path: Path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "readiness.yaml").write_text(PROFILES)
    run = cli("readiness", "--repo", tmp_path, "--readiness", FIXTURES / "readiness_pass.json", "--profile", "even")
    assert (run.code, run.out.strip()) == (0, "PASS incident=HM-2026-05-17-01 score=24/25")

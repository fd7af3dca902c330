"""The seed chapter's practice exercises 1-3, run with its commands, exit codes and reasons."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import FIXTURES, ROOT, SPEC


def test_exercise1_reference_match(cli):
    run = cli("normalize", "--repo", ROOT, "--grafana", FIXTURES / "webhook_grafana.json",
              "--pagerduty", FIXTURES / "webhook_pagerduty.json", "--expected", FIXTURES / "incident_event.expected.json")
    assert run.code == 0, run.err
    assert "MATCH" in run.err
    assert json.loads(run.out)["incident_id"] == "HM-2026-05-17-01"


def test_exercise1_modified_metrics_mismatch_names_metric_context(cli, tmp_path: Path):
    payload = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    alert = payload["alerts"][0]
    alert["values"]["memory_percent"] = 87
    alert["labels"]["window"] = "5m"
    modified = tmp_path / "webhook_grafana_modified.json"
    modified.write_text(json.dumps(payload))
    run = cli("normalize", "--repo", ROOT, "--grafana", modified, "--pagerduty", FIXTURES / "webhook_pagerduty.json",
              "--expected", FIXTURES / "incident_event.expected.json")
    assert run.code == 1
    lines = [line.strip() for line in run.err.splitlines() if "expected" in line and ":" in line]
    assert any(line.startswith("metric_context.memory_percent: expected 93, got 87") for line in lines)
    assert any(line.startswith("window_minutes: expected 10, got 5") for line in lines)
    assert all("metric context" in line for line in lines[1:] if not line.startswith("MISMATCH"))
    # identity is untouched: the event is still the same incident
    event = json.loads(run.out)
    assert (event["service"], event["namespace"], event["pod"]) == ("appointments-api", "appointments-api", "api-7b4")


def test_exercise1_identity_change_is_labelled_identity(cli, tmp_path: Path):
    payload = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    payload["alerts"][0]["labels"]["pod"] = "api-9x1"
    changed = tmp_path / "g.json"
    changed.write_text(json.dumps(payload))
    run = cli("normalize", "--repo", ROOT, "--grafana", changed, "--expected", FIXTURES / "incident_event.expected.json")
    assert run.code == 1
    assert "pod: expected 'api-7b4', got 'api-9x1' (identity field" in run.err


def test_exercise2_three_fixtures(cli):
    run = cli("readiness", "--repo", ROOT, "--readiness", FIXTURES / "readiness_pass.json")
    assert (run.code, run.out.strip()) == (0, "PASS incident=HM-2026-05-17-01 score=24/25")

    run = cli("readiness", "--repo", ROOT, "--readiness", FIXTURES / "readiness_block_audit.json")
    assert (run.code, run.out.strip()) == (1, "BLOCK incident=HM-2026-05-17-01 score=22/25")
    assert run.err.splitlines() == ["score=22/25 below threshold 23", "audit_trace_coverage=0.7 < 1.0"]

    run = cli("readiness", "--repo", ROOT, "--readiness", FIXTURES / "readiness_block_stateful.json")
    assert (run.code, run.out.strip()) == (1, "BLOCK incident=HM-2026-05-17-01 score=24/25")
    assert run.err.splitlines() == ["stateful workload without verified backup"]


def test_exercise2_cluster_radius_without_dry_run_caps_implementation(cli, tmp_path: Path):
    data = json.loads((FIXTURES / "readiness_pass.json").read_text())
    data["radius_of_impact"] = "cluster"
    del data["dry_run_verified"]
    built = tmp_path / "readiness_block_implementation.json"
    built.write_text(json.dumps(data))
    run = cli("readiness", "--repo", ROOT, "--readiness", built)
    assert run.code == 1
    assert run.out.startswith("BLOCK ")
    assert any(line.startswith("implementation<=2: undefined blast radius, radius_of_impact=cluster")
               for line in run.err.splitlines())
    # with a verified dry-run the same radius is accepted
    data["dry_run_verified"] = True
    built.write_text(json.dumps(data))
    assert cli("readiness", "--repo", ROOT, "--readiness", built).code == 0


def test_exercise3_spec_has_why_what_constraints_and_no_command(cli):
    run = cli("spec", "lint", SPEC, "--repo", ROOT)
    assert run.code == 0, run.err
    text = SPEC.read_text()
    assert "kubectl" not in text


def test_exercise3_allowed_and_forbidden(cli):
    run = cli("dry-run", "--repo", ROOT, "--spec", SPEC, "--action", "restart_pod")
    assert run.code == 0 and run.out.startswith("PASS")
    run = cli("dry-run", "--repo", ROOT, "--spec", SPEC, "--action", "delete_namespace")
    assert run.code == 1
    assert run.err.splitlines()[0] == "BLOCK: action not in pre-approved list"


def test_exercise3_added_action_blocked_by_precondition_not_list(cli, repo_copy: Path):
    spec = repo_copy / "specs/high_memory_usage/specify.md"
    text = spec.read_text().replace("  - name: scale_up_replicas_one\n    requires: [stateless, hpa_enabled]\n", "")
    spec.write_text(text)
    before = cli("dry-run", "--repo", repo_copy, "--spec", spec, "--action", "scale_up_replicas_one",
                 "--context", "stateless=false")
    assert "BLOCK: action not in pre-approved list" in before.err
    spec.write_text(text.replace("  - name: restart_pod\n", "  - name: restart_pod\n  - name: scale_up_replicas_one\n"
                                 "    requires: ['stateless', 'hpa_enabled']\n"))
    after = cli("dry-run", "--repo", repo_copy, "--spec", spec, "--action", "scale_up_replicas_one",
                "--context", "stateless=false", "--context", "hpa_enabled=true")
    assert after.code == 1
    assert after.err.splitlines() == ["BLOCK: precondition 'stateless' not met (stateless=false)"]
    ok = cli("dry-run", "--repo", repo_copy, "--spec", spec, "--action", "scale_up_replicas_one",
             "--context", "stateless=true", "--context", "hpa_enabled=true")
    assert ok.code == 0


def test_dry_run_refuses_before_gate_passes(cli):
    run = cli("dry-run", "--repo", ROOT, "--spec", SPEC, "--action", "restart_pod",
              "--readiness", FIXTURES / "readiness_block_audit.json")
    assert run.code == 1
    assert "BLOCK: readiness gate not passed (BLOCK)" in run.err
    run = cli("dry-run", "--repo", ROOT, "--spec", SPEC, "--action", "restart_pod",
              "--readiness", FIXTURES / "readiness_pass.json")
    assert run.code == 0


def test_python_dash_m_bot_runs_same_program(tmp_path: Path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "bot", "readiness", "--readiness",
                           str(FIXTURES / "readiness_pass.json")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.strip() == "PASS incident=HM-2026-05-17-01 score=24/25"
    shutil.rmtree(tmp_path, ignore_errors=True)

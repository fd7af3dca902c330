"""`check readiness` on a real temporary repository: the check it posts, the audit entry and the stored
`readiness.json` it writes, the `semi-manual` label, and the success a traced action approval turns a semi-manual
verdict into (the survivors of `make mutate-flows MODULES=check_readiness`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, make_repo
from test_dry_run_flow import checks
from test_merge_flow import entries
from test_seal import thinner_spec

from bot.model.ids import audit_branch


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "gitops")


def opened(cli, repo: Path) -> str:
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    return git(repo, "rev-parse", BRANCH).strip()


def labels(repo: Path) -> list[str]:
    return json.loads(git(repo, "show", "refs/forge/pulls/1:pull.json"))["labels"]


def test_a_pass_posts_its_check_and_traces_every_point_with_the_base_and_the_stored_result(cli, repo: Path):
    head = opened(cli, repo)
    base = git(repo, "rev-parse", "main").strip()
    run = cli("check", "readiness", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (0, f"PASS incident={ID} score=25/25")
    posted = checks(repo, head)["readiness"]
    assert (posted["conclusion"], posted["title"]) == ("success", f"PASS incident={ID} score=25/25")
    assert posted["summary"].startswith(f"### `PASS incident={ID} score=25/25` (profile `default`, threshold 23/25)")
    [entry] = entries(repo, "readiness")
    points = entry.evidence.pop("points")
    assert (entry.status, entry.evidence) == ("ok", {
        "commit": head, "base": base, "check": "readiness", "verdict": "PASS", "score": 25, "profile": "default",
        "reasons": [], "file": f"incidents/{ID}/readiness.json", "threshold": 23,
        "scores": {"implementation": 5, "process": 5, "security": 5, "spec": 5, "verification": 5}})
    assert len(points) == 25 and all(earned for _, _, earned, _ in points)  # type: ignore[misc]
    assert ["process", "pull request", True, "pull request links every artifact"] in points  # type: ignore[operator]
    stored = json.loads(git(repo, "show", f"{audit_branch(ID)}:incidents/{ID}/readiness.json"))
    assert stored["audit_trace_coverage"] == 1.0 and stored["incident_id"] == ID
    assert "semi-manual" not in labels(repo)


def test_a_block_posts_a_failure_traced_as_blocked(cli, repo: Path):
    from lifecycle_helpers import grafana_payload, write_json

    payload = grafana_payload(namespace="appointments-db", pod="db-0", service="appointments-db")
    assert cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "db.json", payload)).code == 0
    head = git(repo, "rev-parse", BRANCH).strip()
    assert cli("check", "readiness", ID, "--repo", repo).code == 1
    assert checks(repo, head)["readiness"]["conclusion"] == "failure"
    [entry] = entries(repo, "readiness")
    assert (entry.status, entry.evidence["verdict"]) == ("blocked", "BLOCK")
    assert "stateful workload without verified backup" in entry.evidence["reasons"]  # type: ignore[operator]
    assert "semi-manual" not in labels(repo)


def test_a_semi_manual_verdict_asks_for_the_action_then_a_traced_approval_posts_it_as_a_success(cli, repo: Path):
    thinner_spec(repo)
    head = opened(cli, repo)
    run = cli("check", "readiness", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (3, f"SEMI-MANUAL incident={ID} score=22/25")
    posted = checks(repo, head)["readiness"]
    assert (posted["conclusion"], posted["title"]) == ("action_required", f"SEMI-MANUAL incident={ID} score=22/25")
    assert "semi-manual" in labels(repo)
    [entry] = entries(repo, "readiness")
    assert (entry.status, entry.evidence["verdict"]) == ("ok", "SEMI-MANUAL")
    assert "action_approved_by" not in entry.evidence

    assert cli("approve", ID, "--repo", repo, "--reviewer", "@bob", "--action", "restart_pod").code == 0
    run = cli("check", "readiness", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (0, f"SEMI-MANUAL incident={ID} score=22/25; action approved by @bob")
    posted = checks(repo, head)["readiness"]
    assert (posted["conclusion"], posted["title"]) == (
        "success", f"SEMI-MANUAL incident={ID} score=22/25; action approved by @bob")
    assert posted["summary"].endswith(f"\n\n**Approved:** @bob (a code owner) approved the action `restart_pod` on"
                                      f" `{head[:12]}`; the semi-manual gate is satisfied.\n")
    assert entries(repo, "readiness")[-1].evidence["action_approved_by"] == "@bob"

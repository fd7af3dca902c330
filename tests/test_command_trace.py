"""Every command that touches an incident is recorded in its trace: the command line without secrets and
without `--repo`, the head and base it ran against, its exit code and its verdict."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, make_repo


def commands(repo: Path) -> list[dict]:
    lines = git(repo, "show", f"audit/{ID}:incidents/{ID}/audit.jsonl").splitlines()
    return [e["evidence"] for e in map(json.loads, lines) if e["step"] == "command"]


def test_each_command_is_recorded_with_its_exit_code_verdict_head_and_base(cli, tmp_path: Path):
    repo = make_repo(tmp_path / "gitops")
    main = git(repo, "rev-parse", "main").strip()
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    head = git(repo, "rev-parse", BRANCH).strip()
    assert cli("check", "dry-run", ID, "--repo", repo).code == 1
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "readiness", ID, "--repo", repo, "--profile", "nosuch").code == 2  # unusable: not recorded
    assert cli("merge", ID, "--repo", repo).code == 1
    recorded = commands(repo)
    # open names the stored copy of its source, so the line re-runs from the repository
    stored = git(repo, "ls-tree", "--name-only", f"{BRANCH}:incidents/{ID}/sources/").split()
    assert [(c["command"], c["exit_code"], c["verdict"]) for c in recorded] == [
        (f"incident-bot open --grafana incidents/{ID}/sources/{stored[0]}", 0, "OPENED"),
        (f"incident-bot check dry-run {ID}", 1, "REFUSED"),
        (f"incident-bot check readiness {ID}", 0, "PASS"),
        (f"incident-bot merge {ID}", 1, "REFUSED"),
    ]
    assert all((c["head"], c["base"]) == (head, main) for c in recorded)
    assert "readiness check has not succeeded" in recorded[1]["message"]


def test_secrets_in_the_command_line_are_not_stored(cli, tmp_path: Path):
    repo = make_repo(tmp_path / "gitops")
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice"),
                 ("merge", ID)):
        assert cli(*argv, "--repo", repo).code == 0
    merge = git(repo, "rev-parse", "main").strip()
    url = "https://admin:hunter2@argocd.example.com/applications/gitops?token=s3cr3t"
    assert cli("post-merge", "--repo", repo, "--commit", merge, "--argocd-url", url).code == 0
    last = commands(repo)[-1]
    assert last["verdict"] == "SYNC PENDING" and last["exit_code"] == 0
    assert "hunter2" not in last["command"] and "s3cr3t" not in last["command"]
    assert "argocd.example.com/applications/gitops" in last["command"] and str(repo) not in last["command"]


def test_a_command_and_the_entry_of_its_step_are_one_audit_commit(cli, tmp_path: Path):
    """The local forge keeps the same trace as GitHub's: one audit commit per command (issue 12, API budget)."""
    repo = make_repo(tmp_path / "gitops")
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0
    assert len(git(repo, "rev-list", f"main..audit/{ID}").split()) == 2
    subject = git(repo, "log", "-1", "--format=%s", f"audit/{ID}").strip()
    assert "dry_run ok" in subject and subject.endswith("command ok")

"""`check readiness` shows every point it did not award: one stderr line each after the verdict line, and
the same rows in the check run's and the job summary's table; a blocker caused by a file names the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, human_commit, make_repo

from bot.forge.local import LocalForge


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "gitops")


def test_every_lost_point_is_one_stderr_line_and_a_row_of_the_check_table(cli, repo: Path, tmp_path: Path):
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    human_commit(repo, BRANCH, {"deploy/appointments-db/namespace.yaml": None},
                 f"tidy\n\nIncident-Id: {ID}\nPhase: implement")
    summary = tmp_path / "summary.md"
    run = cli("check", "readiness", ID, "--repo", repo, "--summary", summary)
    assert run.code == 1 and run.out.strip() == f"BLOCK incident={ID} score=23/25"
    lost = [line for line in run.err.splitlines() if line.startswith("lost 1 point: ")]
    assert lost == [
        "lost 1 point: implementation: change equals rendering: deploy/appointments-db/namespace.yaml: deleted, "
        "not part of the planned action restart_pod",
        f"lost 1 point: process: audit complete: audit_trace_coverage=0.91: commit "
        f"{git(repo, 'rev-parse', BRANCH)[:12]} has no audit entry",
    ]
    head = git(repo, "rev-parse", BRANCH).strip()
    check = LocalForge(repo).checks(head)["readiness"].summary
    for markdown in (check, summary.read_text()):
        text = re.sub(r"\\(.)", r"\1", markdown)  # as rendered: the cells' backslash escapes show their character
        assert "| implementation | change equals rendering | deploy/appointments-db/namespace.yaml: deleted" in text
        assert "| process | audit complete | audit_trace_coverage=0.91" in text


def test_a_file_name_from_the_branch_is_shown_as_text_in_the_check(cli, repo: Path):
    """Issue 16: a reason names a file the incident branch chose; in the check-run Markdown it is text."""
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    name = "deploy/**PASS, approved by @acme-sre-leads**<!--.yaml"
    human_commit(repo, BRANCH, {name: "kind: ConfigMap\n"})  # no apiVersion either: a finding, not a crash
    run = cli("check", "readiness", ID, "--repo", repo)
    assert run.code == 1 and f"{name}: added" in run.err and f"{name}: a document without apiVersion" in run.err
    check = LocalForge(repo).checks(git(repo, "rev-parse", BRANCH).strip())["readiness"].summary
    assert "**PASS" not in check and "<!--" not in check and "@acme" not in check.replace("\\@acme", "")
    assert "\\*\\*PASS" in check


def test_a_full_score_lists_no_lost_point(cli, repo: Path):
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    run = cli("check", "readiness", ID, "--repo", repo)
    assert (run.code, run.err) == (0, "")
    head = git(repo, "rev-parse", BRANCH).strip()
    assert "**Lost points**: none" in LocalForge(repo).checks(head)["readiness"].summary

"""The incident pull request starts the part-16 review (issue 15): its body carries the rubric of the latest
readiness run and the audit chain with the arrow a blocker broke, re-rendered after each command that changed the
incident, and written only when its text changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, human_commit, make_repo
from test_seal import forge_commit

from bot.forge.local import LocalForge
from bot.render.report import REVIEW_START

OPEN = ("open", "--grafana", FIXTURES / "webhook_grafana.json")


def body(repo: Path) -> str:
    pull = LocalForge(repo).find_pull(BRANCH)
    assert pull is not None
    return pull.body


def review(repo: Path) -> str:
    text = body(repo)
    return text[text.index(REVIEW_START):]


def pull_record(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(objectname)", "refs/forge/pulls/").strip()


def test_the_body_follows_the_rubric_and_the_chain_and_is_written_only_when_it_changed(cli, tmp_path: Path):
    repo = make_repo(tmp_path / "gitops")
    assert cli(*OPEN, "--repo", repo).code == 0
    assert "Shown here once the head's checks have run" in review(repo)
    assert "-.-x" not in review(repo)

    human_commit(repo, BRANCH, {"deploy/appointments-db/namespace.yaml": None},
                 f"tidy\n\nIncident-Id: {ID}\nPhase: implement")
    assert cli("check", "readiness", ID, "--repo", repo).code == 1
    shown = review(repo)
    assert "| Category | Score | Artifact-evidence | Reason for reduction |" in shown
    assert "| implementation | 4 |" in shown and "| Total | 23/25 |" in shown
    assert 'commit -.-x|"BLOCK: ' in shown and "class readiness blocked" in shown  # the broken arrow
    assert f"`incident-bot evidence {ID}`" in shown
    head = body(repo)[: body(repo).index(REVIEW_START)]
    assert "### Artifacts" in head  # the description above the section stays

    # the same refused dry-run twice: the second changes nothing, and nothing is written
    assert cli("check", "dry-run", ID, "--repo", repo).code == 1
    record = pull_record(repo)
    assert cli("check", "dry-run", ID, "--repo", repo).code == 1
    assert pull_record(repo) == record
    assert body(repo).count(REVIEW_START) == 1


def test_a_passed_gate_and_dry_run_show_the_whole_chain_up_to_the_review(cli, tmp_path: Path):
    repo = make_repo(tmp_path / "gitops")
    assert cli(*OPEN, "--repo", repo).code == 0
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0
    shown = review(repo)
    assert "| Total | 25/25 | Blocking: none | What to change: none |" in shown
    assert "readiness --> dry_run" in shown and "-.-x" not in shown
    assert cli("merge", ID, "--repo", repo).code == 1  # no code owner's approval: the arrow to merge breaks
    assert 'dry_run -.-x|"BLOCK: ' in review(repo) and "approval" in review(repo)


def _edit_body(repo: Path, drop: str) -> None:
    """A person edits the pull request's description (on GitHub anyone with write access can) and drops the
    artifact list's line for `drop`."""
    record = "refs/forge/pulls/1"
    pull = json.loads(git(repo, "show", f"{record}:pull.json"))
    lines = pull["body"].splitlines(True)
    kept = [line for line in lines if not line.startswith(f"- [`{drop}")]
    assert len(kept) == len(lines) - 1
    forge_commit(repo, record, {"pull.json": json.dumps({**pull, "body": "".join(kept)}, indent=2, sort_keys=True)
                                + "\n"}, "pull #1: edit")


@pytest.mark.parametrize(("dropped", "score"), [(f"incidents/{ID}/plan.md", "24/25"),
                                                (f"incidents/{ID}/sources/grafana-", "25/25")])
def test_the_artifacts_point_asks_for_the_incidents_files_not_the_raw_sources(cli, tmp_path: Path, dropped: str,
                                                                              score: str):
    """The point "pull request links every artifact" needs a link to each file the reviewer reads (event,
    specify, plan, tasks); the stored raw deliveries are evidence for the auditor, linked but not required."""
    repo = make_repo(tmp_path / "gitops")
    assert cli(*OPEN, "--repo", repo).code == 0
    _edit_body(repo, dropped)
    run = cli("check", "readiness", ID, "--repo", repo)
    assert run.out.strip() == f"PASS incident={ID} score={score}", run.err
    lost = "lost 1 point: process: pull request: no pull request linking the artifacts"
    assert (lost in run.err) == (score == "24/25"), run.err

"""`approve` on a real temporary repository: the review it records on the pull request and in the audit trace,
and the trace entry of a refused approval (found by `make mutate-flows MODULES=approve`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lifecycle_helpers import ID, git, make_repo
from test_merge_flow import entries, judged


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "gitops")


def test_an_approval_is_recorded_with_the_reviewers_handle_the_head_and_the_pull(cli, repo: Path):
    head = judged(cli, repo)
    run = cli("approve", ID, "--repo", repo, "--reviewer", "alice")  # a login without the @
    assert (run.code, run.out.strip()) == (0, f"APPROVED incident={ID} reviewer=@alice head={head[:12]}")
    [entry] = entries(repo, "review")
    assert (entry.status, entry.evidence) == ("ok", {"commit": head, "reviewer": "@alice", "approves_action": None,
                                                     "pull": 1})
    record = json.loads(git(repo, "show", "refs/forge/pulls/1:pull.json"))
    assert record["reviews"] == [{"reviewer": "@alice", "sha": head, "state": "approved", "approves_action": None}]


def test_a_refused_approval_is_recorded_with_the_reviewer_and_the_head(cli, repo: Path):
    head = judged(cli, repo)
    run = cli("approve", ID, "--repo", repo, "--reviewer", "@carol")
    assert run.code == 1 and "reviewer is not a code owner" in run.err
    [entry] = entries(repo, "review")
    assert entry.status == "refused"
    assert (entry.evidence["commit"], entry.evidence["reviewer"]) == (head, "@carol")
    assert [r for r in entry.evidence["reasons"] if r in run.err]  # type: ignore[union-attr]
    assert json.loads(git(repo, "show", "refs/forge/pulls/1:pull.json"))["reviews"] == []

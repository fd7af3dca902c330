# ruff: noqa: F811  (pytest fixtures imported from test_github_forge are redefined as test parameters)
"""The bot on a fresh runner as the workflows make it: main checked out at depth 1, then the incident's branches
fetched as git objects (.github/actions/fetch-incident/fetch.sh, run as is, from a bare mirror of the fake).
What the checkout cannot prove is asked of the API; a head the job fetched is never trusted for a write."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.github_helpers import BRANCH, ID, checkout_of, cli_runner, mirror_of, workflow_fetch
from tests.githubfake import REVIEWER_TOKEN, GitHubFake
from tests.test_github_forge import (  # noqa: F401  (fixtures)
    GRAFANA,
    PAGERDUTY,
    checkout,
    github_seed_files,
    run,
    server,
)

pytest_plugins = ["tests.githubfake.fixture"]
OBJECT_READS = {"git/get-blob", "git/get-tree", "git/get-commit", "repos/compare-commits", "git/get-ref"}


@pytest.fixture
def runner(cli, server: GitHubFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh runner: depth-1 checkout of main, then the workflows' fetch step for `incidents`; the CLI on it
    with INCIDENT_BOT_FETCHED set from the step's output, as the workflow step passes it."""
    mirrored: set[str] = set()
    made = []

    def fresh(*incidents: str):
        made.append(1)
        path = checkout_of(server, tmp_path / f"runner-{len(made)}", shallow=True)
        fetched = workflow_fetch(path, mirror_of(server, tmp_path / "origin.git", mirrored), *incidents)
        go = cli_runner(cli, server, path, monkeypatch)

        def on_runner(*argv: str, **env: str):
            return go(*argv, INCIDENT_BOT_FETCHED=fetched, **env)

        on_runner.checkout = path  # type: ignore[attr-defined]
        return on_runner, fetched

    return fresh


def trace(server: GitHubFake) -> list[dict[str, object]]:
    return list(map(json.loads, (server.file_at(f"audit/{ID}", f"incidents/{ID}/audit.jsonl") or "").splitlines()))


def audit_commits(server: GitHubFake) -> list[str]:
    store = server.repo().git
    return store.commits_between(str(server.ref_sha("main")), str(server.ref_sha(f"audit/{ID}")))


def test_the_fetch_step_names_what_it_fetched_and_what_github_does_not_have(run, runner) -> None:
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    _, fetched = runner(ID)
    # rollback/<id> and audit/<id> do not exist yet: known absent, so the bot asks nobody about them
    assert fetched.split() == [BRANCH, f"rollback/{ID}", f"audit/{ID}"]


def test_the_judge_on_a_fresh_runner_reads_the_pull_request_from_git(run, runner) -> None:
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    go, _ = runner(ID)
    judged = go("check", "readiness", ID)
    assert judged.code == 0 and "score=25/25" in judged.out, judged.err  # the phase commits' seals verify
    assert {e.operation_id for e in judged.requests} & OBJECT_READS == set()


def test_after_main_moved_the_shallow_checkout_asks_the_api_and_judges_the_same(run, runner, server: GitHubFake,
                                                                                 cli, tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The incident forked from a main the runner no longer has: whether the head contains main cannot be told
    from the checkout (the fork point is outside it), so GitHub's compare says, and the judge refuses exactly as
    on a full checkout (fetch-depth: 0): the head is behind main."""
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    server.push("main", {"docs/note.md": "an unrelated change\n"})
    full = cli_runner(cli, server, checkout_of(server, tmp_path / "full", fetched=(BRANCH,)), monkeypatch)
    expected = full("check", "readiness", ID)
    assert expected.code == 1 and "does not contain main's head" in expected.err
    go, _ = runner(ID)
    shallow = go("check", "readiness", ID)
    assert (shallow.code, shallow.err) == (expected.code, expected.err)
    assert "repos/compare-commits" in {e.operation_id for e in shallow.requests}


def test_a_head_the_job_fetched_is_never_trusted_for_a_write(run, runner, server: GitHubFake) -> None:
    """Another run appended to the trace after this job fetched it: the append built on the fetched head is
    refused by GitHub (PATCH /git/refs with force=false is a fast-forward only: 422 "Update is not a fast
    forward", https://docs.github.com/rest/git/refs#update-a-reference), and the bot re-reads the head from the
    API and appends after the other run's entries. Nothing is lost; the chain verifies."""
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    assert run("check", "readiness", ID).code == 0
    go, _ = runner(ID)  # fetches audit/<id> as readiness left it
    assert run("check", "dry-run", ID).code == 0  # another job appends meanwhile
    approved = go("approve", ID, "--reviewer", "@alice", token=REVIEWER_TOKEN, INCIDENT_BOT_IDENTITY="incident-bot[bot]")
    assert approved.code == 0, approved.err
    moves = [e.status for e in approved.requests if e.operation_id == "git/update-ref"]
    assert moves == [422, 200]
    steps = [e["step"] for e in trace(server) if e["step"] != "command"]
    assert steps[-3:] == ["readiness", "dry_run", "review"]
    assert run("audit", "verify", ID).out.startswith(f"VERIFIED incident={ID}")


def test_each_command_writes_one_audit_commit_holding_its_step_and_its_command(run, server: GitHubFake) -> None:
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    assert run("check", "readiness", ID).code == 0
    assert run("check", "dry-run", ID).code == 0
    assert len(audit_commits(server)) == 2
    last = server.repo().commit(str(server.ref_sha(f"audit/{ID}")))
    entries = trace(server)
    assert [e["step"] for e in entries[-2:]] == ["dry_run", "command"]
    assert [line.split(": ", 1)[1] for line in last.message.splitlines() if line.startswith("Audit-Hash: ")] == \
        [e["hash"] for e in entries[-2:]]
    assert entries[-2]["at"] <= entries[-1]["at"]
    assert run("audit", "verify", ID).code == 0


def test_a_fetched_list_the_checkout_does_not_hold_is_not_believed(run) -> None:
    """INCIDENT_BOT_FETCHED left in an environment, on a checkout that fetched nothing: the audit branch is not
    taken for absent; its head is read from the API."""
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    assert run("check", "readiness", ID).code == 0
    verified = run("audit", "verify", ID, INCIDENT_BOT_FETCHED=f"{BRANCH} audit/{ID}")
    assert verified.code == 0 and verified.out.startswith(f"VERIFIED incident={ID}"), verified.err


def test_an_object_missing_from_the_checkout_is_read_from_the_api(run, runner, server: GitHubFake) -> None:
    """A checkout that lacks an object (a pruned or partial clone) answers nothing about it: the file is read from
    GitHub, not taken for absent, and the verdict is the same."""
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    go, _ = runner(ID)
    checkout = go.checkout
    spec = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD:specs/high_memory_usage/specify.md"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (checkout / ".git" / "objects" / spec[:2] / spec[2:]).unlink()
    judged = go("check", "readiness", ID)
    assert judged.code == 0 and "score=25/25" in judged.out, judged.err
    assert [e.path.rsplit("/", 1)[1] for e in judged.requests if e.operation_id == "git/get-blob"] == [spec]


def test_post_merge_on_a_fresh_runner_knows_the_merged_head_is_in_main(run, runner, server: GitHubFake) -> None:
    """The merge commit is the checkout (depth 1) and names the merged head as its parent: that head is in main,
    so nothing lies between them and no compare is needed; the merge and its pending sync are recorded."""
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    assert run("check", "readiness", ID).code == 0
    assert run("check", "dry-run", ID).code == 0
    assert run("approve", ID, "--reviewer", "@alice", token=REVIEWER_TOKEN,
               INCIDENT_BOT_IDENTITY="incident-bot[bot]").code == 0
    assert run("merge", ID).code == 0
    tip = str(server.ref_sha("main"))
    go, fetched = runner("--merged")
    assert BRANCH in fetched.split()
    recorded = go("post-merge", "--commit", tip)
    assert recorded.code == 0 and recorded.out.startswith(f"SYNC PENDING incident={ID} revision={tip[:12]}"), \
        recorded.err
    assert {e.operation_id for e in recorded.requests} & OBJECT_READS == set()
    assert [(e["step"], e["status"]) for e in trace(server)][-2:] == [("sync", "pending"), ("command", "ok")]


def test_sync_confirm_on_a_fresh_runner_reads_every_trace_from_git(run, runner, server: GitHubFake,
                                                                   tmp_path: Path) -> None:
    """sync.yml fetches every audit trace (`fetch.sh --audit`): sync confirm reads each incident's trace to find
    those waiting for the reported revision, which through the API costs requests per incident ever opened."""
    from tests.test_github_defects import merged_waiting_for_sync

    _, report = merged_waiting_for_sync(run, server, tmp_path)
    go, fetched = runner("--audit")
    assert fetched.split() == [f"audit/{ID}"]  # every trace, and no incident or rollback branch
    result = go("sync", "confirm", "--argocd", report)
    assert result.code == 0 and result.out.startswith(f"CONFIRMED incident={ID}"), result.err
    assert {e.operation_id for e in result.requests} & {"git/get-blob", "git/get-tree", "git/get-commit"} == set()

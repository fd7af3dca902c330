# ruff: noqa: F811  (pytest fixtures imported from test_github_forge are redefined as test parameters)
"""The bot on a fresh runner as the workflows make it: main checked out at depth 1, then the incident's branches
fetched as git objects (.github/actions/fetch-incident/fetch.sh, run as is, from a bare mirror of the fake).
What the checkout cannot prove is asked of the API; a head the job fetched is never trusted for a write."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.github_helpers import BRANCH, ID, ROOT, checkout_of, cli_runner, mirror_of, workflow_fetch
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


# ------------------------------------------------------------------ readiness and the incidents merged before it
SECOND = "HM-2026-05-17-02"


def merged_then_alert_again(run, tmp_path: Path) -> None:
    """The seed incident merged at 08:30 (the bot's clock stopped there); another pod of the same Deployment fires
    at 09:10, inside the 120 min cool-down of policies/remediation.yaml: the second incident's readiness is
    SEMI-MANUAL, and says so only if it read the first one's audit trace (its sealed merge entry's time)."""
    at = {"INCIDENT_BOT_NOW": "2026-05-17T08:30:00Z"}
    assert run("open", "--grafana", GRAFANA, **at).code == 0
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID)):
        assert run(*argv, **at).code == 0, argv
    assert run("approve", ID, "--reviewer", "@alice", token=REVIEWER_TOKEN, INCIDENT_BOT_IDENTITY="incident-bot[bot]",
               **at).code == 0
    assert run("merge", ID, **at).code == 0
    payload = json.loads(GRAFANA.read_text())
    for alert in payload["alerts"]:
        alert.update(startsAt="2026-05-17T09:10:00Z", fingerprint="9f0e1d2c3b4a5968")
        alert["labels"]["pod"] = "api-9xz"
    payload["commonLabels"]["pod"] = "api-9xz"
    (tmp_path / "again.json").write_text(json.dumps(payload))
    opened = run("open", "--grafana", tmp_path / "again.json", INCIDENT_BOT_NOW="2026-05-17T09:15:00Z")
    assert opened.out.startswith(f"OPENED incident={SECOND}"), opened.err


def test_readiness_on_a_fresh_runner_reads_the_merged_incidents_traces_from_git(run, runner, tmp_path: Path) -> None:
    """readiness.yml fetches its incident and every audit trace in one step (`fetch.sh ID --audit`): the
    repeated-failure rule reads the trace of each incident merged into main, which through the API costs a tree,
    a blob and a commit per past incident in every readiness run (bench/github_requests.py)."""
    steps = yaml.safe_load((ROOT / ".github" / "workflows" / "readiness.yml").read_text())["jobs"]["readiness"]["steps"]
    [fetch] = [s for s in steps if s.get("uses", "").endswith("/fetch-incident")]
    assert fetch["with"]["incidents"].split() == ["${{", "steps.target.outputs.incident", "}}", "--audit"]
    merged_then_alert_again(run, tmp_path)
    go, fetched = runner(SECOND, "--audit")
    assert fetched.split() == [f"incident/{SECOND}", f"rollback/{SECOND}", f"audit/{SECOND}", f"audit/{ID}"]
    judged = go("check", "readiness", SECOND, INCIDENT_BOT_NOW="2026-05-17T12:00:00Z")
    assert (judged.code, judged.out.strip()) == (3, f"SEMI-MANUAL incident={SECOND} score=25/25"), judged.err
    assert f"repeated failure: {ID} merged at 2026-05-17T08:30:00Z did not hold" in judged.err
    assert {e.operation_id for e in judged.requests} & OBJECT_READS == set()


def fetch_commands(trace_file: Path) -> list[list[str]]:
    """The `git fetch` commands a run made, from git's own trace (GIT_TRACE2_EVENT: one JSON event a line, a
    `start` event per git process with its argv, https://git-scm.com/docs/api-trace2#_event_format)."""
    events = [json.loads(line) for line in trace_file.read_text().splitlines()]
    return [e["argv"][1:] for e in events if e.get("event") == "start" and e["argv"][1:2] == ["fetch"]]


def test_the_fetch_step_fetches_every_branch_in_one_git_fetch(run, server: GitHubFake, tmp_path: Path) -> None:
    merged_then_alert_again(run, tmp_path)
    path = checkout_of(server, tmp_path / "runner", shallow=True)
    trace_file = tmp_path / "trace2.json"
    fetched = workflow_fetch(path, mirror_of(server, tmp_path / "origin.git", set()), f"{SECOND},--audit",
                             GIT_TRACE2_EVENT=str(trace_file))
    assert fetched.split() == [f"incident/{SECOND}", f"rollback/{SECOND}", f"audit/{SECOND}", f"audit/{ID}"]
    [command] = fetch_commands(trace_file)  # incident/<second> and audit/<first>: one round trip (the others absent)
    assert "--shallow-exclude=main" in command
    assert sorted(a for a in command if a.startswith("+refs/")) == [
        f"+refs/heads/audit/{ID}:refs/remotes/origin/audit/{ID}",
        f"+refs/heads/incident/{SECOND}:refs/remotes/origin/incident/{SECOND}"]
    for branch in (f"incident/{SECOND}", f"audit/{ID}"):
        assert subprocess.run(["git", "-C", str(path), "rev-parse", f"refs/remotes/origin/{branch}"], check=True,
                              capture_output=True, text=True).stdout.strip() == server.ref_sha(branch)


def test_a_branch_that_cannot_be_fetched_does_not_cost_the_others(run, server: GitHubFake, tmp_path: Path) -> None:
    """One branch on the remote whose commit the remote cannot send (a broken ref): the batched fetch fails as a
    whole, and each branch is fetched on its own; only the broken one is left to the API."""
    merged_then_alert_again(run, tmp_path)
    path = checkout_of(server, tmp_path / "runner", shallow=True)
    origin = mirror_of(server, tmp_path / "origin.git", set())
    broken = "audit/HM-2026-05-16-01"

    def git(*argv: str, stdin: str | None = None) -> str:
        return subprocess.run(["git", "-C", str(origin), *argv], input=stdin, check=True, capture_output=True,
                              text=True).stdout.strip()

    tree = git("rev-parse", "main^{tree}")
    sha = git("hash-object", "-w", "-t", "commit", "--stdin",
              stdin=f"tree {tree}\nauthor a <a@example.com> 1 +0000\ncommitter a <a@example.com> 1 +0000\n\nx\n")
    git("update-ref", f"refs/heads/{broken}", sha)
    (origin / "objects" / sha[:2] / sha[2:]).unlink()
    trace_file = tmp_path / "trace2.json"
    fetched = workflow_fetch(path, origin, SECOND, "--audit", GIT_TRACE2_EVENT=str(trace_file))
    assert broken not in fetched.split()
    assert fetched.split() == [f"incident/{SECOND}", f"rollback/{SECOND}", f"audit/{SECOND}", f"audit/{ID}"]
    assert len(fetch_commands(trace_file)) == 1 + 2 + 2  # the batch; then the broken one twice, the others once


def test_the_merged_branch_post_merge_fetches_comes_alone_without_mains_history(run, server: GitHubFake,
                                                                                tmp_path: Path) -> None:
    """Post-merge fetches the merged incident branch, which main holds (its tip is a parent of the merge commit),
    with the audit trace. In one fetch with --shallow-exclude=main, a tip main holds gets no shallow boundary and
    main's whole history below it would come along; fetched apart at depth 1, only its tip comes."""
    assert run("open", "--grafana", GRAFANA).code == 0
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID)):
        assert run(*argv).code == 0, argv
    assert run("approve", ID, "--reviewer", "@alice", token=REVIEWER_TOKEN,
               INCIDENT_BOT_IDENTITY="incident-bot[bot]").code == 0
    assert run("merge", ID).code == 0
    path = checkout_of(server, tmp_path / "runner", shallow=True)
    fetched = workflow_fetch(path, mirror_of(server, tmp_path / "origin.git", set()), "--merged")
    assert fetched.split() == [BRANCH, f"rollback/{ID}", f"audit/{ID}"]
    seed = server.repo().git.commits[str(server.ref_sha(BRANCH))].parents[0]  # the commit main was when it forked
    has = subprocess.run(["git", "-C", str(path), "cat-file", "-e", f"{seed}^{{commit}}"], check=False)
    assert has.returncode != 0  # nothing of main's history below the merged tip

"""The Process category's fifth point (issue 15): 5 only when `replay <id>` reproduces the recorded results from
git alone. The chapter's case study: "Revised the Process rubric: maximum score of 5 now requires not just having
a log, but a reproducible replay by incident_id"; teams at 4 needed "manual variable substitution for replay". The
gate runs that replay on the trace so far, and its verdict is the same however often it runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, make_repo

from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.forge.local import LocalForge

OPEN = ("open", "--grafana", FIXTURES / "webhook_grafana.json")


@pytest.fixture
def repo(tmp_path: Path, cli) -> Path:
    path = make_repo(tmp_path / "gitops")
    assert cli(*OPEN, "--repo", path).code == 0
    return path


def lost(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("lost 1 point: ")]


def test_the_gate_gives_the_same_verdict_however_often_it_runs(cli, repo: Path):
    runs = [cli("check", "readiness", ID, "--repo", repo) for _ in range(3)]
    assert [(r.code, r.out.strip(), r.err) for r in runs] == [(0, f"PASS incident={ID} score=25/25", "")] * 3
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0
    again = cli("check", "readiness", ID, "--repo", repo)  # its replay now re-judges three gates and a dry-run
    assert (again.code, again.out.strip(), again.err) == (0, f"PASS incident={ID} score=25/25", "")
    assert cli("replay", ID, "--repo", repo).code == 0


def test_an_entry_replay_would_need_substituted_costs_the_point_naming_it(cli, repo: Path):
    # a readiness result written without the base it judged against: replay cannot pin main without a person
    # supplying it (the case study's "manual variable substitution")
    head = git(repo, "rev-parse", BRANCH).strip()
    trace.record(Workspace(LocalForge(repo)), ID, "readiness", "ok",
                 {"commit": head, "check": "readiness", "verdict": "PASS", "score": 25, "reasons": []})
    seq = len(trace.entries(Workspace(LocalForge(repo)), ID))
    runs = [cli("check", "readiness", ID, "--repo", repo) for _ in range(2)]
    for run in runs:  # the point stays lost, and the verdict stays what it was: the entry cannot be rewritten
        assert (run.code, run.out.strip()) == (0, f"PASS incident={ID} score=24/25"), run.err
        assert lost(run.err) == [f"lost 1 point: process: replay from git: entry {seq} (readiness) records no commit "
                                 "or base: replay would need them substituted by hand"]
    run = cli("replay", ID, "--repo", repo)
    assert run.code == 1 and f"entry {seq} (readiness) records no commit or base" in run.err

    package = cli("evidence", ID, "--repo", repo, "--out", repo.parent / "pkg").out
    assert (f"| process: replay from git | `audit/{ID} (branch)` | entry {seq} (readiness) | evidence.commit and "
            "evidence.base, which only the bot's `check readiness` and `check dry-run` write |") in package


def test_a_recorded_result_replay_does_not_reproduce_costs_the_point_naming_it(cli, repo: Path):
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    head, base = git(repo, "rev-parse", BRANCH).strip(), git(repo, "rev-parse", "main").strip()
    # a result no replay of git gives: the record says BLOCK 20/25 where the same inputs give PASS 25/25
    trace.record(Workspace(LocalForge(repo)), ID, "readiness", "blocked",
                 {"commit": head, "base": base, "check": "readiness", "verdict": "BLOCK", "score": 20,
                  "profile": "default", "reasons": ["score=20/25 below threshold 23"]})
    seq = len(trace.entries(Workspace(LocalForge(repo)), ID))
    run = cli("check", "readiness", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (0, f"PASS incident={ID} score=24/25"), run.err
    assert lost(run.err) == [f"lost 1 point: process: replay from git: entry {seq} (readiness at {head[:12]}): "
                             "recorded BLOCK 20 ['score=20/25 below threshold 23'], replay gives PASS 25 []"]
    assert cli("replay", ID, "--repo", repo).code == 1

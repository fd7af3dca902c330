"""Tamper evidence, crash-resume convergence and races on the local forge."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT
from lifecycle_helpers import BRANCH, ID, git, human_commit, make_repo

from bot.flows.trace import audit_path
from bot.model.ids import audit_branch
from bot.rules.audit import parse, serialize


@pytest.fixture
def opened(tmp_path: Path, cli) -> Path:
    repo = make_repo(tmp_path / "gitops")
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json",
               "--pagerduty", FIXTURES / "webhook_pagerduty.json").code == 0
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    return repo


def _rewrite_trace(repo: Path, change) -> None:
    path = audit_path(ID)
    entries = parse(git(repo, "show", f"{audit_branch(ID)}:{path}"), path)
    human_commit(repo, audit_branch(ID), {path: serialize(change(entries))}, "tidy the trace")


def test_intact_chain_verifies(cli, opened: Path):
    run = cli("audit", "verify", ID, "--repo", opened)
    assert run.code == 0 and run.out.startswith(f"VERIFIED incident={ID} entries=10")  # 8 + a command entry per run


def test_edited_entry_is_named(cli, opened: Path):
    def edit(entries):
        data = json.loads(entries[2].to_line())
        data["evidence"]["files"] = ["something else"]
        return [*entries[:2], type(entries[2])(**data), *entries[3:]]

    _rewrite_trace(opened, edit)
    run = cli("audit", "verify", ID, "--repo", opened)
    assert run.code == 1 and run.out.startswith("TAMPERED")
    assert "entry 3 (specify): content does not match its hash (edited)" in run.err.splitlines()


def test_dropped_entry_is_named(cli, opened: Path):
    _rewrite_trace(opened, lambda entries: [*entries[:4], *entries[5:]])
    run = cli("audit", "verify", ID, "--repo", opened)
    assert run.code == 1
    assert any(line.startswith("entry 6 (spec_diff_created)") and "dropped" in line for line in run.err.splitlines())
    assert "entry 5: recorded in the audit branch history but missing from the trace" in run.err


def test_reordered_entries_are_named(cli, opened: Path):
    _rewrite_trace(opened, lambda e: [*e[:3], e[4], e[3], *e[5:]])
    run = cli("audit", "verify", ID, "--repo", opened)
    assert run.code == 1
    assert any(line.startswith("entry 5 (spec_diff_created): at position 4") for line in run.err.splitlines())


def test_rehashed_forgery_is_caught_by_the_branch_history(cli, opened: Path):
    """Even a forger who recomputes every hash cannot match the Audit-Hash trailers of the history."""
    from bot.rules.audit import append

    def forge(entries):
        out = []
        for e in entries[:-1]:
            out.append(append(out, e.incident_id, e.step, e.status, "2020-01-01T00:00:00Z", e.evidence))
        return out

    _rewrite_trace(opened, forge)
    run = cli("audit", "verify", ID, "--repo", opened)
    assert run.code == 1
    assert "missing from the trace" in run.err


def _tree(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", f"{ref}^{{tree}}").strip()


@pytest.mark.parametrize("phases_done", [1, 2, 3, 4])
def test_killed_open_converges_on_rerun(cli, tmp_path: Path, phases_done: int):
    """`open` interrupted after any phase (branch and audit left behind) finishes on the next run."""
    reference = make_repo(tmp_path / "ref")
    assert cli("open", "--repo", reference, "--grafana", FIXTURES / "webhook_grafana.json").code == 0

    repo = make_repo(tmp_path / "crash")
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    commits = git(repo, "rev-list", "--reverse", f"main..{BRANCH}").split()
    # the state a kill leaves: the branch at phase N, the trace with the entries written before the kill
    git(repo, "update-ref", f"refs/heads/{BRANCH}", commits[phases_done - 1])
    for ref in git(repo, "for-each-ref", "--format=%(refname)", "refs/forge/pulls/").split():
        git(repo, "update-ref", "-d", ref)

    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json")
    assert run.code == 0, run.err
    assert _tree(repo, BRANCH) == _tree(reference, BRANCH)
    assert len(git(repo, "rev-list", f"main..{BRANCH}").split()) == 5
    assert cli("audit", "verify", ID, "--repo", repo).code == 0
    assert "audit_trace_coverage=1" in cli("audit", ID, "--repo", repo).out
    assert cli("check", "readiness", ID, "--repo", repo).code == 0


def test_two_racing_opens_end_with_one_branch_and_one_pull(tmp_path: Path):
    repo = make_repo(tmp_path / "race")
    cmd = [sys.executable, "-m", "bot", "open", "--repo", str(repo), "--grafana", str(FIXTURES / "webhook_grafana.json")]
    cmd2 = [*cmd[:-2], "--pagerduty", str(FIXTURES / "webhook_pagerduty.json")]
    procs = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in (cmd, cmd2, cmd)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert git(repo, "branch", "--list", "incident/*").split() == [BRANCH]
    pulls = git(repo, "for-each-ref", "--format=%(refname)", "refs/forge/pulls/").split()
    states = [json.loads(git(repo, "show", f"{r}:pull.json"))["state"] for r in pulls]
    assert states.count("open") == 1
    event = json.loads(git(repo, "show", f"{BRANCH}:incidents/{ID}/event.json"))
    assert sorted(event["source_refs"]) == ["grafana", "pagerduty"]
    assert subprocess.run([sys.executable, "-m", "bot", "audit", "verify", ID, "--repo", str(repo)],
                          cwd=ROOT, capture_output=True).returncode == 0

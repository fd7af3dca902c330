"""Tamper evidence, crash-resume convergence and races on the local forge."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT
from lifecycle_helpers import BRANCH, ID, git, human_commit, make_repo, smuggle_deletion
from test_seal import forge_commit

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


# The merge corroborates the trace: each guard below is one of `subject._traced`'s filters, made false alone
# (found by `make mutate-flows MODULES=subject`: the suite stayed green when the filter was dropped).

def _forge_review(repo: Path, reviewer: str, head: str) -> None:
    """A code owner's approval of `head` typed into the pull record (a plain ref anyone with push access writes)."""
    record = "refs/forge/pulls/1"
    pull = json.loads(git(repo, "show", f"{record}:pull.json"))
    pull["reviews"].append({"reviewer": reviewer, "sha": head, "state": "approved", "approves_action": None})
    forge_commit(repo, record, {"pull.json": json.dumps(pull, indent=2, sort_keys=True) + "\n"}, "pull #1: review")


def _merge_refused(cli, repo: Path) -> str:
    main_before = git(repo, "rev-parse", "main")
    run = cli("merge", ID, "--repo", repo)
    assert run.code == 1, run.out
    assert git(repo, "rev-parse", "main") == main_before  # nothing reached main
    return run.err


def test_merge_refuses_a_trace_edited_after_every_check_passed(cli, opened: Path):
    for argv in (("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice")):
        assert cli(*argv, "--repo", opened).code == 0

    def edit(entries):
        data = json.loads(entries[2].to_line())
        data["evidence"]["files"] = ["something else"]
        return [*entries[:2], type(entries[2])(**data), *entries[3:]]

    _rewrite_trace(opened, edit)
    assert "the audit trace does not verify (run `incident-bot audit verify`)" in _merge_refused(cli, opened)


def test_an_approval_the_trace_holds_for_an_older_head_does_not_count_for_the_new_one(cli, opened: Path):
    """@alice approved the head before main moved; the refreshed head passes both checks again, and her
    approval of it exists only in the pull record."""
    for argv in (("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice")):
        assert cli(*argv, "--repo", opened).code == 0
    old = git(opened, "rev-parse", BRANCH).strip()
    git(opened, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-q", "--allow-empty",
        "-m", "an unrelated change on main")
    assert cli("refresh", ID, "--repo", opened).code == 0
    new = git(opened, "rev-parse", BRANCH).strip()
    assert new != old
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID)):
        assert cli(*argv, "--repo", opened).code == 0
    _forge_review(opened, "@alice", new)
    err = _merge_refused(cli, opened)
    assert f"the sealed audit trace holds no code owner's approval of head {new[:12]}" in err
    assert "no approval from a code owner" not in err  # the record's claim is there; the trace refutes it


def test_a_refused_approval_in_the_trace_does_not_corroborate_a_typed_review(cli, opened: Path):
    """@alice's `approve --action` of an action that is not planned is refused and traced as refused; her
    approval typed into the pull record is not corroborated by that entry."""
    refused = cli("approve", ID, "--repo", opened, "--reviewer", "@alice", "--action", "scale_up_replicas_one")
    assert refused.code == 1 and "the plan's action is 'restart_pod'" in refused.err
    assert cli("check", "dry-run", ID, "--repo", opened).code == 0
    head = git(opened, "rev-parse", BRANCH).strip()
    _forge_review(opened, "@alice", head)
    err = _merge_refused(cli, opened)
    assert f"the sealed audit trace holds no code owner's approval of head {head[:12]}" in err


def test_a_blocked_dry_run_in_the_trace_is_not_a_success_whatever_the_check_note_says(cli, tmp_path: Path):
    """The dry-run blocked a smuggled manifest deletion at the base readiness judged; the check note is then
    rewritten to a success (a plain ref) and a code owner approves: the trace's BLOCK stands."""
    repo = make_repo(tmp_path / "gitops")
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    sha = smuggle_deletion(repo)
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 1
    notes = json.loads(git(repo, "notes", "--ref=refs/notes/incident-bot/checks", "show", sha))
    notes["dry-run"] = {**notes["dry-run"], "conclusion": "success", "title": "PASS"}
    git(repo, "notes", "--ref=refs/notes/incident-bot/checks", "add", "-f", "-m", json.dumps(notes), sha)
    assert cli("approve", ID, "--repo", repo, "--reviewer", "@alice").code == 0
    err = _merge_refused(cli, repo)
    assert f"the sealed audit trace holds no successful readiness and dry-run on head {sha[:12]}" in err
    assert "dry-run check has not succeeded" not in err  # the forged note is what the forge says

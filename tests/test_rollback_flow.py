"""`rollback` on a real temporary repository: the revert it writes, the pull request and trace entry that name
what it reverts, and the branches and traces it refuses (found by `make mutate-flows MODULES=rollback`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lifecycle_helpers import ID, git, make_repo, merged_seed
from test_merge_flow import entries
from test_seal import forge_commit

from bot.flows.trace import audit_path
from bot.model.ids import audit_branch
from bot.rules.audit import append, parse, serialize

ROLLBACK = f"rollback/{ID}"


@pytest.fixture
def merged(tmp_path: Path, cli) -> tuple[Path, str]:
    repo = make_repo(tmp_path / "gitops")
    return repo, merged_seed(cli, repo)


def test_the_rollback_names_the_merge_it_reverts_and_a_re_run_opens_nothing_new(cli, merged):
    repo, merge = merged
    run = cli("rollback", ID, "--repo", repo)
    assert run.code == 0 and run.out.startswith(f"ROLLBACK incident={ID} pull=#2"), run.err
    message = git(repo, "log", "-1", "--format=%B", ROLLBACK)
    assert message.startswith(f"Rollback {ID}: revert the deploy/ change of {merge[:12]}\n\n"
                              "- deploy/appointments-api/deployment.yaml\n\n")
    assert f"\nIncident-Id: {ID}\nPhase: rollback\nReverts: {merge}\n" in message
    assert "\nIncident-Bot-Seal: v1=" in message  # the bot's own commit: a re-run adopts it, a person's it refuses
    assert git(repo, "rev-parse", f"{ROLLBACK}~1").strip() == merge  # on main as it is, one commit
    body = json.loads(git(repo, "show", "refs/forge/pulls/2:pull.json"))["body"]
    assert f"Reverts the `deploy/` change merged in `{merge}` (#1)." in body
    own = ("event.json", "plan.md", "sources/grafana-9e80cf766a10.json", "sources/pagerduty-3c9130d364ab.json",
           "specify.md", "tasks.md")
    assert body.endswith("### Artifacts\n\n" + "".join(f"- [`incidents/{ID}/{f}`](incidents/{ID}/{f})\n" for f in own)
                         + "- [`deploy/appointments-api/deployment.yaml`](deploy/appointments-api/deployment.yaml)\n")
    [entry] = entries(repo, "rollback")
    head = git(repo, "rev-parse", ROLLBACK).strip()
    assert (entry.status, entry.evidence) == ("ok", {"commit": head, "pull": 2, "reverts": merge})
    record = json.loads(git(repo, "show", "refs/forge/pulls/2:pull.json"))
    assert (record["title"], record["labels"], record["branch"]) == (f"Rollback {ID}", ["rollback"], ROLLBACK)
    again = cli("rollback", ID, "--repo", repo)
    assert (again.code, again.out) == (0, run.out)
    assert git(repo, "rev-parse", ROLLBACK).strip() == head
    assert [e.seq for e in entries(repo, "rollback")] == [entry.seq]  # the open rollback is named, not re-recorded
    assert len(git(repo, "for-each-ref", "refs/forge/pulls/").splitlines()) == 2


def test_a_rollback_branch_without_commits_of_its_own_is_not_adopted(cli, merged):
    repo, _ = merged
    git(repo, "branch", ROLLBACK, "main")
    run = cli("rollback", ID, "--repo", repo)
    assert run.code == 1
    assert (f"rollback refused: {ROLLBACK} exists and holds commits the bot did not seal (none of its own):"
            " delete it and re-run") in run.err


def test_a_trace_that_fails_verification_records_no_merge_to_roll_back(cli, merged):
    repo, _ = merged
    path = audit_path(ID)
    entries_ = parse(git(repo, "show", f"{audit_branch(ID)}:{path}"), path)
    fake = append(entries_, ID, "validate", "ok", "2026-05-17T12:00:00Z", {"resolved": True})
    forge_commit(repo, audit_branch(ID), {path: serialize([*entries_, fake])},
                 f"audit {ID}: {fake.seq} validate ok\n\nIncident-Id: {ID}\nAudit-Hash: {fake.hash}\n")
    run = cli("rollback", ID, "--repo", repo)
    assert run.code == 1 and f"rollback refused: the sealed audit trace of {ID} records no merge" in run.err
    assert git(repo, "branch", "--list", ROLLBACK) == ""


def test_the_rollback_passes_its_gate_whole_and_a_re_run_after_its_merge_opens_nothing(cli, merged):
    """The rollback pull request's gate scores its own branch, rollback/<id>, as the branch point expects
    (25/25, nothing lost); once the revert is merged, `rollback` again is refused and opens no second one."""
    repo, _ = merged
    assert cli("rollback", ID, "--repo", repo).code == 0
    run = cli("check", "readiness", ID, "--repo", repo, "--rollback")
    assert (run.code, run.out.strip(), run.err) == (0, f"PASS incident={ID} score=25/25", "")
    for argv in (("check", "dry-run", ID), ("approve", ID, "--reviewer", "@bob"), ("merge", ID)):
        assert cli(*argv, "--repo", repo, "--rollback").code == 0
    reverted = git(repo, "rev-parse", "main").strip()
    pulls = git(repo, "for-each-ref", "refs/forge/pulls/")
    again = cli("rollback", ID, "--repo", repo)
    assert again.code == 1
    assert (f"rollback refused: the rollback of {ID} was merged (#2, as {reverted[:12]}): its deploy/ change is"
            " already reverted on main") in again.err
    git(repo, "branch", "-D", ROLLBACK)  # GitHub deletes a merged head branch when the repository says so
    assert "was merged (#2" in cli("rollback", ID, "--repo", repo).err
    assert git(repo, "for-each-ref", "refs/forge/pulls/") == pulls
    assert git(repo, "rev-parse", "main").strip() == reverted


def test_nothing_is_rolled_back_before_the_remediation_merged(cli, tmp_path: Path):
    from conftest import FIXTURES

    repo = make_repo(tmp_path / "gitops")
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    run = cli("rollback", ID, "--repo", repo)
    assert run.code == 1 and "the remediation has not been merged" in run.err
    assert git(repo, "branch", "--list", ROLLBACK) == ""
    assert len(git(repo, "for-each-ref", "refs/forge/pulls/").splitlines()) == 1


def test_a_prepared_rollback_branch_is_refused_naming_every_commit_the_bot_did_not_seal(cli, merged):
    repo, _ = merged
    git(repo, "branch", ROLLBACK, "main")
    first = forge_commit(repo, ROLLBACK, {"deploy/appointments-api/hpa.yaml": "# one\n"}, "one")
    second = forge_commit(repo, ROLLBACK, {"deploy/appointments-api/hpa.yaml": "# two\n"}, "two")
    run = cli("rollback", ID, "--repo", repo)
    assert run.code == 1
    assert (f"rollback refused: {ROLLBACK} exists and holds commits the bot did not seal ({first[:12]}, "
            f"{second[:12]}): delete it and re-run") in run.err
    assert git(repo, "rev-parse", ROLLBACK).strip() == second  # left as it was
    assert len(git(repo, "for-each-ref", "refs/forge/pulls/").splitlines()) == 1


def test_a_pull_record_typed_to_merged_without_a_merge_in_the_trace_rolls_nothing_back(cli, tmp_path: Path):
    """The pull record is a plain ref: written `merged` for an incident nobody merged, it passes the rollback's
    admission (the record is what the forge says), and the trace, which holds no merge, refuses."""
    from conftest import FIXTURES
    from test_merge_flow import forge_record

    repo = make_repo(tmp_path / "gitops")
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    assert cli("check", "readiness", ID, "--repo", repo).code == 0  # the trace is stored: it verifies
    forge_record(repo, state="merged", merge_sha=git(repo, "rev-parse", "main").strip())
    run = cli("rollback", ID, "--repo", repo)
    assert run.code == 1 and f"rollback refused: the sealed audit trace of {ID} records no merge" in run.err
    assert git(repo, "branch", "--list", ROLLBACK) == ""


def test_what_the_rollback_names_as_reverted_is_the_traces_merge_not_the_pull_records(cli, merged):
    """The pull record (a plain ref) rewritten to claim another merge commit: the revert, its `Reverts:` trailer,
    its description and its trace entry all name the merge the sealed trace recorded."""
    from test_merge_flow import forge_record

    repo, merge = merged
    claimed = git(repo, "rev-list", "--max-parents=0", "main").strip()  # the initial commit
    forge_record(repo, merge_sha=claimed)
    assert cli("rollback", ID, "--repo", repo).code == 0
    message = git(repo, "log", "-1", "--format=%B", ROLLBACK)
    assert f"Reverts: {merge}\n" in message and claimed not in message
    body = json.loads(git(repo, "show", "refs/forge/pulls/2:pull.json"))["body"]
    assert f"merged in `{merge}` (#1)" in body and claimed not in body
    assert entries(repo, "rollback")[-1].evidence["reverts"] == merge

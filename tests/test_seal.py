"""Issue 11: the bot's own commits are sealed; author names, trailers and plain refs are claims, not proof."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, make_repo

from bot.flows.trace import audit_path
from bot.model.ids import audit_branch, incident_dir
from bot.rules.audit import append, parse, serialize

BOT_ENV = {"GIT_AUTHOR_NAME": "incident-bot", "GIT_AUTHOR_EMAIL": "incident-bot@users.noreply.local",
           "GIT_COMMITTER_NAME": "incident-bot", "GIT_COMMITTER_EMAIL": "incident-bot@users.noreply.local"}


@pytest.fixture
def opened(tmp_path: Path, cli) -> Path:
    repo = make_repo(tmp_path / "gitops")
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json",
               "--pagerduty", FIXTURES / "webhook_pagerduty.json").code == 0
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    return repo


def forge_commit(repo: Path, branch: str, files: dict[str, str], message: str) -> str:
    """A commit that looks like the bot's (its author name, its trailers), written without its key."""
    head = git(repo, "rev-parse", branch).strip()
    index = repo.parent / "forged-index"
    env = {**os.environ, **BOT_ENV, "GIT_INDEX_FILE": str(index)}
    run = lambda *a, stdin=None: subprocess.run(  # noqa: E731
        ["git", "-C", str(repo), *a], input=stdin, capture_output=True, text=True, check=True, env=env).stdout
    run("read-tree", head)
    for path, text in files.items():
        blob = run("hash-object", "-w", "--stdin", stdin=text).strip()
        run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    tree = run("write-tree").strip()
    sha = run("commit-tree", tree, "-p", head, stdin=message).strip()
    git(repo, "update-ref", branch if branch.startswith("refs/") else f"refs/heads/{branch}", sha, head)
    index.unlink()
    return sha


def test_bot_commits_are_sealed_with_a_key_outside_git(cli, opened: Path):
    messages = git(opened, "log", "--format=%B%x00", f"main..{BRANCH}", f"main..{audit_branch(ID)}").split("\0")
    assert all("Incident-Bot-Seal: v1=" in m for m in messages if m.strip())
    key = opened / ".git" / "incident-bot" / "seal.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    for ref in (BRANCH, audit_branch(ID), "main"):
        assert "seal.key" not in git(opened, "ls-tree", "-r", "--name-only", ref)


def test_a_commit_typed_to_look_like_the_bots_is_a_human_commit(cli, tmp_path: Path):
    repo = make_repo(tmp_path / "gitops")
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    sha = forge_commit(repo, BRANCH, {f"{incident_dir(ID)}/specify.md": "# nothing to see\n"},
                       f"{ID}: specify\n\n- {incident_dir(ID)}/specify.md\n\nIncident-Id: {ID}\nPhase: specify\n")
    run = cli("audit", ID, "--repo", repo)
    assert f"commit {sha[:12]} has no audit entry" in run.out


def test_verify_of_a_deleted_trace_fails(cli, opened: Path):
    git(opened, "update-ref", "-d", f"refs/heads/{audit_branch(ID)}")
    run = cli("audit", "verify", ID, "--repo", opened)
    assert run.code == 1 and "no audit trace" in run.err


def test_verify_names_a_well_formed_entry_appended_without_the_seal(cli, opened: Path):
    path = audit_path(ID)
    entries = parse(git(opened, "show", f"{audit_branch(ID)}:{path}"), path)
    fake = append(entries, ID, "validate", "ok", "2026-05-17T12:00:00Z", {"resolved": True})
    sha = forge_commit(opened, audit_branch(ID), {path: serialize([*entries, fake])},
                       f"audit {ID}: {fake.seq} validate ok\n\nIncident-Id: {ID}\nAudit-Hash: {fake.hash}\n")
    run = cli("audit", "verify", ID, "--repo", opened)
    assert run.code == 1 and f"audit commit {sha[:12]} is not sealed" in run.err


def _forge_note_and_review(repo: Path) -> None:
    """Plain refs anyone with push access can write: a success note on the head and a review in the record."""
    head = git(repo, "rev-parse", BRANCH).strip()
    notes = json.loads(git(repo, "notes", "--ref=refs/notes/incident-bot/checks", "show", head))
    notes["dry-run"] = {**notes["readiness"], "name": "dry-run", "conclusion": "success", "title": "PASS"}
    git(repo, "notes", "--ref=refs/notes/incident-bot/checks", "add", "-f", "-m", json.dumps(notes), head)
    record = "refs/forge/pulls/1"
    pull = json.loads(git(repo, "show", f"{record}:pull.json"))
    pull["reviews"].append({"reviewer": "@alice", "sha": head, "state": "approved", "approves_action": None})
    sha = forge_commit(repo, record, {"pull.json": json.dumps(pull, indent=2, sort_keys=True) + "\n"},
                       "pull #1: open " + BRANCH)
    assert sha


def test_merge_refuses_a_forged_check_note_and_review(cli, opened: Path):
    main_before = git(opened, "rev-parse", "main")
    _forge_note_and_review(opened)
    run = cli("merge", ID, "--repo", opened)
    assert run.code == 1
    assert "the sealed audit trace holds no successful readiness and dry-run" in run.err
    assert "holds no code owner's approval" in run.err
    assert git(opened, "rev-parse", "main") == main_before


def test_merge_refuses_when_main_moved_since_the_checks(cli, opened: Path):
    assert cli("check", "dry-run", ID, "--repo", opened).code == 0
    assert cli("approve", ID, "--reviewer", "@alice", "--repo", opened).code == 0
    judged = git(opened, "rev-parse", "main").strip()
    git(opened, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-q", "--allow-empty",
        "-m", "unrelated change on main")
    moved = git(opened, "rev-parse", "main")
    run = cli("merge", ID, "--repo", opened)
    assert run.code == 1 and f"main moved since the checks ran on {judged[:12]}: re-run the checks" in run.err
    assert git(opened, "rev-parse", "main") == moved  # nothing merged


def test_a_team_never_approves(cli, opened: Path):
    assert cli("check", "dry-run", ID, "--repo", opened).code == 0
    run = cli("approve", ID, "--reviewer", "@acme/sre", "--repo", opened)
    assert run.code == 1 and "@acme/sre is a team" in run.err
    assert "no approval from a code owner" in cli("merge", ID, "--repo", opened).err


def test_rollback_refuses_to_adopt_a_prepared_branch(cli, opened: Path):
    for argv in (("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice"), ("merge", ID)):
        assert cli(*argv, "--repo", opened).code == 0
    git(opened, "branch", f"rollback/{ID}", "main")
    sha = forge_commit(opened, f"rollback/{ID}", {"deploy/appointments-api/deployment.yaml": "image: evil\n"},
                       f"Rollback {ID}\n\nIncident-Id: {ID}\nPhase: rollback\nReverts: {'0' * 40}\n")
    run = cli("rollback", ID, "--repo", opened)
    assert run.code == 1 and f"rollback/{ID} exists" in run.err and sha[:12] in run.err


def thinner_spec(repo: Path) -> None:
    """A spec without constraints and acceptance criteria: the seed scores 22/25, semi-manual."""
    spec = repo / "specs/high_memory_usage/specify.md"
    spec.write_text(spec.read_text().split("## Constraints")[0])
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "a thinner spec")


@pytest.fixture
def semi(tmp_path: Path, cli) -> Path:
    repo = make_repo(tmp_path / "gitops")
    thinner_spec(repo)
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json",
               "--pagerduty", FIXTURES / "webhook_pagerduty.json").code == 0
    assert cli("check", "readiness", ID, "--repo", repo).code == 3
    return repo


def test_a_semi_manual_readiness_reposted_as_a_success_after_the_approval_merges(cli, semi: Path):
    """The GitHub flow (README, readiness.yml): after `approve --action`, readiness is posted again, now a success
    naming the approval, because branch protection counts no `action_required`; merge must accept that head."""
    assert cli("approve", ID, "--repo", semi, "--reviewer", "@bob", "--action", "restart_pod").code == 0
    run = cli("check", "readiness", ID, "--repo", semi)
    assert run.out.strip().endswith("action approved by @bob"), run.out
    assert cli("check", "dry-run", ID, "--repo", semi).code == 0
    run = cli("merge", ID, "--repo", semi)
    assert run.code == 0, run.err


def type_action_approval(cli, repo: Path) -> str:
    """@bob's plain approval, traced; then his approval of the action typed into the pull record (plain refs)
    without `approve --action`. The head it claims to approve."""
    assert cli("approve", ID, "--repo", repo, "--reviewer", "@bob").code == 0
    head = git(repo, "rev-parse", BRANCH).strip()
    record = "refs/forge/pulls/1"
    pull = json.loads(git(repo, "show", f"{record}:pull.json"))
    pull["reviews"].append({"reviewer": "@bob", "sha": head, "state": "approved", "approves_action": "restart_pod"})
    forge_commit(repo, record, {"pull.json": json.dumps(pull, indent=2, sort_keys=True) + "\n"}, "pull #1: review")
    return head


def test_merge_refuses_an_action_approval_only_the_pull_record_holds(cli, semi: Path):
    """A plain approval is traced; the approval of the action is then typed into the pull record (plain refs)."""
    type_action_approval(cli, semi)
    cli("check", "dry-run", ID, "--repo", semi)  # the dry-run reads the forge's reviews; the merge corroborates
    main_before = git(semi, "rev-parse", "main")
    run = cli("merge", ID, "--repo", semi)
    assert run.code == 1
    assert "the sealed audit trace holds no code owner's approval of the action 'restart_pod'" in run.err
    assert git(semi, "rev-parse", "main") == main_before


def test_no_check_is_posted_on_a_trace_that_ends_in_an_unsealed_entry(cli, opened: Path):
    """A well-formed entry appended without the seal (correct hash chain and Audit-Hash trailer): the bot
    would neither record the check in that trace nor seal the foreign entry into its history."""
    path = audit_path(ID)
    entries = parse(git(opened, "show", f"{audit_branch(ID)}:{path}"), path)
    fake = append(entries, ID, "review", "ok", "2026-05-17T12:00:00Z", {"reviewer": "@alice"})
    sha = forge_commit(opened, audit_branch(ID), {path: serialize([*entries, fake])},
                       f"audit {ID}: {fake.seq} review ok\n\nIncident-Id: {ID}\nAudit-Hash: {fake.hash}\n")
    notes_before = git(opened, "for-each-ref", "refs/notes/")
    run = cli("check", "readiness", ID, "--repo", opened)
    # refused before the check is posted: a success on the forge the trace could not record would count there
    assert run.code == 1 and f"ends in commit {sha[:12]}, which incident-bot did not seal" in run.err, run.err
    assert git(opened, "for-each-ref", "refs/notes/") == notes_before
    assert cli("check", "dry-run", ID, "--repo", opened).code == 1
    assert git(opened, "for-each-ref", "refs/notes/") == notes_before


def test_readiness_is_not_posted_as_a_success_for_an_action_approval_only_the_pull_record_holds(cli, semi: Path):
    """The semi-manual gate becomes a success only for an approval `approve --action` recorded in the trace."""
    head = type_action_approval(cli, semi)
    run = cli("check", "readiness", ID, "--repo", semi)
    assert (run.code, run.out.strip()) == (3, f"SEMI-MANUAL incident={ID} score=22/25"), (run.out, run.err)
    notes = json.loads(git(semi, "notes", "--ref=refs/notes/incident-bot/checks", "show", head))
    assert notes["readiness"]["conclusion"] == "action_required"

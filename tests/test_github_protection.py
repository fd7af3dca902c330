"""Branch protection as `incident-bot protect` applies it, against the GitHub fake, which merges (or refuses) the
way GitHub does under that protection: every pull request into main needs `readiness`, `dry-run` and `make test`,
each from the App the policy pins it to, and a code owner's approval.

GitHub's rules encoded here:
- a required check passes with a `success`, `neutral` or `skipped` conclusion ("required status checks must have
  a successful, skipped, or neutral status",
  https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-protected-branches/about-protected-branches#require-status-checks-before-merging);
- `checks[].app_id` makes GitHub count a required check only from that App; the deprecated `contexts` (or no
  app_id) counts it from any source
  (https://docs.github.com/en/rest/branches/branch-protection#update-branch-protection);
- every check run created with a workflow's GITHUB_TOKEN comes from the GitHub Actions app (id 15368), whichever
  workflow, on whichever branch, created it
  (https://docs.github.com/en/actions/security-for-github-actions/security-guides/automatic-token-authentication).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES
from github import GithubException

from bot.forge.github import GitHubForge
from tests.github_helpers import BRANCH, ID, checkout_of, cli_runner, fast_settings, seed_files
from tests.githubfake import REVIEWER_TOKEN, GitHubFake
from tests.githubfake.auth import ALL_WRITE, BOT_PERMISSIONS
from tests.githubfake.state import app_id

pytest_plugins = ["tests.githubfake.fixture"]

BOB_TOKEN = "ghp_fakeBobToken0000000000000000000000"
ACTIONS_TOKEN = "ghs_fakeActionsGithubToken00000000000"  # a workflow's GITHUB_TOKEN: posts as GitHub Actions
APP = app_id("incident-bot")  # the App whose installation token BOT_TOKEN is
ACTIONS = 15368


@pytest.fixture
def github_seed_files() -> dict[str, str | bytes]:
    return seed_files()


@pytest.fixture(autouse=True)
def seal_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_BOT_SEAL_KEY", "a-test-seal-key-kept-outside-git")


@pytest.fixture
def server(github_server: GitHubFake) -> GitHubFake:
    github_server.repo().teams.add("sre")
    github_server.add_token(BOB_TOKEN, "bob", ALL_WRITE, user_type="User")
    github_server.add_token(ACTIONS_TOKEN, "github-actions[bot]", BOT_PERMISSIONS)
    return github_server


@pytest.fixture
def checkout(server: GitHubFake, tmp_path: Path) -> Path:
    return checkout_of(server, tmp_path / "checkout")


@pytest.fixture
def run(cli, server: GitHubFake, checkout: Path, monkeypatch: pytest.MonkeyPatch):
    return cli_runner(cli, server, checkout, monkeypatch)


def post(server: GitHubFake, token: str, sha: str, name: str, conclusion: str) -> None:
    with GitHubForge(fast_settings(server, token), None) as forge:
        forge.record_check(sha, name, conclusion, conclusion, f"{name}: {conclusion}")


def merge_refusal(github_client, number: int, token: str = REVIEWER_TOKEN) -> str | None:
    """GitHub's answer to merging pull request `number` in the UI or API: None when it merged."""
    pull = github_client(token=token).get_repo("acme/gitops").get_pull(number)
    try:
        pull.merge(merge_method="merge")
    except GithubException as exc:
        return str((exc.data or {}).get("message") if isinstance(exc.data, dict) else exc)
    return None


def persons_pull(server: GitHubFake, github_client, branch: str = "feature/faster-probes") -> tuple[int, str]:
    """A person's change on a branch of their own, opened as a pull request (no incident)."""
    server.repo().set_ref(f"refs/heads/{branch}", str(server.ref_sha("main")))
    head = server.push(branch, {"policies/emergency_stop.yaml": 'engaged: false\nreason: ""\n# reviewed\n'},
                       "Document the emergency stop")
    pull = github_client(token=REVIEWER_TOKEN).get_repo("acme/gitops").create_pull(
        title="Document the emergency stop", body="", head=branch, base="main")
    return pull.number, head


def approve(github_client, number: int, sha: str, token: str = BOB_TOKEN) -> None:
    pull = github_client(token=token).get_repo("acme/gitops").get_pull(number)
    pull.create_review(commit=pull.base.repo.get_commit(sha), event="APPROVE", body="lgtm")


# ------------------------------------------------------------------ protect and --check


def test_protect_pins_each_check_to_its_app_and_check_names_the_app_drift(run, server: GitHubFake) -> None:
    assert run("protect", "--check").code == 1
    denied = run("protect")  # the bot's token reads protection but may not change it
    assert denied.code == 1 and "administration=write" in denied.err
    done = run("protect", token=REVIEWER_TOKEN, INCIDENT_BOT_APP_ID=str(APP))
    assert done.out.strip() == (f"PROTECTED branch=main checks=dry-run@{APP},make test@any,"
                                f"readiness@{APP} approvals=1"), done.err
    body = next(e.body for e in done.requests if e.operation_id == "repos/update-branch-protection")
    assert "contexts" not in body["required_status_checks"]  # deprecated: it pins no source
    assert body["required_status_checks"]["checks"] == [
        {"context": "dry-run", "app_id": APP}, {"context": "make test", "app_id": -1},
        {"context": "readiness", "app_id": APP}]
    assert body["required_pull_request_reviews"]["require_last_push_approval"] is True
    clean = run("protect", "--check", INCIDENT_BOT_APP_ID=str(APP))
    assert (clean.code, clean.out.split(":")[0]) == (0, "NO DRIFT branch=main"), clean.err

    # the same names required from any source (the old `contexts`), or from GitHub Actions, is drift
    assert run("protect", "--check").code == 1  # no App id: the policy wants GitHub Actions for the gate
    server.protect("main", ("readiness", "dry-run", "make test"), approvals=2)
    drifted = run("protect", "--check", INCIDENT_BOT_APP_ID=str(APP))
    assert drifted.code == 1 and drifted.out.startswith("DRIFT branch=main")
    assert (f"required_status_checks.checks: policy [dry-run@{APP}, make test@any, readiness@{APP}], "
            "live [dry-run@any, make test@any, readiness@any]") in drifted.err
    assert "required_approving_review_count: policy 1, live 2" in drifted.err
    assert "require_last_push_approval: policy True, live False" in drifted.err


def test_without_an_app_id_the_gate_is_pinned_to_github_actions_and_protect_says_what_that_trusts(run) -> None:
    done = run("protect", token=REVIEWER_TOKEN)
    assert done.code == 0 and f"readiness@{ACTIONS}" in done.out
    assert "pinned to GitHub Actions, which every workflow's GITHUB_TOKEN posts as" in done.err
    assert run("protect", "--app-id", "incident-bot", token=REVIEWER_TOKEN).code == 2  # a number, or nothing


# ------------------------------------------------------------------ blocking 2: a person's pull request merges


def test_a_persons_pull_request_merges_with_a_code_owner_review_and_ci(
        run, server: GitHubFake, github_client) -> None:
    """Before: `readiness` and `dry-run` were required and never posted on such a pull request, so it waited
    forever (admins too). Now the judge posts them `neutral` and the change is held by review and CI."""
    assert run("protect", token=REVIEWER_TOKEN, INCIDENT_BOT_APP_ID=str(APP)).code == 0
    number, head = persons_pull(server, github_client)
    approve(github_client, number, head)
    post(server, ACTIONS_TOKEN, head, "make test", "success")  # ci.yml's job
    assert merge_refusal(github_client, number) == 'Required status check "dry-run" is expected.'

    judged = run("check", "other-pull", "--branch", "feature/faster-probes", "--sha", head)
    assert judged.code == 0 and judged.out.startswith("NOT APPLICABLE branch=feature/faster-probes"), judged.err
    assert {(c.name, c.conclusion, c.app_slug) for c in server.check_runs if c.head_sha == head} == {
        ("readiness", "neutral", "incident-bot"), ("dry-run", "neutral", "incident-bot"),
        ("make test", "success", "github-actions")}
    assert merge_refusal(github_client, number) is None
    assert server.pulls[-1].merged


def test_ci_is_required_of_a_persons_pull_request(run, server: GitHubFake, github_client) -> None:
    assert run("protect", token=REVIEWER_TOKEN, INCIDENT_BOT_APP_ID=str(APP)).code == 0
    number, head = persons_pull(server, github_client)
    approve(github_client, number, head)
    assert run("check", "other-pull", "--branch", "feature/faster-probes", "--sha", head).code == 0
    assert merge_refusal(github_client, number) == 'Required status check "make test" is expected.'
    post(server, ACTIONS_TOKEN, head, "make test", "failure")
    assert merge_refusal(github_client, number) == 'Required status check "make test" is failing.'


def test_not_applicable_is_never_posted_on_an_incident_branch_or_its_head(
        run, server: GitHubFake, checkout: Path, github_client) -> None:
    assert run("open", "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    incident_head = server.ref_sha(BRANCH)
    assert incident_head is not None
    named = run("check", "other-pull", "--branch", BRANCH, "--sha", incident_head)
    assert named.code == 1 and "the gate judges it" in named.err
    # the same commit pushed under another name, or a fork's branch named like an incident: refused, not posted
    server.repo().set_ref("refs/heads/copy", incident_head)
    for argv in (("--branch", "copy"), ("--branch", BRANCH, "--fork")):
        refused = run("check", "other-pull", *argv, "--sha", incident_head)
        assert refused.code == 1 and f"also the head of {BRANCH}" in refused.err
    assert not [c for c in server.check_runs if c.head_sha == incident_head]
    assert run("check", "other-pull", "--branch", "copy", "--sha", "HEAD").code == 2


# ------------------------------------------------------------------ high 3: the gate cannot be posted by any workflow


def test_a_readiness_posted_by_a_workflow_does_not_open_the_gate_pinned_to_the_app(
        run, server: GitHubFake, checkout: Path, github_client) -> None:
    """Any workflow with `checks: write`, on any branch, posts as GitHub Actions. With the gate pinned to the
    incident-bot App, such a `readiness: success` is as good as none; only the App's own check counts."""
    assert run("protect", token=REVIEWER_TOKEN, INCIDENT_BOT_APP_ID=str(APP)).code == 0
    assert run("open", "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    head = server.ref_sha(BRANCH)
    assert head is not None
    for name in ("readiness", "dry-run", "make test"):
        post(server, ACTIONS_TOKEN, head, name, "success")  # a pull request's own modified workflow
    approve(github_client, 1, head)
    assert merge_refusal(github_client, 1) == 'Required status check "dry-run" is expected.'
    # the bot itself ignores them too when told which App judges (INCIDENT_BOT_CHECK_APP, here by id)
    refused = run("check", "dry-run", ID, INCIDENT_BOT_CHECK_APP=str(APP))
    assert refused.code == 1 and "readiness check has not succeeded" in refused.err
    assert run("check", "readiness", ID, INCIDENT_BOT_CHECK_APP=str(APP)).code == 0
    assert run("check", "dry-run", ID, INCIDENT_BOT_CHECK_APP=str(APP)).code == 0
    approve(github_client, 1, head)
    assert merge_refusal(github_client, 1) is None


def test_plain_token_an_incident_merges_with_the_gate_and_the_skipped_tests_posted_by_dry_run(
        run, server: GitHubFake, checkout: Path, github_client) -> None:
    """With the plain GITHUB_TOKEN GitHub starts no workflow for the bot's pull request, so CI never reports
    `make test` there: the passed dry-run posts it `skipped` (any source counts for `make test`)."""
    assert run("protect", token=REVIEWER_TOKEN).code == 0
    opened = run("open", "--grafana", FIXTURES / "webhook_grafana.json", token=ACTIONS_TOKEN)
    assert opened.code == 0, opened.err
    assert run("check", "readiness", ID, token=ACTIONS_TOKEN).code == 0
    head = server.ref_sha(BRANCH)
    assert head is not None
    approve(github_client, 1, head)
    assert merge_refusal(github_client, 1) == 'Required status check "dry-run" is expected.'
    dry = run("check", "dry-run", ID, token=ACTIONS_TOKEN)
    assert dry.code == 0, dry.err
    assert {(c.name, c.conclusion) for c in server.check_runs if c.head_sha == head} == {
        ("readiness", "success"), ("dry-run", "success"), ("make test", "skipped")}
    assert merge_refusal(github_client, 1) is None


def test_a_blocked_dry_run_posts_no_tests_check(run, server: GitHubFake) -> None:
    """`make test: skipped` stands for "dry-run proved the change"; a dry-run that blocks (here: the emergency
    stop was engaged on main after the gate passed) proves nothing, and `make test` is not posted."""
    assert run("open", "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    assert run("check", "readiness", ID).code == 0
    server.push("main", {"policies/emergency_stop.yaml": 'engaged: true\nreason: "drill"\n'}, "engage the stop")
    # main moved: the checks judge only a head that contains it (issue 11), so the branch is refreshed first
    assert run("refresh", ID).code == 0
    assert run("check", "readiness", ID).code == 0
    head = server.ref_sha(BRANCH)
    result = run("check", "dry-run", ID)
    assert result.code == 1 and "emergency stop engaged" in result.out + result.err
    assert {c.name: c.conclusion for c in server.check_runs if c.head_sha == head} == {
        "readiness": "success", "dry-run": "failure"}

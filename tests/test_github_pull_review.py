"""On GitHub the incident pull request's description carries the rubric and the chain too (issue 15), and it is
written (PATCH /repos/{owner}/{repo}/pulls/{n}) only when its text changed: a command whose record changes nothing
the review shows makes no write."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES

from bot.render.report import REVIEW_START
from tests.github_helpers import ID, checkout_of, cli_runner, seed_files
from tests.githubfake import GitHubFake
from tests.githubfake.auth import ALL_WRITE

pytest_plugins = ["tests.githubfake.fixture"]


@pytest.fixture
def github_seed_files() -> dict[str, str | bytes]:
    return seed_files()


@pytest.fixture
def run(cli, github_server: GitHubFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    github_server.repo().teams.add("sre")  # CODEOWNERS names @acme/sre, @alice and @bob
    github_server.add_token("ghp_fakeBobToken0000000000000000000000", "bob", ALL_WRITE, user_type="User")
    monkeypatch.setenv("INCIDENT_BOT_SEAL_KEY", "a-test-seal-key-kept-outside-git")
    return cli_runner(cli, github_server, checkout_of(github_server, tmp_path / "checkout"), monkeypatch)


def patches(result) -> int:
    return sum(1 for e in result.requests if e.operation_id == "pulls/update")


def test_the_description_shows_the_rubric_and_is_written_only_when_it_changed(run, github_server: GitHubFake):
    assert run("open", "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    assert "Shown here once the head's checks have run" in github_server.pulls[0].body

    first = run("check", "dry-run", ID)  # refused: no readiness on the head; the chain breaks before readiness
    assert first.code == 1 and patches(first) == 1
    assert 'commit -.-x|"BLOCK: ' in github_server.pulls[0].body
    again = run("check", "dry-run", ID)  # the same refusal: the same description, no write
    assert again.code == 1 and patches(again) == 0

    ready = run("check", "readiness", ID)  # passed: the dry-run on this head follows and writes the section
    assert ready.code == 0 and patches(ready) == 0
    dry = run("check", "dry-run", ID)
    assert dry.code == 0 and patches(dry) == 1
    body = github_server.pulls[0].body
    assert body.count(REVIEW_START) == 1 and "| Total | 25/25 | Blocking: none | What to change: none |" in body
    assert "commit --> readiness" in body and "readiness --> dry_run" in body

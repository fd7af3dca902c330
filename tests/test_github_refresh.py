"""`refresh` on the GitHub forge, through the CLI against the GitHub fake: with "require branches to be up to
date" (the protection `incident-bot protect` applies), the second of two incident pull requests on one file cannot
merge after the first until refresh rebuilt it on main; a branch a person pushed to is never rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from lifecycle_helpers import grafana_payload, write_json
from test_refresh import MANIFEST, SECOND, WORKER

from tests.github_helpers import ID, checkout_of, cli_runner, seed_files
from tests.githubfake import BOT_TOKEN, REVIEWER_TOKEN, GitHubFake
from tests.githubfake.auth import ALL_WRITE
from tests.githubfake.state import app_id

pytest_plugins = ["tests.githubfake.fixture"]


@pytest.fixture
def github_seed_files() -> dict[str, str | bytes]:
    files = seed_files()
    files[MANIFEST] = bytes(files[MANIFEST]) + WORKER.encode() if isinstance(files[MANIFEST], bytes) \
        else str(files[MANIFEST]) + WORKER
    return files


@pytest.fixture
def server(github_server: GitHubFake) -> GitHubFake:
    github_server.repo().teams.add("sre")  # CODEOWNERS names @acme/sre, @alice and @bob
    github_server.add_token("ghp_fakeBobToken0000000000000000000000", "bob", ALL_WRITE, user_type="User")
    return github_server


@pytest.fixture
def run(cli, server: GitHubFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    return cli_runner(cli, server, checkout_of(server, tmp_path / "checkout"), monkeypatch)


def open_alert(run, tmp_path: Path, name: str, **labels: str) -> str:
    result = run("open", "--grafana", write_json(tmp_path / f"{name}.json", grafana_payload(**labels)))
    assert result.code == 0, result.err
    return str(result.out.strip())


def judge(run, incident_id: str) -> None:
    for argv, token in ((("check", "readiness", incident_id), BOT_TOKEN), (("check", "dry-run", incident_id), BOT_TOKEN),
                        (("approve", incident_id, "--reviewer", "@alice"), REVIEWER_TOKEN)):
        extra = {"INCIDENT_BOT_IDENTITY": "incident-bot[bot]"} if token == REVIEWER_TOKEN else {}
        result = run(*argv, token=token, **extra)
        assert result.code == 0, (argv, result.out, result.err)


def test_refresh_on_github_lets_the_second_pull_request_merge_after_the_first(run, server: GitHubFake,
                                                                             tmp_path: Path) -> None:
    # strict: branches must be up to date; the gate pinned to the App whose token the bot has
    assert run("protect", token=REVIEWER_TOKEN, INCIDENT_BOT_APP_ID=str(app_id("incident-bot"))).code == 0
    assert open_alert(run, tmp_path, "api") == f"OPENED incident={ID} pull=#1"
    assert open_alert(run, tmp_path, "worker", pod="worker-5c9", service="appointments-worker") \
        == f"OPENED incident={SECOND} pull=#2"
    judge(run, ID)
    judge(run, SECOND)
    assert run("merge", ID).code == 0

    refused = run("merge", SECOND)  # green on its head, which is behind main now
    assert refused.code == 1, refused.out

    old = server.ref_sha(f"incident/{SECOND}")
    done = run("refresh", "--all")
    assert done.code == 0, done.err
    assert f"REFRESHED incident={SECOND} pull=#2" in done.out
    moves = [e.body for e in done.requests if e.operation_id == "git/update-ref" and "/heads/incident/" in e.path]
    # a fast-forward to a bridge holding the old head (the compare-and-swap), then the forced move off it
    assert [m["force"] for m in moves] == [False, True]
    new = server.ref_sha(f"incident/{SECOND}")
    assert server.repo().git.is_ancestor(server.ref_sha("main"), new) and not server.repo().git.is_ancestor(old, new)

    judge(run, SECOND)
    assert run("merge", SECOND).code == 0
    text = server.file_at("main", MANIFEST)
    assert text is not None and f'restarted-by: "{ID}"' in text and f'restarted-by: "{SECOND}"' in text
    assert run("audit", "verify", SECOND).code == 0


def test_a_branch_a_person_pushed_to_is_labelled_and_refresh_exits_1(run, server: GitHubFake, tmp_path: Path) -> None:
    open_alert(run, tmp_path, "api")
    theirs = server.push(f"incident/{ID}", {f"incidents/{ID}/notes.md": "from the logs\n"}, "notes")
    server.push("main", {"NOTES.md": "main moved\n"})
    done = run("refresh", ID)
    assert done.code == 1 and done.out.startswith(f"NEEDS-HUMAN incident={ID} pull=#1 (commit {theirs[:12]} by ")
    assert server.ref_sha(f"incident/{ID}") == theirs
    assert "needs-human" in server.pulls[0].labels

"""The GitHub forge, end to end: the real PyGithub code against the local GitHub fake, which checks every
request and response against GitHub's OpenAPI description (the fixture fails a test on any violation).

The fake's `main` holds this repository's desired state; the forge gets a local checkout of the very same
commit, so reads of the default branch cost no request (as in Actions, after `actions/checkout`)."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES
from lifecycle_helpers import alertmanager_group, grafana_group, write_json

from bot.errors import ForgeError, InputError, RuleRefusal
from bot.flows.opening import open_incidents
from bot.flows.workspace import Workspace
from bot.forge.base import RefConflict, Review
from bot.forge.github import GitHubForge, fit_summary, settings_from_env
from tests.github_helpers import BRANCH, ID, checkout_of, cli_runner, fast_settings, seed_files
from tests.githubfake import BOT_TOKEN, REVIEWER_TOKEN, GitHubFake, faults
from tests.githubfake.auth import ALL_WRITE, BOT_PERMISSIONS
from tests.githubfake.state import app_id

pytest_plugins = ["tests.githubfake.fixture"]

BOB_TOKEN = "ghp_fakeBobToken0000000000000000000000"
NO_CHECKS_TOKEN = "ghs_fakeNoChecksToken000000000000000"
GRAFANA, PAGERDUTY = FIXTURES / "webhook_grafana.json", FIXTURES / "webhook_pagerduty.json"


@pytest.fixture
def github_seed_files() -> dict[str, str | bytes]:
    return seed_files()


@pytest.fixture(autouse=True)
def seal_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository secret every workflow step that runs the bot passes it."""
    monkeypatch.setenv("INCIDENT_BOT_SEAL_KEY", "a-test-seal-key-kept-outside-git")


@pytest.fixture
def server(github_server: GitHubFake) -> GitHubFake:
    github_server.repo().teams.add("sre")  # CODEOWNERS names @acme/sre, @alice and @bob
    github_server.add_token(BOB_TOKEN, "bob", ALL_WRITE, user_type="User")
    return github_server


@pytest.fixture
def checkout(server: GitHubFake, tmp_path: Path) -> Path:
    return checkout_of(server, tmp_path / "checkout")


@pytest.fixture
def run(cli, server: GitHubFake, checkout: Path, monkeypatch: pytest.MonkeyPatch):
    """The CLI with the environment of a workflow step; each result also lists the requests it made."""
    return cli_runner(cli, server, checkout, monkeypatch, secrets_stay_out=True)


def forge(server: GitHubFake, checkout: Path | None, token: str = BOT_TOKEN, **overrides: Any) -> GitHubForge:
    return GitHubForge(fast_settings(server, token, **overrides), checkout)


def payloads(*paths: Path) -> dict[str, tuple[Any, str]]:
    return {p.name.split("_")[1].split(".")[0]: (json.loads(p.read_text()), str(p)) for p in paths}


def open_with(server: GitHubFake, checkout: Path, *paths: Path) -> list[str]:
    with forge(server, checkout) as f:
        return [r.line() for r in open_incidents(Workspace(f), payloads(*paths))]


def branches(server: GitHubFake) -> list[str]:
    return sorted(ref for ref in server.repo().refs if ref.startswith("refs/heads/incident/"))


# ------------------------------------------------------------------ the seed scenario


def test_seed_scenario_through_the_cli(run, server: GitHubFake) -> None:
    # an admin applies the policy, the gate pinned to the App whose token the bot has: GitHub enforces it too
    assert run("protect", token=REVIEWER_TOKEN, INCIDENT_BOT_APP_ID=str(app_id("incident-bot"))).code == 0
    opened = run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY)
    assert (opened.code, opened.out.strip()) == (0, f"OPENED incident={ID} pull=#1"), opened.err
    assert len(opened.requests) <= 16
    main = server.ref_sha("main")
    assert not [e for e in opened.requests if e.method == "GET" and e.operation_id != "git/list-matching-refs"]
    trees = [e.body for e in opened.requests if e.operation_id == "git/create-tree"]
    assert len(trees) == 5 and all(t["base_tree"] and all("content" in x for x in t["tree"]) for t in trees)
    assert [e.operation_id for e in opened.requests].count("git/create-ref") == 1  # one ref write, at the end
    pull = server.pulls[0]
    assert pull.head_ref == BRANCH and sorted(pull.labels) == ["incident:high_memory_usage", "severity:critical"]
    assert (pull.requested_reviewers, pull.requested_teams) == (["alice", "bob"], ["sre"])  # never the bot
    phases = [server.repo().commit(c).message.split("Phase: ")[1].splitlines()[0]
              for c in server.repo().git.commits_between(main, server.ref_sha(BRANCH))]
    assert phases == ["received", "specify", "plan", "tasks", "implement"]

    refused = run("check", "dry-run", ID)
    assert refused.code == 1 and "readiness check has not succeeded" in refused.err
    ready = run("check", "readiness", ID)
    assert (ready.code, ready.out.strip()) == (0, f"PASS incident={ID} score=25/25"), ready.err
    assert [e.operation_id for e in ready.requests].count("checks/create") == 1
    dry = run("check", "dry-run", ID)
    assert dry.code == 0 and dry.out.startswith("PASS action=restart_pod"), dry.err
    # reviews can only add an approval of the action (a semi-manual gate): after a PASS they are not read
    assert "pulls/list-reviews" not in [e.operation_id for e in dry.requests]
    head = server.ref_sha(BRANCH)
    assert {(c.name, c.conclusion) for c in server.check_runs if c.head_sha == head} == {
        ("readiness", "success"), ("dry-run", "success"), ("make test", "skipped")}

    own = run("approve", ID, "--reviewer", "@alice")  # the bot's token: GitHub refuses its own approval
    assert own.code == 1 and "a code owner approves with their own token" in own.err
    approved = run("approve", ID, "--reviewer", "@alice", token=REVIEWER_TOKEN,
                   INCIDENT_BOT_IDENTITY="incident-bot[bot]")
    assert approved.code == 0 and "reviewer=@alice" in approved.out, approved.err
    merged = run("merge", ID)
    assert merged.code == 0, merged.err
    assert server.pulls[0].merged and "Incident-Id: HM-2026-05-17-01" in server.repo().commit(
        server.ref_sha("main")).message
    assert 'incident-bot.dev/restarted-by: "HM-2026-05-17-01"' in server.file_at(
        "main", "deploy/appointments-api/deployment.yaml")

    assert run("audit", "verify", ID).code == 0
    audit = run("audit", ID)
    assert "audit_trace_coverage=1" in audit.out and "integrity: intact" in audit.out
    assert "-> review -> merge" in audit.out
    assert run("replay", ID).code == 0


def test_a_duplicate_webhook_costs_four_requests_and_changes_nothing(run, server: GitHubFake) -> None:
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    head = server.ref_sha(BRANCH)
    again = run("open", "--pagerduty", PAGERDUTY, "--grafana", GRAFANA)
    assert again.out.strip() == f"DUPLICATE incident={ID} pull=#1"
    # the branches, the incident's tree and event.json (which workload it targets), its pull request
    assert len(again.requests) <= 4 and all(e.method == "GET" for e in again.requests)
    assert server.ref_sha(BRANCH) == head and len(server.pulls) == 1


@pytest.mark.parametrize("deliveries", [(GRAFANA, GRAFANA), (GRAFANA, PAGERDUTY)], ids=["same", "two-sources"])
def test_two_racing_opens_end_with_one_branch_and_one_pull_request(
        server: GitHubFake, tmp_path: Path, deliveries: tuple[Path, Path]) -> None:
    start, results, errors = threading.Barrier(2), {}, []

    def racer(n: int) -> None:
        with forge(server, checkout_of(server, tmp_path / f"runner{n}")) as f:
            start.wait()
            try:
                results[n] = [r.line() for r in open_incidents(Workspace(f), payloads(deliveries[n]))]
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=racer, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert branches(server) == [f"refs/heads/{BRANCH}"] and len(server.pulls) == 1
    assert all(f"incident={ID} pull=#1" in lines[0] for lines in results.values()), results
    event = json.loads(server.file_at(BRANCH, f"incidents/{ID}/event.json"))
    assert sorted(event["source_refs"]) == sorted({p.name.split("_")[1].split(".")[0] for p in deliveries})


# ------------------------------------------------------------------ transient faults and refusals


def test_a_502_is_retried(server: GitHubFake, checkout: Path) -> None:
    fault = server.inject("POST", r"/git/trees$", **faults.server_error(502))
    assert open_with(server, checkout, GRAFANA) == [f"OPENED incident={ID} pull=#1"]
    assert fault.hits == 1 and len(server.pulls) == 1


def test_a_secondary_rate_limit_waits_for_retry_after(server: GitHubFake, checkout: Path) -> None:
    fault = server.inject("POST", r"/pulls$", **faults.secondary_rate_limit(retry_after=1))
    began = time.monotonic()
    assert open_with(server, checkout, GRAFANA) == [f"OPENED incident={ID} pull=#1"]
    assert fault.hits == 1 and time.monotonic() - began >= 1.0


def test_a_primary_rate_limit_waits_for_the_reset(server: GitHubFake, checkout: Path) -> None:
    fault = server.inject("GET", r"/git/matching-refs/", **faults.primary_rate_limit(reset_in=1))
    began = time.monotonic()
    assert open_with(server, checkout, GRAFANA) == [f"OPENED incident={ID} pull=#1"]
    assert fault.hits == 1 and time.monotonic() - began >= 1.0


def test_after_the_retry_budget_a_clear_error_and_a_rerun_converges(server: GitHubFake, checkout: Path) -> None:
    server.inject("POST", r"/git/commits$", times=5, **faults.server_error(502))
    with pytest.raises(ForgeError) as raised:
        open_with(server, checkout, GRAFANA)
    message = str(raised.value)
    assert message.startswith("GitHub API: 502 on POST /git/commits after 5 attempts")
    assert "re-run to finish" in message and BOT_TOKEN not in message
    assert branches(server) == [] and server.pulls == []  # nothing half-done: no ref was written
    assert open_with(server, checkout, GRAFANA) == [f"OPENED incident={ID} pull=#1"]


@pytest.mark.parametrize("method, path", [("GET", r"/git/matching-refs/"), ("POST", r"/git/trees$"),
                                          ("POST", r"/git/commits$"), ("POST", r"/git/refs$"), ("POST", r"/pulls$")])
def test_a_rerun_after_a_crash_at_any_step_converges(server: GitHubFake, checkout: Path, method: str, path: str
                                                     ) -> None:
    server.inject(method, path, times=5, **faults.server_error(503))
    with pytest.raises(ForgeError, match="after 5 attempts"):
        open_with(server, checkout, GRAFANA, PAGERDUTY)
    # whichever step failed, the run that opens the pull request says OPENED, so intake judges its head
    assert open_with(server, checkout, GRAFANA, PAGERDUTY)[0].startswith(f"OPENED incident={ID} pull=#1")
    assert open_with(server, checkout, GRAFANA, PAGERDUTY) == [f"DUPLICATE incident={ID} pull=#1"]
    assert branches(server) == [f"refs/heads/{BRANCH}"] and len(server.pulls) == 1
    assert len(server.pulls[0].labels) == 2 and server.pulls[0].requested_reviewers == ["alice", "bob"]


def test_opening_an_open_pull_request_again_returns_it(server: GitHubFake, checkout: Path) -> None:
    open_with(server, checkout, GRAFANA)
    server.pulls[0].labels.clear()  # as if an earlier run died between POST /pulls and the labels
    with forge(server, checkout) as f:
        again = f.open_pull(BRANCH, "title", "body", ("incident:high_memory_usage",), ("@alice",))
    assert again.number == 1 and len(server.pulls) == 1 and server.pulls[0].labels == ["incident:high_memory_usage"]


def test_a_422_on_ref_creation_is_a_conflict_the_lifecycle_resolves(server: GitHubFake, checkout: Path) -> None:
    fault = server.inject("POST", r"/git/refs$", **faults.validation_failed(message="Reference already exists"))
    assert open_with(server, checkout, GRAFANA) == [f"OPENED incident={ID} pull=#1"]
    assert fault.hits == 1 and branches(server) == [f"refs/heads/{BRANCH}"] and len(server.pulls) == 1
    with forge(server, checkout) as f:
        with pytest.raises(RefConflict, match="Reference already exists"):
            f.commit_chain(BRANCH, server.ref_sha("main"), [({"x.txt": "x\n"}, "x")], create=True)
        with pytest.raises(RefConflict, match="not a fast forward"):  # built on a stale head
            f.commit_chain(BRANCH, server.ref_sha("main"), [({"x.txt": "x\n"}, "x")], create=False)


def test_review_requests_split_users_and_teams_and_skip_the_bot(server: GitHubFake, checkout: Path) -> None:
    with forge(server, checkout) as f:
        f.commit_chain("fix/x", server.ref_sha("main"), [({"x.txt": "x\n", "absent.txt": None}, "x")], create=True)
        pull = f.open_pull("fix/x", "x", "body", (), ("@alice", "@incident-bot[bot]", "@acme/sre", "@other/sre"))
    assert pull.requested_reviewers == ("@acme/sre", "@alice") and not pull.labels
    assert server.requests[-1].body == {"reviewers": ["alice"], "team_reviewers": ["sre"]}
    assert server.file_at("fix/x", "x.txt") == "x\n"


def test_a_409_on_merge_is_a_conflict_and_a_405_a_refusal(server: GitHubFake, checkout: Path) -> None:
    open_with(server, checkout, GRAFANA)
    head = server.ref_sha(BRANCH)
    with forge(server, checkout) as f:
        server.inject("PUT", r"/pulls/1/merge$", **faults.conflict("Head branch was modified. Review and try again."))
        with pytest.raises(RefConflict, match="head is no longer"):
            f.merge(1, head, "Merge")
        server.protect("main", ("readiness",), approvals=1)
        with pytest.raises(RuleRefusal, match="GitHub refused to merge #1: At least 1 approving review"):
            f.merge(1, head, "Merge")
        assert not server.pulls[0].merged
        server.repo().protection.clear()
        merged = f.merge(1, head, "Merge")
        assert f.merge(1, head, "Merge") == merged  # a retry whose first answer was lost returns the merge


def test_unknown_repository_and_missing_refs(run, server: GitHubFake) -> None:
    result = run("open", "--grafana", GRAFANA, GITHUB_REPOSITORY="acme/missing")
    assert result.code == 1 and "404 Not Found" in result.err and "acme/missing" in result.err
    assert "Traceback" not in result.err
    with forge(server, None) as f:
        assert f.head("incident/none") is None and f.read("incident/none", "x") is None


def test_a_token_without_checks_write_gets_a_message_naming_the_permission(run, server: GitHubFake) -> None:
    server.add_token(NO_CHECKS_TOKEN, "incident-bot[bot]", {**BOT_PERMISSIONS, "checks": "read"})
    assert run("open", "--grafana", GRAFANA).code == 0
    result = run("check", "readiness", ID, token=NO_CHECKS_TOKEN)
    assert result.code == 1
    assert "403 on POST /check-runs (record the readiness check)" in result.err
    assert "lacks the permission checks=write" in result.err


def test_the_token_never_reaches_messages_or_logs(server: GitHubFake, checkout: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    open_with(server, checkout, GRAFANA)
    server.inject("POST", r"/check-runs$", **faults.validation_failed(message=f"bad token {BOT_TOKEN}"))
    with forge(server, checkout) as f, pytest.raises(ForgeError) as raised:
        f.record_check(server.ref_sha(BRANCH), "readiness", "success", "PASS", "ok")
    assert "bad token ***" in str(raised.value) and "(record the readiness check)" in str(raised.value)
    assert caplog.records and not [r for r in caplog.records if BOT_TOKEN in r.getMessage()]


def test_check_output_is_truncated_under_githubs_limit(server: GitHubFake, checkout: Path) -> None:
    open_with(server, checkout, GRAFANA)
    head = server.ref_sha(BRANCH)
    long = "## Readiness\n\n```mermaid\n" + "é = ok\n" * 20_000
    with forge(server, checkout) as f:
        check = f.record_check(head, "readiness", "failure", "BLOCK", long)
        assert f.checks(head)["readiness"].summary == check.summary
    stored = server.check_runs[-1].output["summary"]
    assert len(stored.encode()) <= 65535 and stored.startswith("## Readiness") and "Truncated" in stored
    assert stored.count("```") % 2 == 0  # the open code fence was closed
    assert fit_summary("short") == "short"


def test_action_required_links_the_pull_request_and_reviews_carry_the_approved_action(
        server: GitHubFake, checkout: Path) -> None:
    open_with(server, checkout, GRAFANA)
    head = server.ref_sha(BRANCH)
    with forge(server, checkout) as f:
        pull = f.find_pull(BRANCH)
        assert pull is not None and pull.head_sha == head and pull.state == "open"
        f.record_check(head, "readiness", "action_required", "SEMI-MANUAL", "needs a human")
    assert server.check_runs[-1].details_url == pull.url
    with forge(server, checkout, REVIEWER_TOKEN, identity="incident-bot[bot]") as human:
        with pytest.raises(RuleRefusal, match="authenticates as @alice"):
            human.add_review(1, Review("@bob", head, "approved"))
        human.add_review(1, Review("@alice", head, "approved", "restart_pod"))
        assert human.reviews(1) == (Review("@alice", head, "approved", "restart_pod"),)


def test_a_comment_carrying_approves_action_approves_nothing(server: GitHubFake, checkout: Path) -> None:
    open_with(server, checkout, GRAFANA)
    head = server.ref_sha(BRANCH)
    assert head is not None
    with forge(server, checkout, REVIEWER_TOKEN, identity="incident-bot[bot]") as human:
        human.api.call("POST", "/pulls/1/reviews", "comment on #1",
                       {"commit_id": head, "event": "COMMENT", "body": "looks fine\n\nApproves-Action: restart_pod"})
        assert [(r.state, r.approves_action) for r in human.reviews(1)] == [("commented", None)]


# ------------------------------------------------------------------ identity and configuration


def test_identity_is_resolved_lazily(server: GitHubFake) -> None:
    with forge(server, None) as bot, forge(server, None, REVIEWER_TOKEN) as person:
        before = len(server.exchanges)
        assert bot.bot_identity == "incident-bot[bot]" and len(server.exchanges) == before  # ghs_: no GET /user
        assert person.bot_identity == "alice" and person.bot_identity == "alice"
        assert [e.path for e in server.exchanges[before:]] == ["/user"]


def test_settings_from_the_actions_environment() -> None:
    env = {"GITHUB_TOKEN": "ghs_secret", "GITHUB_REPOSITORY": "acme/gitops", "GITHUB_SHA": "a" * 40,
           "GITHUB_REF": "refs/heads/main"}
    settings = settings_from_env(env)
    assert settings.main_sha == "a" * 40 and settings.api_url == "https://api.github.com"
    assert "ghs_secret" not in repr(settings)
    assert settings_from_env({**env, "GITHUB_REF": "refs/pull/7/merge"}).main_sha is None  # never a PR's merge
    assert settings_from_env({**env, "GITHUB_API_URL": "https://ghe.example/api/v3"}).html_url == "https://ghe.example"
    with pytest.raises(InputError, match="GITHUB_TOKEN"):
        settings_from_env({"GITHUB_REPOSITORY": "acme/gitops"})


# ------------------------------------------------------------------ branch protection


def test_a_look_alike_check_from_another_app_never_opens_the_gate(server: GitHubFake, checkout: Path) -> None:
    """With INCIDENT_BOT_CHECK_APP set, only check runs of that App count: another App's `readiness`
    check on the head commit does not let the dry-run run."""
    other = "ghs_fakeOtherApp000000000000000000000"
    server.add_token(other, "other-app[bot]", BOT_PERMISSIONS)
    open_with(server, checkout, GRAFANA)
    head = server.ref_sha(f"heads/{BRANCH}")
    with forge(server, checkout, token=other) as f:
        f.record_check(head, "readiness", "success", "forged", "forged")
    with forge(server, checkout, check_app="incident-bot") as f:
        assert "readiness" not in f.checks(head)
        f.record_check(head, "readiness", "success", "PASS", "the bot's own")
        assert f.checks(head)["readiness"].summary == "the bot's own"
    with forge(server, checkout) as f:  # without the setting every App counts (documented)
        assert f.checks(head)["readiness"].summary == "the bot's own"


def test_without_the_seal_key_nothing_is_written_or_judged(run, server: GitHubFake) -> None:
    for argv in (("open", "--grafana", FIXTURES / "webhook_grafana.json"), ("audit", "verify", "HM-2026-05-17-01")):
        result = run(*argv, INCIDENT_BOT_SEAL_KEY="")
        assert result.code == 2 and result.err.count("\n") == 1 and "INCIDENT_BOT_SEAL_KEY" in result.err
        assert not [r for r in result.requests if r.method != "GET"]


def test_a_branch_holding_the_incident_branch_as_a_folder_is_named(run, server: GitHubFake) -> None:
    """Issue 16: a pushed `incident/<id>/x` made every open fail with "the incident branch kept moving"."""
    server.repo().set_ref(f"refs/heads/{BRANCH}/x", server.ref_sha("main"))
    opened = run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY)
    assert opened.code == 1 and len(opened.err.splitlines()) == 1, opened.err
    assert f"refs/heads/{BRANCH}/x exists" in opened.err and "kept moving" not in opened.err
    assert branches(server) == [f"refs/heads/{BRANCH}/x"] and not server.pulls


# ------------------------------------------------------------------ one workload, many alerts (issue 13)


def test_alerts_of_one_deployment_coalesce_into_one_pull_request_and_a_second_workload_opens_another(
        run, server: GitHubFake, tmp_path: Path) -> None:
    first = write_json(tmp_path / "a.json", grafana_group([("api-7b4c01f-q1x", "firing")]))
    assert run("open", "--grafana", first).out.strip() == f"OPENED incident={ID} pull=#1"
    more = write_json(tmp_path / "b.json", alertmanager_group([("api-7b4c02f-q2x", "firing"),
                                                               ("api-7b4c03f-q3x", "firing")]))
    joined = run("open", "--alertmanager", more)
    assert joined.out.strip() == f"UPDATED incident={ID} pull=#1", joined.err
    assert branches(server) == [f"refs/heads/{BRANCH}"] and len(server.pulls) == 1
    assert [e.operation_id for e in joined.requests].count("pulls/create") == 0
    event = json.loads(server.file_at(BRANCH, f"incidents/{ID}/event.json"))
    assert event["pods"] == ["api-7b4c01f-q1x", "api-7b4c02f-q2x", "api-7b4c03f-q3x"]
    assert all(f"`{a['fingerprint']}`" in server.pulls[0].body for a in json.loads(more.read_text())["alerts"])

    group = grafana_group([("api-7b4c04f-q4x", "firing")])
    group["alerts"] += grafana_group([("db-0", "firing")], namespace="appointments-db",
                                     service="appointments-db")["alerts"]
    both = run("open", "--grafana", write_json(tmp_path / "c.json", group))
    assert both.out.splitlines() == [f"UPDATED incident={ID} pull=#1", "OPENED incident=HM-2026-05-17-02 pull=#2"]
    assert len(server.pulls) == 2


def test_a_resolution_before_the_merge_closes_the_pull_request_with_the_reason(run, server: GitHubFake,
                                                                               tmp_path: Path) -> None:
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    assert run("check", "readiness", ID).code == 0
    resolved = write_json(tmp_path / "resolved.json", grafana_group([("api-7b4", "resolved")]))
    closed = run("open", "--grafana", resolved)
    assert closed.out.strip() == (f"RESOLVED-UNREMEDIATED incident={ID} pull=#1 "
                                  "(pull request closed: resolved before remediation)"), closed.err
    pull = server.pulls[0]
    assert pull.state == "closed" and not pull.merged
    said = [c.body for c in server.repo().comments if c.issue_number == 1]
    assert len(said) == 1 and "resolved before a remediation was merged" in said[0]
    for argv in (("check", "dry-run", ID), ("merge", ID)):
        refused = run(*argv)
        assert refused.code == 1 and "before any remediation was merged" in refused.err, refused.err
    assert not pull.merged and "restarted-by" not in server.file_at("main", "deploy/appointments-api/deployment.yaml")
    again = run("open", "--grafana", resolved)  # the same resolution again: nothing written
    assert again.out.strip() == f"DUPLICATE incident={ID} pull=#1"
    assert all(e.method == "GET" for e in again.requests)

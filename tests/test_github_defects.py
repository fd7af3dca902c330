# ruff: noqa: F811  (pytest fixtures imported from test_github_forge are redefined as test parameters)
"""The GitHub forge defects of issue #12, one test each, through the GitHub fake (which checks every request
and response against GitHub's OpenAPI description). Each encodes a rule of GitHub's, cited next to it."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from conftest import FIXTURES

from tests.github_helpers import BRANCH, ID, REPOSITORY
from tests.githubfake import REVIEWER_TOKEN, GitHubFake, faults
from tests.githubfake.auth import BOT_PERMISSIONS
from tests.test_github_forge import (  # noqa: F401  (fixtures)
    GRAFANA,
    NO_CHECKS_TOKEN,
    PAGERDUTY,
    checkout,
    github_seed_files,
    run,
    server,
)

pytest_plugins = ["tests.githubfake.fixture"]


def trace(server: GitHubFake) -> list[dict[str, object]]:
    """The causal chain's entries (each command's own `command` entry, written after it, left out)."""
    text = server.file_at(f"audit/{ID}", f"incidents/{ID}/audit.jsonl") or ""
    return [e for e in map(json.loads, text.splitlines()) if e["step"] != "command"]


def steps(server: GitHubFake) -> list[tuple[str, str]]:
    return [(str(e["step"]), str(e["status"])) for e in trace(server)]


def ui_merge(server: GitHubFake, number: int, method: str) -> None:
    """A person presses the merge button (the same API call the UI makes), with their own token."""
    answer = requests.put(f"{server.base_url}/repos/{REPOSITORY}/pulls/{number}/merge",
                          json={"merge_method": method}, timeout=10,
                          headers={"Authorization": f"Bearer {REVIEWER_TOKEN}", "Accept": "application/vnd.github+json"})
    assert answer.status_code == 200, answer.text


def approved(run) -> None:  # noqa: ANN001
    """Open the seed incident and take it to a code owner's approval (both checks green on the head)."""
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    assert run("check", "readiness", ID).code == 0
    assert run("check", "dry-run", ID).code == 0
    result = run("approve", ID, "--reviewer", "@alice", token=REVIEWER_TOKEN, INCIDENT_BOT_IDENTITY="incident-bot[bot]")
    assert result.code == 0, result.err


# ------------------------------------------------------------------ 7: PATCH is retried


def test_a_502_on_the_audit_append_after_a_merge_is_retried(run, server: GitHubFake) -> None:
    """GitHub answers transient 5xx and secondary rate limits to any method; a PATCH of a ref with force=false is
    a compare-and-swap, safe to repeat (https://docs.github.com/rest/git/refs#update-a-reference)."""
    approved(run)
    fault = server.inject("PATCH", rf"/git/refs/heads/audit/{ID}$", **faults.server_error(502))
    merged = run("merge", ID)
    assert merged.code == 0, merged.err
    assert fault.hits == 1 and server.pulls[0].merged
    assert steps(server)[-1] == ("merge", "ok")


def test_a_secondary_rate_limit_on_a_pull_request_update_is_retried(run, server: GitHubFake) -> None:
    """https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits:
    wait for `retry-after`, then retry."""
    assert run("open", "--grafana", GRAFANA).code == 0
    fault = server.inject("PATCH", r"/pulls/1$", **faults.secondary_rate_limit(retry_after=1))
    result = run("open", "--pagerduty", PAGERDUTY)  # a second source: new phase commits and a new body
    assert result.code == 0 and result.out.startswith(f"UPDATED incident={ID}"), result.err
    assert fault.hits == 1 and "pagerduty" in server.pulls[0].body.lower()


def test_a_rerun_of_merge_after_the_audit_append_failed_records_the_merge(run, server: GitHubFake) -> None:
    approved(run)
    server.inject("PATCH", rf"/git/refs/heads/audit/{ID}$", times=5, **faults.server_error(502))
    failed = run("merge", ID)
    assert failed.code == 1 and "re-run to finish" in failed.err
    assert server.pulls[0].merged and ("merge", "ok") not in steps(server)
    again = run("merge", ID)
    assert again.code == 0, again.err
    assert steps(server).count(("merge", "ok")) == 1
    assert trace(server)[-1]["evidence"]["commit"] == server.pulls[0].merge_commit_sha  # type: ignore[index]
    assert run("merge", ID).code == 0  # a recorded merge is not recorded again
    assert steps(server).count(("merge", "ok")) == 1


def test_a_head_that_moved_under_the_merge_is_a_refusal_naming_it(run, server: GitHubFake) -> None:
    """With `sha`, GitHub answers 409 when the head moved ("Head branch was modified. Review and try the merge
    again.", https://docs.github.com/rest/pulls/pulls#merge-a-pull-request): nothing merged, a refusal."""
    approved(run)
    head = server.ref_sha(BRANCH)
    server.inject("PUT", r"/pulls/1/merge$", **faults.conflict("Head branch was modified. Review and try the merge again."))
    refused = run("merge", ID)
    assert refused.code == 1 and not server.pulls[0].merged
    assert f"merge refused: pull request #1 head is no longer {head[:12]} (Head branch was modified." in refused.err


# ------------------------------------------------------------------ 10: merge methods and an honest post-merge


def test_a_squash_only_repository_is_merged_with_a_squash(run, server: GitHubFake) -> None:
    """A method the repository does not allow is answered 405 ("Merge commits are not allowed on this
    repository."); GET /repos/{owner}/{repo} says which are (allow_merge_commit, allow_squash_merge,
    allow_rebase_merge: https://docs.github.com/rest/repos/repos#get-a-repository)."""
    server.repo().merge_methods = {"squash"}
    approved(run)
    merged = run("merge", ID)
    assert merged.code == 0, merged.err
    main = server.repo().commit(server.ref_sha("main"))
    assert len(main.parents) == 1 and "Incident-Id: HM-2026-05-17-01" in main.message  # one squashed commit
    body = next(e.body for e in reversed(server.exchanges) if e.operation_id == "pulls/merge")
    assert body["merge_method"] == "squash"


def test_post_merge_of_a_ui_rebase_names_the_application_and_claims_no_sync(run, server: GitHubFake) -> None:
    """Merged in the GitHub UI with "Rebase and merge": main's tip is the rebased last commit of the pull request,
    the pull request's merge_commit_sha (https://docs.github.com/rest/pulls/pulls#get-a-pull-request)."""
    approved(run)
    ui_merge(server, 1, "rebase")
    tip = server.ref_sha("main")
    assert tip == server.pulls[0].merge_commit_sha
    result = run("post-merge", "--commit", tip)
    assert result.code == 0, result.err
    assert result.out.strip() == (f"SYNC PENDING incident={ID} revision={tip[:12]} app=appointments: "
                                  "confirm the sync in Argo CD")
    merge, sync = trace(server)[-2:]
    assert (merge["step"], merge["status"], merge["evidence"]["merged"]) == ("merge", "ok", "outside incident-bot")
    assert (sync["step"], sync["status"]) == ("sync", "pending")  # never "ok": nobody observed the sync
    assert sync["evidence"]["argocd_application"] == "appointments" and sync["evidence"]["revision"] == tip


def merged_waiting_for_sync(run, server: GitHubFake, tmp_path: Path) -> tuple[str, Path]:  # noqa: ANN001
    """The seed incident merged in the UI (rebase), post-merge recorded `sync pending`; main's tip and Argo CD's
    report of it (the JSON of `argocd app get appointments -o json`)."""
    approved(run)
    ui_merge(server, 1, "rebase")
    tip = server.ref_sha("main")
    assert run("post-merge", "--commit", tip).code == 0
    app = json.loads((FIXTURES / "argocd" / "application_synced.json").read_text())
    app["status"]["sync"]["revision"] = tip
    report = tmp_path / "app.json"
    report.write_text(json.dumps(app))
    return tip, report


def test_argo_cds_report_confirms_the_sync_on_github_once(run, server: GitHubFake, tmp_path) -> None:  # noqa: ANN001
    """`sync confirm` with the JSON of `argocd app get appointments -o json` (the Application CRD's status.sync,
    status.health, status.operationState: argoproj/argo-cd manifests/crds/application-crd.yaml) after a rebase
    merge: the audit trace gets `sync ok` naming what Argo CD said; the same report again writes nothing."""
    tip, report = merged_waiting_for_sync(run, server, tmp_path)
    result = run("sync", "confirm", "--argocd", report)
    assert result.code == 0 and result.out.startswith(f"CONFIRMED incident={ID} revision={tip[:12]}"), result.err
    sync = trace(server)[-1]
    assert (sync["step"], sync["status"], sync["evidence"]["observed"]["revision"]) == ("sync", "ok", tip)
    writes = [e for e in server.exchanges if e.method != "GET"]
    again = run("sync", "confirm", "--argocd", report)
    assert again.code == 0 and again.out.startswith(f"DUPLICATE incident={ID}"), again.err
    assert [e for e in server.exchanges if e.method != "GET"] == writes


def test_post_merge_records_a_rollback_merge(run, server: GitHubFake) -> None:
    approved(run)
    assert run("merge", ID).code == 0
    assert run("rollback", ID).code == 0
    # GitHub renders a description's relative links against the pull request page, where they 404: every artifact
    # is linked at the rollback's head commit (GitHubForge.blob_url)
    head = server.ref_sha(f"rollback/{ID}")
    body = server.pulls[1].body or ""
    assert f"/blob/{head}/deploy/appointments-api/deployment.yaml)" in body
    assert f"/blob/{head}/incidents/{ID}/plan.md)" in body and "](incidents/" not in body
    assert run("check", "readiness", ID, "--rollback").code == 0
    assert run("check", "dry-run", ID, "--rollback").code == 0
    assert run("approve", ID, "--rollback", "--reviewer", "@alice", token=REVIEWER_TOKEN,
               INCIDENT_BOT_IDENTITY="incident-bot[bot]").code == 0
    ui_merge(server, 2, "merge")
    tip = server.ref_sha("main")
    result = run("post-merge", "--commit", tip)
    assert result.code == 0 and result.out.startswith(f"SYNC PENDING incident={ID} revision={tip[:12]}"), result.err
    merge, sync = trace(server)[-2:]
    assert merge["step"] == "merge" and merge["evidence"]["rollback"] is True and merge["evidence"]["pull"] == 2
    assert sync["evidence"]["rollback"] is True


# ------------------------------------------------------------------ 11: nothing passes unless the check was posted


def test_without_checks_write_nothing_is_recorded_as_passed(run, server: GitHubFake) -> None:
    """Creating a check run needs `checks: write` (https://docs.github.com/rest/checks/runs#create-a-check-run):
    the 403 must leave no `readiness ok` in the trace."""
    server.add_token(NO_CHECKS_TOKEN, "incident-bot[bot]", {**BOT_PERMISSIONS, "checks": "read"})
    assert run("open", "--grafana", GRAFANA).code == 0
    result = run("check", "readiness", ID, token=NO_CHECKS_TOKEN)
    assert result.code == 1 and "lacks the permission checks=write" in result.err
    assert not [s for s in steps(server) if s[0] == "readiness"]
    assert server.file_at(f"audit/{ID}", f"incidents/{ID}/readiness.json") is None
    assert server.ref_sha(BRANCH) is not None  # the incident itself is untouched


def test_the_posted_check_summary_already_shows_the_readiness_entry(run, server: GitHubFake) -> None:
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    assert run("check", "readiness", ID).code == 0
    summary = server.check_runs[-1].output["summary"]
    assert "readiness" in summary.split("```mermaid", 1)[1] and steps(server)[-1] == ("readiness", "ok")


# ------------------------------------------------------------------ 8: a pull request opened by a re-run is OPENED


def test_a_rerun_after_the_pull_request_creation_failed_says_opened(run, server: GitHubFake) -> None:
    """intake.yml judges only OPENED and UPDATED heads; a pull request created by this run must be one of them."""
    server.inject("POST", r"/pulls$", times=5, **faults.server_error(502))
    failed = run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY)
    assert failed.code == 1 and server.pulls == [] and server.ref_sha(BRANCH) is not None
    again = run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY)
    assert again.out.strip() == (f"OPENED incident={ID} pull=#1 (pull request opened for a branch an interrupted "
                                 "run left; needs its checks)"), again.err
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).out.strip() == f"DUPLICATE incident={ID} pull=#1"



# ------------------------------------------------------------------ 9: artifact links that open


def test_the_pull_request_links_each_artifact_at_its_blob_and_readiness_checks_it(run, server: GitHubFake) -> None:
    """GitHub does not rewrite relative links in a pull request description (they resolve against the pull
    request page and 404); a blob URL at a commit opens: https://docs.github.com/repositories/working-with-files/
    using-files/getting-permanent-links-to-files."""
    assert run("open", "--grafana", GRAFANA, "--pagerduty", PAGERDUTY).code == 0
    head, body = server.ref_sha(BRANCH), server.pulls[0].body
    web = server.base_url.rstrip("/").removesuffix("/api/v3")  # github.com for api.github.com; GHES: its host
    link = f"({web}/{REPOSITORY}/blob/{head}/incidents/{ID}/plan.md)"
    assert link in body and f"(incidents/{ID}/plan.md)" not in body
    assert run("check", "readiness", ID).out.startswith(f"PASS incident={ID} score=25/25")
    # the same body with relative links loses the point
    server.pulls[0].body = body.replace(f"{web}/{REPOSITORY}/blob/{head}/", "")
    assert run("check", "readiness", ID).out.startswith(f"PASS incident={ID} score=24/25")

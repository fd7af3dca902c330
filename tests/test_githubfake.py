"""The GitHub fake, exercised through real PyGithub calls; every test also asserts (via the fixture)
that no request or response broke GitHub's OpenAPI description."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from github import Github, GithubException, InputGitTreeElement, RateLimitExceededException
from github.GithubException import BadCredentialsException, UnknownObjectException
from github.Repository import Repository

from tests.githubfake import READONLY_TOKEN, REVIEWER_TOKEN, GitHubFake, faults
from tests.githubfake.spec import openapi_to_json_schema

pytest_plugins = ["tests.githubfake.fixture"]

DEPLOYMENT = "apps/checkout/deployment.yaml"
BRANCH = "incident/INC-42-scale-checkout"
GithubFactory = Callable[..., Github]  # the `github_client` fixture


@pytest.fixture
def repo(github_client: GithubFactory) -> Repository:
    return github_client().get_repo("acme/gitops")


def git_blob_id(content: str) -> str:
    data = content.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def commit_change(repo: Repository, files: dict[str, str | None], branch: str = BRANCH) -> str:
    """The bot's write path: inline-content tree on main's tree, commit, new branch ref."""
    main = repo.get_git_ref("heads/main")
    parent = repo.get_git_commit(main.object.sha)
    elements = [
        InputGitTreeElement(path, "100644", "blob", content=content)
        if content is not None
        else InputGitTreeElement(path, "100644", "blob", sha=None)
        for path, content in files.items()
    ]
    tree = repo.create_git_tree(elements, base_tree=parent.tree)
    commit = repo.create_git_commit("Scale checkout to 4 replicas", tree, [parent])
    repo.create_git_ref(f"refs/heads/{branch}", commit.sha)
    return commit.sha


def scaled(server: GitHubFake) -> str:
    current = server.file_at("main", DEPLOYMENT)
    assert current is not None
    return current.replace("replicas: 2", "replicas: 4")


# -- reading -------------------------------------------------------------------------------------------


def test_reads_repository_ref_commit_and_contents(github_server: GitHubFake, repo: Repository) -> None:
    assert repo.full_name == "acme/gitops" and repo.default_branch == "main"
    main = repo.get_git_ref("heads/main")
    assert main.object.sha == github_server.ref_sha("main")
    commit = repo.get_git_commit(main.object.sha)
    assert commit.parents == [] and commit.message == "Initial commit"
    readme = repo.get_contents("README.md", ref="main")
    assert not isinstance(readme, list)
    assert readme.decoded_content.decode() == github_server.file_at("main", "README.md")
    assert readme.sha == git_blob_id(readme.decoded_content.decode())
    listing = repo.get_contents("apps/checkout", ref="main")
    assert isinstance(listing, list)
    assert sorted(item.path for item in listing) == ["apps/checkout/deployment.yaml", "apps/checkout/kustomization.yaml"]
    with pytest.raises(UnknownObjectException):
        repo.get_contents("missing.yaml", ref="main")


@pytest.mark.parametrize("github_server", [{"only.txt": "one file\n"}], indirect=True)
def test_seed_files_can_be_chosen_per_test(github_server: GitHubFake, repo: Repository) -> None:
    contents = repo.get_contents("", ref="main")
    assert isinstance(contents, list) and [c.path for c in contents] == ["only.txt"]


# -- writing git data ----------------------------------------------------------------------------------


def test_inline_tree_commit_and_ref_are_content_addressed(github_server: GitHubFake, repo: Repository) -> None:
    new_content = scaled(github_server)
    sha = commit_change(repo, {DEPLOYMENT: new_content, "README.md": None})
    assert github_server.file_at(BRANCH, DEPLOYMENT) == new_content
    assert github_server.file_at(BRANCH, "README.md") is None
    assert github_server.file_at("main", "README.md") is not None
    tree = repo.get_git_tree(repo.get_git_commit(sha).tree.sha, recursive=True)
    entry = next(e for e in tree.tree if e.path == DEPLOYMENT)
    assert entry.sha == git_blob_id(new_content)
    again = repo.create_git_tree(
        [InputGitTreeElement(DEPLOYMENT, "100644", "blob", content=new_content),
         InputGitTreeElement("README.md", "100644", "blob", sha=None)],
        base_tree=repo.get_git_commit(github_server.ref_sha("main") or "").tree,
    )
    assert again.sha == tree.sha  # same content, same tree id


def test_create_ref_twice_is_422(github_server: GitHubFake, repo: Repository) -> None:
    sha = commit_change(repo, {DEPLOYMENT: scaled(github_server)})
    with pytest.raises(GithubException) as raised:
        repo.create_git_ref(f"refs/heads/{BRANCH}", sha)
    assert raised.value.status == 422 and raised.value.data["message"] == "Reference already exists"


def test_update_ref_refuses_non_fast_forward_unless_forced(github_server: GitHubFake, repo: Repository) -> None:
    first = commit_change(repo, {DEPLOYMENT: scaled(github_server)})
    other = github_server.push("main", {"NOTES.md": "unrelated\n"})
    ref = repo.get_git_ref(f"heads/{BRANCH}")
    with pytest.raises(GithubException) as raised:
        ref.edit(other, force=False)
    assert raised.value.status == 422 and raised.value.data["message"] == "Update is not a fast forward"
    ref.edit(other, force=True)
    assert github_server.ref_sha(BRANCH) == other != first


# -- pull requests -------------------------------------------------------------------------------------


def test_open_pull_request_with_labels_reviewers_and_comment(github_server: GitHubFake, repo: Repository) -> None:
    commit_change(repo, {DEPLOYMENT: scaled(github_server)})
    pull = repo.create_pull(base="main", head=f"acme:{BRANCH}", title="INC-42: scale checkout", body="Alert: latency")
    assert pull.number == 1 and pull.mergeable_state == "clean" and pull.changed_files == 1
    assert [(f.filename, f.status, f.additions, f.deletions) for f in pull.get_files()] == [
        (DEPLOYMENT, "modified", 1, 1)
    ]
    pull.add_to_labels("incident", "auto-remediation")
    pull.create_review_request(reviewers=["alice"])
    pull.create_issue_comment("Validation passed.")
    found = repo.get_pulls(state="open", head=f"acme:{BRANCH}")
    assert [p.number for p in found] == [1]
    fetched = repo.get_pull(1)
    assert [label.name for label in fetched.labels] == ["incident", "auto-remediation"]
    assert [user.login for user in fetched.requested_reviewers] == ["alice"]
    assert fetched.head.sha == github_server.ref_sha(BRANCH) and fetched.comments == 1
    assert github_server.pulls[0].labels == ["incident", "auto-remediation"]


def test_duplicate_pull_request_is_422(github_server: GitHubFake, repo: Repository) -> None:
    commit_change(repo, {DEPLOYMENT: scaled(github_server)})
    repo.create_pull(base="main", head=BRANCH, title="INC-42")
    with pytest.raises(GithubException) as raised:
        repo.create_pull(base="main", head=BRANCH, title="INC-42 again")
    assert raised.value.status == 422
    assert raised.value.data["errors"][0]["message"] == f"A pull request already exists for acme:{BRANCH}."
    assert github_server.count("pulls/create") == 2 and len(github_server.pulls) == 1


def test_merge_respects_protection_and_writes_a_merge_commit(
    github_server: GitHubFake, github_client: GithubFactory, repo: Repository
) -> None:
    github_server.protect("main", required_checks=("remediation/validate",), approvals=1)
    head = commit_change(repo, {DEPLOYMENT: scaled(github_server)})
    pull = repo.create_pull(base="main", head=BRANCH, title="INC-42")
    assert pull.mergeable_state == "blocked"
    with pytest.raises(GithubException) as own:
        pull.create_review(event="APPROVE")
    assert own.value.status == 422
    with pytest.raises(GithubException) as blocked:
        pull.merge()
    assert blocked.value.status == 405
    assert "approving review" in blocked.value.data["message"]

    reviewer_pull = github_client(REVIEWER_TOKEN).get_repo("acme/gitops").get_pull(pull.number)
    reviewer_pull.create_review(body="LGTM", event="APPROVE")
    assert [r.state for r in pull.get_reviews()] == ["APPROVED"]
    with pytest.raises(GithubException) as unchecked:
        pull.merge()
    assert unchecked.value.data["message"] == 'Required status check "remediation/validate" is expected.'
    repo.create_check_run("remediation/validate", head, status="completed", conclusion="success")

    result = pull.merge(merge_method="merge", sha=head)
    assert result.merged
    assert github_server.file_at("main", DEPLOYMENT) == github_server.file_at(BRANCH, DEPLOYMENT)
    merge_commit = repo.get_git_commit(result.sha)
    assert [p.sha for p in merge_commit.parents][1] == head
    merged = repo.get_pull(pull.number)
    assert merged.merged and merged.state == "closed" and merged.merge_commit_sha == result.sha


def test_conflicting_pull_is_not_mergeable(github_server: GitHubFake, repo: Repository) -> None:
    commit_change(repo, {DEPLOYMENT: scaled(github_server)})
    pull = repo.create_pull(base="main", head=BRANCH, title="INC-42")
    github_server.push("main", {DEPLOYMENT: "replicas: 9\n"})
    assert repo.get_pull(pull.number).mergeable is False
    with pytest.raises(GithubException) as raised:
        pull.merge()
    assert raised.value.status == 405 and raised.value.data["message"] == "Pull Request is not mergeable"


def test_merge_with_stale_head_sha_is_409_and_squash_merges_one_commit(
    github_server: GitHubFake, repo: Repository
) -> None:
    first = commit_change(repo, {DEPLOYMENT: scaled(github_server)})
    pull = repo.create_pull(base="main", head=BRANCH, title="INC-42")
    github_server.push(BRANCH, {"apps/checkout/NOTES.md": "follow-up\n"})
    with pytest.raises(GithubException) as raised:
        pull.merge(sha=first)
    assert raised.value.status == 409
    main_before = github_server.ref_sha("main")
    result = pull.merge(merge_method="squash")
    squashed = repo.get_git_commit(result.sha)
    assert [p.sha for p in squashed.parents] == [main_before]
    assert squashed.message.startswith("INC-42 (#1)")
    assert github_server.file_at("main", "apps/checkout/NOTES.md") == "follow-up\n"


def test_direct_push_to_protected_branch_is_refused(github_server: GitHubFake, repo: Repository) -> None:
    github_server.protect("main", required_checks=("remediation/validate",))
    sha = commit_change(repo, {DEPLOYMENT: scaled(github_server)})
    with pytest.raises(GithubException) as raised:
        repo.get_git_ref("heads/main").edit(sha)
    assert raised.value.status == 422
    assert raised.value.data["message"] == "Protected branch update failed for refs/heads/main."


def test_branch_protection_round_trip(github_client: GithubFactory) -> None:
    admin_repo = github_client(REVIEWER_TOKEN).get_repo("acme/gitops")
    branch = admin_repo.get_branch("main")
    branch.edit_protection(strict=True, contexts=["remediation/validate"], required_approving_review_count=1)
    protection = admin_repo.get_branch("main").get_protection()
    assert protection.required_status_checks.contexts == ["remediation/validate"]
    assert protection.required_pull_request_reviews.required_approving_review_count == 1


# -- checks and statuses -------------------------------------------------------------------------------


def test_check_runs_create_update_and_list(github_server: GitHubFake, repo: Repository) -> None:
    sha = github_server.ref_sha("main") or ""
    run = repo.create_check_run("remediation/validate", sha, status="in_progress",
                                output={"title": "Validating", "summary": "kubeconform running"})
    run.edit(conclusion="failure", output={"title": "Invalid", "summary": "replicas must be >= 1"})
    repo.create_check_run("remediation/validate", sha, conclusion="success")
    repo.create_check_run("policy", sha, status="queued")
    runs = repo.get_commit(sha).get_check_runs(check_name="remediation/validate")
    assert runs.totalCount == 1 and runs[0].conclusion == "success"
    everything = repo.get_commit(sha).get_check_runs(filter="all")
    assert everything.totalCount == 3
    assert [(r.name, r.status, r.conclusion) for r in github_server.check_runs] == [
        ("remediation/validate", "completed", "failure"),
        ("remediation/validate", "completed", "success"),
        ("policy", "queued", None),
    ]


def test_list_pagination_follows_link_headers(github_server: GitHubFake, github_client: GithubFactory) -> None:
    repo = github_client(per_page=2).get_repo("acme/gitops")
    sha = github_server.ref_sha("main") or ""
    for index in range(5):
        repo.create_check_run(f"check-{index}", sha, conclusion="success")
    names = [run.name for run in repo.get_commit(sha).get_check_runs()]
    assert sorted(names) == [f"check-{i}" for i in range(5)]
    assert github_server.count("checks/list-for-ref") == 3


def test_commit_statuses_and_file_api(github_server: GitHubFake, repo: Repository) -> None:
    created = repo.create_file("incidents/INC-42.md", "Record INC-42", "# INC-42\n", branch="main")
    sha = created["commit"].sha
    assert github_server.file_at("main", "incidents/INC-42.md") == "# INC-42\n"
    commit = repo.get_commit(sha)
    commit.create_status("success", context="policy/opa", description="allowed")
    assert commit.get_combined_status().state == "success"


def test_less_common_operations_answer_per_the_description(github_server: GitHubFake, repo: Repository) -> None:
    blob = repo.create_git_blob("hello\n", "utf-8")
    assert blob.sha == git_blob_id("hello\n") and repo.get_git_blob(blob.sha).size == 6
    commit_change(repo, {DEPLOYMENT: scaled(github_server)})
    pull = repo.create_pull(base="main", head=BRANCH, title="INC-42")
    pull.create_issue_comment("first")
    assert [c.body for c in pull.get_issue_comments()] == ["first"]
    pull.edit(title="INC-42: scale checkout", state="closed")
    assert repo.get_pull(pull.number).state == "closed"
    run = repo.create_check_run("policy", github_server.ref_sha("main") or "", conclusion="neutral")
    assert repo.get_check_run(run.id).conclusion == "neutral"
    repo.create_repository_dispatch("incident", {"id": "INC-42"})
    assert github_server.repo().dispatches == [{"event_type": "incident", "client_payload": {"id": "INC-42"}}]
    repo.get_git_ref(f"heads/{BRANCH}").delete()
    assert github_server.ref_sha(BRANCH) is None


# -- failures ------------------------------------------------------------------------------------------


def test_injected_502_is_retried_by_default(github_server: GitHubFake, repo: Repository) -> None:
    github_server.inject("GET", r"/pulls$", 502)
    assert list(repo.get_pulls()) == []
    assert github_server.count("pulls/list") == 2


def test_injected_502_surfaces_without_retry(github_server: GitHubFake, github_client: GithubFactory) -> None:
    repo = github_client(retry=None).get_repo("acme/gitops")
    github_server.inject("POST", r"/check-runs$", **faults.server_error(502))
    with pytest.raises(GithubException) as raised:
        repo.create_check_run("remediation/validate", github_server.ref_sha("main") or "")
    assert raised.value.status == 502 and github_server.check_runs == []


def test_secondary_rate_limit_waits_retry_after(github_server: GitHubFake, repo: Repository) -> None:
    github_server.inject("GET", r"/git/ref/", **faults.secondary_rate_limit(retry_after=1))
    started = time.monotonic()
    assert repo.get_git_ref("heads/main").object.sha == github_server.ref_sha("main")
    assert time.monotonic() - started >= 1 and github_server.count("git/get-ref") == 2


def test_primary_rate_limit_raises_without_retry(github_server: GitHubFake, github_client: GithubFactory) -> None:
    repo = github_client(retry=None).get_repo("acme/gitops")
    github_server.inject("GET", r"/pulls/\d+$", **faults.primary_rate_limit())
    with pytest.raises(RateLimitExceededException) as raised:
        repo.get_pull(1)
    assert raised.value.headers is not None and raised.value.headers["x-ratelimit-remaining"] == "0"


def test_missing_permission_is_403_with_accepted_permissions(
    github_server: GitHubFake, github_client: GithubFactory
) -> None:
    repo = github_client(READONLY_TOKEN).get_repo("acme/gitops")
    readme = repo.get_contents("README.md")  # read access works
    assert not isinstance(readme, list) and readme.path == "README.md"
    with pytest.raises(GithubException) as raised:
        repo.create_check_run("remediation/validate", github_server.ref_sha("main") or "")
    assert raised.value.status == 403
    assert raised.value.data["message"] == "Resource not accessible by integration"
    assert raised.value.headers is not None
    assert raised.value.headers["x-accepted-github-permissions"] == "checks=write"


def test_unknown_token_is_401(github_client: GithubFactory) -> None:
    with pytest.raises(BadCredentialsException):
        github_client("ghp_not_a_token").get_repo("acme/gitops")


def test_requests_are_logged_for_counting(github_server: GitHubFake, repo: Repository) -> None:
    commit_change(repo, {DEPLOYMENT: scaled(github_server)})
    operations = [(method, path) for method, path, _ in github_server.requests]
    assert operations == [
        ("GET", "/repos/acme/gitops"),
        ("GET", "/repos/acme/gitops/git/ref/heads/main"),
        ("GET", f"/repos/acme/gitops/git/commits/{github_server.ref_sha('main')}"),
        ("POST", "/repos/acme/gitops/git/trees"),
        ("POST", "/repos/acme/gitops/git/commits"),
        ("POST", "/repos/acme/gitops/git/refs"),
    ]
    assert github_server.requests[-1].body == {"ref": f"refs/heads/{BRANCH}", "sha": github_server.ref_sha(BRANCH)}


# -- the contract checker itself -----------------------------------------------------------------------


def raw_request(server: GitHubFake, method: str, path: str, body: Any) -> int:
    request = urllib.request.Request(
        server.base_url + path, data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Authorization": f"token {REVIEWER_TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def test_invalid_requests_are_recorded_as_violations(github_server: GitHubFake) -> None:
    assert raw_request(github_server, "POST", "/repos/acme/gitops/pulls", {"head": 1}) == 422
    assert raw_request(github_server, "POST", "/repos/acme/gitops/not-an-endpoint", {}) == 404
    found = github_server.take_violations()
    assert any("'base' is a required property" in v for v in found)
    assert any("no operation" in v for v in found)


def test_incomplete_responses_are_violations(github_server: GitHubFake) -> None:
    op = github_server.spec.operation("checks/create")
    problems = github_server.spec.validate_response(op, 201, {"id": 1, "name": "x", "status": "done"})
    assert any("'head_sha' is a required property" in p for p in problems)
    assert any("'done' is not one of" in p for p in problems)
    assert github_server.spec.validate_response(op, 299, {}) == ["response status 299 is not documented for checks/create"]


def test_server_shuts_down_without_leftover_threads() -> None:
    import threading

    before = set(threading.enumerate())
    with GitHubFake() as server:
        server.add_repo("acme/other", {"a.txt": "a\n"})
        assert raw_request(server, "GET", "/repos/acme/other", None) == 200
    assert set(threading.enumerate()) <= before and server.violations == []


def test_nullable_is_translated_to_a_type_union() -> None:
    schema = openapi_to_json_schema(
        {"type": "object", "properties": {"conclusion": {"type": "string", "enum": ["success"], "nullable": True},
                                          "app": {"allOf": [{"type": "object"}], "nullable": True}}}
    )
    assert schema["properties"]["conclusion"] == {"type": ["string", "null"], "enum": ["success", None]}
    assert schema["properties"]["app"] == {"anyOf": [{"allOf": [{"type": "object"}]}, {"type": "null"}]}

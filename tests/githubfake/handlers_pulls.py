"""Handlers for pull requests, reviews, review requests, labels and issue comments.

Owns: the behaviour of `pulls/*`, `issues/add-labels`, `issues/create-comment` and
`issues/list-comments`, with GitHub's refusals (duplicate pull, no commits between branches, approving
your own pull, reviewers who are not collaborators, unmergeable pulls, head moved under the merge).
Pull requests are the only issues this fake knows: other issue numbers answer 404.
"""

from __future__ import annotations

from typing import Any

from . import merging
from . import render_pulls as rp
from .routing import ApiError, Call, Reply, handles, not_found, validation_failed
from .state import Comment, PullRequest, Review, now


def _pull(call: Call, name: str = "pull_number") -> PullRequest:
    pull = call.repo.pulls.get(call.number(name))
    if pull is None:
        raise not_found()
    return pull


def _full(call: Call, pull: PullRequest) -> dict[str, Any]:
    return rp.pull_full(call.urls, call.repo, pull, call.users)


def _head_branch(call: Call, head: str) -> str:
    owner, _, branch = head.rpartition(":")
    if owner and owner.lower() != call.repo.owner.login.lower():
        raise validation_failed({"resource": "PullRequest", "field": "head", "code": "invalid"})
    return branch


@handles("pulls/list")
def list_pulls(call: Call) -> Reply:
    state, head, base = call.arg("state", "open"), call.arg("head"), call.arg("base")
    head_branch = _head_branch(call, head) if head else None
    found = [
        p for p in call.repo.pulls.values()
        if state in ("all", p.state) and head_branch in (None, p.head_ref) and base in (None, p.base_ref)
    ]
    found.sort(key=lambda p: p.number, reverse=call.arg("direction", "desc") == "desc")
    items, headers = call.page(found)
    return Reply(200, [rp.pull_simple(call.urls, call.repo, p, call.users) for p in items], headers)


@handles("pulls/create")
def create_pull(call: Call) -> Reply:
    repo = call.repo
    head, base = _head_branch(call, call.field("head")), call.field("base")
    if not call.field("title"):
        raise validation_failed({"resource": "PullRequest", "field": "title", "code": "missing_field"})
    for field_name, branch in (("base", base), ("head", head)):
        if repo.branch_sha(branch) is None:
            raise validation_failed({"resource": "PullRequest", "field": field_name, "code": "invalid"})
    if repo.open_pull_for(head, base) is not None:
        message = f"A pull request already exists for {repo.owner.login}:{head}."
        raise validation_failed({"resource": "PullRequest", "code": "custom", "message": message})
    head_sha, base_sha = repo.branch_sha(head), repo.branch_sha(base)
    assert head_sha is not None and base_sha is not None
    if not repo.git.commits_between(base_sha, head_sha):
        message = f"No commits between {base} and {head}"
        raise validation_failed({"resource": "PullRequest", "code": "custom", "message": message})
    pull = PullRequest(
        number=repo.next_number(), title=call.field("title"), body=call.field("body"), head_ref=head,
        base_ref=base, user=call.caller, draft=bool(call.field("draft", False)),
        maintainer_can_modify=bool(call.field("maintainer_can_modify", False)),
    )
    repo.pulls[pull.number] = pull
    location = call.urls.repo(repo, f"/pulls/{pull.number}")
    return Reply(201, _full(call, pull), {"Location": location})


@handles("pulls/get")
def get_pull(call: Call) -> Reply:
    return Reply(200, _full(call, _pull(call)))


@handles("pulls/update")
def update_pull(call: Call) -> Reply:
    pull, repo = _pull(call), call.repo
    if call.field("base") is not None:
        if repo.branch_sha(call.field("base")) is None:
            raise validation_failed({"resource": "PullRequest", "field": "base", "code": "invalid"})
        pull.base_ref = call.field("base")
    for name in ("title", "body", "maintainer_can_modify"):
        if call.field(name) is not None:
            setattr(pull, name, call.field(name))
    state = call.field("state")
    if state == "closed" and pull.state == "open":
        pull.head_sha_when_closed, pull.base_sha_when_closed = repo.head_sha(pull), repo.base_sha(pull)
        pull.state, pull.closed_at = "closed", now()
    elif state == "open" and pull.state == "closed" and not pull.merged:
        if repo.branch_sha(pull.head_ref) is None:
            raise validation_failed({"resource": "PullRequest", "field": "state", "code": "invalid"})
        pull.state, pull.closed_at = "open", None
        pull.head_sha_when_closed = pull.base_sha_when_closed = None
    pull.updated_at = now()
    return Reply(200, _full(call, pull))


@handles("pulls/list-files")
def list_files(call: Call) -> Reply:
    pull = _pull(call)
    items, headers = call.page(merging.file_changes(call.repo, pull))
    return Reply(200, [rp.diff_entry(call.urls, call.repo, call.repo.head_sha(pull), change) for change in items], headers)


@handles("pulls/request-reviewers")
def request_reviewers(call: Call) -> Reply:
    pull = _pull(call)
    wanted = list(call.field("reviewers", []))
    if pull.user.login in wanted:
        raise ApiError(422, "Review cannot be requested from pull request author.")
    unknown = [login for login in wanted if login not in call.users]
    teams = list(call.field("team_reviewers", []))
    if unknown or any(slug not in call.repo.teams for slug in teams):
        raise ApiError(
            422,
            "Reviews may only be requested from collaborators. One or more of the users or teams you specified "
            f"is not a collaborator of the {call.repo.full_name} repository.",
        )
    pull.requested_reviewers += [login for login in wanted if login not in pull.requested_reviewers]
    pull.requested_teams += [slug for slug in teams if slug not in pull.requested_teams]
    return Reply(201, rp.pull_simple(call.urls, call.repo, pull, call.users))


@handles("pulls/create-review")
def create_review(call: Call) -> Reply:
    pull = _pull(call)
    event = call.field("event")
    state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}.get(
        event, "PENDING"
    )
    own = pull.user.login == call.caller.login
    if own and state == "APPROVED":
        raise _unprocessable("Can not approve your own pull request")
    if own and state == "CHANGES_REQUESTED":
        raise _unprocessable("Can not request changes on your own pull request")
    if state in ("CHANGES_REQUESTED", "COMMENTED") and not call.field("body") and not call.field("comments"):
        raise _unprocessable(f"Review Body can't be blank when {event} is the event")
    review = Review(
        pull_number=pull.number, user=call.caller, body=call.field("body", "") or "", state=state,
        commit_id=call.field("commit_id") or call.repo.head_sha(pull),
        submitted_at=None if state == "PENDING" else now(),
    )
    call.repo.reviews.append(review)
    if call.caller.login in pull.requested_reviewers and state != "PENDING":
        pull.requested_reviewers.remove(call.caller.login)
    return Reply(200, rp.review(call.urls, call.repo, review))


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, "Unprocessable Entity", [message])  # validation-error-simple: a list of strings


@handles("pulls/list-reviews")
def list_reviews(call: Call) -> Reply:
    pull = _pull(call)
    reviews = [rv for rv in call.repo.reviews if rv.pull_number == pull.number]
    items, headers = call.page(reviews)
    return Reply(200, [rp.review(call.urls, call.repo, rv) for rv in items], headers)


@handles("pulls/merge")
def merge_pull(call: Call) -> Reply:
    pull, repo = _pull(call), call.repo
    expected = call.field("sha")
    if pull.state == "open" and expected is not None and expected != repo.head_sha(pull):
        raise ApiError(409, "Head branch was modified. Review and try the merge again.")
    blockers = merging.merge_blockers(repo, pull)
    if blockers:
        raise ApiError(405, blockers[0])
    method = call.field("merge_method", "merge")
    if method not in repo.merge_methods:  # GitHub's wording, e.g. "Merge commits are not allowed on this repository."
        what = {"merge": "Merge commits", "squash": "Squash merges", "rebase": "Rebase merges"}[method]
        raise ApiError(405, f"{what} are not allowed on this repository.")
    sha = merging.merge(
        repo, pull, call.caller, method, call.field("commit_title"), call.field("commit_message")
    )
    return Reply(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


# -- issue-level operations on pulls -------------------------------------------------------------------


def _label_names(body: Any) -> list[str]:
    items = body.get("labels", []) if isinstance(body, dict) else body
    if isinstance(items, str):
        items = [items]
    return [item["name"] if isinstance(item, dict) else str(item) for item in items]


@handles("issues/add-labels")
def add_labels(call: Call) -> Reply:
    pull = _pull(call, "issue_number")
    for name in _label_names(call.body):
        call.repo.label(name)
        if name not in pull.labels:
            pull.labels.append(name)
    pull.updated_at = now()
    return Reply(200, [rp.label(call.urls, call.repo, call.repo.label(name)) for name in pull.labels])


@handles("issues/create-comment")
def create_comment(call: Call) -> Reply:
    pull = _pull(call, "issue_number")
    comment = Comment(issue_number=pull.number, user=call.caller, body=call.field("body"))
    call.repo.comments.append(comment)
    body = rp.comment(call.urls, call.repo, comment)
    return Reply(201, body, {"Location": body["url"]})


@handles("issues/list-comments")
def list_comments(call: Call) -> Reply:
    pull = _pull(call, "issue_number")
    comments = [c for c in call.repo.comments if c.issue_number == pull.number]
    items, headers = call.page(comments)
    return Reply(200, [rp.comment(call.urls, call.repo, c) for c in items], headers)

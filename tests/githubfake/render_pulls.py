"""JSON shapes for pull requests, their files, labels, reviews, comments and check runs.

Owns: complete `pull-request`, `pull-request-simple`, `diff-entry`, `label`, `pull-request-review`,
`issue-comment` and `check-run` bodies (every required field filled), computed from live state so
that e.g. a pull's `head.sha`, `mergeable_state` and line counts follow its branches.
"""

from __future__ import annotations

from typing import Any

from . import merging
from .render_repo import Urls, node_id, repository, user
from .state import CheckRun, Comment, Label, PullRequest, Repository, Review, User, app_id, iso


def label(urls: Urls, repo: Repository, item: Label) -> dict[str, Any]:
    return {
        "id": item.id,
        "node_id": node_id("Label", item.id),
        "url": urls.repo(repo, f"/labels/{item.name}"),
        "name": item.name,
        "description": item.description,
        "color": item.color,
        "default": False,
    }


def team(urls: Urls, repo: Repository, slug: str) -> dict[str, Any]:
    org = repo.owner
    ident = 7_000_000 + sum(map(ord, slug))
    return {
        "id": ident,
        "node_id": node_id("Team", ident),
        "url": f"{urls.api}/organizations/{org.id}/team/{ident}",
        "html_url": f"https://github.com/orgs/{org.login}/teams/{slug}",
        "name": slug,
        "slug": slug,
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "push",
        "members_url": f"{urls.api}/organizations/{org.id}/team/{ident}/members{{/member}}",
        "repositories_url": f"{urls.api}/organizations/{org.id}/team/{ident}/repos",
        "type": "organization",
        "parent": None,
    }


def _side(urls: Urls, repo: Repository, ref: str, sha: str) -> dict[str, Any]:
    return {
        "label": f"{repo.owner.login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user(urls, repo.owner),
        "repo": repository(urls, repo),
    }


def _links(urls: Urls, repo: Repository, pull: PullRequest, sha: str) -> dict[str, Any]:
    pulls, issues = urls.repo(repo, f"/pulls/{pull.number}"), urls.repo(repo, f"/issues/{pull.number}")
    return {
        "self": {"href": pulls},
        "html": {"href": urls.html(repo, f"/pull/{pull.number}")},
        "issue": {"href": issues},
        "comments": {"href": f"{issues}/comments"},
        "review_comments": {"href": f"{pulls}/comments"},
        "review_comment": {"href": urls.repo(repo, "/pulls/comments{/number}")},
        "commits": {"href": f"{pulls}/commits"},
        "statuses": {"href": urls.repo(repo, f"/statuses/{sha}")},
    }


def pull_simple(urls: Urls, repo: Repository, pull: PullRequest, users: dict[str, User]) -> dict[str, Any]:
    """The `pull-request-simple` schema (list responses)."""
    head, base = repo.head_sha(pull), repo.base_sha(pull)
    pulls, issues = urls.repo(repo, f"/pulls/{pull.number}"), urls.repo(repo, f"/issues/{pull.number}")
    reviewers = [user(urls, users[login]) for login in pull.requested_reviewers if login in users]
    return {
        "url": pulls,
        "id": pull.id,
        "node_id": node_id("PullRequest", pull.id),
        "html_url": urls.html(repo, f"/pull/{pull.number}"),
        "diff_url": urls.html(repo, f"/pull/{pull.number}.diff"),
        "patch_url": urls.html(repo, f"/pull/{pull.number}.patch"),
        "issue_url": issues,
        "commits_url": f"{pulls}/commits",
        "review_comments_url": f"{pulls}/comments",
        "review_comment_url": urls.repo(repo, "/pulls/comments{/number}"),
        "comments_url": f"{issues}/comments",
        "statuses_url": urls.repo(repo, f"/statuses/{head}"),
        "number": pull.number,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": user(urls, pull.user),
        "body": pull.body,
        "labels": [label(urls, repo, repo.label(name)) for name in pull.labels],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(pull.created_at),
        "updated_at": iso(pull.updated_at),
        "closed_at": iso(pull.closed_at),
        "merged_at": iso(pull.merged_at),
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": reviewers,
        "requested_teams": [team(urls, repo, slug) for slug in pull.requested_teams],
        "head": _side(urls, repo, pull.head_ref, head),
        "base": _side(urls, repo, pull.base_ref, base),
        "_links": _links(urls, repo, pull, head),
        "author_association": "OWNER" if pull.user.login == repo.owner.login else "MEMBER",
        "auto_merge": None,
        "draft": pull.draft,
    }


def pull_full(urls: Urls, repo: Repository, pull: PullRequest, users: dict[str, User]) -> dict[str, Any]:
    """The `pull-request` schema (get / create / update)."""
    body = pull_simple(urls, repo, pull, users)
    changes = merging.file_changes(repo, pull)
    mergeable, state = merging.mergeable_state(repo, pull)
    body.update({
        "merged": pull.merged,
        "mergeable": mergeable,
        "rebaseable": mergeable,
        "mergeable_state": state,
        "merged_by": user(urls, pull.merged_by) if pull.merged_by else None,
        "comments": sum(1 for c in repo.comments if c.issue_number == pull.number),
        "review_comments": 0,
        "maintainer_can_modify": pull.maintainer_can_modify,
        "commits": merging.commit_count(repo, pull),
        "additions": sum(c.additions for c in changes),
        "deletions": sum(c.deletions for c in changes),
        "changed_files": len(changes),
    })
    return body


def diff_entry(urls: Urls, repo: Repository, head: str, change: merging.FileChange) -> dict[str, Any]:
    """One changed file as pulls/list-files and repos/compare-commits show it, at commit `head`."""
    entry = change.new or change.old
    assert entry is not None
    body: dict[str, Any] = {
        "sha": entry.sha,
        "filename": change.path,
        "status": change.status,
        "additions": change.additions,
        "deletions": change.deletions,
        "changes": change.additions + change.deletions,
        "blob_url": urls.html(repo, f"/blob/{head}/{change.path}"),
        "raw_url": urls.html(repo, f"/raw/{head}/{change.path}"),
        "contents_url": urls.repo(repo, f"/contents/{change.path}?ref={head}"),
    }
    if change.patch is not None:
        body["patch"] = change.patch
    return body


def review(urls: Urls, repo: Repository, item: Review) -> dict[str, Any]:
    pull_url = urls.repo(repo, f"/pulls/{item.pull_number}")
    html = urls.html(repo, f"/pull/{item.pull_number}#pullrequestreview-{item.id}")
    body: dict[str, Any] = {
        "id": item.id,
        "node_id": node_id("PullRequestReview", item.id),
        "user": user(urls, item.user),
        "body": item.body,
        "state": item.state,
        "html_url": html,
        "pull_request_url": pull_url,
        "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
        "commit_id": item.commit_id,
        "author_association": "OWNER" if item.user.login == repo.owner.login else "MEMBER",
    }
    if item.submitted_at is not None:
        body["submitted_at"] = iso(item.submitted_at)
    return body


def comment(urls: Urls, repo: Repository, item: Comment) -> dict[str, Any]:
    return {
        "id": item.id,
        "node_id": node_id("IssueComment", item.id),
        "url": urls.repo(repo, f"/issues/comments/{item.id}"),
        "html_url": urls.html(repo, f"/pull/{item.issue_number}#issuecomment-{item.id}"),
        "issue_url": urls.repo(repo, f"/issues/{item.issue_number}"),
        "body": item.body,
        "user": user(urls, item.user),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.created_at),
        "author_association": "OWNER" if item.user.login == repo.owner.login else "MEMBER",
    }


def _app(urls: Urls, repo: Repository, slug: str) -> dict[str, Any]:
    return {
        "id": app_id(slug),
        "slug": slug,
        "client_id": "Iv1.fakefakefakefake",
        "node_id": node_id("Integration", app_id(slug)),
        "owner": user(urls, repo.owner),
        "name": slug,
        "description": "GitOps remediation bot",
        "external_url": f"https://example.invalid/{slug}",
        "html_url": f"https://github.com/apps/{slug}",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "permissions": {"checks": "write", "contents": "write", "pull_requests": "write", "metadata": "read"},
        "events": ["check_run", "pull_request"],
    }


def _minimal_pull(urls: Urls, repo: Repository, pull: PullRequest) -> dict[str, Any]:
    mini_repo = {"id": repo.id, "url": urls.repo(repo), "name": repo.name}
    return {
        "id": pull.id,
        "number": pull.number,
        "url": urls.repo(repo, f"/pulls/{pull.number}"),
        "head": {"ref": pull.head_ref, "sha": repo.head_sha(pull), "repo": mini_repo},
        "base": {"ref": pull.base_ref, "sha": repo.base_sha(pull), "repo": mini_repo},
    }


def check_run(urls: Urls, repo: Repository, run: CheckRun) -> dict[str, Any]:
    pulls = [p for p in repo.pulls.values() if p.state == "open" and repo.head_sha(p) == run.head_sha]
    output = run.output
    return {
        "id": run.id,
        "head_sha": run.head_sha,
        "node_id": node_id("CheckRun", run.id),
        "external_id": run.external_id,
        "url": urls.repo(repo, f"/check-runs/{run.id}"),
        "html_url": urls.html(repo, f"/runs/{run.id}"),
        "details_url": run.details_url,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "output": {
            "title": output.get("title"),
            "summary": output.get("summary"),
            "text": output.get("text"),
            "annotations_count": len(output.get("annotations", [])),
            "annotations_url": urls.repo(repo, f"/check-runs/{run.id}/annotations"),
        },
        "name": run.name,
        "check_suite": {"id": run.id + 7},
        "app": _app(urls, repo, run.app_slug),
        "pull_requests": [_minimal_pull(urls, repo, p) for p in pulls],
    }

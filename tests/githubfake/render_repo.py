"""JSON shapes for users, repositories, git objects, contents, branches, protection and commit statuses.

Owns: turning `state` objects into complete GitHub response bodies (every required field of the
OpenAPI schema filled with a realistic value).  URLs point at the fake's own base URL, because PyGithub
follows the `url` fields it is given.  Pull-request-level shapes live in `render_pulls`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from .gitstore import Commit, Entry, Signature
from .state import CommitStatus, Repository, User, iso

HTML = "https://github.com"
GIT_USER_FIELDS = ("name", "email", "date")


@dataclass(frozen=True)
class Urls:
    """The fake's API root (e.g. http://127.0.0.1:PORT) and helpers for per-repository URLs."""

    api: str

    def repo(self, repo: Repository, suffix: str = "") -> str:
        return f"{self.api}/repos/{repo.full_name}{suffix}"

    def html(self, repo: Repository, suffix: str = "") -> str:
        return f"{HTML}/{repo.full_name}{suffix}"


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode().rstrip("=")


def user(urls: Urls, who: User) -> dict[str, Any]:
    base = f"{urls.api}/users/{who.login}"
    return {
        "login": who.login,
        "id": who.id,
        "node_id": node_id("User", who.id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{who.id}?v=4",
        "gravatar_id": "",
        "url": base,
        "html_url": f"{HTML}/{who.login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": who.type,
        "user_view_type": "public",
        "site_admin": False,
    }


_TEMPLATED = {
    "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}", "contributors_url": "/contributors",
    "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
    "forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}", "languages_url": "/languages",
    "merges_url": "/merges", "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}", "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}", "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers", "subscription_url": "/subscription", "tags_url": "/tags",
    "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
}


def minimal_repository(urls: Urls, repo: Repository) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": user(urls, repo.owner),
        "private": repo.private,
        "html_url": urls.html(repo),
        "description": "GitOps state managed by incident-bot",
        "fork": False,
        "url": urls.repo(repo),
    }
    body.update({key: urls.repo(repo, suffix) for key, suffix in _TEMPLATED.items()})
    return body


def repository(urls: Urls, repo: Repository, full: bool = False) -> dict[str, Any]:
    """The `repository` schema (nested in pulls), or `full-repository` (GET /repos/{o}/{r})."""
    open_pulls = sum(1 for p in repo.pulls.values() if p.state == "open")
    body = minimal_repository(urls, repo)
    body.update({
        "clone_url": f"{HTML}/{repo.full_name}.git",
        "git_url": f"git://github.com/{repo.full_name}.git",
        "ssh_url": f"git@github.com:{repo.full_name}.git",
        "svn_url": urls.html(repo),
        "mirror_url": None, "homepage": None, "language": None, "license": None,
        "forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "watchers": 0,
        "size": sum(len(blob) for blob in repo.git.blobs.values()) // 1024,
        "default_branch": repo.default_branch,
        "open_issues": open_pulls, "open_issues_count": open_pulls,
        "is_template": False, "topics": [],
        "has_issues": True, "has_projects": False, "has_wiki": False, "has_pages": False,
        "has_downloads": True, "has_discussions": False,
        "archived": False, "disabled": False,
        "visibility": "private" if repo.private else "public",
        "pushed_at": iso(repo.pushed_at), "created_at": iso(repo.created_at), "updated_at": iso(repo.pushed_at),
        "allow_rebase_merge": "rebase" in repo.merge_methods, "allow_squash_merge": "squash" in repo.merge_methods,
        "allow_merge_commit": "merge" in repo.merge_methods,
        "allow_auto_merge": False, "delete_branch_on_merge": False, "allow_forking": False,
        "web_commit_signoff_required": False,
    })
    if full:
        body.update({"network_count": 0, "subscribers_count": 0})
    return body


# -- git objects ---------------------------------------------------------------------------------------


def git_ref(urls: Urls, repo: Repository, ref: str) -> dict[str, Any]:
    sha = repo.refs[ref]
    return {
        "ref": ref,
        "node_id": node_id("Ref", ref),
        "url": urls.repo(repo, f"/git/{ref}"),
        "object": {"type": "commit", "sha": sha, "url": urls.repo(repo, f"/git/commits/{sha}")},
    }


def git_user(signature: Signature) -> dict[str, str]:
    return {"name": signature.name, "email": signature.email, "date": str(iso(signature.date))}


def git_commit(urls: Urls, repo: Repository, commit: Commit) -> dict[str, Any]:
    return {
        "sha": commit.sha,
        "node_id": node_id("Commit", commit.sha),
        "url": urls.repo(repo, f"/git/commits/{commit.sha}"),
        "html_url": urls.html(repo, f"/commit/{commit.sha}"),
        "author": git_user(commit.author),
        "committer": git_user(commit.committer),
        "tree": {"sha": commit.tree, "url": urls.repo(repo, f"/git/trees/{commit.tree}")},
        "message": commit.message,
        "parents": [
            {"sha": p, "url": urls.repo(repo, f"/git/commits/{p}"), "html_url": urls.html(repo, f"/commit/{p}")}
            for p in commit.parents
        ],
        "verification": {
            "verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None,
        },
    }


def tree_entry(urls: Urls, repo: Repository, path: str, entry: Entry) -> dict[str, Any]:
    kind = {"blob": "blobs", "tree": "trees"}.get(entry.type)
    body: dict[str, Any] = {"path": path, "mode": entry.mode, "type": entry.type, "sha": entry.sha}
    if entry.type == "blob":
        body["size"] = len(repo.git.blobs[entry.sha])
    if kind:
        body["url"] = urls.repo(repo, f"/git/{kind}/{entry.sha}")
    return body


def git_tree(urls: Urls, repo: Repository, sha: str, recursive: bool = False) -> dict[str, Any]:
    listing = _walk(repo, sha, "") if recursive else sorted(repo.git.trees[sha].items())
    return {
        "sha": sha,
        "url": urls.repo(repo, f"/git/trees/{sha}"),
        "tree": [tree_entry(urls, repo, path, entry) for path, entry in listing],
        "truncated": False,
    }


def _walk(repo: Repository, sha: str, prefix: str) -> list[tuple[str, Entry]]:
    found: list[tuple[str, Entry]] = []
    for name, entry in sorted(repo.git.trees[sha].items()):
        found.append((prefix + name, entry))
        if entry.type == "tree":
            found.extend(_walk(repo, entry.sha, f"{prefix}{name}/"))
    return found


def blob(urls: Urls, repo: Repository, sha: str) -> dict[str, Any]:
    data = repo.git.blobs[sha]
    return {
        "sha": sha,
        "node_id": node_id("Blob", sha),
        "url": urls.repo(repo, f"/git/blobs/{sha}"),
        "size": len(data),
        "content": base64.encodebytes(data).decode(),
        "encoding": "base64",
    }


def content(urls: Urls, repo: Repository, ref: str, path: str, entry: Entry, inline: bool) -> dict[str, Any]:
    """A `content-file` (inline=True) or a directory listing item."""
    kind = {"blob": "file", "tree": "dir", "commit": "submodule"}[entry.type]
    if entry.mode == "120000":
        kind = "symlink"
    git_kind = "trees" if entry.type == "tree" else "blobs"
    self_url = urls.repo(repo, f"/contents/{path}?ref={ref}")
    git_url = urls.repo(repo, f"/git/{git_kind}/{entry.sha}")
    html_url = urls.html(repo, f"/{'tree' if kind == 'dir' else 'blob'}/{ref}/{path}")
    data = repo.git.blobs.get(entry.sha, b"")
    body: dict[str, Any] = {
        "type": kind,
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": entry.sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}" if kind == "file" else None,
        "_links": {"self": self_url, "git": git_url, "html": html_url},
    }
    if inline and kind == "file":
        body.update(content=base64.encodebytes(data).decode(), encoding="base64")
    if inline and kind == "symlink":
        body["target"] = data.decode()
    return body


# -- commits, branches, protection -------------------------------------------------------------------


def rest_commit(urls: Urls, repo: Repository, commit: Commit, by: User | None) -> dict[str, Any]:
    """The `commit` schema (GET /repos/{o}/{r}/commits/{ref}); `by` is the GitHub account, if known."""
    return {
        "url": urls.repo(repo, f"/commits/{commit.sha}"),
        "sha": commit.sha,
        "node_id": node_id("Commit", commit.sha),
        "html_url": urls.html(repo, f"/commit/{commit.sha}"),
        "comments_url": urls.repo(repo, f"/commits/{commit.sha}/comments"),
        "commit": {
            "url": urls.repo(repo, f"/git/commits/{commit.sha}"),
            "author": git_user(commit.author),
            "committer": git_user(commit.committer),
            "message": commit.message,
            "comment_count": 0,
            "tree": {"sha": commit.tree, "url": urls.repo(repo, f"/git/trees/{commit.tree}")},
            "verification": git_commit(urls, repo, commit)["verification"],
        },
        "author": user(urls, by) if by else None,
        "committer": user(urls, by) if by else None,
        "parents": [
            {"sha": p, "url": urls.repo(repo, f"/commits/{p}"), "html_url": urls.html(repo, f"/commit/{p}")}
            for p in commit.parents
        ],
    }


def protection(urls: Urls, repo: Repository, branch: str) -> dict[str, Any]:
    """`branch-protection` from the stored PUT body (GET .../protection)."""
    rules = repo.protection[branch]
    base = urls.repo(repo, f"/branches/{branch}/protection")
    body: dict[str, Any] = {
        "url": base,
        "required_signatures": {"url": f"{base}/required_signatures", "enabled": False},
        "enforce_admins": {"url": f"{base}/enforce_admins", "enabled": bool(rules.get("enforce_admins"))},
        "required_linear_history": {"enabled": bool(rules.get("required_linear_history"))},
        "allow_force_pushes": {"enabled": bool(rules.get("allow_force_pushes"))},
        "allow_deletions": {"enabled": bool(rules.get("allow_deletions"))},
        "block_creations": {"enabled": bool(rules.get("block_creations"))},
        "required_conversation_resolution": {"enabled": bool(rules.get("required_conversation_resolution"))},
        "lock_branch": {"enabled": bool(rules.get("lock_branch"))},
        "allow_fork_syncing": {"enabled": bool(rules.get("allow_fork_syncing"))},
    }
    checks = required_checks(rules)
    if rules.get("required_status_checks") is not None:
        body["required_status_checks"] = {
            "url": f"{base}/required_status_checks",
            "strict": bool(rules["required_status_checks"].get("strict")),
            "contexts": checks,
            "contexts_url": f"{base}/required_status_checks/contexts",
            "checks": [{"context": c, "app_id": a} for c, a in required_check_apps(rules)],
        }
    reviews = rules.get("required_pull_request_reviews")
    if reviews is not None:
        body["required_pull_request_reviews"] = {
            "url": f"{base}/required_pull_request_reviews",
            "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews")),
            "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews")),
            "required_approving_review_count": int(reviews.get("required_approving_review_count", 0)),
            "require_last_push_approval": bool(reviews.get("require_last_push_approval")),
        }
    if rules.get("restrictions") is not None:
        body["restrictions"] = {
            "url": f"{base}/restrictions", "users_url": f"{base}/restrictions/users",
            "teams_url": f"{base}/restrictions/teams", "apps_url": f"{base}/restrictions/apps",
            "users": [], "teams": [], "apps": [],
        }
    return body


def required_checks(rules: dict[str, Any]) -> list[str]:
    return [name for name, _ in required_check_apps(rules)]


def required_check_apps(rules: dict[str, Any]) -> list[tuple[str, int | None]]:
    """(context, app_id) of each required check; None: any source (`contexts`, or `app_id` omitted or -1)."""
    status_checks = rules.get("required_status_checks") or {}
    found = [(c["context"], c.get("app_id") if (c.get("app_id") or -1) > 0 else None)
             for c in status_checks.get("checks") or []]
    named = {c for c, _ in found}
    return found + [(c, None) for c in status_checks.get("contexts") or [] if c not in named]


def branch(urls: Urls, repo: Repository, name: str, by: User | None) -> dict[str, Any]:
    sha = repo.refs[f"refs/heads/{name}"]
    protected = name in repo.protection
    prot: dict[str, Any] = {"enabled": protected}
    if protected:
        names = required_checks(repo.protection[name])
        prot["required_status_checks"] = {
            "enforcement_level": "non_admins", "contexts": names,
            "checks": [{"context": c, "app_id": a} for c, a in required_check_apps(repo.protection[name])],
        }
    return {
        "name": name,
        "commit": rest_commit(urls, repo, repo.commit(sha), by),
        "_links": {"self": urls.repo(repo, f"/branches/{name}"), "html": urls.html(repo, f"/tree/{name}")},
        "protected": protected,
        "protection": prot,
        "protection_url": urls.repo(repo, f"/branches/{name}/protection"),
    }


def commit_status(urls: Urls, repo: Repository, status: CommitStatus, with_creator: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "url": urls.repo(repo, f"/statuses/{status.sha}"),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{status.creator.id}?v=4",
        "id": status.id,
        "node_id": node_id("StatusContext", status.id),
        "state": status.state,
        "description": status.description,
        "target_url": status.target_url,
        "context": status.context,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.created_at),
    }
    if with_creator:
        body["creator"] = user(urls, status.creator)
    return body


def latest_statuses(repo: Repository, sha: str) -> list[CommitStatus]:
    latest: dict[str, CommitStatus] = {}
    for status in repo.statuses:
        if status.sha == sha:
            latest[status.context] = status
    return list(latest.values())


def combined_status(urls: Urls, repo: Repository, sha: str) -> dict[str, Any]:
    statuses = latest_statuses(repo, sha)
    states = {s.state for s in statuses}
    state = "failure" if states & {"failure", "error"} else "pending" if "pending" in states or not states else "success"
    return {
        "state": state,
        "statuses": [commit_status(urls, repo, s, with_creator=False) for s in statuses],
        "sha": sha,
        "total_count": len(statuses),
        "repository": minimal_repository(urls, repo),
        "commit_url": urls.repo(repo, f"/commits/{sha}"),
        "url": urls.repo(repo, f"/commits/{sha}/status"),
    }

"""Handlers for the operations the GitHub forge needs beyond the first set: branches by prefix, the
comparison of two commits, and the authenticated account.

Owns: `git/list-matching-refs` (every ref whose name starts with the given one, paginated),
`repos/compare-commits` (merge base, ahead/behind, commits oldest first, changed files), and
`users/get-authenticated` (a user token gets its account; an installation token gets GitHub's 403
"Resource not accessible by integration", as App installation tokens and GITHUB_TOKEN do).
"""

from __future__ import annotations

from typing import Any

from . import merging
from . import render_pulls as rp
from . import render_repo as r
from .handlers_git import author_account
from .routing import ApiError, Call, Reply, handles, not_found
from .state import iso, now


@handles("git/list-matching-refs")
def list_matching_refs(call: Call) -> Reply:
    prefix = "refs/" + call.params["ref"]
    items, headers = call.page(sorted(ref for ref in call.repo.refs if ref.startswith(prefix)))
    return Reply(200, [r.git_ref(call.urls, call.repo, ref) for ref in items], headers)


@handles("repos/compare-commits")
def compare(call: Call) -> Reply:
    repo, git = call.repo, call.repo.git
    base, head = repo.resolve(call.params["base"]), repo.resolve(call.params["head"])
    if base is None or head is None:
        raise not_found()
    origin = git.merge_base(base, head)
    if origin is None:
        raise ApiError(404, f"No common ancestor between {call.params['base']} and {call.params['head']}.")
    ahead, behind = git.commits_between(base, head), git.commits_between(head, base)
    status = "identical" if base == head else "behind" if not ahead else "ahead" if not behind else "diverged"
    before, after = git.flatten(repo.commit(origin).tree), git.flatten(repo.commit(head).tree)
    changes = [merging._change(repo, path, before.get(path), after.get(path))
               for path in sorted(set(before) | set(after)) if before.get(path) != after.get(path)]
    page, headers = call.page(ahead)
    spec = f"{call.params['base']}...{call.params['head']}"

    def commit(sha: str) -> dict[str, Any]:
        return r.rest_commit(call.urls, repo, repo.commit(sha), author_account(call, sha))

    body = {
        "url": call.urls.repo(repo, f"/compare/{spec}"),
        "html_url": call.urls.html(repo, f"/compare/{spec}"),
        "permalink_url": call.urls.html(repo, f"/compare/{repo.owner.login}:{base}...{repo.owner.login}:{head}"),
        "diff_url": call.urls.html(repo, f"/compare/{spec}.diff"),
        "patch_url": call.urls.html(repo, f"/compare/{spec}.patch"),
        "base_commit": commit(base),
        "merge_base_commit": commit(origin),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "total_commits": len(ahead),
        "commits": [commit(sha) for sha in page],
        "files": [rp.diff_entry(call.urls, call.repo, head, change) for change in changes],
    }
    return Reply(200, body, headers)


@handles("users/get-authenticated")
def authenticated_user(call: Call) -> Reply:
    who = call.caller
    if who.type == "Bot":
        raise ApiError(403, "Resource not accessible by integration")
    stamp = iso(now())
    body = r.user(call.urls, who) | {
        "name": who.name, "company": None, "blog": "", "location": None, "email": who.email, "hireable": None,
        "bio": None, "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
        "created_at": stamp, "updated_at": stamp,
    }
    return Reply(200, body)

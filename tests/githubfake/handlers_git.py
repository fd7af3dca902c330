"""Handlers for repository, git data (refs, commits, trees, blobs), contents and branch operations.

Owns: the behaviour of `repos/get`, `repos/get-branch`, `repos/get-commit`, branch protection GET/PUT,
`repos/get-content`, `repos/create-or-update-file-contents`, `repos/create-dispatch-event` and every
`git/*` operation, including GitHub's refusals (ref exists, not a fast forward, protected branch, ...).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from . import render_repo as r
from .gitstore import GitError, Signature
from .routing import ApiError, Call, Reply, handles, not_found
from .state import Repository, User, now

# -- repository and branches ---------------------------------------------------------------------------


@handles("repos/get")
def get_repository(call: Call) -> Reply:
    return Reply(200, r.repository(call.urls, call.repo, full=True))


@handles("repos/get-branch")
def get_branch(call: Call) -> Reply:
    name = call.params["branch"]
    if call.repo.branch_sha(name) is None:
        raise ApiError(404, "Branch not found")
    return Reply(200, r.branch(call.urls, call.repo, name, author_account(call, call.repo.branch_sha(name))))


@handles("repos/get-commit")
def get_commit(call: Call) -> Reply:
    sha = call.repo.resolve(call.params["ref"])
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {call.params['ref']}")
    return Reply(200, r.rest_commit(call.urls, call.repo, call.repo.commit(sha), author_account(call, sha)))


def author_account(call: Call, sha: str | None) -> User | None:
    """The GitHub account whose commit email matches the commit's author, as GitHub links them."""
    if sha is None:
        return None
    email = call.repo.commit(sha).author.email
    return next((u for u in call.users.values() if u.signature_email == email), None)


@handles("repos/get-branch-protection")
def get_protection(call: Call) -> Reply:
    name = call.params["branch"]
    if call.repo.branch_sha(name) is None:
        raise ApiError(404, "Branch not found")
    if name not in call.repo.protection:
        raise ApiError(404, "Branch not protected")
    return Reply(200, r.protection(call.urls, call.repo, name))


@handles("repos/update-branch-protection")
def update_protection(call: Call) -> Reply:
    name = call.params["branch"]
    if call.repo.branch_sha(name) is None:
        raise ApiError(404, "Branch not found")
    call.repo.protection[name] = dict(call.body)
    body = r.protection(call.urls, call.repo, name)
    for key in ("required_linear_history", "allow_force_pushes", "allow_deletions", "block_creations",
                "required_conversation_resolution", "lock_branch", "allow_fork_syncing"):
        body[key] = {"enabled": body[key]["enabled"]}
    return Reply(200, body)


# -- contents ------------------------------------------------------------------------------------------


@handles("repos/get-content")
def get_content(call: Call) -> Reply:
    ref = call.arg("ref") or call.repo.default_branch
    sha = call.repo.resolve(ref)
    path = call.params["path"].strip("/")
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    entry = call.repo.git.lookup(call.repo.commit(sha).tree, path)
    if entry is None:
        raise not_found()
    if entry.type != "tree":
        return Reply(200, r.content(call.urls, call.repo, ref, path, entry, inline=True))
    listing = sorted(call.repo.git.trees[entry.sha].items())
    prefix = f"{path}/" if path else ""
    return Reply(200, [r.content(call.urls, call.repo, ref, prefix + n, e, inline=False) for n, e in listing])


@handles("repos/create-or-update-file-contents")
def put_content(call: Call) -> Reply:
    repo, path = call.repo, call.params["path"].strip("/")
    branch = call.field("branch") or repo.default_branch
    tip = repo.branch_sha(branch)
    if tip is None:
        raise ApiError(404, f"Branch {branch} not found")
    existing = repo.git.lookup(repo.commit(tip).tree, path)
    if existing is not None and call.field("sha") is None:
        raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    if existing is not None and call.field("sha") != existing.sha:
        raise ApiError(409, f"{path} does not match {call.field('sha')}")
    guard_protected(repo, branch)
    try:
        data = base64.b64decode(call.field("content"), validate=True)
    except binascii.Error:
        raise ApiError(422, "content is not valid Base64") from None
    tree = repo.git.apply(repo.commit(tip).tree, [{"path": path, "mode": "100644", "type": "blob",
                                                    "sha": repo.git.put_blob(data)}])
    author = signature(call.field("author"), call.caller)
    committer = signature(call.field("committer"), call.caller) if call.field("committer") else author
    sha = repo.git.put_commit(tree, [tip], call.field("message"), author, committer)
    repo.set_ref(f"refs/heads/{branch}", sha)
    entry = repo.git.lookup(tree, path)
    assert entry is not None
    body = {
        "content": r.content(call.urls, repo, branch, path, entry, inline=False),
        "commit": r.git_commit(call.urls, repo, repo.commit(sha)),
    }
    return Reply(200 if existing is not None else 201, body)


@handles("repos/create-dispatch-event")
def dispatch(call: Call) -> Reply:
    call.repo.dispatches.append(dict(call.body))
    return Reply(204)


# -- refs ----------------------------------------------------------------------------------------------


def guard_protected(repo: Repository, branch: str, force: bool = False) -> None:
    """Direct pushes to a branch whose protection requires reviews or checks are refused, like GitHub."""
    rules = repo.protection.get(branch)
    if rules is None:
        return
    gated = rules.get("required_pull_request_reviews") is not None or rules.get("required_status_checks") is not None
    if gated or (force and not rules.get("allow_force_pushes")):
        raise ApiError(422, f"Protected branch update failed for refs/heads/{branch}.")


@handles("git/get-ref")
def get_ref(call: Call) -> Reply:
    ref = "refs/" + call.params["ref"]  # "heads/x"; "refs/heads/x" is a 404 there too
    if ref not in call.repo.refs:
        raise not_found()
    return Reply(200, r.git_ref(call.urls, call.repo, ref))


@handles("git/create-ref")
def create_ref(call: Call) -> Reply:
    ref, sha = call.field("ref"), call.field("sha")
    if not ref.startswith("refs/") or ref.count("/") < 2 or ref.endswith("/"):
        raise ApiError(422, f"{ref} is not a valid ref name.")
    if ref in call.repo.refs:
        raise ApiError(422, "Reference already exists")
    if sha not in call.repo.git.commits:
        raise ApiError(422, "Object does not exist")
    if any(other.startswith(ref + "/") or ref.startswith(other + "/") for other in call.repo.refs):
        # git's file/directory conflict; GitHub answers a bare "Reference update failed"
        # (microsoft/vscode-remote-repositories-github#122, googleapis/release-please#1024)
        raise ApiError(422, "Reference update failed")
    call.repo.set_ref(ref, sha)
    return Reply(201, r.git_ref(call.urls, call.repo, ref))


@handles("git/update-ref")
def update_ref(call: Call) -> Reply:
    repo, ref = call.repo, "refs/" + call.params["ref"]  # "heads/x"; "refs/heads/x" is a 404 there too
    sha, force = call.field("sha"), bool(call.field("force", False))
    if ref not in repo.refs:
        raise ApiError(422, "Reference does not exist")
    if sha not in repo.git.commits:
        raise ApiError(422, "Object does not exist")
    fast_forward = repo.git.is_ancestor(repo.refs[ref], sha)
    if ref.startswith("refs/heads/"):
        guard_protected(repo, ref.removeprefix("refs/heads/"), force=not fast_forward)
    if not fast_forward and not force:
        raise ApiError(422, "Update is not a fast forward")
    repo.set_ref(ref, sha)
    return Reply(200, r.git_ref(call.urls, repo, ref))


@handles("git/delete-ref")
def delete_ref(call: Call) -> Reply:
    repo, ref = call.repo, "refs/" + call.params["ref"]  # "heads/x"; "refs/heads/x" is a 404 there too
    if ref not in repo.refs:
        raise ApiError(422, "Reference does not exist")
    branch = ref.removeprefix("refs/heads/")
    if ref.startswith("refs/heads/") and branch in repo.protection:
        raise ApiError(422, f"Protected branch update failed for {ref}.")
    for pull in repo.pulls.values():
        if pull.state == "open" and pull.head_ref == branch:
            pull.head_sha_when_closed, pull.base_sha_when_closed = repo.refs[ref], repo.base_sha(pull)
            pull.state, pull.closed_at = "closed", now()
    del repo.refs[ref]
    return Reply(204)


# -- commits, trees, blobs -----------------------------------------------------------------------------


def signature(person: dict[str, Any] | None, fallback: User) -> Signature:
    if not person:
        return fallback.signature()
    when = person.get("date")
    moment = datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None
    base = fallback.signature(moment)
    return Signature(person.get("name", base.name), person.get("email", base.email), base.date)


@handles("git/get-commit")
def get_git_commit(call: Call) -> Reply:
    sha = call.params["commit_sha"]
    if sha not in call.repo.git.commits:
        raise not_found()
    return Reply(200, r.git_commit(call.urls, call.repo, call.repo.commit(sha)))


@handles("git/create-commit")
def create_git_commit(call: Call) -> Reply:
    author = signature(call.field("author"), call.caller)
    committer = signature(call.field("committer"), call.caller) if call.field("committer") else author
    try:
        sha = call.repo.git.put_commit(
            call.field("tree"), call.field("parents", []), call.field("message"), author, committer
        )
    except GitError as error:
        raise ApiError(422, str(error)) from None
    return Reply(201, r.git_commit(call.urls, call.repo, call.repo.commit(sha)))


@handles("git/get-tree")
def get_tree(call: Call) -> Reply:
    wanted = call.params["tree_sha"]
    sha = wanted if wanted in call.repo.git.trees else None
    commit = call.repo.resolve(wanted)
    sha = sha or (call.repo.commit(commit).tree if commit else None)
    if sha is None:
        raise not_found()
    recursive = call.arg("recursive") not in (None, "", "0", "false")
    return Reply(200, r.git_tree(call.urls, call.repo, sha, recursive=recursive))


@handles("git/create-tree")
def create_tree(call: Call) -> Reply:
    try:
        sha = call.repo.git.apply(call.field("base_tree"), call.field("tree"))
    except GitError as error:
        raise ApiError(422, str(error)) from None
    return Reply(201, r.git_tree(call.urls, call.repo, sha))


@handles("git/get-blob")
def get_blob(call: Call) -> Reply:
    sha = call.params["file_sha"]
    if sha not in call.repo.git.blobs:
        raise not_found()
    return Reply(200, r.blob(call.urls, call.repo, sha))


@handles("git/create-blob")
def create_blob(call: Call) -> Reply:
    text, encoding = call.field("content"), call.field("encoding", "utf-8")
    try:
        data = base64.b64decode(text, validate=True) if encoding == "base64" else text.encode()
    except binascii.Error:
        raise ApiError(422, "content is not valid Base64") from None
    sha = call.repo.git.put_blob(data)
    return Reply(201, {"url": call.urls.repo(call.repo, f"/git/blobs/{sha}"), "sha": sha})

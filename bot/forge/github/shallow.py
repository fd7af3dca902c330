"""What a shallow checkout proves about history, with no request (git traffic is not counted against the REST
API's rate limit). The workflows check out main at depth 1 and fetch the incident's branches with
`--shallow-exclude=main` (.github/actions/fetch-incident): the checkout then holds those branches' commits but
not all of their ancestors, and git hides a shallow commit's parents (`.git/shallow`), so `git log base..head`
and `git diff base...head` can be silently wrong there.

So history is read here from the raw commit objects (their true parents), and a comparison is answered locally
only when the checkout proves it: every commit between head and base is present with all its parents, and every
path from head ends at base itself. Then base is an ancestor of head, it is the merge base, and the commits in
between are exactly the ones walked (a commit whose parent is base cannot be an ancestor of base). A head that a
walk down from base meets (a merged branch: a parent of main's merge commit) is an ancestor: nothing is between.
Anything else (main moved since the branch forked, a root, a missing object, a long history) is left to the API.
"""

from __future__ import annotations

from pathlib import Path

from git import Repo
from git.exc import GitCommandError

from bot.forge.base import Commit
from bot.forge.local import raw_commit

WALK_LIMIT = 256  # commits walked before the API's compare is the cheaper answer


def is_shallow(repo: Repo) -> bool:
    return (Path(repo.git_dir) / "shallow").is_file()


def between(repo: Repo, base: str, head: str, limit: int = WALK_LIMIT) -> list[Commit] | None:
    """The commits reachable from head and not from base, oldest first, when the checkout proves that set (see
    the module docstring); None when only the API can say."""
    if head == base:
        return []
    found: dict[str, Commit] = {}
    todo = [head]
    while todo:
        sha = todo.pop()
        if sha in found:
            continue
        commit = raw_commit(repo, sha)
        if commit is None or not commit.parents or len(found) >= limit:
            return None  # missing here, a root (a path that never meets base), or too long a walk
        found[sha] = commit
        todo += [p for p in commit.parents if p != base and p not in found]
    # parents first: by generation above base (a linear branch keeps its order), then time, then id
    depth: dict[str, int] = {}
    for sha in found:
        stack = [sha]
        while stack:
            top = stack[-1]
            pending = [p for p in found[top].parents if p in found and p not in depth]
            if pending:
                stack += pending
                continue
            depth[top] = 1 + max((depth[p] for p in found[top].parents if p in found), default=0)
            stack.pop()
    return sorted(found.values(), key=lambda c: (depth[c.sha], c.date, c.sha))


def reaches(repo: Repo, start: str, target: str, limit: int = WALK_LIMIT) -> bool:
    """Whether a walk down from `start` through the commits here meets `target` (then target is an ancestor of
    start; a walk that does not meet it proves nothing)."""
    seen: set[str] = set()
    todo = [start]
    while todo and len(seen) < limit:
        sha = todo.pop()
        if sha == target:
            return True
        if sha in seen:
            continue
        seen.add(sha)
        commit = raw_commit(repo, sha)
        todo += list(commit.parents) if commit is not None else []
    return False


def changed_paths(repo: Repo, base: str, head: str) -> dict[str, str]:
    """{path: A/D/M/T} from base's tree to head's (base being the merge base: see `between`)."""
    out = str(repo.git.diff_tree("-r", "-z", "--no-renames", "--name-status", base, head))
    parts = [p for p in out.split("\0") if p]
    return {parts[i + 1]: parts[i][0] for i in range(0, len(parts) - 1, 2)}


def remote_ref(repo: Repo, branch: str) -> str | None:
    """The commit the checkout's `origin/<branch>` holds (as the job's fetch left it); None if none."""
    try:
        return str(repo.git.rev_parse("--verify", "--quiet", f"refs/remotes/origin/{branch}^{{commit}}"))
    except GitCommandError:
        return None


def fetched_here(repo: Repo) -> set[str]:
    """The branches the fetch step recorded in this checkout (git config incident-bot.fetched)."""
    try:
        return set(str(repo.git.config("--get", "incident-bot.fetched")).split())
    except GitCommandError:
        return set()

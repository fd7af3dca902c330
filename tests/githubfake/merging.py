"""Pull request semantics: diffs, mergeability under branch protection, and performing a merge.

Owns: the file list of a pull (`GET .../pulls/{n}/files`), its line statistics, whether it can be
merged (conflicts, required approving reviews, required status checks / check runs) with GitHub's own
refusal messages, and writing the merge / squash / rebase commit that moves the base branch.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from .gitstore import Entry
from .render_repo import latest_statuses, required_check_apps
from .state import CheckRun, PullRequest, Repository, User, app_id, now

PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added, removed, modified
    old: Entry | None
    new: Entry | None
    additions: int
    deletions: int
    patch: str | None


def merge_base(repo: Repository, pull: PullRequest) -> str | None:
    head, base = repo.head_sha(pull), repo.base_sha(pull)
    return repo.git.merge_base(base, head) if head and base else None


def file_changes(repo: Repository, pull: PullRequest) -> list[FileChange]:
    head = repo.head_sha(pull)
    origin = merge_base(repo, pull)
    before = repo.git.flatten(repo.commit(origin).tree) if origin else {}
    after = repo.git.flatten(repo.commit(head).tree) if head else {}
    return [_change(repo, path, before.get(path), after.get(path)) for path in sorted(set(before) | set(after))
            if before.get(path) != after.get(path)]


def _change(repo: Repository, path: str, old: Entry | None, new: Entry | None) -> FileChange:
    status = "added" if old is None else "removed" if new is None else "modified"
    old_lines = _lines(repo, old)
    new_lines = _lines(repo, new)
    if old_lines is None or new_lines is None:
        return FileChange(path, status, old, new, 0, 0, None)
    hunks = list(difflib.unified_diff(old_lines, new_lines, lineterm="", n=3))[2:]
    additions = sum(1 for line in hunks if line.startswith("+"))
    deletions = sum(1 for line in hunks if line.startswith("-"))
    return FileChange(path, status, old, new, additions, deletions, "\n".join(hunks))


def _lines(repo: Repository, entry: Entry | None) -> list[str] | None:
    """Text lines of a blob ([] when absent); None for binary content."""
    if entry is None:
        return []
    data = repo.git.blobs.get(entry.sha, b"")
    try:
        return data.decode().splitlines()
    except UnicodeDecodeError:
        return None


def commit_count(repo: Repository, pull: PullRequest) -> int:
    head, base = repo.head_sha(pull), repo.base_sha(pull)
    if not head or not base:
        return 0
    return len(repo.git.commits_between(base, head))


# -- mergeability --------------------------------------------------------------------------------------


def conflicts(repo: Repository, pull: PullRequest) -> list[str]:
    head, base = repo.head_sha(pull), repo.base_sha(pull)
    return repo.git.three_way(merge_base(repo, pull), base, head)[1]


def approvals(repo: Repository, pull: PullRequest) -> int:
    """Reviewers whose latest deciding review (approve / request changes / dismissed) is an approval."""
    latest: dict[str, str] = {}
    for review in repo.reviews:
        deciding = review.state not in ("PENDING", "COMMENTED")
        if review.pull_number == pull.number and deciding and review.user.login != pull.user.login:
            latest[review.user.login] = review.state
    return sum(1 for state in latest.values() if state == "APPROVED")


def latest_check_runs(repo: Repository, sha: str, app: int | None = None) -> dict[str, CheckRun]:
    """The latest check run of each name on `sha` (of App `app` only, when given)."""
    latest: dict[str, CheckRun] = {}
    for run in repo.check_runs:
        if run.head_sha == sha and app in (None, app_id(run.app_slug)):
            latest[run.name] = run
    return latest


def check_outcome(repo: Repository, sha: str, name: str, app: int | None = None) -> str:
    """'passing', 'failing' or 'expected' (not reported yet / still running) for a required check. A check
    pinned to an App (`checks[].app_id`) counts only that App's runs: another App's run of the same name is
    as good as none."""
    run = latest_check_runs(repo, sha, app).get(name)
    status = next((s for s in latest_statuses(repo, sha) if s.context == name), None) if app is None else None
    if run is not None and run.status == "completed":
        return "passing" if run.conclusion in PASSING_CONCLUSIONS else "failing"
    if status is not None and status.state != "pending":
        return "passing" if status.state == "success" else "failing"
    return "expected"


def merge_blockers(repo: Repository, pull: PullRequest) -> list[str]:
    """GitHub's messages for everything that stops this pull from merging (empty: mergeable)."""
    if pull.state != "open" or pull.mergeable_override is False or conflicts(repo, pull):
        return ["Pull Request is not mergeable"]
    rules = repo.protection.get(pull.base_ref)
    if rules is None:
        return []
    blockers = []
    reviews = rules.get("required_pull_request_reviews") or {}
    wanted = int(reviews.get("required_approving_review_count", 0) or 0)
    if wanted and approvals(repo, pull) < wanted:
        plural = "review is" if wanted == 1 else "reviews are"
        blockers.append(f"At least {wanted} approving {plural} required by reviewers with write access.")
    head = repo.head_sha(pull)
    checks = required_check_apps(rules)
    if checks and (rules.get("required_status_checks") or {}).get("strict") \
            and not repo.git.is_ancestor(repo.base_sha(pull), head):
        # "Require branches to be up to date before merging": a head behind its base has every required check
        # merely expected, however green its runs; the merge answers 405 "6 of 6 required status checks are
        # expected." (seen live: https://github.com/RakuenSoftware/aimee/pull/2460)
        blockers.append(f"{len(checks)} of {len(checks)} required status checks are expected.")
        return blockers
    for name, app in checks:
        outcome = check_outcome(repo, head, name, app)
        if outcome != "passing":
            blockers.append(f'Required status check "{name}" is {outcome}.')
    return blockers


def mergeable_state(repo: Repository, pull: PullRequest) -> tuple[bool | None, str]:
    if pull.state != "open":
        return None, "unknown"
    if pull.mergeable_override is False or conflicts(repo, pull):
        return False, "dirty"
    if merge_blockers(repo, pull):
        return True, "blocked"
    failing = [run for run in latest_check_runs(repo, repo.head_sha(pull)).values()
               if run.status == "completed" and run.conclusion not in PASSING_CONCLUSIONS]
    return True, "unstable" if failing else "clean"


# -- merging -------------------------------------------------------------------------------------------


def merge(repo: Repository, pull: PullRequest, by: User, method: str, title: str | None, message: str | None) -> str:
    """Write the merge result onto the base branch, close the pull, and return the new base sha."""
    head, base = repo.head_sha(pull), repo.base_sha(pull)
    merged, clashing = repo.git.three_way(merge_base(repo, pull), base, head)
    if clashing:
        raise ValueError(f"conflicts in {clashing}")
    tree = repo.git.build(merged)
    signature = by.signature()
    if method == "merge":
        subject = title or f"Merge pull request #{pull.number} from {repo.owner.login}/{pull.head_ref}"
        body = message if message is not None else pull.title
        sha = repo.git.put_commit(tree, [base, head], _join(subject, body), signature, signature)
    elif method == "squash":
        subject = title or f"{pull.title} (#{pull.number})"
        body = message if message is not None else _bullets(repo, base, head)
        sha = repo.git.put_commit(tree, [base], _join(subject, body), signature, signature)
    else:  # rebase: replay each commit of the pull onto the base
        sha = _replay(repo, base, repo.git.commits_between(base, head))
    repo.set_ref(f"refs/heads/{pull.base_ref}", sha)
    _close(repo, pull, by, sha, head, base)
    return sha


def _replay(repo: Repository, onto: str, commits: Iterable[str]) -> str:
    tip = onto
    for sha in commits:
        original = repo.commit(sha)
        parent = original.parents[0] if original.parents else None
        merged, _ = repo.git.three_way(parent, tip, sha)
        tip = repo.git.put_commit(repo.git.build(merged), [tip], original.message, original.author, original.committer)
    return tip


def _close(repo: Repository, pull: PullRequest, by: User, merge_sha: str, head: str, base: str) -> None:
    moment = now()
    pull.state, pull.merged, pull.merged_by = "closed", True, by
    pull.merged_at = pull.closed_at = pull.updated_at = moment
    pull.merge_commit_sha = merge_sha
    pull.head_sha_when_closed, pull.base_sha_when_closed = head, base


def _join(subject: str, body: str) -> str:
    return f"{subject}\n\n{body}" if body else subject


def _bullets(repo: Repository, base: str, head: str) -> str:
    return "\n\n".join(f"* {repo.commit(sha).message}" for sha in repo.git.commits_between(base, head))

"""The fake's mutable world: users, repositories, refs, pull requests, reviews, checks, labels, comments.

Owns: plain dataclasses for every resource the API exposes, id allocation, timestamps, and the
repository-level helpers that both the handlers and the test-facing API use (resolve a ref or sha,
read a file at a ref, seed a branch from a dict of files).  No HTTP and no JSON rendering here.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .gitstore import Commit, GitStore, Signature

SEED_DATE = datetime(2024, 1, 1, tzinfo=UTC)
SHA_RE = re.compile(r"[0-9a-f]{40}")
_ids = itertools.count(1_000_001)


def next_id() -> int:
    """Globally unique numeric ids, like GitHub's (shared by every resource kind)."""
    return next(_ids)


# The GitHub Actions app (the source of every check run created with a workflow's GITHUB_TOKEN) has id 15368
# on github.com; other Apps get a stable id of their own here.
APP_IDS = {"github-actions": 15368, "incident-bot": 424242}


def app_id(slug: str) -> int:
    """The id of the GitHub App `slug` (check runs carry it as `app.id`; protection pins `checks[].app_id`)."""
    return APP_IDS.get(slug) or 100_000 + sum(ord(c) * 31 ** i for i, c in enumerate(slug)) % 800_000


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    login: str
    id: int = field(default_factory=next_id)
    type: str = "User"  # "User", "Bot" or "Organization"
    name: str | None = None
    email: str | None = None

    @property
    def signature_name(self) -> str:
        return self.name or self.login

    @property
    def signature_email(self) -> str:
        return self.email or f"{self.id}+{self.login}@users.noreply.github.com"

    def signature(self, when: datetime | None = None) -> Signature:
        return Signature(self.signature_name, self.signature_email, when or now())


@dataclass
class Label:
    name: str
    color: str = "ededed"
    description: str = ""  # `pull-request-simple` declares label descriptions non-nullable
    id: int = field(default_factory=next_id)


@dataclass
class Review:
    pull_number: int
    user: User
    body: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, PENDING, DISMISSED
    commit_id: str
    submitted_at: datetime | None
    id: int = field(default_factory=next_id)


@dataclass
class Comment:
    issue_number: int
    user: User
    body: str
    created_at: datetime = field(default_factory=now)
    id: int = field(default_factory=next_id)


@dataclass
class PullRequest:
    number: int
    title: str
    body: str | None
    head_ref: str
    base_ref: str
    user: User
    draft: bool = False
    maintainer_can_modify: bool = False
    state: str = "open"
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    closed_at: datetime | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    labels: list[str] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)  # team slugs of the owning organization
    head_sha_when_closed: str | None = None
    base_sha_when_closed: str | None = None
    mergeable_override: bool | None = None  # tests force "not mergeable" with False
    id: int = field(default_factory=next_id)


@dataclass
class CheckRun:
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    details_url: str | None = None
    external_id: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    app_slug: str = "incident-bot"
    id: int = field(default_factory=next_id)


@dataclass
class CommitStatus:
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: User
    created_at: datetime = field(default_factory=now)
    id: int = field(default_factory=next_id)


@dataclass
class Repository:
    owner: User
    name: str
    default_branch: str = "main"
    private: bool = True
    git: GitStore = field(default_factory=GitStore)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> commit sha
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    reviews: list[Review] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    labels: dict[str, Label] = field(default_factory=dict)
    check_runs: list[CheckRun] = field(default_factory=list)
    statuses: list[CommitStatus] = field(default_factory=list)
    protection: dict[str, dict[str, Any]] = field(default_factory=dict)  # branch -> PUT body
    teams: set[str] = field(default_factory=set)  # slugs of the owner's teams with access (review requests)
    # Settings > General > Pull Requests: the merge methods allowed (a squash-only repository: {"squash"})
    merge_methods: set[str] = field(default_factory=lambda: {"merge", "squash", "rebase"})
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime = SEED_DATE
    pushed_at: datetime = SEED_DATE
    id: int = field(default_factory=next_id)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def next_number(self) -> int:
        """Issue and pull request numbers share one sequence, as on GitHub."""
        return next(self._numbers)

    # -- refs ------------------------------------------------------------------------------------------

    def branch_sha(self, branch: str) -> str | None:
        return self.refs.get(f"refs/heads/{branch}")

    def resolve(self, ref: str) -> str | None:
        """A commit sha for a sha, a branch name, a tag name, or a `heads/...`/`refs/...` ref."""
        if SHA_RE.fullmatch(ref) and ref in self.git.commits:
            return ref
        for candidate in (ref, f"refs/{ref}", f"refs/heads/{ref}", f"refs/tags/{ref}"):
            if candidate in self.refs:
                return self.refs[candidate]
        return None

    def commit(self, sha: str) -> Commit:
        return self.git.commits[sha]

    def set_ref(self, ref: str, sha: str) -> None:
        self.refs[ref] = sha
        self.pushed_at = now()

    # -- files -----------------------------------------------------------------------------------------

    def file_at(self, ref: str, path: str) -> str | None:
        sha = self.resolve(ref)
        if sha is None:
            return None
        data = self.git.read_file(self.commit(sha).tree, path)
        return None if data is None else data.decode()

    def seed_branch(self, branch: str, files: dict[str, str | bytes], message: str = "Initial commit") -> str:
        """Commit `files` (path -> content) as the whole tree of `branch`, on top of its current tip."""
        changes = [
            {"path": path, "mode": "100644", "type": "blob", "sha": self.git.put_blob(_as_bytes(content))}
            for path, content in sorted(files.items())
        ]
        tree = self.git.apply(None, changes)
        parent = self.branch_sha(branch)
        signature = self.owner.signature(SEED_DATE)
        sha = self.git.put_commit(tree, [parent] if parent else [], message, signature, signature)
        self.set_ref(f"refs/heads/{branch}", sha)
        return sha

    # -- pull request helpers --------------------------------------------------------------------------

    def head_sha(self, pull: PullRequest) -> str:
        if pull.state == "closed" and pull.head_sha_when_closed:
            return pull.head_sha_when_closed
        return self.branch_sha(pull.head_ref) or pull.head_sha_when_closed or ""

    def base_sha(self, pull: PullRequest) -> str:
        if pull.state == "closed" and pull.base_sha_when_closed:
            return pull.base_sha_when_closed
        return self.branch_sha(pull.base_ref) or ""

    def open_pull_for(self, head_ref: str, base_ref: str | None = None) -> PullRequest | None:
        for pull in self.pulls.values():
            if pull.state == "open" and pull.head_ref == head_ref and base_ref in (None, pull.base_ref):
                return pull
        return None

    def label(self, name: str) -> Label:
        if name not in self.labels:
            self.labels[name] = Label(name)
        return self.labels[name]


def _as_bytes(content: str | bytes) -> bytes:
    return content.encode() if isinstance(content, str) else content

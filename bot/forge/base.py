"""The forge interface: the few verbs the incident lifecycle needs, implemented by each adapter."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.errors import ForgeError, RuleRefusal

CONCLUSIONS = ("success", "action_required", "failure", "neutral", "skipped")


class RefConflict(ForgeError):
    """A ref moved (or already existed) between read and update: re-read and try again."""


class RefCollision(RuleRefusal):
    """A ref cannot be written because another one holds its name as a folder, or it as a folder of its own
    (git's file/directory conflict: `incident/<id>` and `incident/<id>/x` cannot both exist). Retrying
    cannot help; the message names the blocking ref."""

    def __init__(self, ref: str, blocking: str) -> None:
        self.ref, self.blocking = ref, blocking
        super().__init__(f"{ref} cannot be written: {blocking} exists, and git cannot hold both a ref and a "
                         f"folder of that name; delete {blocking} (git push origin --delete "
                         f"{blocking.removeprefix('refs/heads/')}) and re-run")


def blocking_ref(ref: str, existing: Sequence[str]) -> str | None:
    """The ref of `existing` that collides with `ref` as a file/directory conflict, or None."""
    for other in sorted(existing):
        if other != ref and (other.startswith(ref + "/") or ref.startswith(other + "/")):
            return other
    return None


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    trailers: dict[str, str]
    author: str
    date: str  # committer date, UTC, RFC 3339 with Z
    tree: str = ""
    parents: tuple[str, ...] = ()


# (tree, parents, message) -> the message to commit (the bot's seal appended; see bot/rules/seal.py)
Sealer = Callable[[str, Sequence[str], str], str]
# The trailer of a forge's intermediate commit (GitHub's compare-and-swap of a rebuilt branch): never a phase
BRIDGE_PHASE = "bridge"


@dataclass(frozen=True)
class Check:
    name: str
    sha: str
    conclusion: str
    title: str
    summary: str


@dataclass(frozen=True)
class Review:
    reviewer: str
    sha: str
    state: str  # "approved" (the only state that counts)
    approves_action: str | None = None


@dataclass(frozen=True)
class PullRequest:
    number: int
    branch: str
    base: str
    title: str
    body: str
    state: str  # open | merged | closed
    head_sha: str
    merge_sha: str | None = None
    labels: tuple[str, ...] = ()
    requested_reviewers: tuple[str, ...] = ()
    url: str = ""


class Forge(Protocol):
    """What the lifecycle may ask of a forge; it never knows which one it talks to."""

    name: str
    bot_identity: str
    default_branch: str

    def head(self, branch: str) -> str | None: ...

    def branches(self, prefix: str) -> dict[str, str]:
        """The branches starting with `prefix` (e.g. `incident/HM-2026-05-17-`) and their heads."""
        ...

    def read(self, ref: str, path: str) -> str | None: ...

    def tree(self, ref: str, prefix: str) -> dict[str, str]: ...

    def changed_paths(self, base: str, head: str) -> dict[str, str]:
        """Paths changed from the merge base of `base` and `head` to `head`: {path: A|M|D}."""
        ...

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether `ancestor` is `descendant` or reachable from it (then merging `descendant` into
        `ancestor` yields exactly `descendant`'s tree)."""
        ...

    def get_commit(self, sha: str) -> Commit: ...

    def commits(self, base: str, head: str) -> list[Commit]:
        """Commits reachable from `head` and not from `base`, oldest first."""
        ...

    def seal_key(self) -> bytes:
        """The repository's seal key, kept outside git (raises InputError naming INCIDENT_BOT_SEAL_KEY)."""
        ...

    def commit_chain(
        self, branch: str, parent: str, changes: Sequence[tuple[Mapping[str, str | None], str]], *, create: bool,
        seal: Sealer | None = None, replace: str | None = None,
    ) -> str:
        """One commit per (files, message) on top of `parent` (None deletes a file), then ONE atomic
        move (or creation) of `branch` to the last; returns it.

        `seal` turns each message into the committed one, knowing the commit's tree and parent.
        `replace`: the branch's current head, which the new chain replaces although it does not descend
        from it (a branch rebuilt on a new base, see bot/flows/refresh.py); still a compare-and-swap.
        Raises RefConflict if `create` and the branch exists, or if the branch no longer points at `parent`
        (at `replace` when given).
        """
        ...

    def blob_url(self, sha: str, path: str) -> str:
        """A link to `path` at commit `sha` that opens where this forge's pull requests are read."""
        ...

    def find_pull(self, branch: str) -> PullRequest | None: ...

    def open_pull(self, branch: str, title: str, body: str, labels: tuple[str, ...],
                  reviewers: tuple[str, ...] = ()) -> PullRequest:
        """Open a pull request into the default branch with labels and requested reviewers (`@user` or
        `@org/team`), or return the one already open for `branch`."""
        ...

    def update_pull(self, number: int, *, body: str | None = None, labels: tuple[str, ...] = ()) -> None: ...

    def close_pull(self, number: int, reason: str) -> None:
        """Close the pull request unmerged, the reason left as a comment on it (a closed one stays closed)."""
        ...

    def record_check(self, sha: str, name: str, conclusion: str, title: str, summary: str) -> Check: ...

    def checks(self, sha: str) -> dict[str, Check]: ...

    def add_review(self, number: int, review: Review) -> None: ...

    def reviews(self, number: int) -> tuple[Review, ...]: ...

    def merge(self, number: int, sha: str, message: str) -> str:
        """Merge the pull request if its head is still `sha`; return the merge commit."""
        ...

    def finish_merge(self, number: int) -> None:
        """Close the record of a merge that an interrupted run completed on the base branch (the local
        forge's merge is three writes; GitHub's is one request, so there nothing is left to finish)."""
        ...

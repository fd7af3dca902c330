"""A content-addressed, in-memory git object database (blobs, trees, commits) with git's own object ids.

Owns: hashing objects exactly as git does (`sha1(b"<type> <len>\\0" + payload)`), the tree operations the
REST API exposes (flatten, build from paths, apply `POST /git/trees` entries onto a `base_tree`), commit
ancestry (fast-forward checks, merge base, commits between two tips) and a path-level three-way merge.
It knows nothing about HTTP or GitHub's JSON shapes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

BLOB_MODES = frozenset({"100644", "100755", "120000"})
TREE_MODE = "040000"
SUBMODULE_MODE = "160000"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class GitError(ValueError):
    """A request that git itself would refuse (unknown object, wrong type, bad path)."""


@dataclass(frozen=True)
class Entry:
    """One tree entry: mode as the API shows it ("100644", "040000", ...), type and object id."""

    mode: str
    type: str
    sha: str


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    date: datetime

    def raw(self) -> str:
        stamp = int(self.date.timestamp())
        offset = self.date.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        sign = "-" if minutes < 0 else "+"
        return f"{self.name} <{self.email}> {stamp} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Signature
    committer: Signature
    message: str


def object_id(kind: str, payload: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(payload)}\0".encode() + payload, usedforsecurity=False).hexdigest()


def _tree_sort_key(item: tuple[str, Entry]) -> bytes:
    name, entry = item
    return (name + "/" if entry.type == "tree" else name).encode()


class GitStore:
    """Objects keyed by their git object id; trees are kept parsed, as name -> Entry maps."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, dict[str, Entry]] = {EMPTY_TREE: {}}
        self.commits: dict[str, Commit] = {}

    # -- writing ---------------------------------------------------------------------------------------

    def put_blob(self, data: bytes) -> str:
        sha = object_id("blob", data)
        self.blobs[sha] = data
        return sha

    def put_tree(self, entries: Mapping[str, Entry]) -> str:
        payload = b"".join(
            f"{entry.mode.lstrip('0')} {name}\0".encode() + bytes.fromhex(entry.sha)
            for name, entry in sorted(entries.items(), key=_tree_sort_key)
        )
        sha = object_id("tree", payload)
        self.trees[sha] = dict(entries)
        return sha

    def put_commit(
        self, tree: str, parents: Iterable[str], message: str, author: Signature, committer: Signature
    ) -> str:
        parents = tuple(parents)
        if tree not in self.trees:
            raise GitError(f"Tree SHA does not exist: {tree}")
        for parent in parents:
            if parent not in self.commits:
                raise GitError("Parent SHA does not exist or is not a commit object")
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
        lines += [f"author {author.raw()}", f"committer {committer.raw()}", "", message]
        sha = object_id("commit", "\n".join(lines).encode())
        self.commits[sha] = Commit(sha, tree, parents, author, committer, message)
        return sha

    # -- reading ---------------------------------------------------------------------------------------

    def kind(self, sha: str) -> str | None:
        for kind, table in (("commit", self.commits), ("tree", self.trees), ("blob", self.blobs)):
            if sha in table:
                return kind
        return None

    def flatten(self, tree: str, prefix: str = "") -> dict[str, Entry]:
        """Every non-tree entry below `tree`, keyed by its full path."""
        flat: dict[str, Entry] = {}
        for name, entry in self.trees[tree].items():
            if entry.type == "tree":
                flat.update(self.flatten(entry.sha, f"{prefix}{name}/"))
            else:
                flat[f"{prefix}{name}"] = entry
        return flat

    def lookup(self, tree: str, path: str) -> Entry | None:
        """The entry at `path` ("" is the tree itself), or None."""
        if path.strip("/") == "":
            return Entry(TREE_MODE, "tree", tree)
        current = tree
        parts = path.strip("/").split("/")
        for depth, name in enumerate(parts):
            entry = self.trees[current].get(name)
            if entry is None or (depth < len(parts) - 1 and entry.type != "tree"):
                return None
            if depth == len(parts) - 1:
                return entry
            current = entry.sha
        return None

    def read_file(self, tree: str, path: str) -> bytes | None:
        entry = self.lookup(tree, path)
        return self.blobs[entry.sha] if entry is not None and entry.type == "blob" else None

    # -- building trees --------------------------------------------------------------------------------

    def build(self, flat: Mapping[str, Entry]) -> str:
        """Write the nested trees for a path -> entry map and return the root tree id."""
        children: dict[str, dict[str, Entry]] = {}
        here: dict[str, Entry] = {}
        for path, entry in flat.items():
            head, _, rest = path.partition("/")
            if rest:
                children.setdefault(head, {})[rest] = entry
            else:
                here[head] = entry
        for name, sub in children.items():
            here[name] = Entry(TREE_MODE, "tree", self.build(sub))
        return self.put_tree(here)

    def apply(self, base_tree: str | None, changes: Iterable[Mapping[str, object]]) -> str:
        """Apply `POST /git/trees` entries ({path, mode, type, sha|content}; sha None deletes) to a base."""
        if base_tree is not None and base_tree not in self.trees:
            raise GitError("base_tree is not a valid tree oid")
        flat = self.flatten(base_tree) if base_tree else {}
        for change in changes:
            self._apply_one(flat, change)
        return self.build(flat)

    def _apply_one(self, flat: dict[str, Entry], change: Mapping[str, object]) -> None:
        path = str(change.get("path", "")).strip("/")
        mode, kind = str(change.get("mode", "100644")), str(change.get("type", "blob"))
        if not path or any(part in ("", ".", "..", ".git") for part in path.split("/")):
            raise GitError(f"tree.path contains a malformed path component: {path!r}")
        if "content" in change:
            flat[path] = Entry(mode, "blob", self.put_blob(str(change["content"]).encode()))
            return
        sha = change.get("sha")
        if sha is None:
            self._delete(flat, path)
        elif kind == "tree":
            if sha not in self.trees:
                raise GitError(f"tree.sha {sha} is not a valid tree")
            self._delete(flat, path, missing_ok=True)
            flat.update({f"{path}/{sub}": e for sub, e in self.flatten(str(sha)).items()})
        elif kind == "blob" and sha not in self.blobs:
            raise GitError(f"tree.sha {sha} is not a valid blob")
        else:
            flat[path] = Entry(mode, kind, str(sha))

    @staticmethod
    def _delete(flat: dict[str, Entry], path: str, missing_ok: bool = False) -> None:
        doomed = [p for p in flat if p == path or p.startswith(path + "/")]
        if not doomed and not missing_ok:
            raise GitError(f"tree.path {path} cannot be deleted: it does not exist in base_tree")
        for victim in doomed:
            del flat[victim]

    # -- history ---------------------------------------------------------------------------------------

    def ancestors(self, sha: str) -> dict[str, int]:
        """Every commit reachable from `sha` (itself included) with its distance from it."""
        seen: dict[str, int] = {}
        frontier = [(sha, 0)]
        while frontier:
            current, depth = frontier.pop(0)
            if current in seen:
                continue
            seen[current] = depth
            frontier.extend((parent, depth + 1) for parent in self.commits[current].parents)
        return seen

    def is_ancestor(self, maybe_ancestor: str, sha: str) -> bool:
        return maybe_ancestor in self.ancestors(sha)

    def merge_base(self, a: str, b: str) -> str | None:
        of_a, of_b = self.ancestors(a), self.ancestors(b)
        common = [sha for sha in of_b if sha in of_a]
        return min(common, key=lambda sha: (of_a[sha] + of_b[sha], sha)) if common else None

    def commits_between(self, base: str, head: str) -> list[str]:
        """Commits reachable from head but not from base, oldest first (like `git log base..head`)."""
        excluded = self.ancestors(base)
        reachable = self.ancestors(head)
        return sorted((sha for sha in reachable if sha not in excluded), key=lambda sha: -reachable[sha])

    def three_way(self, base: str | None, ours: str, theirs: str) -> tuple[dict[str, Entry], list[str]]:
        """Merge two commits path by path; returns the merged path map and the conflicting paths."""
        origin = self.flatten(self.commits[base].tree) if base else {}
        mine = self.flatten(self.commits[ours].tree)
        other = self.flatten(self.commits[theirs].tree)
        merged: dict[str, Entry] = {}
        conflicts: list[str] = []
        for path in sorted(set(origin) | set(mine) | set(other)):
            was, left, right = origin.get(path), mine.get(path), other.get(path)
            if left == right or right == was:
                result = left
            elif left == was:
                result = right
            else:
                conflicts.append(path)
                continue
            if result is not None:
                merged[path] = result
        return merged, conflicts

"""What the GitHub forge reads: commits, file listings and file contents, from the local checkout
when it holds the commit (zero requests: in Actions the workflow checks the repository out), else from
the API (git trees, blobs, compare).

Everything keyed by an object id never changes, so it is remembered: commit -> tree, commit -> file
listing, blob -> text (blobs the bot wrote are also stored in the checkout's object database, so a
later run on the same checkout reads them without a request). Branch heads are read once per run: from the
API, or, for the branches the job fetched just before the bot ran (`fetched`: INCIDENT_BOT_FETCHED, set by
.github/actions/fetch-incident), from the checkout's `origin/<branch>`. Either may be stale by the time the bot
writes, so every write stays a compare-and-swap on GitHub's side; a refused one forgets the head, and the next
read asks the API. In a shallow checkout, history is read as `shallow.py` proves it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from git.exc import GitCommandError
from gitdb.base import IStream

from bot.errors import BotError, ForgeError, InputError
from bot.forge.base import Commit
from bot.forge.github import shallow
from bot.forge.github.api import Api
from bot.forge.github.errors import NotFound, ValidationFailed
from bot.forge.local import LocalForge, parse_trailers, raw_commit

_EXPR = re.compile(r"([0-9a-f]{40})((?:[~^][0-9]*)*)")
_STEP = re.compile(r"([~^])([0-9]*)")
_STATUS = {"added": "A", "removed": "D", "modified": "M", "changed": "T", "copied": "A"}


def blob_id(text: str) -> str:
    """Git's object id for a file with this content (so the bot knows what it wrote without asking)."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def utc(stamp: str) -> str:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Reads:
    def __init__(self, api: Api, checkout: Path | None, default_branch: str, main_sha: str | None,
                 fetched: frozenset[str] = frozenset()) -> None:
        self.api = api
        self.default_branch = default_branch
        self.local = _open_checkout(checkout, default_branch)
        self.shallow = self.local is not None and shallow.is_shallow(self.local.repo)
        # branches whose origin/ ref holds their state: named by the step (the environment) and by the checkout
        self._fetched = set(fetched) & shallow.fetched_here(self.local.repo) if self.local and fetched else set()
        self._main = main_sha
        self._trees: dict[str, str] = {}  # commit -> tree
        self._parents: dict[str, tuple[str, ...]] = {}
        self._listings: dict[str, dict[str, str]] = {}  # commit -> {path: blob}
        self._texts: dict[str, str] = {}  # blob -> text
        self._commits: dict[str, Commit] = {}
        self._local_has: dict[str, bool] = {}
        self._compares: dict[tuple[str, str], dict[str, Any]] = {}
        self._heads: dict[str, str | None] = {}  # "heads/<branch>" -> commit, this run

    def close(self) -> None:
        if self.local is not None:
            self.local.repo.close()

    # ------------------------------------------------------------------ refs

    def main(self) -> str:
        if self._main is None:
            found = self.branch(self.default_branch)
            if found is None:
                where = self.api.settings.repository
                raise ForgeError(f"the default branch {self.default_branch} does not exist on {where}")
            self._main = found
        return self._main

    def branch(self, name: str) -> str | None:
        return self.ref(f"heads/{name}")

    def ref(self, ref: str) -> str | None:
        """A ref's commit, read once per run: the bot's own ref writes update it, and a refused write
        (RefConflict) forgets it, so a compare-and-swap loop always re-reads after losing."""
        if ref not in self._heads:
            branch = ref.removeprefix("heads/")
            if branch in self._fetched and self.local is not None:  # fetched by this job: absent there, absent
                self._heads[ref] = shallow.remote_ref(self.local.repo, branch)
                return self._heads[ref]
            try:
                data = self.api.call("GET", f"/git/ref/{quote(ref)}", f"read {ref}")
                self._heads[ref] = str(data["object"]["sha"])
            except NotFound:
                self._heads[ref] = None
        return self._heads[ref]

    def moved(self, ref: str, sha: str | None) -> None:
        """The bot moved `ref` (heads/...) to `sha`; None: it is unknown again (a write was refused), and the
        next read asks the API, never the fetched copy, which may be what made the write fail."""
        if sha is None:
            self._heads.pop(ref, None)
            self._fetched.discard(ref.removeprefix("heads/"))
        else:
            self._heads[ref] = sha

    def resolve(self, ref: str) -> str | None:
        """A commit id for the default branch, a commit id (with ~n / ^n), a branch or a full ref."""
        if ref in (self.default_branch, f"refs/heads/{self.default_branch}"):
            return self.main()
        found = _EXPR.fullmatch(ref)
        if found is None:
            return self.ref(ref[5:]) if ref.startswith("refs/") else self.branch(ref)
        sha, suffix = found.groups()
        if not suffix:
            return sha
        if self.has_local(sha) and self.local is not None and not self.shallow:
            return self.local.head(ref)
        for op, count in _STEP.findall(suffix):  # (a shallow checkout hides parents from rev-parse)
            n = int(count) if count else 1
            steps = [0] * n if op == "~" else [n - 1] if n else []  # ~n: n first parents; ^n: the n-th parent
            for index in steps:
                parents = self.parents(sha)
                if index >= len(parents):
                    return None
                sha = parents[index]
        return sha

    def has_local(self, sha: str) -> bool:
        if self.local is None:
            return False
        if sha not in self._local_has:
            self._local_has[sha] = self.local.head(sha) is not None
        return self._local_has[sha]

    # ------------------------------------------------------------------ commits

    def commit(self, sha: str) -> Commit:
        if sha not in self._commits:
            if self.has_local(sha) and self.local is not None:
                if not self.shallow:
                    return self.local.get_commit(sha)
                found = raw_commit(self.local.repo, sha)  # git log shows a shallow commit parentless
                if found is not None:
                    self._learn(sha, found.tree, found.parents)
                    self._commits[sha] = found
                    return found
            try:
                data = self.api.call("GET", f"/git/commits/{sha}", f"read commit {sha[:12]}")
            except (NotFound, ValidationFailed):
                raise InputError("commit", sha, "no such commit") from None
            self._learn(sha, data["tree"]["sha"], tuple(p["sha"] for p in data["parents"]))
            self._commits[sha] = Commit(sha, str(data["message"]).strip("\n"), parse_trailers(data["message"]),
                                        data["author"]["name"], utc(data["committer"]["date"]),
                                        data["tree"]["sha"], tuple(p["sha"] for p in data["parents"]))
        return self._commits[sha]

    def parents(self, sha: str) -> tuple[str, ...]:
        if sha not in self._parents:
            self.commit(sha)
        return self._parents.get(sha, ())

    def tree_of(self, sha: str) -> str:
        if sha not in self._trees:
            if self.has_local(sha) and self.local is not None:
                self._trees[sha] = str(self.local.repo.git.rev_parse(f"{sha}^{{tree}}"))
            else:
                self.commit(sha)
        return self._trees[sha]

    def _learn(self, sha: str, tree: str, parents: tuple[str, ...]) -> None:
        self._trees[sha], self._parents[sha] = tree, parents

    def wrote(self, sha: str, tree: str, parent: str, files: dict[str, str | None]) -> None:
        """Remember a commit the bot just created, and what it holds (no request needed later)."""
        self._learn(sha, tree, (parent,))
        for text in files.values():
            if text is not None:
                self._remember(blob_id(text), text, store=True)
        base = self.known_listing(parent)
        if base is not None:
            listing = {p: b for p, b in base.items() if files.get(p, "") is not None}
            listing.update({p: blob_id(t) for p, t in files.items() if t is not None})
            self._listings[sha] = listing

    # ------------------------------------------------------------------ files

    def known_listing(self, sha: str) -> dict[str, str] | None:
        """The listing when it costs no request (remembered, or in the checkout)."""
        if sha not in self._listings and self.has_local(sha) and self.local is not None:
            try:
                out = str(self.local.repo.git.ls_tree("-r", "-z", "--full-tree", sha))
            except GitCommandError:  # a tree missing locally
                return None
            entries = (line.split("\t", 1) for line in out.split("\0") if line)
            self._listings[sha] = {path: meta.split()[2] for meta, path in entries if meta.split()[1] == "blob"}
        return self._listings.get(sha)

    def listing(self, sha: str) -> dict[str, str] | None:
        """{path: blob id} of every file in the commit; None if there is no such commit."""
        known = self.known_listing(sha)
        if known is not None:
            return known
        try:
            data = self.api.call("GET", f"/git/trees/{self._trees.get(sha, sha)}", f"list the files of {sha[:12]}",
                                 params={"recursive": "1"})
        except (NotFound, ValidationFailed):
            return None
        if data.get("truncated"):
            raise ForgeError(f"the tree of {sha[:12]} is too large for one GitHub listing (over 100,000 entries)")
        self._trees.setdefault(sha, str(data["sha"]))
        self._listings[sha] = {e["path"]: e["sha"] for e in data["tree"] if e["type"] == "blob"}
        return self._listings[sha]

    def texts(self, blobs: list[str]) -> dict[str, str]:
        wanted = [b for b in dict.fromkeys(blobs) if b not in self._texts]
        if wanted and self.local is not None:
            for sha, text in _cat_file(self.local.path, wanted).items():
                self._remember(sha, text, store=False)
        for sha in (b for b in wanted if b not in self._texts):
            data = self.api.call("GET", f"/git/blobs/{sha}", f"read blob {sha[:12]}")
            content = str(data["content"])
            raw = base64.b64decode(content) if data.get("encoding") == "base64" else content.encode()
            self._remember(sha, raw.decode("utf-8", errors="surrogateescape"), store=True)
        return {b: self._texts[b] for b in blobs}

    def _remember(self, sha: str, text: str, *, store: bool) -> None:
        self._texts[sha] = text
        if store and self.local is not None:
            data = text.encode("utf-8", errors="surrogateescape")
            with contextlib.suppress(OSError, ValueError):  # a cache: a read-only checkout costs requests later
                self.local.repo.odb.store(IStream("blob", len(data), io.BytesIO(data)))

    def read(self, ref: str, path: str) -> str | None:
        sha = self.resolve(ref)
        if sha is None:
            return None
        if self.has_local(sha) and self.local is not None:
            text = self.local.read(sha, path)
            if text is not None:
                return text
            listed = self.known_listing(sha)
            if listed is not None and path not in listed:
                return None  # not in the commit; listed but not here (an object missing locally): the API
        blob = (self.listing(sha) or {}).get(path)
        return None if blob is None else self.texts([blob])[blob]

    def tree(self, ref: str, prefix: str) -> dict[str, str]:
        sha = self.resolve(ref)
        if sha is None:
            return {}
        top = prefix.rstrip("/")
        if self.has_local(sha) and self.local is not None:
            try:
                files = self.local.tree(sha, prefix)
            except ForgeError:  # a tree missing locally
                files = None
            listed = self.known_listing(sha)
            if files is not None and listed is not None and all(
                    p in files for p in listed if not top or p == top or p.startswith(top + "/")):
                return files  # else an object is missing locally: the API gives what is not here
        found = {p: b for p, b in (self.listing(sha) or {}).items() if not top or p == top or p.startswith(top + "/")}
        texts = self.texts(list(found.values()))
        return {p: texts[b] for p, b in sorted(found.items())}

    # ------------------------------------------------------------------ comparisons

    def _pair(self, base: str, head: str) -> tuple[str, str]:
        pair = self.resolve(base), self.resolve(head)
        if pair[0] is None or pair[1] is None:
            raise ForgeError(f"cannot compare {base}...{head}: {head if pair[1] is None else base} does not exist")
        return pair[0], pair[1]

    def _compare(self, base: str, head: str) -> dict[str, Any]:
        """GET /compare/{base}...{head}: the merge base's diff to head and the commits (all pages)."""
        if (base, head) not in self._compares:
            path, what = f"/compare/{base}...{head}", f"compare {base[:12]}...{head[:12]}"
            data = self.api.call("GET", path, what, params={"per_page": 100})
            commits = list(data["commits"])
            page = 2
            while len(commits) < data["total_commits"] and page <= 50:
                more = self.api.call("GET", path, what, params={"per_page": 100, "page": page})["commits"]
                if not more:
                    break
                commits, page = commits + more, page + 1
            data["commits"] = commits
            self._compares[(base, head)] = data
        return self._compares[(base, head)]

    def _local_between(self, b: str, h: str) -> list[Commit] | None:
        """The commits of b..h from the checkout when it can answer exactly (None: ask the API)."""
        if self.local is None or not (self.has_local(b) and self.has_local(h)):
            return None
        if not self.shallow:
            return self.local.commits(b, h)
        if self._behind(b, h):
            return []
        found = shallow.between(self.local.repo, b, h)
        for c in found or []:
            self._learn(c.sha, c.tree, c.parents)
            self._commits[c.sha] = c
        return found

    def _behind(self, b: str, h: str) -> bool:
        """h is an ancestor of b, as the shallow checkout proves (a merged branch: a parent of main's merge)."""
        return self.local is not None and self.shallow and h != b and shallow.reaches(self.local.repo, b, h)

    def changed_paths(self, base: str, head: str) -> dict[str, str]:
        b, h = self._pair(base, head)
        try:
            if self.local is not None and not self.shallow and self.has_local(b) and self.has_local(h):
                return self.local.changed_paths(b, h)
            if self.local is not None and self._local_between(b, h) is not None:
                if self._behind(b, h):
                    return {}  # the merge base is h itself: b...h changes nothing
                return shallow.changed_paths(self.local.repo, b, h)  # b is the merge base: a tree diff
        except (ForgeError, GitCommandError):
            pass  # a tree missing locally: the API's compare
        changed: dict[str, str] = {}
        for f in self._compare(b, h).get("files") or []:
            if f["status"] == "renamed":
                changed[f["previous_filename"]] = "D"
                changed[f["filename"]] = "A"
            elif f["status"] in _STATUS:
                changed[f["filename"]] = _STATUS[f["status"]]
        return changed

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """From the compare of `ancestor...descendant` that `changed_paths` reads too (no extra request):
        GitHub's `status` is "ahead" or "identical" exactly when the base is an ancestor of the head
        (https://docs.github.com/en/rest/commits/commits#compare-two-commits)."""
        b, h = self._pair(ancestor, descendant)
        if self.local is not None and not self.shallow and self.has_local(b) and self.has_local(h):
            return self.local.is_ancestor(b, h)
        if self.local is not None and self.shallow and self.has_local(b) and self.has_local(h) and (
                b == h or shallow.between(self.local.repo, b, h) is not None or shallow.reaches(self.local.repo, h, b)):
            return True  # a path from h down to b is proof (the absence of one is not: ask the API)
        return self._compare(b, h).get("status") in ("ahead", "identical")

    def commits(self, base: str, head: str) -> list[Commit]:
        b, h = self._pair(base, head)
        local = self._local_between(b, h)
        if local is not None:
            return local
        found = []
        for c in self._compare(b, h)["commits"]:
            self._learn(c["sha"], c["commit"]["tree"]["sha"], tuple(p["sha"] for p in c["parents"]))
            message = str(c["commit"]["message"])
            commit = Commit(c["sha"], message.strip("\n"), parse_trailers(message), c["commit"]["author"]["name"],
                            utc(c["commit"]["committer"]["date"]), c["commit"]["tree"]["sha"],
                            tuple(p["sha"] for p in c["parents"]))
            self._commits[c["sha"]] = commit
            found.append(commit)
        return found


def _open_checkout(checkout: Path | None, default_branch: str) -> LocalForge | None:
    if checkout is None:
        return None
    try:
        return LocalForge(checkout, default_branch)
    except BotError:
        return None


def _cat_file(repo: Path, shas: list[str]) -> dict[str, str]:
    """The blobs among `shas` that the checkout holds, in one `git cat-file --batch`."""
    done = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input="\n".join(shas).encode() + b"\n",
                          capture_output=True, check=False)
    out, found, at = done.stdout, {}, 0
    while at < len(out):
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[header[0].decode()] = out[at:at + size].decode("utf-8", errors="surrogateescape")
            at += size + 1
        elif len(header) == 3:
            at += int(header[2]) + 1
    return found

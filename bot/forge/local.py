"""The local forge: a real git repository (GitPython) in which pull requests, reviews and checks are
recorded in git itself, so the whole lifecycle runs offline.

- branches are ordinary refs, written with plumbing (no working tree is touched, so it is race-safe:
  every ref update is a compare-and-swap through `git update-ref <ref> <new> <old>`);
- a pull request is a ref `refs/forge/pulls/<n>` whose commit holds `pull.json` (each update is a new
  commit, so its history is kept);
- checks are git notes on the commit they judge (`refs/notes/incident-bot/checks`): bound to the SHA.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from git import Repo
from git.compat import safe_decode
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError
from gitdb.base import IStream

from bot.config.loader import parse_json
from bot.errors import ForgeError, InputError
from bot.forge.base import Check, Commit, PullRequest, RefCollision, RefConflict, Review, Sealer, blocking_ref
from bot.rules import seal as sealing

ZERO = "0" * 40
PULLS = "refs/forge/pulls/"
NOTES = "refs/notes/incident-bot/checks"
BOT = "incident-bot"
_COMMITISH = re.compile(r"[0-9a-f]{40}(?:[~^][0-9]*)*")
_SHA = re.compile(r"[0-9a-f]{40}")
# Subject of a pull request's record commit; it names the branch so a lookup reads only that branch's
# records (older records, whose subject has no branch, are read).
_PULL_SUBJECT = re.compile(r"pull #[0-9]+: [a-z]+ (\S+)")
BOT_EMAIL = "incident-bot@users.noreply.local"
SEAL_ENV = "INCIDENT_BOT_SEAL_KEY"


class LocalForge:
    name = "local"
    bot_identity = BOT

    def __init__(self, path: str | Path, default_branch: str = "main") -> None:
        try:
            self.repo = Repo(path)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise InputError(str(path), "--repo", "not a git repository") from None
        self.path = Path(self.repo.working_tree_dir or self.repo.git_dir)
        self.default_branch = default_branch

    # ------------------------------------------------------------------ plumbing

    def _git(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
        try:
            if stdin is None:
                out: str = self._execute(["git", *args], None, env)
                return out
            with tempfile.TemporaryFile() as handle:
                handle.write(stdin.encode("utf-8"))
                handle.seek(0)
                out = self._execute(["git", *args], handle, env)
                return out
        except GitCommandError as exc:
            raise ForgeError(f"git {args[0]} failed: {str(exc.stderr).strip()[:300]}") from None

    def _execute(self, command: list[str], istream: Any, env: dict[str, str] | None) -> str:
        """GitPython's execute as plain text: no process object, no (status, out, err) tuple."""
        out = self.repo.git.execute(  # type: ignore[call-overload]  # its overloads omit istream/env
            command, istream=istream, env=env, strip_newline_in_stdout=False,
            with_extended_output=False, as_process=False, stdout_as_string=True,
        )
        return str(out)

    def _blob(self, text: str) -> str:
        """Store a blob through GitPython's object database (no process per file)."""
        data = text.encode("utf-8")
        stored = self.repo.odb.store(IStream("blob", len(data), io.BytesIO(data)))
        return stored.hexsha.decode("ascii") if isinstance(stored.hexsha, bytes) else str(stored.hexsha)

    def _bot_env(self, **extra: str) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": BOT, "GIT_AUTHOR_EMAIL": BOT_EMAIL,
            "GIT_COMMITTER_NAME": BOT, "GIT_COMMITTER_EMAIL": BOT_EMAIL, **extra,
        }

    def seal_key(self) -> bytes:
        """INCIDENT_BOT_SEAL_KEY, else a key generated once (mode 0600) in the git dir, never committed."""
        configured = os.environ.get(SEAL_ENV, "").strip()
        if configured:
            return configured.encode("utf-8")
        path = Path(self.repo.git_dir) / "incident-bot" / "seal.key"
        if not path.exists():
            import secrets

            path.parent.mkdir(mode=0o700, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_hex(32) + "\n")
        return path.read_text(encoding="utf-8").strip().encode("utf-8")

    def _sealed(self, tree: str, parents: Sequence[str], message: str) -> str:
        return sealing.seal(self.seal_key(), tree, parents, message)

    def _update_ref(self, ref: str, new: str, old: str | None) -> None:
        try:
            self.repo.git.update_ref(ref, new, old or ZERO)
        except GitCommandError as exc:
            # a ref holding its name as a folder (a retry never helps), or a racer moved it (retry)
            parts = ref.split("/")
            candidates = self._git("for-each-ref", "--format=%(refname)", f"{ref}/",
                                   *("/".join(parts[:i]) for i in range(2, len(parts)))).split()
            blocking = blocking_ref(ref, candidates)
            if blocking is not None:
                raise RefCollision(ref, blocking) from None
            if self._resolve(ref) != old:  # it moved (or exists): a race to re-read and retry
                raise RefConflict(f"{ref} moved or already exists; re-read and retry") from None
            raise ForgeError(f"git update-ref {ref} failed: {str(exc.stderr).strip()[:300]}") from None

    def _resolve(self, ref: str) -> str | None:
        try:
            return str(self.repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}"))
        except GitCommandError:
            return None

    def _ref(self, name: str) -> str:
        """Branch names become refs/heads/...; full refs and commit ids (with ~/^ suffixes) pass through."""
        return name if name.startswith("refs/") or _COMMITISH.fullmatch(name) else f"refs/heads/{name}"

    # ------------------------------------------------------------------ Forge verbs

    def head(self, branch: str) -> str | None:
        return self._resolve(self._ref(branch))

    def branches(self, prefix: str) -> dict[str, str]:
        out = self._git("for-each-ref", "--format=%(refname:short) %(objectname)",
                        f"refs/heads/{prefix.rsplit('/', 1)[0]}")
        pairs = (line.split(" ", 1) for line in out.splitlines() if line)
        return {name: sha for name, sha in pairs if name.startswith(prefix)}

    def read(self, ref: str, path: str) -> str | None:
        if _SHA.fullmatch(ref):  # a commit id needs no ref lookup: peeled and read in one batch request
            return self._read_at(f"{ref}^{{commit}}", path)
        sha = self._resolve(self._ref(ref))
        if sha is None:
            return None
        return self._read_at(sha, path)

    def _read_at(self, commit: str, path: str) -> str | None:
        """A file of `commit` through GitPython's persistent `git cat-file --batch`: no process per file
        (a process per file made every command's cost grow with the number of pull requests and of
        same-day incident branches)."""
        if "\n" not in path:
            try:
                _, kind, _, data = self.repo.git.get_object_data(f"{commit}:{path}")
            except ValueError:  # "<name> missing": no such path at that commit
                return None
            if safe_decode(kind) == "blob":  # GitPython hands out bytes here despite its annotations
                return safe_decode(data)  # decoded exactly as `git show` output is
        try:
            return self._execute(["git", "show", f"{commit}:{path}"], None, None)
        except GitCommandError:
            return None

    def tree(self, ref: str, prefix: str) -> dict[str, str]:
        sha = self._resolve(self._ref(ref))
        if sha is None:
            return {}
        listing = self._git("ls-tree", "-r", "-z", "--name-only", sha, "--", prefix.rstrip("/") or ".")
        files = {}
        for path in filter(None, listing.split("\0")):
            text = self._read_at(sha, path)
            if text is not None:
                files[path] = text
        return files

    def changed_paths(self, base: str, head: str) -> dict[str, str]:
        out = self._git("diff", "--name-status", "-z", "--no-renames", f"{self._ref(base)}...{self._ref(head)}")
        parts = [p for p in out.split("\0") if p]
        return {parts[i + 1]: parts[i][0] for i in range(0, len(parts) - 1, 2)}

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self._git("rev-list", "--count", f"{self._ref(descendant)}..{self._ref(ancestor)}").strip() == "0"

    def get_commit(self, sha: str) -> Commit:
        if _SHA.fullmatch(sha):  # through the persistent cat-file: no process (history reads one per incident)
            found_raw = raw_commit(self.repo, sha)
            if found_raw is not None:
                return found_raw
        try:
            found = self._log("-1", self._ref(sha))
        except ForgeError:  # "bad object": unusable input, as on GitHub (not a failure a re-run fixes)
            found = []
        if not found:
            raise InputError("commit", sha, "no such commit")
        return found[0]

    def commits(self, base: str, head: str) -> list[Commit]:
        return self._log("--reverse", f"{self._ref(base)}..{self._ref(head)}")

    def _log(self, *args: str) -> list[Commit]:
        out = self._git("log", "-z", "--format=%H%x1f%an%x1f%ct%x1f%T%x1f%P%x1f%B", *args)
        found = []
        for record in filter(None, out.split("\0")):
            sha, author, stamp, tree, parents, message = record.strip("\n").split("\x1f", 5)
            date = datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            found.append(Commit(sha, message, parse_trailers(message), author, date, tree, tuple(parents.split())))
        return found

    def commit_chain(
        self, branch: str, parent: str, changes: Sequence[tuple[Mapping[str, str | None], str]], *, create: bool,
        seal: Sealer | None = None, replace: str | None = None,
    ) -> str:
        ref = self._ref(branch)
        new = parent
        with tempfile.TemporaryDirectory(prefix="incident-bot-index-") as tmp:
            env = self._bot_env(GIT_INDEX_FILE=os.path.join(tmp, "index"))
            self._git("read-tree", parent, env=env)
            for files, message in changes:
                lines = [f"0 {ZERO}\t{path}" if text is None else f"100644 {self._blob(text)}\t{path}"
                         for path, text in sorted(files.items())]
                self._git("update-index", "--index-info", stdin="\n".join(lines) + "\n", env=env)
                tree = self._git("write-tree", env=env).strip()
                text = seal(tree, [new], message) if seal else message
                new = self._git("commit-tree", tree, "-p", new, stdin=text, env=self._bot_env()).strip()
        old = None if create else replace or parent
        self._update_ref(ref, new, old)
        self._sync_worktree(ref, old, new)
        return new

    def _sync_worktree(self, ref: str, old: str | None, new: str) -> None:
        """Keep a checked-out branch's working tree in step when the bot moves that branch."""
        if self.repo.bare or self.repo.head.is_detached or self.repo.head.ref.path != ref or old is None:
            return
        self._git("read-tree", "-m", "-u", old, new)

    # ------------------------------------------------------------------ pull requests

    def _pull_refs(self) -> list[str]:
        out = self._git("for-each-ref", "--format=%(refname)", PULLS)
        return sorted(filter(None, out.splitlines()), key=lambda r: int(r.rsplit("/", 1)[1]))

    def _load_pull(self, ref: str) -> PullRequest:
        return self._with_head(self._stored_pull(self.read(ref, "pull.json")))

    def _stored_pulls(self, branch: str) -> list[PullRequest]:
        """The pull requests that may be `branch`'s, as stored, in number order: one for-each-ref, only
        records whose commit subject does not name another branch are read, none with a process of its
        own, and no branch is resolved (callers resolve the head of the one they pick)."""
        out = self._git("for-each-ref", "--format=%(refname) %(objectname) %(contents:subject)", PULLS)
        rows = sorted(((line.split(" ", 2) + [""])[:3] for line in out.splitlines() if line),
                      key=lambda row: int(row[0].rsplit("/", 1)[1]))
        return [self._stored_pull(self._read_at(sha, "pull.json"), f"{ref}:pull.json") for ref, sha, subject in rows
                if (listed := _PULL_SUBJECT.fullmatch(subject)) is None or listed.group(1) == branch]

    def _stored_pull(self, text: str | None, source: str = f"{PULLS}*:pull.json") -> PullRequest:
        data = stored_record(PullRequest, text or "{}", source, extra=("reviews", "merging", "comments"))
        data.pop("reviews", None)
        data.pop("comments", None)
        merging = data.pop("merging", None)
        if not isinstance(merging, str | None):
            raise InputError(source, "$.merging", f"expected a commit id, got {type(merging).__name__}")
        base = data.get("base") or self.default_branch
        if merging and data.get("state") == "open" and self.is_ancestor(merging, base):
            data.update(state="merged", merge_sha=merging)  # an interrupted merge moved the base: it is merged
        return PullRequest(**{**data, "labels": tuple(data.get("labels", ())),
                              "requested_reviewers": tuple(data.get("requested_reviewers", ()))})

    def _with_head(self, pull: PullRequest) -> PullRequest:
        head = self.head(pull.branch) if pull.state == "open" else None
        return replace(pull, head_sha=head or pull.head_sha)

    def reviews(self, number: int) -> tuple[Review, ...]:
        return _stored_reviews(self.read(f"{PULLS}{number}", "pull.json"), f"{PULLS}{number}:pull.json")

    def _save_pull(self, pull: PullRequest, *, create: bool, reviews: tuple[Review, ...] | None = None) -> None:
        ref = f"{PULLS}{pull.number}"
        old = None if create else self._resolve(ref)
        stored = None if create or old is None else _Record.at(self, ref, old)
        kept = reviews if reviews is not None else (stored.reviews if stored else ())
        self._write_pull(_Record(pull, kept, comments=stored.comments if stored else ()), old)

    def _write_pull(self, record: _Record, old: str | None) -> None:
        """One new commit of the pull record on top of `old` (None: create), compare-and-swap."""
        pull, ref = record.pull, f"{PULLS}{record.pull.number}"
        data = {**asdict(pull), "reviews": [asdict(r) for r in record.reviews]}
        if record.merging:
            data["merging"] = record.merging
        if record.comments:
            data["comments"] = list(record.comments)
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        with tempfile.TemporaryDirectory(prefix="incident-bot-index-") as tmp:
            env = self._bot_env(GIT_INDEX_FILE=os.path.join(tmp, "index"))
            blob = self._blob(text)
            self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},pull.json", env=env)
            tree = self._git("write-tree", env=env).strip()
        parents = ["-p", old] if old else []
        message = self._sealed(tree, [old] if old else [], f"pull #{pull.number}: {pull.state} {pull.branch}")
        new = self._git("commit-tree", tree, *parents, stdin=message, env=self._bot_env())
        self._update_ref(ref, new.strip(), old)

    def blob_url(self, sha: str, path: str) -> str:
        return path  # relative to the repository: opens in a checkout (the local forge has no web view)

    def find_pull(self, branch: str) -> PullRequest | None:
        found = [pull for pull in self._stored_pulls(branch) if pull.branch == branch]
        return self._with_head(found[-1]) if found else None

    def pull(self, number: int) -> PullRequest:
        if self._resolve(f"{PULLS}{number}") is None:
            raise InputError("pull request", str(number), "no such pull request")
        return self._load_pull(f"{PULLS}{number}")

    def open_pull(self, branch: str, title: str, body: str, labels: tuple[str, ...],
                  reviewers: tuple[str, ...] = ()) -> PullRequest:
        for _ in range(20):
            existing = self.find_pull(branch)
            if existing is not None and existing.state == "open":
                return existing
            refs = self._pull_refs()
            number = int(refs[-1].rsplit("/", 1)[1]) + 1 if refs else 1
            head = self.head(branch)
            if head is None:
                raise ForgeError(f"branch {branch} does not exist")
            pull = PullRequest(number, branch, self.default_branch, title, body, "open", head,
                               labels=tuple(sorted(set(labels))), requested_reviewers=tuple(sorted(set(reviewers))),
                               url=f"local:{self.path}#pull/{number}")
            try:
                self._save_pull(pull, create=True)
            except RefConflict:
                continue  # another process took this number: look again
            # two racers on the same branch: the lowest number wins, the other closes itself
            winner = self.find_pull_all(branch)[0]
            if winner.number != number:
                self._change_pull(number, lambda r: replace(r, pull=replace(r.pull, state="closed")), "close")
                return winner
            return pull
        raise ForgeError(f"could not open a pull request for {branch}: too much contention")

    def find_pull_all(self, branch: str) -> list[PullRequest]:
        return [self._with_head(p) for p in self._stored_pulls(branch) if p.branch == branch and p.state != "closed"]

    def _change_pull(self, number: int, change: Callable[[_Record], _Record | None], what: str) -> _Record:
        """Read the pull record, change it, write it back as a compare-and-swap against the commit it was
        read from (the reviews with it: a concurrent review is never lost); re-read and retry on a race.
        `change` returns None when there is nothing to write, and may raise to refuse."""
        ref = f"{PULLS}{number}"
        for _ in range(20):
            old = self._resolve(ref)
            if old is None:
                raise InputError("pull request", str(number), "no such pull request")
            record = _Record.at(self, ref, old)
            new = change(record)
            if new is None or new == record:
                return record
            try:
                self._write_pull(new, old)
                return new
            except RefConflict:
                continue
        raise ForgeError(f"could not {what} pull request #{number}: too much contention")

    def update_pull(self, number: int, *, body: str | None = None, labels: tuple[str, ...] = ()) -> None:
        def change(r: _Record) -> _Record:
            return replace(r, pull=replace(r.pull, body=r.pull.body if body is None else body,
                                           labels=tuple(sorted(set(r.pull.labels) | set(labels)))))

        self._change_pull(number, change, "update")

    def close_pull(self, number: int, reason: str) -> None:
        def change(r: _Record) -> _Record | None:
            if r.pull.state != "open":
                return None
            return replace(r, pull=replace(r.pull, state="closed"), comments=(*r.comments, reason))

        self._change_pull(number, change, "close")

    def comments(self, number: int) -> tuple[str, ...]:
        """The comments left on the pull request (the reasons it was closed)."""
        return _stored_comments(self.read(f"{PULLS}{number}", "pull.json"), f"{PULLS}{number}:pull.json")

    def add_review(self, number: int, review: Review) -> None:
        def change(r: _Record) -> _Record | None:
            return None if review in r.reviews else replace(r, reviews=(*r.reviews, review))

        self._change_pull(number, change, "record the review on")

    def merge(self, number: int, sha: str, message: str) -> str:
        """Three writes, each a compare-and-swap, in an order a re-run finishes from any failure: the
        intent (the merge commit, in the pull record), the move of the base branch, the closed record. A
        re-run after a failure between the last two finds the intended commit on the base and only closes
        the record: it never merges twice."""
        ref = f"{PULLS}{number}"
        if self._resolve(ref) is None:
            raise InputError("pull request", str(number), "no such pull request")
        record = _Record.at(self, ref, self._resolve(ref) or "")
        pull = record.pull
        base = self.head(pull.base)
        if base is None:
            raise ForgeError(f"base branch {pull.base} does not exist")
        if pull.state == "merged" and record.merging:
            return self._close_merged(number, record.merging)  # an earlier run moved the base: finish it
        if pull.state != "open":
            raise ForgeError(f"pull request #{number} is {pull.state}")
        if pull.head_sha != sha:
            raise RefConflict(f"pull request #{number} head moved from {sha[:12]} to {pull.head_sha[:12]}")
        try:
            tree = self.repo.git.merge_tree("--write-tree", base, sha).splitlines()[0]
        except GitCommandError:
            raise ForgeError(f"pull request #{number} does not merge cleanly into {pull.base}") from None
        merged = self._git("commit-tree", tree, "-p", base, "-p", sha, stdin=message, env=self._bot_env()).strip()

        def intend(r: _Record) -> _Record:
            if r.pull.state != "open" or r.pull.head_sha != sha:
                raise RefConflict(f"pull request #{number} changed while merging ({r.pull.state},"
                                  f" head {r.pull.head_sha[:12]})")
            return replace(r, merging=merged)

        self._change_pull(number, intend, "merge")
        self._update_ref(self._ref(pull.base), merged, base)
        self._sync_worktree(self._ref(pull.base), base, merged)
        return self._close_merged(number, merged)

    def finish_merge(self, number: int) -> None:
        ref = f"{PULLS}{number}"
        record = _Record.at(self, ref, self._resolve(ref) or ref)
        if record.pull.state == "merged" and record.merging:
            self._close_merged(number, record.merging)

    def _close_merged(self, number: int, merged: str) -> str:
        self._change_pull(number, lambda r: replace(r, pull=replace(r.pull, state="merged", merge_sha=merged),
                                                    merging=None), "close")
        return merged

    # ------------------------------------------------------------------ checks (git notes)

    def checks(self, sha: str) -> dict[str, Check]:
        return self._checks_on(NOTES, sha)

    def record_check(self, sha: str, name: str, conclusion: str, title: str, summary: str) -> Check:
        """Add the check to the commit's note as a compare-and-swap of the notes ref: `git notes add` moves
        the ref without checking its old value, so two checks on different commits could lose one. The
        note is written on a private copy of the ref, which then replaces the shared one only if unmoved."""
        check = Check(name, sha, conclusion, title, summary)
        scratch = f"refs/notes/incident-bot/scratch-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            for _ in range(50):
                old = self._resolve(NOTES)
                if old:
                    self._update_ref(scratch, old, None)
                current = {n: asdict(c) for n, c in self._checks_on(scratch if old else NOTES, sha).items()}
                current[name] = asdict(check)
                self._git("notes", f"--ref={scratch}", "add", "-f", "-F", "-", sha,
                          stdin=json.dumps(current, indent=2, sort_keys=True), env=self._bot_env())
                new = self._resolve(scratch)
                assert new is not None
                try:
                    self._update_ref(NOTES, new, old)
                    return check
                except RefConflict:
                    self._git("update-ref", "-d", scratch)
                    continue
            raise RefConflict(f"{NOTES}: too much contention")
        finally:
            if self._resolve(scratch):
                self._git("update-ref", "-d", scratch)

    def _checks_on(self, ref: str, sha: str) -> dict[str, Check]:
        try:
            raw = self.repo.git.notes(f"--ref={ref}", "show", sha)
        except GitCommandError:
            return {}
        source = f"git notes --ref={ref} show {sha}"
        data = parse_json(raw, source)
        if not isinstance(data, dict):
            raise InputError(source, "$", "expected an object of checks by name")
        return {n: Check(**stored_record(Check, c, f"{source} $.{n}")) for n, c in data.items()}


# The JSON types of the record fields (bot/forge/base.py's dataclasses), by their annotation.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,), "str": (str,), "str | None": (str, type(None)), "tuple[str, ...]": (list,),
}


def stored_record(cls: type, raw: Any, source: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """A pull record, review or check as stored (JSON text or an already parsed value), checked field by
    field against the dataclass `cls`: an InputError naming `source` and the field otherwise."""
    data = parse_json(raw, source) if isinstance(raw, str) else raw
    if not isinstance(data, dict):
        raise InputError(source, "$", f"expected an object, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    for key, value in data.items():
        if key in extra:
            continue
        if key not in known:
            raise InputError(source, f"$.{key}", "unknown field")
        kinds = _FIELD_TYPES.get(str(known[key].type), (object,))
        strings = not isinstance(value, list) or all(isinstance(v, str) for v in value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds) or not strings:
            raise InputError(source, f"$.{key}", f"expected {known[key].type}, got {type(value).__name__}")
    missing = [f.name for f in known.values() if f.default is MISSING and f.name not in data]
    if missing:
        raise InputError(source, f"$.{missing[0]}", "required field is missing")
    return data


def parse_trailers(message: str) -> dict[str, str]:
    """Git trailers (`Key: value` lines of the last paragraph)."""
    paragraphs = message.strip().split("\n\n")
    trailers = {}
    for line in paragraphs[-1].splitlines() if len(paragraphs) > 1 else []:
        key, sep, value = line.partition(": ")
        if sep and key.replace("-", "").isalnum():
            trailers[key] = value.strip()
    return trailers


@dataclass(frozen=True)
class _Record:
    """A pull record as stored at one commit of its ref: the pull request, its reviews, and the merge
    commit a merge in progress intends (written before the base branch moves)."""

    pull: PullRequest
    reviews: tuple[Review, ...] = ()
    merging: str | None = None
    comments: tuple[str, ...] = ()  # left on the pull request, e.g. why the bot closed it

    @classmethod
    def at(cls, forge: LocalForge, ref: str, commit: str) -> _Record:
        text = forge._read_at(commit, "pull.json")
        source = f"{ref}:pull.json"
        data = parse_json(text or "{}", source)
        merging = data.get("merging") if isinstance(data, dict) else None
        return cls(forge._with_head(forge._stored_pull(text, source)), _stored_reviews(text, source),
                   merging if isinstance(merging, str) else None, _stored_comments(text, source))


def _stored_comments(text: str | None, source: str) -> tuple[str, ...]:
    data = parse_json(text or "{}", source)
    comments = data.get("comments", []) if isinstance(data, dict) else None
    if not isinstance(comments, list) or not all(isinstance(c, str) for c in comments):
        raise InputError(source, "$.comments", "expected an array of strings")
    return tuple(comments)


def _stored_reviews(text: str | None, source: str) -> tuple[Review, ...]:
    data = parse_json(text or "{}", source)
    reviews = data.get("reviews", []) if isinstance(data, dict) else None
    if not isinstance(reviews, list):
        raise InputError(source, "$.reviews", "expected an array of reviews")
    return tuple(Review(**stored_record(Review, r, f"{source} $.reviews[{i}]")) for i, r in enumerate(reviews))


def raw_commit(repo: Repo, sha: str) -> Commit | None:
    """Commit `sha` read as stored, through GitPython's persistent `git cat-file --batch` (no process), exactly as
    `_log` reads it (%an, %ct, %T, %P, %B); its true parents even on a shallow boundary. None if it is not here."""
    try:
        _, kind, _, data = repo.git.get_object_data(sha)
    except (GitCommandError, ValueError):
        return None
    if safe_decode(kind) != "commit":  # GitPython hands out bytes here despite its annotations
        return None
    header, _, message = data.decode("utf-8", errors="surrogateescape").partition("\n\n")
    tree, parents, author, stamp = "", [], "", "0"
    for line in header.split("\n"):
        key, _, value = line.partition(" ")
        if key == "tree":
            tree = value
        elif key == "parent":
            parents.append(value)
        elif key == "author":
            author = value.rsplit(" <", 1)[0]
        elif key == "committer":
            stamp = value.rsplit(" ", 2)[-2]
    message = message.rstrip("\n")
    date = datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Commit(sha, message, parse_trailers(message), author, date, tree, tuple(parents))

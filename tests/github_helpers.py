"""The GitHub forge's test bench: the fake's `main` seeded with this repository's desired state, a
local checkout holding the very same commit (as `actions/checkout` gives a workflow), and the
environment the CLI reads, the way GitHub Actions provides it."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from git import Repo
from gitdb.base import IStream

from bot.forge.github import Settings
from tests.githubfake import BOT_TOKEN, GitHubFake
from tests.githubfake.gitstore import _tree_sort_key

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "acme/gitops"
ID = "HM-2026-05-17-01"
BRANCH = f"incident/{ID}"


def seed_files() -> dict[str, str | bytes]:
    """policies/, specs/, deploy/, .github/CODEOWNERS and the seed fixtures, as on the project's main."""
    files: dict[str, str | bytes] = {}
    for top in ("policies", "specs", "deploy", "fixtures"):
        for path in sorted((ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if path.is_file() and not rel.startswith(("fixtures/vendor/", "fixtures/readiness/")):
                files[rel] = path.read_bytes()
    files[".github/CODEOWNERS"] = (ROOT / ".github" / "CODEOWNERS").read_text()
    return files


def checkout_of(server: GitHubFake, path: Path, branch: str = "main", fetched: tuple[str, ...] = (),
                shallow: bool = False) -> Path:
    """A local git repository holding the fake's objects reachable from `branch` (and from the `fetched`
    branches, as remote-tracking refs), checked out: the same commit ids as on the fake, which is what
    `actions/checkout` gives a workflow (`fetch-depth: 0` fetches every branch). `shallow`: only the tip
    commit of `branch`, grafted (`.git/shallow`), as the default `actions/checkout` (fetch-depth: 1) gives."""
    store = server.repo().git
    tip = server.ref_sha(branch)
    assert tip is not None
    tips = [tip, *(str(server.ref_sha(b)) for b in fetched)]
    subprocess.run(["git", "init", "-q", "-b", branch, str(path)], check=True)
    repo = Repo(path)
    try:
        for sha in {tip} if shallow else {a for t in tips for a in store.ancestors(t)}:
            commit = store.commits[sha]
            _put(repo, "commit", _commit_payload(commit), sha)
            for entry in store.flatten(commit.tree).values():
                _put(repo, "blob", store.blobs[entry.sha], entry.sha)
            _put_trees(repo, store, commit.tree)
    finally:
        repo.close()
    if shallow:
        (path / ".git" / "shallow").write_text(tip + "\n", "utf-8")
    subprocess.run(["git", "-C", str(path), "update-ref", f"refs/heads/{branch}", tip], check=True)
    for name, sha in zip(fetched, tips[1:], strict=True):
        subprocess.run(["git", "-C", str(path), "update-ref", f"refs/remotes/origin/{name}", sha], check=True)
    subprocess.run(["git", "-C", str(path), "reset", "-q", "--hard", tip], check=True)
    return path


def mirror_of(server: GitHubFake, path: Path, written: set[str]) -> Path:
    """A bare repository holding every object and branch of the fake's repository, updated in place (`written`:
    the objects already in it): the `origin` a workflow's `git fetch` talks to, as a file:// remote."""
    store = server.repo().git
    if not path.exists():
        subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    repo = Repo(path)
    try:
        for sha, data in list(store.blobs.items()):
            if sha not in written:
                _put(repo, "blob", data, sha)
                written.add(sha)
        for sha, entries in list(store.trees.items()):
            if sha not in written:
                _put(repo, "tree", _tree_payload(entries), sha)
                written.add(sha)
        for sha, commit in list(store.commits.items()):
            if sha not in written:
                _put(repo, "commit", _commit_payload(commit), sha)
                written.add(sha)
    finally:
        repo.close()
    refs = dict(server.repo().refs)
    stale = subprocess.run(["git", "-C", str(path), "for-each-ref", "--format=%(refname)"], check=True,
                           capture_output=True, text=True).stdout.split()
    lines = [f"delete {r}\n" for r in stale if r not in refs] + [f"update {r} {sha}\n" for r, sha in refs.items()]
    subprocess.run(["git", "-C", str(path), "update-ref", "--stdin"], input="".join(lines), text=True, check=True)
    return path


def _commit_payload(commit) -> bytes:
    lines = [f"tree {commit.tree}", *(f"parent {p}" for p in commit.parents),
             f"author {commit.author.raw()}", f"committer {commit.committer.raw()}", "", commit.message]
    return "\n".join(lines).encode()


def _tree_payload(entries) -> bytes:
    return b"".join(f"{e.mode.lstrip('0')} {name}\0".encode() + bytes.fromhex(e.sha)
                    for name, e in sorted(entries.items(), key=_tree_sort_key))


def _put_trees(repo: Repo, store, tree: str) -> None:
    entries = store.trees[tree]
    _put(repo, "tree", _tree_payload(entries), tree)
    for e in entries.values():
        if e.type == "tree":
            _put_trees(repo, store, e.sha)


def _put(repo: Repo, kind: str, data: bytes, expected: str) -> None:
    stored = repo.odb.store(IStream(kind, len(data), io.BytesIO(data)))
    written = stored.hexsha.decode() if isinstance(stored.hexsha, bytes) else str(stored.hexsha)
    assert written == expected, f"{kind} {expected} was written as {written}"


def github_env(server: GitHubFake, token: str = BOT_TOKEN, **extra: str) -> dict[str, str]:
    """What a workflow step on the default branch sees (plus: no pacing, fast retries, for tests)."""
    sha = server.ref_sha("main")
    assert sha is not None
    return {
        "INCIDENT_BOT_FORGE": "github",
        "GITHUB_TOKEN": token,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": server.base_url,
        "GITHUB_SHA": sha,
        "GITHUB_REF": "refs/heads/main",
        "INCIDENT_BOT_GITHUB_PACING": "none",
        "INCIDENT_BOT_GITHUB_BACKOFF": "0",
        "INCIDENT_BOT_SEAL_KEY": "a-test-seal-key-kept-outside-git",
        **extra,
    }


def fast_settings(server: GitHubFake, token: str = BOT_TOKEN, **overrides: object) -> Settings:
    """Settings for a forge talking to the fake: no pacing, no backoff, short rate-limit waits."""
    values: dict[str, object] = {
        "token": token, "repository": REPOSITORY, "api_url": server.base_url, "main_sha": server.ref_sha("main"),
        "attempts": 5, "backoff": 0.0, "secondary_rate_wait": 1.0, "max_rate_limit_wait": 10.0,
        "seconds_between_requests": None, "seconds_between_writes": None, **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def cli_runner(cli, server: GitHubFake, checkout: Path, monkeypatch, *, secrets_stay_out: bool = False):
    """The CLI with the environment of a workflow step (`github_env`); each result also lists the requests
    it made (`result.requests`). `secrets_stay_out`: also assert the token never reaches the output."""

    def go(*argv: object, token: str = BOT_TOKEN, **extra: str):
        for name in ("INCIDENT_BOT_IDENTITY", "INCIDENT_BOT_APP_ID"):
            monkeypatch.delenv(name, raising=False)
        for key, value in github_env(server, token, **extra).items():
            monkeypatch.setenv(key, value)
        before = len(server.exchanges)
        result = cli(*argv, "--repo", checkout)
        result.requests = server.exchanges[before:]
        if secrets_stay_out:
            assert token not in result.out + result.err  # secrets never reach the output
        return result

    return go


FETCH_SCRIPT = ROOT / ".github" / "actions" / "fetch-incident" / "fetch.sh"


def workflow_fetch(checkout: Path, origin: Path, *incidents: str, **extra: str) -> str:
    """What the workflows' fetch step does on a runner (.github/actions/fetch-incident/fetch.sh, run as is), with
    `origin` (a `mirror_of` the fake) as the remote; the branches it fetched (INCIDENT_BOT_FETCHED). `extra`: more
    environment (e.g. GIT_TRACE2_EVENT, to see which git commands it ran)."""
    subprocess.run(["git", "-C", str(checkout), "remote", "add", "origin", origin.as_uri()], check=False)
    output = checkout / ".git" / "github-output"
    output.write_text("", "utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "GITHUB_OUTPUT": str(output),
           "INCIDENT_BOT_FORGE": "github", "GIT_CONFIG_NOSYSTEM": "1", **extra}
    done = subprocess.run(["bash", str(FETCH_SCRIPT), *incidents], cwd=checkout, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    fetched = [line.split("=", 1)[1] for line in output.read_text("utf-8").splitlines() if line.startswith("fetched=")]
    return fetched[-1] if fetched else ""

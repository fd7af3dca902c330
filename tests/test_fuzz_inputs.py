"""Issue 16, "Must show": hostile and broken text at every input edge, through the real CLI on real
repositories. Over every payload source, every incident-branch file the bot reads and the policy and spec
files on main: never a traceback; exit 2 is one line naming the file (and, where it has one, the field)
with nothing written (every ref as before); any other outcome is a verdict (0, 1 or 3).

Derandomized with a small, fixed budget in `make test`; `make fuzz` (INCIDENT_BOT_FUZZ_EXAMPLES) runs
long campaigns of the same properties."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifecycle_helpers import BRANCH, ID, git, make_repo

from bot.cli import main

SCALE = int(os.environ.get("INCIDENT_BOT_FUZZ_EXAMPLES", "0"))


def budget(default: int) -> Any:
    return settings(max_examples=SCALE or default, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# Text that has broken the bot before (issue 16, "Seen") and its relatives.
HOSTILE = [
    "9" * 5000, "-" + "9" * 30, "1e999", "NaN", "Infinity", "-Infinity", "\\ud800", "\\udfff\\ud800", "\\u0000",
    "\\u001b[2J", "[" * 200, "{" * 200, '"' + "a" * 70000 + '"', "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:30:00+01:00", "https://x.example.com:99999/", "http://[::1", "*a", "&a [x]", "!!python/object:os.system",
    "\t", "\n", "\r\n", "`", "<!--", "---", ": :", "- - -", "\x00", "\x1b", "'", "\"", "\\", "}", "]", "",
]


def mutated(text: str, data: st.DataObject) -> str:
    """`text` with one hostile change: a token written over a slice, inserted, or the text cut short."""
    how = data.draw(st.sampled_from(["replace", "insert", "truncate"]))
    at = data.draw(st.integers(0, len(text)))
    if how == "truncate":
        return text[:at]
    token = data.draw(st.sampled_from(HOSTILE))
    end = at + data.draw(st.integers(0, 12)) if how == "replace" else at
    return text[:at] + token + text[end:]


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def run(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert code in (0, 1, 2, 3), (code, captured.err)  # never 70: every input edge is handled
    if code == 2:  # (a verdict, 1 or 3, may give one reason per line)
        assert len(captured.err.splitlines()) == 1 and captured.err.startswith("incident-bot: "), captured.err
    return code, captured.err


# ------------------------------------------------------------------ payloads, every source

SEEDS = {
    "grafana": FIXTURES / "webhook_grafana.json",
    "pagerduty": FIXTURES / "webhook_pagerduty.json",
    "alertmanager": FIXTURES / "vendor" / "alertmanager_v4.json",
    "opsgenie": FIXTURES / "vendor" / "opsgenie_create.json",
}


@budget(60)
@given(data=st.data())
def test_hostile_payload_text_never_tracebacks(tmp_path_factory, capsys, data):
    source = data.draw(st.sampled_from(sorted(SEEDS)))
    tmp = tmp_path_factory.mktemp("payload")
    payload = tmp / f"{source}.json"
    payload.write_text(mutated(json.dumps(json.loads(SEEDS[source].read_text()), indent=1), data),
                       encoding="utf-8", errors="surrogatepass")
    out = tmp / "event.json"
    code, err = run(capsys, "normalize", f"--{source}", payload, "--out", out)
    if code == 2:
        assert str(payload) in err and not out.exists()
    elif code == 0:
        json.loads(out.read_text())  # whatever was written is strict JSON (no NaN, no Infinity)


# ------------------------------------------------------------------ the incident branch's own files


@pytest.fixture(scope="module")
def opened(tmp_path_factory) -> Path:
    repo = make_repo(tmp_path_factory.mktemp("fuzz") / "gitops")
    code = main(["open", "--repo", str(repo), "--grafana", str(FIXTURES / "webhook_grafana.json"),
                 "--pagerduty", str(FIXTURES / "webhook_pagerduty.json")])
    assert code == 0
    return repo


def commit_file(repo: Path, branch: str, path: str, content: bytes) -> None:
    """A commit on `branch` replacing one file (plumbing only: no worktree, no checkout)."""
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / "fuzz-index"), "GIT_AUTHOR_NAME": "Mallory",
           "GIT_AUTHOR_EMAIL": "m@example.com", "GIT_COMMITTER_NAME": "Mallory", "GIT_COMMITTER_EMAIL": "m@e.com"}

    def g(*args: str, stdin: bytes | None = None) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], input=stdin, env=env, capture_output=True,
                              check=True).stdout.decode().strip()

    g("read-tree", branch)
    blob = g("hash-object", "-w", "--stdin", stdin=content)
    g("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
    commit = g("commit-tree", g("write-tree"), "-p", branch, "-m", f"fuzz {path}")
    g("update-ref", f"refs/heads/{branch}", commit)


def restore(repo: Path, saved: str) -> None:
    wanted = dict(line.split(" ") for line in saved.splitlines())
    for line in refs(repo).splitlines():
        name, _ = line.split(" ")
        if name not in wanted:
            git(repo, "update-ref", "-d", name)
    for name, sha in wanted.items():
        git(repo, "update-ref", name, sha)


def branch_files(repo: Path) -> list[str]:
    d = f"incidents/{ID}"
    listed = git(repo, "ls-tree", "-r", "--name-only", BRANCH).split()
    return sorted(p for p in listed if p.startswith(d) or p.startswith("deploy/"))


@budget(14)
@given(data=st.data())
def test_hostile_incident_branch_files_never_traceback(opened, capsys, data):
    path = data.draw(st.sampled_from(branch_files(opened)))
    command = data.draw(st.sampled_from([("check", "readiness", ID), ("check", "dry-run", ID), ("replay", ID)]))
    saved = refs(opened)
    try:
        text = git(opened, "show", f"{BRANCH}:{path}")
        content = mutated(text, data).encode("utf-8", errors="surrogatepass")
        if data.draw(st.booleans()) and len(content) > 4:  # or bytes that are not UTF-8
            content = content[:4] + b"\xff\xfe" + content[4:]
        commit_file(opened, BRANCH, path, content)
        before = refs(opened)
        code, err = run(capsys, *command, "--repo", opened)
        if code == 2:
            assert refs(opened) == before, err
    finally:
        restore(opened, saved)


# ------------------------------------------------------------------ policy and spec files on main

MAIN_FILES = ["policies/actions.yaml", "policies/incident_types.yaml", "policies/readiness.yaml",
              "policies/emergency_stop.yaml", "policies/remediation.yaml", "specs/high_memory_usage/specify.md",
              ".github/CODEOWNERS", "deploy/appointments-api/deployment.yaml", "deploy/appointments-api/kustomization.yaml",
              "deploy/kustomization.yaml"]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("fuzz-main") / "gitops")


@budget(14)
@given(data=st.data())
def test_hostile_policy_and_spec_files_on_main_never_traceback(fresh, capsys, data):
    path = data.draw(st.sampled_from(MAIN_FILES))
    saved = refs(fresh)
    original = (fresh / path).read_bytes()
    try:
        content = mutated(original.decode(), data).encode("utf-8", errors="surrogatepass")
        (fresh / path).write_bytes(content)
        git(fresh, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-q", "--allow-empty", "-am", f"fuzz {path}")
        before = refs(fresh)
        code, err = run(capsys, "open", "--repo", fresh, "--grafana", FIXTURES / "webhook_grafana.json")
        if code == 2:
            assert refs(fresh) == before, err
            assert any(name in err for name in (path, "policies/", "specs/", "deploy/")), err
    finally:
        (fresh / path).write_bytes(original)
        restore(fresh, saved)
        git(fresh, "checkout", "-q", "-f", "main")

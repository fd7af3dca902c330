"""Issue 11, finding 6: checks are git notes, and `git notes add` moves the notes ref without checking its
old value, so concurrent checks on different incidents lost notes (10 in 6 trials) although PASS was
printed. The local forge now writes a note as a compare-and-swap of the ref: none is lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.forge.local import LocalForge

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import sys
from bot.forge.local import LocalForge
forge = LocalForge(sys.argv[1])
for sha in sys.argv[2:]:
    forge.record_check(sha, "readiness", "success", "PASS", "ok")
    forge.record_check(sha, "dry-run", "success", "PASS", "ok")
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def test_concurrent_checks_on_different_commits_lose_no_note(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shas = []
    for i in range(24):
        git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-q", "--allow-empty", "-m", f"c{i}")
        shas.append(git(repo, "rev-parse", "HEAD").strip())
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(repo), *shas[i::6]], cwd=ROOT)
               for i in range(6)]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    forge = LocalForge(repo)
    assert {sha: sorted(forge.checks(sha)) for sha in shas} == {sha: ["dry-run", "readiness"] for sha in shas}
    assert not [r for r in git(repo, "for-each-ref", "--format=%(refname)").split() if "scratch" in r]

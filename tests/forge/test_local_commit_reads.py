"""The local forge reads a commit by its id through the persistent `git cat-file --batch` (no process per
commit); it must read exactly what `git log` gives, since the seal is checked over that text."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES
from lifecycle_helpers import git, make_repo

from bot.cli import main
from bot.forge.local import LocalForge


def test_a_commit_read_by_id_is_the_commit_git_log_gives(tmp_path: Path, capsys) -> None:
    repo = make_repo(tmp_path / "gitops")
    assert main(["open", "--repo", str(repo), "--grafana", str(FIXTURES / "webhook_grafana.json")]) == 0
    # a merge commit (two parents) and a message with trailing blank lines and trailers, as a person writes it
    git(repo, "checkout", "-q", "-b", "side")
    git(repo, "-c", "user.name=Ana Lima", "-c", "user.email=a@e", "commit", "-q", "--allow-empty", "--cleanup=verbatim",
        "-m", "side\n\nbody line\n\nIncident-Id: X\n\n\n")
    git(repo, "checkout", "-q", "main")
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "merge", "-q", "--no-ff", "-m", "merge side", "side")
    forge = LocalForge(repo)
    shas = git(repo, "rev-list", "--all").split()
    assert len(shas) >= 8
    for sha in shas:
        assert forge.get_commit(sha) == forge._log("-1", sha)[0], sha

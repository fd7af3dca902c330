"""A throwaway incident-bot repository on disk (real git), and a way to drive the CLI against it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from conftest import FIXTURES, ROOT

ID = "HM-2026-05-17-01"
BRANCH = f"incident/{ID}"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in ("policies", "specs", "deploy", ".github"):
        shutil.copytree(ROOT / name, path / name)
    shutil.copytree(FIXTURES, path / "fixtures", ignore=shutil.ignore_patterns("vendor", "readiness"))
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qm", "initial desired state")
    return path


def human_commit(repo: Path, branch: str, files: dict[str, str | None], message: str = "manual edit") -> str:
    """A commit made by a person on `branch` (a worktree, so main's checkout is untouched)."""
    wt = repo.parent / f"wt-{abs(hash((str(repo), branch, message))) % 10**8}"
    git(repo, "worktree", "add", "-q", str(wt), branch)
    try:
        for rel, text in files.items():
            target = wt / rel
            if text is None:
                target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
        git(wt, "add", "-A")
        git(wt, "-c", "user.name=Mallory", "-c", "user.email=m@example.com", "commit", "-qm", message)
        return git(wt, "rev-parse", "HEAD").strip()
    finally:
        git(repo, "worktree", "remove", "--force", str(wt))


def grafana_payload(**labels: str) -> dict[str, Any]:
    payload = json.loads((FIXTURES / "webhook_grafana.json").read_text())
    payload["alerts"][0]["labels"].update(labels)
    payload["commonLabels"].update(labels)
    return payload


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path

"""Shared helpers: run the real CLI in-process and capture what a user would see."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SPEC = ROOT / "specs" / "high_memory_usage" / "specify.md"


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    def run(*argv: str) -> Run:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A copy of this repository's policies, specs, deploy and fixtures (no git)."""
    for name in ("policies", "specs", "fixtures", "deploy"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path

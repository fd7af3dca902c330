"""Issue 16: an unexpected exception is one line naming the command and the incident, exit 2 when input
caused it and 70 (EX_SOFTWARE) otherwise, with the traceback in a log file the line names, never on the
terminal (pre-commit's error_handler is the model)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, make_repo


def _opened(cli, tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json",
              "--pagerduty", FIXTURES / "webhook_pagerduty.json")
    assert run.code == 0, run.err
    return repo


def test_a_corrupt_check_note_is_one_line_exit_2_and_a_logged_traceback(cli, tmp_path, monkeypatch):
    log = tmp_path / "logs" / "incident-bot.log"
    monkeypatch.setenv("INCIDENT_BOT_LOG", str(log))
    repo = _opened(cli, tmp_path)
    head = git(repo, "rev-parse", BRANCH).strip()
    subprocess.run(["git", "-C", str(repo), "notes", "--ref=refs/notes/incident-bot/checks", "add", "-f", "-m",
                    "{not json", head], check=True, capture_output=True)
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 2
    assert len(run.err.splitlines()) == 1 and "Traceback" not in run.err
    assert run.err.startswith(f"incident-bot: check dry-run {ID}: unusable input: JSONDecodeError")
    assert str(log) in run.err
    assert "Traceback (most recent call last)" in log.read_text()


def test_a_pull_record_of_the_wrong_shape_is_an_internal_error_with_its_own_code(cli, tmp_path, monkeypatch):
    log = tmp_path / "incident-bot.log"
    monkeypatch.setenv("INCIDENT_BOT_LOG", str(log))
    repo = _opened(cli, tmp_path)
    ref = git(repo, "for-each-ref", "--format=%(refname)", "refs/forge/pulls/").split()[0]
    record = json.loads(git(repo, "show", f"{ref}:pull.json"))
    record["labels"] = 7  # not a list: a shape the forge never writes
    blob = subprocess.run(["git", "-C", str(repo), "hash-object", "-w", "--stdin"], input=json.dumps(record),
                          capture_output=True, text=True, check=True).stdout.strip()
    tree = subprocess.run(["git", "-C", str(repo), "mktree"], input=f"100644 blob {blob}\tpull.json\n",
                          capture_output=True, text=True, check=True).stdout.strip()
    commit = subprocess.run(["git", "-C", str(repo), "-c", "user.name=M", "-c", "user.email=m@e", "commit-tree",
                             tree, "-p", ref, "-m", git(repo, "log", "-1", "--format=%s", ref).strip()],
                            capture_output=True, text=True, check=True).stdout.strip()
    git(repo, "update-ref", ref, commit)
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json")
    assert len(run.err.splitlines()) == 1 and "Traceback" not in run.err
    assert run.code == 70 and str(log) in run.err
    assert run.err.startswith("incident-bot: open: internal error: TypeError")
    assert "Traceback (most recent call last)" in log.read_text()

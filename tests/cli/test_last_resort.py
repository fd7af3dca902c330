"""Issue 16: an unexpected exception is one line naming the command and the incident, exit 2 when input
caused it and 70 (EX_SOFTWARE) otherwise, with the traceback in a log file the line names, never on the
terminal (pre-commit's error_handler is the model). Broken records the bot reads are InputErrors naming
the file and the field (tests/cli/test_input_edges.py); this is the net below those."""

from __future__ import annotations

import argparse
from pathlib import Path

from conftest import FIXTURES
from lifecycle_helpers import ID, git, make_repo

from bot.cli.main import EXIT_INTERNAL, _unexpected


def test_a_pull_record_ref_of_no_number_is_one_line_exit_2_and_a_logged_traceback(cli, tmp_path, monkeypatch):
    log = tmp_path / "logs" / "incident-bot.log"
    monkeypatch.setenv("INCIDENT_BOT_LOG", str(log))
    repo = make_repo(tmp_path / "repo")
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json")
    assert run.code == 0, run.err
    ref = git(repo, "for-each-ref", "--format=%(refname)", "refs/forge/pulls/").split()[0]
    git(repo, "update-ref", "refs/forge/pulls/not-a-number", ref)
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 2
    assert len(run.err.splitlines()) == 1 and "Traceback" not in run.err
    assert run.err.startswith(f"incident-bot: check dry-run {ID}: unusable input: ValueError")
    assert str(log) in run.err
    assert "Traceback (most recent call last)" in log.read_text()


def test_an_unexpected_internal_error_has_its_own_code_and_is_logged(tmp_path, monkeypatch, capsys):
    log = tmp_path / "incident-bot.log"
    monkeypatch.setenv("INCIDENT_BOT_LOG", str(log))
    try:
        raise KeyError("state")  # a bug of ours: nothing a user typed explains it
    except KeyError as exc:
        code = _unexpected(argparse.Namespace(command="merge", incident_id=ID), exc)
    err = capsys.readouterr().err
    assert code == EXIT_INTERNAL == 70
    assert err.startswith(f"incident-bot: merge {ID}: internal error: KeyError") and str(log) in err
    assert len(err.splitlines()) == 1
    assert "Traceback (most recent call last)" in Path(log).read_text()

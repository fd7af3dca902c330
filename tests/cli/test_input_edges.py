"""Issue 16, "Seen": each hostile or broken input is one line naming the file and the field, exit 2, no
traceback, and nothing written (every ref, note and output file as it was)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, grafana_payload, human_commit, make_repo, write_json

D = f"incidents/{ID}"


def refs(repo: Path) -> str:
    """Every ref and what it points at (notes included): equal before and after means nothing was written."""
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def one_line_exit_2(run: Any, *named: str) -> None:
    assert run.code == 2, (run.code, run.err)
    assert len(run.err.splitlines()) == 1 and "Traceback" not in run.err, run.err
    for part in named:
        assert part in run.err, (part, run.err)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "gitops")


# ------------------------------------------------------------------ payloads (normalize and open)


def normalize(cli, tmp_path: Path, payload: Any, source: str = "grafana", text: str | None = None) -> Any:
    path = tmp_path / f"{source}.json"
    path.write_text(text if text is not None else json.dumps(payload))
    out = tmp_path / "event.json"
    run = cli("normalize", f"--{source}", path, "--out", out)
    if run.code == 2:
        assert not out.exists(), "unusable input must write nothing"
    return run


def test_an_integer_of_thousands_of_digits_is_refused_naming_its_path(cli, tmp_path):
    text = json.dumps(grafana_payload()).replace('"memory_percent": 93', '"memory_percent": ' + "9" * 5000)
    run = normalize(cli, tmp_path, None, text=text)
    one_line_exit_2(run, "grafana.json", "$.alerts[0].values.memory_percent", "out of range")


def test_a_window_label_of_thousands_of_digits_is_not_a_window(cli, tmp_path):
    run = normalize(cli, tmp_path, grafana_payload(window="9" * 5000 + "m"))
    assert run.code == 0, run.err
    assert json.loads((tmp_path / "event.json").read_text())["window_minutes"] is None


def test_nesting_900_deep_is_refused(cli, tmp_path):
    payload = grafana_payload()
    deep: Any = "x"
    for _ in range(900):
        deep = [deep]
    payload["alerts"][0]["annotations"]["deep"] = deep
    one_line_exit_2(normalize(cli, tmp_path, payload), "grafana.json", "nested deeper than 64 levels")


def test_a_port_out_of_range_is_refused_naming_the_url_field(cli, tmp_path):
    payload = grafana_payload()
    payload["alerts"][0]["generatorURL"] = "https://grafana.example.com:99999/alerting"
    one_line_exit_2(normalize(cli, tmp_path, payload), "$.alerts[0].generatorURL", "port")
    pd = json.loads((FIXTURES / "webhook_pagerduty.json").read_text())
    pd["event"]["data"]["html_url"] = "https://acme.pagerduty.com:99999/incidents/1"
    one_line_exit_2(normalize(cli, tmp_path, pd, "pagerduty"), "$.event.data.html_url")


def test_a_lone_surrogate_is_refused(cli, tmp_path):
    text = json.dumps(grafana_payload()).replace('"api-7b4"', '"api-\\ud800"', 1)
    one_line_exit_2(normalize(cli, tmp_path, None, text=text), "grafana.json", "lone surrogate")


@pytest.mark.parametrize("starts", ["9999-12-31T23:59:59-23:59", "0999-05-17T08:12:30Z", "0002-01-01T00:30:00+01:00"])
def test_a_start_time_out_of_range_is_refused_not_an_invalid_id(cli, tmp_path, starts):
    payload = grafana_payload()
    payload["alerts"][0]["startsAt"] = starts
    one_line_exit_2(normalize(cli, tmp_path, payload), "$.alerts[0].startsAt")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(cli, tmp_path, token):
    text = json.dumps(grafana_payload()).replace('"memory_percent": 93', f'"memory_percent": {token}')
    one_line_exit_2(normalize(cli, tmp_path, None, text=text), "$.alerts[0].values.memory_percent")


def test_an_infinite_value_string_never_reaches_the_event(cli, tmp_path):
    payload = grafana_payload()
    del payload["alerts"][0]["values"]
    payload["alerts"][0]["valueString"] = "[ var='memory_percent' labels={} value=1e999 ]"
    run = normalize(cli, tmp_path, payload)
    assert run.code == 0, run.err
    text = (tmp_path / "event.json").read_text()
    assert "Infinity" not in text and json.loads(text)["metric_context"] == {}


def test_a_sequence_below_one_is_no_incident_id(cli, tmp_path):
    path = write_json(tmp_path / "g.json", grafana_payload())
    one_line_exit_2(cli("normalize", "--grafana", path, "--sequence", "-3"), "incident_id")


def test_a_nul_in_a_label_is_exit_2_and_nothing_is_written(cli, repo, tmp_path):
    before = refs(repo)
    path = write_json(tmp_path / "g.json", grafana_payload(pod="api-7b4\x00x"))
    one_line_exit_2(cli("open", "--repo", repo, "--grafana", path), "g.json", ".pod",
                    "control character")
    assert refs(repo) == before


def test_an_id_with_a_trailing_newline_is_refused(cli, tmp_path):
    data = json.loads((FIXTURES / "readiness_pass.json").read_text())
    data["incident_id"] += "\n"
    run = cli("readiness", "--readiness", write_json(tmp_path / "r.json", data))
    one_line_exit_2(run, "r.json", "$.incident_id")
    assert run.out == ""


def test_every_schema_error_is_reported_with_its_path(cli, tmp_path):
    data = json.loads((FIXTURES / "readiness_pass.json").read_text())
    data["incident_id"] = "nope"
    data["scores"]["security"] = "high"
    del data["scores"]["spec"]
    run = cli("readiness", "--readiness", write_json(tmp_path / "r.json", data))
    one_line_exit_2(run, "$.incident_id", "$.scores.security", "$.scores.spec", "(3 errors)")


# ------------------------------------------------------------------ the incident branch's own files


@pytest.fixture
def opened(cli, repo: Path) -> Path:
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json",
              "--pagerduty", FIXTURES / "webhook_pagerduty.json")
    assert run.code == 0, run.err
    return repo


def _file(repo: Path, path: str) -> str:
    return git(repo, "show", f"{BRANCH}:{path}")


def _source(repo: Path) -> str:
    return next(p for p in git(repo, "ls-tree", "-r", "--name-only", BRANCH).split() if "/sources/" in p)


def _front_matter(repo: Path, name: str, yaml_text: str) -> str:
    body = _file(repo, f"{D}/{name}").split("\n---\n", 1)[1]
    return f"---\n{yaml_text}\n---\n{body}"


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))

BROKEN: dict[str, Any] = {
    "plan.md not YAML": (f"{D}/plan.md", lambda r: _front_matter(r, "plan.md", "action: [unclosed"), "plan.md"),
    "plan.md wrong types": (f"{D}/plan.md", lambda r: _front_matter(
        r, "plan.md", "action: [1, 2]\nworkload: 5\npreconditions: nope\nfacts: 3\nblast_radius: {a: 1}"),
        "plan.md"),
    "plan.md alias bomb": (f"{D}/plan.md", lambda r: _front_matter(r, "plan.md", BOMB), "plan.md"),
    "tasks.md not YAML": (f"{D}/tasks.md", lambda r: _front_matter(r, "tasks.md", "tasks: {"), "tasks.md"),
    "tasks.md wrong types": (f"{D}/tasks.md", lambda r: _front_matter(r, "tasks.md", "tasks: [1, two]\nvalidation: 3"),
                             "tasks.md"),
    "event.json not JSON": (f"{D}/event.json", lambda r: "{broken", "event.json"),
    "event.json a list": (f"{D}/event.json", lambda r: "[1, 2]\n", "event.json"),
    "event.json NaN": (f"{D}/event.json", lambda r: _file(r, f"{D}/event.json").replace('"window_minutes": 10',
                                                                                        '"window_minutes": NaN'),
                       "event.json"),
    "source not JSON": (None, lambda r: "{not json", "sources/"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_branch_content_is_exit_2_naming_the_file(cli, opened, case):
    path, text, named = BROKEN[case]
    path = path or _source(opened)
    human_commit(opened, BRANCH, {path: text(opened)}, f"break {case}")
    before = refs(opened)
    started = time.monotonic()
    run = cli("check", "readiness", ID, "--repo", opened)
    assert time.monotonic() - started < 20  # an alias bomb once kept this running past 30 s
    if run.code == 1:  # a file the gate only compares with its own derivation: BLOCK, naming it
        assert f"untrusted change: {path}: differs" in run.err and "Traceback" not in run.err, run.err
        return
    one_line_exit_2(run, named)
    assert refs(opened) == before


def _rewrite_record(repo: Path, ref: str, change: Any) -> None:
    record = json.loads(git(repo, "show", f"{ref}:pull.json"))
    change(record)
    blob = subprocess.run(["git", "-C", str(repo), "hash-object", "-w", "--stdin"], input=json.dumps(record),
                          capture_output=True, text=True, check=True).stdout.strip()
    tree = subprocess.run(["git", "-C", str(repo), "mktree"], input=f"100644 blob {blob}\tpull.json\n",
                          capture_output=True, text=True, check=True).stdout.strip()
    commit = subprocess.run(["git", "-C", str(repo), "-c", "user.name=M", "-c", "user.email=m@e", "commit-tree",
                             tree, "-p", ref, "-m", git(repo, "log", "-1", "--format=%s", ref).strip()],
                            capture_output=True, text=True, check=True).stdout.strip()
    git(repo, "update-ref", ref, commit)


@pytest.mark.parametrize(("field", "value"), [("labels", 7), ("number", "one"), ("reviews", {"a": 1})])
def test_a_corrupt_pull_record_names_the_ref_and_the_field(cli, opened, field, value):
    ref = git(opened, "for-each-ref", "--format=%(refname)", "refs/forge/pulls/").split()[0]
    _rewrite_record(opened, ref, lambda r: r.__setitem__(field, value))
    before = refs(opened)
    run = cli("approve", ID, "--repo", opened, "--reviewer", "@alice")
    one_line_exit_2(run, ref, f"$.{field}")
    assert refs(opened) == before


def test_a_corrupt_check_note_names_the_note(cli, opened):
    head = git(opened, "rev-parse", BRANCH).strip()
    subprocess.run(["git", "-C", str(opened), "notes", "--ref=refs/notes/incident-bot/checks", "add", "-f", "-m",
                    '{"readiness": {"name": 1}}', head], check=True, capture_output=True)
    before = refs(opened)
    run = cli("check", "dry-run", ID, "--repo", opened)
    one_line_exit_2(run, "refs/notes/incident-bot/checks", head, "readiness")
    assert refs(opened) == before


# ------------------------------------------------------------------ the default branch


def test_a_spec_that_is_not_utf8_is_exit_2_naming_it(cli, repo, tmp_path):
    spec = repo / "specs" / "high_memory_usage" / "specify.md"
    spec.write_bytes(spec.read_bytes() + b"\n\xff\xfe broken\n")
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "spec in latin-1")
    before = refs(repo)
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json")
    one_line_exit_2(run, "specs/high_memory_usage/specify.md", "not UTF-8")
    assert refs(repo) == before


def test_every_json_and_yaml_parse_goes_through_the_one_loader():
    """bot/config/loader.py holds the limits; a json.loads or yaml.safe_load anywhere else skips them."""
    import re

    from conftest import ROOT

    parse = re.compile(r"\bjson\.loads?\(|\byaml\.(safe_)?load(_all)?\(|\byaml\.full_load")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "bot").rglob("*.py"))
             if p.name != "loader.py" for n, line in enumerate(p.read_text().splitlines(), 1) if parse.search(line)]
    assert found == []


# ------------------------------------------------------------------ refs that collide (file/directory)


def test_a_ref_holding_the_incident_branch_as_a_folder_is_named(cli, repo):
    main = git(repo, "rev-parse", "main").strip()
    git(repo, "update-ref", f"refs/heads/{BRANCH}/x", main)
    before = refs(repo)
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json")
    assert run.code == 1 and len(run.err.splitlines()) == 1, run.err
    assert f"refs/heads/{BRANCH}/x exists" in run.err and "kept moving" not in run.err
    assert refs(repo) == before


def test_a_ref_holding_the_audit_branch_as_a_folder_is_named(cli, opened):
    main = git(opened, "rev-parse", "main").strip()
    git(opened, "update-ref", "-d", f"refs/heads/audit/{ID}")
    git(opened, "update-ref", f"refs/heads/audit/{ID}/x", main)
    run = cli("check", "readiness", ID, "--repo", opened)
    assert run.code == 1 and len(run.err.splitlines()) == 1, run.err
    assert f"refs/heads/audit/{ID}/x exists" in run.err and "contention" not in run.err


def test_a_ref_holding_the_audit_branch_as_a_folder_refuses_the_first_open_before_anything_is_written(cli, repo):
    """open writes the incident branch, then the trace: a collision of the trace's ref is refused up front,
    or the incident branch would be left without its trace."""
    main = git(repo, "rev-parse", "main").strip()
    git(repo, "update-ref", f"refs/heads/audit/{ID}/x", main)
    before = refs(repo)
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json")
    assert run.code == 1 and len(run.err.splitlines()) == 1, run.err
    assert f"refs/heads/audit/{ID} cannot be written: refs/heads/audit/{ID}/x exists" in run.err
    assert refs(repo) == before


@pytest.mark.parametrize("bad", ["HM-2026-05-17-01\n", "HM-1-01-01T00-01", "../../etc", f"{ID}/x"])
@pytest.mark.parametrize("command", [("check", "readiness"), ("audit",), ("replay",), ("merge",), ("rollback",)])
def test_an_incident_id_argument_that_is_not_one_is_refused_in_one_line(cli, repo, bad, command):
    before = refs(repo)
    one_line_exit_2(cli(*command, bad, "--repo", repo), "incident_id", "not an incident id")
    assert refs(repo) == before

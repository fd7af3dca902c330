"""The evidence package (issue 15): for the seed case and each blocker of the chapter, `incident-bot evidence`
matches its golden files (commit ids, hashes and times masked), every command validation.md lists re-runs with
the exit code it lists, the package names no conversation, and regenerating it gives the same bytes.

Goldens: tests/golden/evidence/<case>/{readiness,validation}.md; `UPDATE_GOLDEN=1` rewrites them."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT
from lifecycle_helpers import BRANCH, ID, git, grafana_payload, human_commit, make_repo, write_json

from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.forge.local import LocalForge

GOLDEN = ROOT / "tests" / "golden" / "evidence"
Step = tuple[str, object]  # ("bot", argv) or ("human", callable(repo))


def _payload(repo: Path, name: str, data: dict) -> str:
    return str(write_json(repo.parent / name, data))


def _db(repo: Path) -> list[str]:
    payload = grafana_payload(namespace="appointments-db", pod="db-0", service="appointments-db")
    return ["open", "--grafana", _payload(repo, "db.json", payload)]


def _resolved(repo: Path) -> list[str]:
    resolved = grafana_payload()
    resolved["status"] = "resolved"
    resolved["alerts"][0].update(status="resolved", endsAt="2026-05-17T09:05:00Z")
    return ["open", "--grafana", _payload(repo, "resolved.json", resolved)]


def _later(repo: Path) -> list[str]:
    later = grafana_payload()
    later["alerts"][0]["values"]["memory_percent"] = 97
    later["alerts"][0]["fingerprint"] = "6f2c1a9e4b7d3c05"
    return ["open", "--grafana", _payload(repo, "later.json", later)]


def _notes(repo: Path) -> None:
    human_commit(repo, BRANCH, {f"incidents/{ID}/notes.md": "context for the reviewer\n"})


def _forbidden_plan(repo: Path) -> None:
    plan = git(repo, "show", f"{BRANCH}:incidents/{ID}/plan.md").replace("action: restart_pod",
                                                                        "action: delete_namespace")
    human_commit(repo, BRANCH, {f"incidents/{ID}/plan.md": plan})


def _smuggle(repo: Path) -> None:
    sha = human_commit(repo, BRANCH, {"deploy/appointments-db/namespace.yaml": None},
                       f"tidy\n\nIncident-Id: {ID}\nPhase: implement")
    trace.record(Workspace(LocalForge(repo)), ID, "spec_diff_created", "ok", {"commit": sha, "phase": "implement"})


GRAFANA = ["open", "--grafana", str(FIXTURES / "webhook_grafana.json")]
SEED_OPEN = [*GRAFANA, "--pagerduty", str(FIXTURES / "webhook_pagerduty.json")]
READY, DRY = ["check", "readiness", ID], ["check", "dry-run", ID]
CASES: dict[str, list[Step]] = {
    "seed": [("bot", SEED_OPEN), ("bot", DRY), ("bot", READY), ("bot", DRY), ("bot", ["merge", ID]),
             ("bot", ["approve", ID, "--reviewer", "@alice"]), ("bot", ["merge", ID]), ("bot", _resolved),
             ("bot", ["audit", "verify", ID]), ("bot", ["replay", ID])],
    "audit_coverage": [("bot", GRAFANA), ("human", _notes), ("bot", READY)],
    "stateful_without_backup": [("bot", _db), ("bot", READY)],
    "forbidden_action": [("bot", GRAFANA), ("human", _forbidden_plan), ("bot", READY)],
    "smuggled_change": [("bot", GRAFANA), ("human", _smuggle), ("bot", READY), ("bot", DRY)],
    "stale_check": [("bot", GRAFANA), ("bot", READY), ("bot", _later), ("bot", DRY)],
    "missing_approval": [("bot", GRAFANA), ("bot", READY), ("bot", DRY), ("bot", ["merge", ID])],
}
MASKS = ((re.compile(r"\b[0-9a-f]{12,64}\b"), "<sha>"), (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), "<time>"))


def masked(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def play(cli, repo: Path, steps: list[Step], bot: Callable[[list[str]], None] | None = None) -> list[int]:
    codes = []
    for kind, what in steps:
        if kind == "human":
            what(repo)  # type: ignore[operator]
            continue
        argv = what(repo) if callable(what) else list(what)  # type: ignore[arg-type]
        codes.append(cli(*argv, "--repo", repo).code)
    return codes


def evidence(cli, repo: Path, out: Path) -> tuple[str, str, str]:
    run = cli("evidence", ID, "--repo", repo, "--out", out)
    assert run.code == 0, run.err
    return run.out, (out / "readiness.md").read_text(), (out / "validation.md").read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_package_matches_its_golden_and_every_listed_command_reruns(cli, tmp_path: Path, case: str, monkeypatch):
    # the bot's clock stopped the morning of the alert: the resolution (09:05) follows the merge, as validation needs
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T09:00:00Z")
    repo = make_repo(tmp_path / "a" / "gitops")
    play(cli, repo, CASES[case])
    printed, readiness, validation = evidence(cli, repo, tmp_path / "pkg")
    assert printed == readiness + "\n" + validation
    for name, text in (("readiness.md", readiness), ("validation.md", validation)):
        golden = GOLDEN / case / name
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(masked(text))
        assert masked(text) == golden.read_text(), f"{case}/{name} differs from its golden file"

    # regenerated from the same trace: the same bytes
    assert evidence(cli, repo, tmp_path / "again")[1:] == (readiness, validation)
    # no conversation: only artifacts, commits, commands and codes
    for phrase in ("discussed", "chat", "assistant", "we agreed", "as mentioned", "conversation", "see above"):
        assert phrase not in (readiness + validation).lower()

    # every listed command re-runs with its exit code: a fresh repository, the same human edits, and the bot
    # commands read from validation.md (each open's file is the redacted copy the trace names)
    listed = [(row[2].strip("` "), int(row[3])) for row in _rows(validation)]
    fresh = make_repo(tmp_path / "b" / "gitops")
    materials = tmp_path / "b" / "materials"
    monkeypatch.chdir(_materialize(repo, listed, materials))
    queue = iter(listed)
    for kind, what in CASES[case]:
        if kind == "human":
            what(fresh)  # type: ignore[operator]
            continue
        line, code = next(queue)
        argv = line.split()[1:]
        assert cli(*argv, "--repo", fresh).code == code, line
    assert next(queue, None) is None


def _rows(validation: str) -> list[list[str]]:
    table = validation.split("## Post-remediation evidence")[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    return [[cell.strip("| ") for cell in row] for row in rows]


def _materialize(repo: Path, listed: list[tuple[str, int]], where: Path) -> Path:
    """The recorded copies each listed `open` names, taken from git (incident or audit branch)."""
    for line, _ in listed:
        for word in line.split():
            if word.startswith("incidents/"):
                ref = f"audit/{ID}" if "/validation/" in word else BRANCH
                target = where / word
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(git(repo, "show", f"{ref}:{word}"))
    where.mkdir(parents=True, exist_ok=True)
    return where


def test_an_incident_without_a_trace_is_unusable_input_and_nothing_is_written(cli, tmp_path: Path):
    repo = make_repo(tmp_path / "gitops")
    run = cli("evidence", ID, "--repo", repo, "--out", tmp_path / "pkg")
    assert (run.code, run.err.strip()) == (2, f"incident-bot: {ID}: incident_id: no audit trace for this incident")
    assert not (tmp_path / "pkg").exists()

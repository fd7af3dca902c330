"""For each rubric point (and blocker) a repository can lose, the package's *What to change* row names the
file and field; applying that change on a real repository earns the point back at the next `check readiness`.
Not reachable from a repository the bot derives from (and so covered only in tests/rules/test_scoring.py):
specify instantiated, strategy chosen, preconditions hold, idempotent tasks, radius stated, event valid,
event replayable, manifests valid, validation plan, pull request, audit intact, action allowed, rollback, no
personal data. Replay from git is lost for good by an entry that does not replay (the trace is append-only): its
row names the entry and the input it lacks (tests/test_replay_point.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, grafana_payload, human_commit, make_repo, write_json

SPEC = "specs/high_memory_usage/specify.md"
STS = "deploy/appointments-db/statefulset.yaml"
D = f"incidents/{ID}"


def commit_main(repo: Path, path: str, text: str) -> None:
    (repo / path).write_text(text)
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", f"change {path}")


def drop_section(heading: str, until: str) -> Callable[[Path], None]:
    def edit(repo: Path) -> None:
        text = (repo / SPEC).read_text()
        start = text.index(heading)
        end = text.index(until, start) if until else len(text)
        commit_main(repo, SPEC, text[:start] + text[end:])
    return edit


def restore_from_main_history(repo: Path, row: dict[str, str]) -> None:
    """The row's file on main gets its field back (the section as the spec's history had it), then the bot
    rebuilds the branch on the new main."""
    assert row["file"] == SPEC
    commit_main(repo, SPEC, git(repo, "show", f"main~1:{SPEC}"))


def drop_branch_commit(repo: Path, row: dict[str, str]) -> None:
    """"absent": the named commit leaves the incident branch (its parent becomes the head)."""
    sha = git(repo, "rev-parse", BRANCH).strip()
    assert row["field"] == f"commit {sha[:12]}"
    git(repo, "update-ref", f"refs/heads/{BRANCH}", f"{sha}~1")


def restore_file_on_branch(repo: Path, row: dict[str, str]) -> None:
    """The named file gets the content the bot derived (its content before the human edit)."""
    path = row["file"]
    human_commit(repo, BRANCH, {path: git(repo, "show", f"{BRANCH}~1:{path}")}, "restore")


def drop_criterion_after_the_remediation(repo: Path) -> None:
    text = (repo / SPEC).read_text()
    commit_main(repo, SPEC, text[: text.index("- Given the remediation is merged")])


def add_the_suggested_criterion(repo: Path, row: dict[str, str]) -> None:
    """The row's example criterion, added to the spec's acceptance section on main."""
    assert (row["file"], row["field"]) == (SPEC, "## Acceptance (Given / When / Then)")
    example = re.search(r"`([^`]+)`", row["value"])
    assert example is not None, row
    commit_main(repo, SPEC, (repo / SPEC).read_text() + f"- {example.group(1)}.\n")


def owners_for_deploy(repo: Path, row: dict[str, str]) -> None:
    assert (row["file"], row["field"]) == (".github/CODEOWNERS", "deploy/")
    text = (repo / row["file"]).read_text()
    commit_main(repo, row["file"], text + "/deploy/          @acme/sre @alice @bob\n")


def backup_annotation(repo: Path, row: dict[str, str]) -> None:
    assert (row["file"], row["field"]) == (STS, 'metadata.annotations."incident-bot.dev/backup-verified"')
    head, rest = (repo / STS).read_text().split("  name: db\n", 1)
    commit_main(repo, STS, head + '  name: db\n  annotations:\n    incident-bot.dev/backup-verified: '
                '"2026-05-17T02:00:00Z"\n' + rest)


@dataclass(frozen=True)
class Case:
    lost: tuple[str, ...]             # "category: point" or "blocker: reason", as the package names them
    on_main: Callable[[Path], None] | None = None   # before the incident opens
    on_branch: Callable[[Path], None] | None = None  # after it opened
    fix: Callable[[Path, dict[str, str]], None] = restore_from_main_history
    refresh: bool = False             # the fix is on main: the bot rebuilds the branch on it
    db: bool = False


def _edit_deploy(repo: Path) -> None:
    path = "deploy/appointments-api/deployment.yaml"
    text = git(repo, "show", f"{BRANCH}:{path}")
    human_commit(repo, BRANCH, {path: text.replace("replicas:", "minReadySeconds: 5\n  replicas:", 1)}, "tweak")


def _no_deploy_owner(repo: Path) -> None:
    text = (repo / ".github/CODEOWNERS").read_text()
    commit_main(repo, ".github/CODEOWNERS", "".join(line for line in text.splitlines(keepends=True)
                                                    if not line.startswith(("/deploy/", "*"))))


CASES = {
    "spec WHY": Case(("spec: WHY",), drop_section("## WHY", "## WHAT"), refresh=True),
    "spec WHAT": Case(("spec: WHAT",), drop_section("## WHAT", "## Constraints"), refresh=True),
    "spec constraints": Case(("spec: constraints",), drop_section("## Constraints", "## Acceptance"), refresh=True),
    "acceptance (spec and verification)": Case(("spec: acceptance, no command", "verification: acceptance criteria"),
                                               drop_section("## Acceptance", ""), refresh=True),
    "verification: acceptance criteria": Case(("verification: acceptance criteria",),
                                              drop_criterion_after_the_remediation, fix=add_the_suggested_criterion,
                                              refresh=True),
    "implementation: change equals rendering": Case(("implementation: change equals rendering",),
                                                    on_branch=_edit_deploy, fix=restore_file_on_branch),
    "process: trailers and coverage": Case(("process: branch and trailers", "process: audit complete"),
                                           on_branch=lambda r: human_commit(r, BRANCH, {f"{D}/notes.md": "n\n"}),
                                           fix=drop_branch_commit),
    "security: no self-granted permissions": Case(
        ("security: no self-granted permissions",),
        on_branch=lambda r: human_commit(r, BRANCH, {"policies/readiness.yaml": git(
            r, "show", "main:policies/readiness.yaml").replace("auto: 23", "auto: 5")}),
        fix=lambda r, row: human_commit(r, BRANCH, {row["file"]: git(r, "show", f"main:{row['file']}")})),
    "security: human review": Case(("security: human review",), _no_deploy_owner, fix=owners_for_deploy),
    "blocker: stateful without backup": Case(("blocker: stateful workload without verified backup",),
                                             fix=backup_annotation, refresh=True, db=True),
}


def _rows(readiness_md: str) -> list[dict[str, str]]:
    table = readiness_md.split("## What to change", 1)[1]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if line.startswith("| ") and len(cells) == 4 and cells[0] != "Lost point or blocker":
            rows.append({"lost": cells[0], "file": cells[1].strip("`"), "field": cells[2], "value": cells[3]})
    return rows


def _lost(err: str) -> set[str]:
    """What `check readiness` printed as lost, named as the package names it."""
    out = set()
    for line in err.splitlines():
        if line.startswith("lost 1 point: "):
            category, point = line.removeprefix("lost 1 point: ").split(": ", 2)[:2]
            out.add(f"{category}: {point}")
        else:
            out.add(f"blocker: {line}")
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_suggested_change_recovers_the_point(cli, tmp_path: Path, monkeypatch, name: str):
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T10:30:00Z")  # the morning of the alert
    case = CASES[name]
    repo = make_repo(tmp_path / "gitops")
    if case.on_main:
        case.on_main(repo)
    payload = (grafana_payload(namespace="appointments-db", pod="db-0", service="appointments-db") if case.db
               else grafana_payload())
    assert cli("open", "--repo", repo, "--grafana", write_json(tmp_path / "alert.json", payload)).code == 0
    if case.on_branch:
        case.on_branch(repo)
    before = cli("check", "readiness", ID, "--repo", repo)
    assert set(case.lost) <= _lost(before.err), before.err
    run = cli("evidence", ID, "--repo", repo, "--out", tmp_path / "pkg")
    rows = [r for r in _rows(run.out) if r["lost"] in case.lost]
    assert {r["lost"] for r in rows} == set(case.lost)
    case.fix(repo, rows[0])
    if case.refresh:
        assert cli("refresh", ID, "--repo", repo).code == 0
    after = cli("check", "readiness", ID, "--repo", repo)
    assert not set(case.lost) & _lost(after.err), after.err


def test_stale_check_and_missing_approval_are_recovered_by_the_named_check_and_review(cli, tmp_path: Path):
    repo = make_repo(tmp_path / "gitops")
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 1  # stale: no readiness on this head
    rows = _rows(cli("evidence", ID, "--repo", repo, "--out", tmp_path / "p1").out)
    assert [r["file"] for r in rows] == [f"readiness check on commit {git(repo, 'rev-parse', BRANCH)[:12]}"]
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0
    assert cli("merge", ID, "--repo", repo).code == 1
    rows = _rows(cli("evidence", ID, "--repo", repo, "--out", tmp_path / "p2").out)
    assert [r["field"] for r in rows] == ["review of the head commit"]
    assert cli("approve", ID, "--repo", repo, "--reviewer", "@alice").code == 0
    assert cli("merge", ID, "--repo", repo).code == 0
    assert _rows(cli("evidence", ID, "--repo", repo, "--out", tmp_path / "p3").out) == []

"""`merge` on a real temporary repository: what it writes on main and in the audit trace, and the pull-record
claims it does not take on trust (found by `make mutate-flows MODULES=merge`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, make_repo
from test_seal import forge_commit

from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.forge.local import LocalForge

RECORD = "refs/forge/pulls/1"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "gitops")


def entries(repo: Path, step: str) -> list[trace.AuditEntry]:
    return [e for e in trace.entries(Workspace(LocalForge(repo)), ID) if e.step == step]


def judged(cli, repo: Path) -> str:
    """The seed incident opened and both checks green on its head, which is returned."""
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json",
               "--pagerduty", FIXTURES / "webhook_pagerduty.json").code == 0
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID)):
        assert cli(*argv, "--repo", repo).code == 0
    return git(repo, "rev-parse", BRANCH).strip()


def human_commit_on_main(repo: Path, path: str, text: str) -> None:
    (repo / path).write_text(text)
    git(repo, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qam", f"edit {path}")


def forge_record(repo: Path, **fields: object) -> None:
    """Rewrite the pull record (a plain ref anyone with push access can write)."""
    pull = json.loads(git(repo, "show", f"{RECORD}:pull.json"))
    forge_commit(repo, RECORD, {"pull.json": json.dumps({**pull, **fields}, indent=2, sort_keys=True) + "\n"},
                 "pull #1: open " + BRANCH)


def test_the_merge_commit_and_its_trace_entry_name_the_incident_the_reviewers_and_the_application(cli, repo: Path):
    """Argo CD multi-source Applications carry `spec.sources` instead of `spec.source`
    (https://argo-cd.readthedocs.io/en/stable/user-guide/multiple_sources/): the Application named in the
    evidence is the one whose single source is `deploy`, however many documents the file holds."""
    application = (repo / "deploy/argocd/application.yaml").read_text()
    human_commit_on_main(repo, "deploy/argocd/application.yaml", (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: multi}\n"
        "spec: {sources: [{path: deploy}]}\n---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: project}\n"
        "spec: {source: {path: deploy}}\n---\n"
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: other}\n"
        "spec: {source: {path: elsewhere}}\n---\n") + application)
    head = judged(cli, repo)
    for reviewer in ("@bob", "@alice"):
        assert cli("approve", ID, "--repo", repo, "--reviewer", reviewer).code == 0
    run = cli("merge", ID, "--repo", repo)
    assert run.code == 0, run.err
    merged = git(repo, "rev-parse", "main").strip()
    assert git(repo, "log", "-1", "--format=%B", "main") == (
        f"Merge {ID}: restart_pod (#1)\n\nIncident-Id: {ID}\nPhase: merge\nReviewed-by: @alice, @bob\n"
        f"Head-Branch: {BRANCH}\n\n")
    [entry] = entries(repo, "merge")
    assert (entry.status, entry.evidence) == ("ok", {"commit": merged, "head": head, "pull": 1,
                                                     "argocd_application": "appointments", "revision": merged})
    again = cli("merge", ID, "--repo", repo)  # a re-run of a recorded merge changes nothing
    assert (again.code, again.out) == (0, run.out)
    assert [e.seq for e in entries(repo, "merge")] == [entry.seq]
    assert git(repo, "rev-parse", "main").strip() == merged


def test_a_refused_merge_is_recorded_with_the_head_it_refused(cli, repo: Path):
    head = judged(cli, repo)
    run = cli("merge", ID, "--repo", repo)
    assert run.code == 1 and "no approval from a code owner" in run.err
    [entry] = entries(repo, "merge")
    assert entry.status == "refused" and entry.evidence["commit"] == head
    assert [r for r in entry.evidence["reasons"] if r in run.err]  # type: ignore[union-attr]


def test_a_pull_record_claiming_a_merge_is_not_taken_on_trust(cli, repo: Path):
    """The record is a plain ref: a merge commit written into an open record is judged like any merge (and
    refused without an approval), and a record saying merged as a commit main does not hold is refused."""
    head = judged(cli, repo)
    main = git(repo, "rev-parse", "main").strip()
    forge_record(repo, merge_sha=main)
    run = cli("merge", ID, "--repo", repo)
    assert run.code == 1 and "no approval from a code owner" in run.err
    forge_record(repo, state="merged", merge_sha=head)
    run = cli("merge", ID, "--repo", repo)
    assert run.code == 1
    assert f"merge refused: pull request #1 says merged as {head[:12]}, which is not on main" in run.err
    assert git(repo, "rev-parse", "main").strip() == main


def test_a_merge_before_any_check_names_the_checks_and_the_approval_and_nothing_else(cli, repo: Path):
    """Every requirement missing on a freshly opened incident, once each: no semi-manual action approval is asked
    for, since no readiness ran (the trace holds no verdict to be semi-manual)."""
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    head = git(repo, "rev-parse", BRANCH).strip()[:12]
    run = cli("merge", ID, "--repo", repo)
    assert (run.code, run.err.strip()) == (1, (
        f"incident-bot: merge refused: readiness check has not succeeded on head {head}; dry-run check has not"
        f" succeeded on head {head}; no approval from a code owner (other than the bot) on head {head}; the sealed"
        f" audit trace holds no successful readiness and dry-run on head {head} at one base, matching the recorded"
        f" checks; the sealed audit trace holds no code owner's approval of head {head} that the forge's reviews"
        " corroborate; main moved since the checks ran on an unknown base: re-run the checks"))

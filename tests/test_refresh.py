"""`refresh` end to end on a real temporary repository: incident branches follow main, so the second of two
incidents on one file merges after the first; a branch a person committed to is never rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lifecycle_helpers import BRANCH, ID, git, grafana_payload, human_commit, make_repo, write_json

from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.forge.local import LocalForge

SECOND = "HM-2026-05-17-02"
MANIFEST = "deploy/appointments-api/deployment.yaml"
# A second Deployment in the same file as the api's: two incidents, two workloads, one file.
WORKER = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
  namespace: appointments-api
  labels:
    app.kubernetes.io/name: appointments-worker
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: appointments-worker
  template:
    metadata:
      labels:
        app.kubernetes.io/name: appointments-worker
    spec:
      automountServiceAccountToken: false
      containers:
        - name: worker
          image: ghcr.io/example/appointments-worker:1.4.2
          resources:
            limits:
              cpu: 500m
              memory: 512Mi
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = make_repo(tmp_path / "gitops")
    with (path / MANIFEST).open("a") as handle:
        handle.write(WORKER)
    git(path, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qam", "add the worker")
    return path


def open_alert(cli, repo: Path, name: str, **labels: str) -> str:
    run = cli("open", "--repo", repo, "--grafana", write_json(repo.parent / f"{name}.json", grafana_payload(**labels)))
    assert run.code == 0, run.err
    return run.out.strip()


def judge_and_merge(cli, repo: Path, incident_id: str) -> None:
    for argv in (("check", "readiness", incident_id), ("check", "dry-run", incident_id),
                 ("approve", incident_id, "--reviewer", "@alice"), ("merge", incident_id)):
        run = cli(*argv, "--repo", repo)
        assert run.code == 0, (argv, run.out, run.err)


def main_commit(repo: Path, text: str = "note\n") -> str:
    (repo / "NOTES.md").write_text(text)
    git(repo, "add", "NOTES.md")
    git(repo, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qm", "a commit on main")
    return git(repo, "rev-parse", "HEAD").strip()


def test_the_second_of_two_incidents_on_one_file_is_refreshed_by_post_merge_and_merges_cleanly(cli, repo: Path):
    assert open_alert(cli, repo, "api") == f"OPENED incident={ID} pull=#1"
    assert open_alert(cli, repo, "worker", pod="worker-5c9", service="appointments-worker") \
        == f"OPENED incident={SECOND} pull=#2"
    old = git(repo, "rev-parse", f"incident/{SECOND}").strip()
    judge_and_merge(cli, repo, ID)
    merged = git(repo, "rev-parse", "main").strip()

    # the second branch was cut from the old main, which GitHub's "require branches to be up to date" refuses
    assert merged not in git(repo, "rev-list", old)

    run = cli("post-merge", "--commit", merged, "--repo", repo)
    assert run.code == 0, run.err
    assert f"REFRESHED incident={SECOND} pull=#2 (rebuilt on main {merged[:12]}: head {old[:12]} -> " in run.out
    new = git(repo, "rev-parse", f"incident/{SECOND}").strip()
    assert git(repo, "merge-base", "main", new).strip() == merged  # main is an ancestor of the new head
    phases = git(repo, "log", "--reverse", "--format=%(trailers:key=Phase,valueonly)", f"main..{new}").split()
    assert phases == ["received", "specify", "plan", "tasks", "implement"]

    judge_and_merge(cli, repo, SECOND)  # judged again on the new head, merges cleanly
    text = git(repo, "show", f"main:{MANIFEST}")
    assert f'incident-bot.dev/restarted-by: "{ID}"' in text and f'incident-bot.dev/restarted-by: "{SECOND}"' in text
    steps = [(e.step, e.status) for e in trace.entries(Workspace(LocalForge(repo)), SECOND)]
    assert ("refresh", "ok") in steps
    assert cli("audit", "verify", SECOND, "--repo", repo).code == 0
    assert cli("replay", SECOND, "--repo", repo).code == 0


def test_a_branch_already_on_main_is_current_and_untouched(cli, repo: Path):
    open_alert(cli, repo, "api")
    head = git(repo, "rev-parse", BRANCH)
    run = cli("refresh", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (0, f"CURRENT incident={ID} pull=#1 (already on main "
                                               f"{git(repo, 'rev-parse', 'main').strip()[:12]})")
    assert git(repo, "rev-parse", BRANCH) == head


def test_a_branch_a_person_committed_to_is_not_rewritten_and_refresh_exits_1_naming_it(cli, repo: Path):
    open_alert(cli, repo, "api")
    theirs = human_commit(repo, BRANCH, {f"incidents/{ID}/notes.md": "found in the logs\n"})
    main_commit(repo)

    run = cli("refresh", "--all", "--repo", repo)
    assert run.code == 1
    assert run.out.strip().startswith(f"NEEDS-HUMAN incident={ID} pull=#1 (commit {theirs[:12]} by Mallory is not "
                                      "the bot's (no valid seal): not rewritten")
    assert git(repo, "rev-parse", BRANCH).strip() == theirs  # never rewritten
    pull = json.loads(git(repo, "show", "refs/forge/pulls/1:pull.json"))
    assert "needs-human" in pull["labels"]
    ws = Workspace(LocalForge(repo))
    marked = [e for e in trace.entries(ws, ID) if e.step == "refresh"]
    assert [(e.status, e.evidence["commits"]) for e in marked] == [("needs_human", [theirs])]

    # the next push to main reports it again but records it once per head
    assert cli("refresh", ID, "--repo", repo).code == 1
    assert len([e for e in trace.entries(ws, ID) if e.step == "refresh"]) == 1
    assert cli("audit", "verify", ID, "--repo", repo).code == 0


def test_refresh_of_an_unknown_incident_is_unusable_input(cli, repo: Path):
    run = cli("refresh", "HM-2026-05-17-09", "--repo", repo)
    assert run.code == 2 and "no branch incident/HM-2026-05-17-09" in run.err

"""`incident-bot sync confirm`: a sync is recorded only when Argo CD reported it, from the command line on real
repositories (local forge). Argo CD's words: status.sync.status / .revision, status.health.status and
status.operationState.phase / .finishedAt of the Application CRD (argoproj/argo-cd manifests/crds/
application-crd.yaml; converted in tests/argocd/schemas/application.json); `argocd app get -o json` and
`argocd app wait -o json` both print that Application (cmd/argocd/commands/app.go: PrintResource(app, output)).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES
from lifecycle_helpers import ID, git, grafana_payload, make_repo, merged_seed, write_json
from test_seal import forge_commit

from bot.flows import trace
from bot.flows.trace import audit_path
from bot.flows.workspace import Workspace
from bot.forge.local import LocalForge
from bot.model.ids import audit_branch
from bot.rules.audit import append, parse, serialize

APP = FIXTURES / "argocd" / "application_synced.json"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "gitops")


def app_report(path: Path, revision: str, *, name: str = "appointments", sync: str = "Synced",
               health: str = "Healthy", phase: str = "Succeeded", finished: str = "2026-05-17T08:42:58Z") -> Path:
    """The JSON of `argocd app get appointments -o json` as Argo CD reports it."""
    app = json.loads(APP.read_text())
    app["metadata"]["name"] = name
    app["status"]["sync"].update(status=sync, revision=revision)
    app["status"]["health"]["status"] = health
    app["status"]["operationState"].update(phase=phase, finishedAt=finished)
    return write_json(path, app)


def notification(path: Path, revision: str, **fields: Any) -> Path:
    """The body of the webhook of deploy/argocd/notifications.yaml (tests/argocd/test_notifications.py renders
    the template into exactly this shape)."""
    body = {"application": "appointments", "namespace": "argocd", "revision": revision, "sync_status": "Synced",
            "health_status": "Progressing", "operation_phase": "Succeeded", "finished_at": "2026-05-17T08:42:58Z"}
    return write_json(path, {**body, **fields})


def syncs(repo: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(e.status, e.evidence) for e in trace.entries(Workspace(LocalForge(repo)), ID) if e.step == "sync"]


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def test_argo_cds_report_of_the_merge_records_sync_ok_once(cli, repo: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T08:45:00Z")
    merge = merged_seed(cli, repo)
    assert [s for s, _ in syncs(repo)] == ["pending"]  # post-merge observes nothing
    run = cli("sync", "confirm", "--argocd", app_report(tmp_path / "app.json", merge), "--repo", repo)
    assert (run.code, run.out.strip()) == (0, (
        f"CONFIRMED incident={ID} revision={merge[:12]} app=appointments "
        f"(Argo CD Synced/Healthy/Succeeded at {merge[:12]}: sync ok recorded)")), run.err
    status, evidence = syncs(repo)[-1]
    assert (status, evidence["revision"], evidence["argocd_application"]) == ("ok", merge, "appointments")
    assert evidence["observed"] == {
        "source": "argocd-app", "application": "appointments", "revision": merge, "sync_status": "Synced",
        "health_status": "Healthy", "operation_phase": "Succeeded", "finished_at": "2026-05-17T08:42:58Z",
        "received_at": "2026-05-17T08:45:00Z"}
    assert cli("audit", "verify", ID, "--repo", repo).code == 0  # sealed like every entry
    # the evidence package says which sync was observed and which was not
    assert cli("evidence", ID, "--repo", repo, "--out", tmp_path / "package").code == 0
    validation = (tmp_path / "package" / "validation.md").read_text()
    assert f"(sync pending, 2026-05-17T08:45:00Z): merge {merge[:12]} for Application appointments: not observed" \
        in validation
    assert ("(sync ok, 2026-05-17T08:45:00Z): Argo CD (argocd-app) reported Application appointments Synced, health "
            f"Healthy, operation Succeeded at {merge[:12]}, finished 2026-05-17T08:42:58Z; merge {merge[:12]}"
            ) in validation
    # the same report again (Argo CD's notification after `argocd app wait`): nothing is written
    before = refs(repo)
    run = cli("sync", "confirm", "--argocd", notification(tmp_path / "n.json", merge), "--repo", repo)
    assert run.code == 0 and run.out.startswith(f"DUPLICATE incident={ID} revision={merge[:12]}"), run.err
    assert refs(repo) == before


def test_a_later_revision_on_main_confirms_the_merge_it_contains(cli, repo: Path, tmp_path: Path):
    merge = merged_seed(cli, repo)
    (repo / "README.team").write_text("a later change on main\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qm", "later")
    later = git(repo, "rev-parse", "main").strip()
    run = cli("sync", "confirm", "--argocd", notification(tmp_path / "n.json", later), "--repo", repo)
    assert run.code == 0 and run.out.startswith(f"CONFIRMED incident={ID} revision={merge[:12]}"), run.err
    assert syncs(repo)[-1][1]["observed"]["revision"] == later


@pytest.mark.parametrize(("case", "refusal"), [
    ("other application", "no incident waits for a sync of Application 'billing' (incidents wait for: appointments)"),
    ("revision before the merge", "are not in it: the revision contains none of them"),
    ("revision not in the repository", "are not in it: the revision is not a commit of this repository"),
    ("still syncing", "not conclusive: sync OutOfSync, health Progressing, operation Running"),
])
def test_a_report_that_settles_no_pending_merge_writes_nothing_and_says_why(cli, repo: Path, tmp_path: Path,
                                                                          case: str, refusal: str):
    first = git(repo, "rev-parse", "main").strip()
    merge = merged_seed(cli, repo)
    fields: dict[str, Any] = {
        "other application": {"revision": merge, "application": "billing"},
        "revision before the merge": {"revision": first},
        "revision not in the repository": {"revision": "c" * 40},
        "still syncing": {"revision": merge, "sync_status": "OutOfSync", "operation_phase": "Running",
                          "finished_at": "<no value>"},
    }[case]
    report = notification(tmp_path / "n.json", **fields)
    before = refs(repo)
    run = cli("sync", "confirm", "--argocd", report, "--repo", repo)
    assert run.code == 1 and run.out == "", run.err
    assert refusal in run.err and "nothing recorded" in run.err
    assert refs(repo) == before


def test_a_failed_sync_is_recorded_and_a_later_success_confirms(cli, repo: Path, tmp_path: Path):
    merge = merged_seed(cli, repo)
    run = cli("sync", "confirm", "--argocd", app_report(tmp_path / "a.json", merge, sync="OutOfSync",
                                                         phase="Failed"), "--repo", repo)
    assert run.code == 0 and run.out.startswith(f"SYNC-FAILED incident={ID}"), run.err
    run = cli("sync", "confirm", "--argocd", app_report(tmp_path / "b.json", merge, health="Degraded"),
              "--repo", repo)
    assert run.code == 0 and run.out.startswith(f"SYNC-FAILED incident={ID}")  # synced, but Degraded
    run = cli("sync", "confirm", "--argocd", app_report(tmp_path / "c.json", merge), "--repo", repo)
    assert run.code == 0 and run.out.startswith(f"CONFIRMED incident={ID}")
    assert [s for s, _ in syncs(repo)] == ["pending", "failed", "failed", "ok"]


@pytest.mark.parametrize(("change", "field"), [
    ({"sync_status": "synced"}, "$.sync_status"),
    ({"revision": "main"}, "$.revision"),
    ({"extra": 1}, "$"),
])
def test_an_unusable_report_is_refused_naming_the_file_and_the_field(cli, repo: Path, tmp_path: Path,
                                                                   change: dict[str, Any], field: str):
    path = notification(tmp_path / "n.json", **{"revision": "a" * 40, **change})
    before = refs(repo)
    run = cli("sync", "confirm", "--argocd", path, "--repo", repo)
    assert run.code == 2 and run.err.startswith(f"incident-bot: {path}: {field}"), run.err
    assert len(run.err.strip().splitlines()) == 1 and refs(repo) == before


def test_an_application_without_sync_status_is_unusable(cli, repo: Path, tmp_path: Path):
    app = json.loads(APP.read_text())
    del app["status"]["sync"]["revision"]
    path = write_json(tmp_path / "app.json", app)
    run = cli("sync", "confirm", "--argocd", path, "--repo", repo)
    assert run.code == 2 and f"{path}: $.status.sync.revision: required field is missing" in run.err


@pytest.mark.parametrize(("finished", "outcome"), [("2026-05-17T09:10:00Z", "SKIPPED"),
                                                    ("2026-05-17T08:50:00Z", "VALIDATED")])
def test_a_resolution_validates_only_after_the_sync_argo_cd_reported(cli, repo: Path, tmp_path: Path,
                                                                     monkeypatch, finished: str, outcome: str):
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T08:40:00Z")  # merged at 08:40, the alert ends 09:05
    merge = merged_seed(cli, repo)
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T09:20:00Z")
    assert cli("sync", "confirm", "--argocd", app_report(tmp_path / "a.json", merge, finished=finished),
               "--repo", repo).code == 0
    resolved = grafana_payload()
    resolved["status"] = "resolved"
    resolved["alerts"][0].update(status="resolved", endsAt="2026-05-17T09:05:00Z")
    run = cli("open", "--repo", repo, "--grafana", write_json(tmp_path / "resolved.json", resolved))
    assert run.out.startswith(f"{outcome} incident={ID}"), run.out + run.err
    if outcome == "SKIPPED":
        assert f"before the merged change was synced ({finished})" in run.out


def test_without_a_report_the_merge_alone_bounds_validation(cli, repo: Path, tmp_path: Path, monkeypatch):
    """`sync pending` observed nothing: a resolution after the merge validates (the earliest the change can have
    applied), whenever post-merge ran."""
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T08:40:00Z")
    merged_seed(cli, repo)
    resolved = grafana_payload()
    resolved["status"] = "resolved"
    resolved["alerts"][0].update(status="resolved", endsAt="2026-05-17T09:05:00Z")
    run = cli("open", "--repo", repo, "--grafana", write_json(tmp_path / "resolved.json", resolved))
    assert run.out.startswith(f"VALIDATED incident={ID}")


def test_a_trace_with_an_entry_the_bot_did_not_seal_is_named_and_not_read(cli, repo: Path, tmp_path: Path):
    """Push access to audit/** can append a well-formed `sync ok` (tests/test_seal.py): it must not answer
    DUPLICATE for Argo CD's genuine report, and nothing is written on top of it."""
    merge = merged_seed(cli, repo)
    path = audit_path(ID)
    entries = parse(git(repo, "show", f"{audit_branch(ID)}:{path}"), path)
    report = app_report(tmp_path / "app.json", merge)
    claimed = {"revision": merge, "argocd_application": "appointments",
               "observed": {"source": "argocd-app", "application": "appointments", "revision": merge,
                            "sync_status": "Synced", "health_status": "Healthy", "operation_phase": "Succeeded",
                            "finished_at": "2026-05-17T08:42:58Z", "received_at": "2026-05-17T08:43:00Z"}}
    fake = append(entries, ID, "sync", "ok", "2026-05-17T08:43:00Z", claimed)
    forge_commit(repo, audit_branch(ID), {path: serialize([*entries, fake])},
                 f"audit {ID}: {fake.seq} sync ok\n\nIncident-Id: {ID}\nAudit-Hash: {fake.hash}\n")
    before = refs(repo)
    run = cli("sync", "confirm", "--argocd", report, "--repo", repo)
    assert (run.code, run.out.strip()) == (1, (
        f"UNVERIFIED incident={ID} (its audit trace does not verify: not read, nothing written; "
        f"see `incident-bot audit verify {ID}`)")), run.err
    assert "no incident waits for a sync" in run.err and "DUPLICATE" not in run.out
    assert refs(repo) == before


@pytest.mark.parametrize(("shape", "finished", "code"), [
    ("app", "9999-01-01T00:00:00Z", 2),
    ("notification", "9999-01-01T00:00:00Z", 2),
    ("app", "2026-05-17T08:50:01Z", 2),  # received 08:45:00, five minutes of clock skew allowed
    ("app", "2026-05-17T08:50:00Z", 1),  # within the allowance: read (and no incident waits for it)
])
def test_a_sync_stated_to_finish_after_the_report_was_received_is_refused(cli, repo: Path, tmp_path: Path,
                                                                         monkeypatch, shape: str, finished: str,
                                                                         code: int):
    """A `finished_at` in the future would bound every later validation (`observed_at`): refused at the edge."""
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T08:45:00Z")
    if shape == "app":
        path, field = app_report(tmp_path / "a.json", "a" * 40, finished=finished), \
            "$.status.operationState.finishedAt"
    else:
        path, field = notification(tmp_path / "n.json", "a" * 40, finished_at=finished), "$.finished_at"
    before = refs(repo)
    run = cli("sync", "confirm", "--argocd", path, "--repo", repo)
    assert run.code == code and refs(repo) == before, run.err
    if code == 2:
        assert run.err.startswith(f"incident-bot: {path}: {field}: {finished} is later than the report was "
                                  "received (2026-05-17T08:45:00Z"), run.err
        assert len(run.err.strip().splitlines()) == 1


def test_a_degraded_application_after_sync_ok_is_recorded_as_sync_failed(cli, repo: Path, tmp_path: Path):
    merge = merged_seed(cli, repo)
    assert cli("sync", "confirm", "--argocd", app_report(tmp_path / "a.json", merge), "--repo", repo).code == 0
    degraded = app_report(tmp_path / "b.json", merge, health="Degraded")
    run = cli("sync", "confirm", "--argocd", degraded, "--repo", repo)
    assert run.code == 0 and run.out.startswith(f"SYNC-FAILED incident={ID} revision={merge[:12]}"), run.out
    run = cli("sync", "confirm", "--argocd", degraded, "--repo", repo)  # the same failure again
    assert run.code == 0 and run.out.startswith(f"DUPLICATE incident={ID}"), run.out
    assert [s for s, _ in syncs(repo)] == ["pending", "ok", "failed"]


def test_the_sync_of_a_rollback_does_not_confirm_the_merge_it_reverts(cli, repo: Path, tmp_path: Path):
    merge = merged_seed(cli, repo)
    assert cli("rollback", ID, "--repo", repo).code == 0
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("approve", ID, "--reviewer", "@bob"),
                 ("merge", ID)):
        assert cli(*argv, "--repo", repo, "--rollback").code == 0, argv
    revert = git(repo, "rev-parse", "main").strip()
    assert cli("post-merge", "--repo", repo, "--commit", revert).code == 0
    run = cli("sync", "confirm", "--argocd", app_report(tmp_path / "a.json", revert), "--repo", repo)
    assert run.code == 0 and run.out.strip().splitlines() == [
        f"CONFIRMED incident={ID} revision={revert[:12]} app=appointments "
        f"(Argo CD Synced/Healthy/Succeeded at {revert[:12]}: sync ok recorded)"], run.out
    assert [(s, e["revision"]) for s, e in syncs(repo) if s != "pending"] == [("ok", revert)]
    assert merge != revert

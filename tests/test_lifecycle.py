"""End to end on a real temporary git repository: the seed case, and each blocker of the chapter
stopping the chain at the right arrow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, grafana_payload, human_commit, make_repo, traced_human_commit, write_json

from bot.flows import trace
from bot.flows.workspace import Workspace
from bot.forge.local import LocalForge
from bot.rules import audit


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "gitops")


def chain(repo: Path, incident_id: str = ID) -> audit.ChainView:
    return audit.view(trace.entries(Workspace(LocalForge(repo)), incident_id))


def open_seed(cli, repo: Path) -> None:
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json",
              "--pagerduty", FIXTURES / "webhook_pagerduty.json")
    assert run.code == 0, run.err
    assert run.out.strip() == f"OPENED incident={ID} pull=#1"


def remediate(cli, repo: Path) -> None:
    """The seed case up to the merge: open, both checks, a code owner's approval, merge."""
    open_seed(cli, repo)
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice"),
                 ("merge", ID)):
        assert cli(*argv, "--repo", repo).code == 0


def test_seed_case_end_to_end(cli, repo: Path, monkeypatch):
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T08:40:00Z")  # merged before the alert resolves (09:05)
    open_seed(cli, repo)
    # one commit per phase, each with the trailers
    log = git(repo, "log", "--reverse", "--format=%(trailers:key=Phase,valueonly)", f"main..{BRANCH}").split()
    assert log == ["received", "specify", "plan", "tasks", "implement"]
    assert git(repo, "diff", "--name-only", f"main...{BRANCH}", "--", "deploy").split() == [
        "deploy/appointments-api/deployment.yaml"]
    plan = git(repo, "show", f"{BRANCH}:incidents/{ID}/plan.md")
    assert "action: restart_pod" in plan
    specify = git(repo, "show", f"{BRANCH}:incidents/{ID}/specify.md")
    assert "## WHY" in specify and "kubectl" not in specify and "api-7b4" in specify

    run = cli("check", "readiness", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (0, f"PASS incident={ID} score=25/25")
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 0 and run.out.startswith("PASS action=restart_pod")
    assert cli("approve", ID, "--repo", repo, "--reviewer", "@alice").code == 0
    run = cli("merge", ID, "--repo", repo)
    assert run.code == 0, run.err
    assert 'incident-bot.dev/restarted-by: "HM-2026-05-17-01"' in git(
        repo, "show", "main:deploy/appointments-api/deployment.yaml")
    assert git(repo, "status", "--porcelain") == ""  # the checked-out main followed the merge

    # the alert resolves: validation evidence closes the chain
    resolved = grafana_payload()
    resolved["status"] = "resolved"
    resolved["alerts"][0].update(status="resolved", endsAt="2026-05-17T09:05:00Z")
    run = cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "resolved.json", resolved))
    assert run.out.strip() == f"VALIDATED incident={ID} pull=#1"

    assert chain(repo).reached == audit.CHAIN
    assert cli("audit", "verify", ID, "--repo", repo).code == 0
    run = cli("audit", ID, "--repo", repo)
    assert "audit_trace_coverage=1" in run.out and "integrity: intact" in run.out
    assert cli("replay", ID, "--repo", repo).code == 0


def test_duplicate_alert_from_any_source_adds_to_the_incident(cli, repo: Path):
    assert cli("open", "--repo", repo, "--pagerduty", FIXTURES / "webhook_pagerduty.json").code == 0
    head = git(repo, "rev-parse", BRANCH)
    run = cli("open", "--repo", repo, "--pagerduty", FIXTURES / "webhook_pagerduty.json")
    assert run.out.strip() == f"DUPLICATE incident={ID} pull=#1"
    assert git(repo, "rev-parse", BRANCH) == head
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json")
    assert run.out.strip() == f"UPDATED incident={ID} pull=#1"
    event = json.loads(git(repo, "show", f"{BRANCH}:incidents/{ID}/event.json"))
    assert sorted(event["source_refs"]) == ["grafana", "pagerduty"] and event["pod"] == "api-7b4"
    assert git(repo, "branch", "--list", "incident/*").split() == [BRANCH]
    assert len(git(repo, "for-each-ref", "refs/forge/pulls/").splitlines()) == 1


def test_audit_coverage_blocker_stops_at_readiness(cli, repo: Path):
    open_seed(cli, repo)
    human_commit(repo, BRANCH, {f"incidents/{ID}/notes.md": "discussed in chat\n"})
    run = cli("check", "readiness", ID, "--repo", repo)
    assert run.code == 1
    assert any(r.startswith("audit_trace_coverage=0.9") and r.endswith("< 1.0") for r in run.err.splitlines())
    view = chain(repo)
    assert view.broken_at == "readiness" and view.reached[-1] == "commit"
    assert cli("check", "dry-run", ID, "--repo", repo).code == 1
    assert "readiness check has not succeeded on head" in cli("check", "dry-run", ID, "--repo", repo).err


def test_the_readiness_verdict_does_not_depend_on_how_often_it_ran(cli, repo: Path):
    """Issue 11 finding 7: the blocked run's own entry names the head; it must not "trace" the human commit."""
    open_seed(cli, repo)
    human_commit(repo, BRANCH, {f"incidents/{ID}/notes.md": "discussed in chat\n"})
    runs = [cli("check", "readiness", ID, "--repo", repo) for _ in range(3)]
    assert [r.code for r in runs] == [1, 1, 1]
    assert len({r.out for r in runs}) == 1 and len({r.err for r in runs}) == 1
    assert all("audit_trace_coverage=0.9" in r.err for r in runs)


def test_stateful_without_backup_stops_at_readiness(cli, repo: Path):
    payload = grafana_payload(namespace="appointments-db", pod="db-0", service="appointments-db")
    run = cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "db.json", payload))
    assert run.code == 0, run.err
    run = cli("check", "readiness", ID, "--repo", repo)
    assert run.code == 1
    assert "stateful workload without verified backup" in run.err.splitlines()
    assert chain(repo).broken_at == "readiness"


def test_forbidden_action_written_into_the_plan_blocks_naming_the_file(cli, repo: Path):
    """The branch's plan.md is a claim: the gate judges the plan the bot derives, and names the edited file."""
    open_seed(cli, repo)
    plan = git(repo, "show", f"{BRANCH}:incidents/{ID}/plan.md").replace("action: restart_pod",
                                                                        "action: delete_namespace")
    human_commit(repo, BRANCH, {f"incidents/{ID}/plan.md": plan})
    run = cli("check", "readiness", ID, "--repo", repo)
    assert run.code == 1
    assert (f"untrusted change: incidents/{ID}/plan.md: differs from what the bot derives from the recorded "
            "sources, main's deploy/, the spec and the policy") in run.err.splitlines()
    assert chain(repo).broken_at == "readiness"


# Issue 11, finding 1: what the incident branch says about itself never feeds a verdict.
def _db_incident(cli, repo: Path) -> None:
    payload = grafana_payload(namespace="appointments-db", pod="db-0", service="appointments-db")
    assert cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "db.json", payload)).code == 0


def test_declaring_the_database_stateless_in_the_plan_does_not_lift_the_stateful_blocker(cli, repo: Path):
    _db_incident(cli, repo)
    plan = git(repo, "show", f"{BRANCH}:incidents/{ID}/plan.md")
    assert "stateless: false" in plan
    human_commit(repo, BRANCH, {f"incidents/{ID}/plan.md": plan.replace("stateless: false", "stateless: true")})
    run = cli("check", "readiness", ID, "--repo", repo)
    assert run.code == 1
    lines = run.err.splitlines()
    assert "stateful workload without verified backup" in lines
    assert any(line.startswith(f"untrusted change: incidents/{ID}/plan.md") for line in lines)


def test_retargeting_the_plan_at_the_statefulset_cannot_scale_the_database(cli, repo: Path):
    """Rewriting plan.md and the manifests to scale the StatefulSet: the dry-run judges the derived plan."""
    open_seed(cli, repo)
    sts_path = "deploy/appointments-db/statefulset.yaml"
    sts = git(repo, "show", f"main:{sts_path}").replace("replicas: 1", "replicas: 2")
    plan = git(repo, "show", f"{BRANCH}:incidents/{ID}/plan.md").replace("action: restart_pod",
                                                                        "action: scale_up_replicas_one")
    human_commit(repo, BRANCH, {f"incidents/{ID}/plan.md": plan, sts_path: sts})
    assert cli("check", "readiness", ID, "--repo", repo).code == 1
    # even with the gate forced open by a human's approval path, the dry-run names both files
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1
    assert "replicas: 2" in git(repo, "show", f"{BRANCH}:{sts_path}")
    assert git(repo, "show", f"main:{sts_path}").count("replicas: 2") == 0


def test_an_event_json_retyped_on_the_branch_is_an_untrusted_change(cli, repo: Path):
    open_seed(cli, repo)
    event = git(repo, "show", f"{BRANCH}:incidents/{ID}/event.json").replace(
        '"type": "high_memory_usage"', '"type": "unclassified"')
    human_commit(repo, BRANCH, {f"incidents/{ID}/event.json": event})
    run = cli("check", "readiness", ID, "--repo", repo)
    assert run.code == 1
    assert any(line.startswith(f"untrusted change: incidents/{ID}/event.json: differs")
               for line in run.err.splitlines())


def test_smuggled_manifest_change_blocks_dry_run_naming_the_file(cli, repo: Path):
    open_seed(cli, repo)
    # Mallory deletes a namespace manifest and forges the audit entry that would hide her commit.
    sha = human_commit(repo, BRANCH, {"deploy/appointments-db/namespace.yaml": None},
                       f"tidy\n\nIncident-Id: {ID}\nPhase: implement")
    ws = Workspace(LocalForge(repo))
    trace.record(ws, ID, "spec_diff_created", "ok", {"commit": sha, "phase": "implement"})
    readiness = cli("check", "readiness", ID, "--repo", repo)
    assert readiness.code == 0, readiness.err  # 24/25: only "change equals rendering" is missed
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1
    assert ("BLOCK: deploy/appointments-db/namespace.yaml: deleted, not part of the planned action restart_pod"
            in run.err.splitlines())
    assert chain(repo).broken_at == "dry_run"
    assert cli("merge", ID, "--repo", repo).code == 1


def test_new_commit_makes_checks_stale(cli, repo: Path):
    open_seed(cli, repo)
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    # a later alert with new metric context adds a commit: the readiness check was for the old head
    later = grafana_payload()
    later["alerts"][0]["values"]["memory_percent"] = 97
    later["alerts"][0]["fingerprint"] = "6f2c1a9e4b7d3c05"
    run = cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "later.json", later))
    assert run.out.strip() == f"UPDATED incident={ID} pull=#1"
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1
    head = git(repo, "rev-parse", BRANCH).strip()
    assert f"readiness check has not succeeded on head {head[:12]}" in run.err
    assert chain(repo).broken_at == "dry_run"
    # run the checks again on the new head and the chain goes on
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0


def test_merge_without_approval_is_refused(cli, repo: Path):
    open_seed(cli, repo)
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0
    main_before = git(repo, "rev-parse", "main")
    run = cli("merge", ID, "--repo", repo)
    assert run.code == 1
    assert "no approval from a code owner" in run.err
    assert chain(repo).broken_at == "review"
    # the bot and a non-owner cannot approve
    assert "the bot cannot approve its own pull request" in cli("approve", ID, "--repo", repo,
                                                                "--reviewer", "incident-bot").err
    assert "reviewer is not a code owner" in cli("approve", ID, "--repo", repo, "--reviewer", "@carol").err
    assert cli("merge", ID, "--repo", repo).code == 1
    assert git(repo, "rev-parse", "main") == main_before  # nothing reached main
    assert "restarted-by" not in git(repo, "show", "main:deploy/appointments-api/deployment.yaml")


def test_emergency_stop_blocks_every_dry_run_until_lifted(cli, repo: Path):
    open_seed(cli, repo)
    stop = "engaged: true\nreason: change freeze during the database migration\n"
    (repo / "policies/emergency_stop.yaml").write_text(stop)
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "engage the emergency stop")
    # main moved: the branch is rebuilt on it (post-merge.yml does this on every push to main), then judged
    assert "does not contain main's head" in cli("check", "readiness", ID, "--repo", repo).err
    assert cli("refresh", "--all", "--repo", repo).code == 0
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1
    assert "BLOCK: emergency stop engaged (change freeze during the database migration)" in run.err
    (repo / "policies/emergency_stop.yaml").write_text("engaged: false\nreason: ''\n")
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "lift the emergency stop")
    assert cli("refresh", ID, "--repo", repo).code == 0
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0


def test_semi_manual_needs_an_explicit_action_approval(cli, repo: Path):
    # a spec without constraints and acceptance criteria scores 22/25: semi-manual under the default profile
    spec = repo / "specs/high_memory_usage/specify.md"
    text = spec.read_text()
    spec.write_text(text[: text.index("## Constraints")])
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "a thinner spec")
    open_seed(cli, repo)
    run = cli("check", "readiness", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (3, f"SEMI-MANUAL incident={ID} score=22/25")
    assert "readiness check has not succeeded" in cli("check", "dry-run", ID, "--repo", repo).err
    assert cli("approve", ID, "--repo", repo, "--reviewer", "@bob", "--action", "scale_up_replicas_one").code == 1
    assert cli("approve", ID, "--repo", repo, "--reviewer", "@bob", "--action", "restart_pod").code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0
    assert cli("merge", ID, "--repo", repo).code == 0


def test_rollback_opens_a_revert_pull_request(cli, repo: Path):
    remediate(cli, repo)
    assert cli("rollback", "HM-2026-05-17-02", "--repo", repo).code == 1
    run = cli("rollback", ID, "--repo", repo)
    assert run.code == 0 and run.out.startswith(f"ROLLBACK incident={ID} pull=#2")
    diff = git(repo, "diff", "main...rollback/" + ID)
    assert '-        incident-bot.dev/restarted-by: "HM-2026-05-17-01"' in diff
    # the revert goes through the same gate and review
    assert cli("merge", ID, "--repo", repo, "--rollback").code == 1
    run = cli("check", "readiness", ID, "--repo", repo, "--rollback")
    assert run.code == 0, run.err
    assert cli("check", "dry-run", ID, "--repo", repo, "--rollback").code == 0
    assert cli("approve", ID, "--repo", repo, "--reviewer", "@bob", "--rollback").code == 0
    assert cli("merge", ID, "--repo", repo, "--rollback").code == 0
    assert "restarted-by" not in git(repo, "show", "main:deploy/appointments-api/deployment.yaml")
    assert chain(repo).reached == audit.CHAIN[:9]  # the incident's own chain is untouched by the rollback
    assert cli("audit", "verify", ID, "--repo", repo).code == 0
    assert cli("replay", ID, "--repo", repo).code == 0


def test_smuggled_change_in_a_rollback_is_blocked(cli, repo: Path):
    remediate(cli, repo)
    assert cli("rollback", ID, "--repo", repo).code == 0
    merge = git(repo, "rev-parse", "main").strip()
    human_commit(repo, "rollback/" + ID, {"deploy/appointments-api/hpa.yaml": "# gone\n"}, "also this")
    run = cli("check", "readiness", ID, "--repo", repo, "--rollback")
    assert run.code == 1
    assert ("lost 1 point: implementation: change equals rendering: deploy/appointments-api/hpa.yaml: changed, not"
            f" part of the revert of {merge[:12]}") in run.err.splitlines()


def test_unclassified_alert_opens_nothing(cli, repo: Path):
    run = cli("open", "--repo", repo, "--alertmanager", FIXTURES / "vendor" / "alertmanager_v4.json")
    assert run.code == 0
    assert run.out.startswith("SKIPPED incident=UN-2020-02-06-01")
    assert git(repo, "branch", "--list", "incident/*") == ""


def test_post_merge_records_the_sync_and_summaries_match_the_check(cli, repo: Path, tmp_path: Path):
    open_seed(cli, repo)
    summary = tmp_path / "step-summary.md"
    assert cli("check", "readiness", ID, "--repo", repo, "--summary", summary).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo, "--summary", summary).code == 0
    text = summary.read_text()
    assert "| **Total** | **25/25** |" in text and "```mermaid" in text and "```diff" in text
    head = git(repo, "rev-parse", BRANCH).strip()
    notes = json.loads(git(repo, "notes", "--ref=refs/notes/incident-bot/checks", "show", head))
    assert notes["readiness"]["summary"] in text  # the job summary is the check run's own Markdown
    assert cli("approve", ID, "--repo", repo, "--reviewer", "@bob").code == 0
    assert cli("merge", ID, "--repo", repo).code == 0
    merge = git(repo, "rev-parse", "main").strip()
    run = cli("post-merge", "--repo", repo, "--commit", merge, "--argocd-url", "https://argocd.example.com/applications/gitops")
    # a sync is never claimed without being observed: the entry names the Application and revision to look at
    assert run.out.strip() == (f"SYNC PENDING incident={ID} revision={merge[:12]} app=appointments "
                               "(https://argocd.example.com/applications/gitops): confirm the sync in Argo CD")
    steps = [line.split()[2] for line in cli("audit", ID, "--repo", repo).out.splitlines() if line[:3].strip().isdigit()]
    assert [s for s in steps if s != "command"][-2:] == ["merge", "sync"]  # each command is recorded after its step
    assert steps[-1] == "command"
    sync = json.loads(git(repo, "show", f"audit/{ID}:incidents/{ID}/audit.jsonl").splitlines()[-2])
    assert (sync["status"], sync["evidence"]["revision"], sync["evidence"]["argocd_application"]) == (
        "pending", merge, "appointments")
    # running it again (a re-delivered push event) adds no second merge entry
    cli("post-merge", "--repo", repo, "--commit", merge)
    steps = [line.split()[2] for line in cli("audit", ID, "--repo", repo).out.splitlines() if line[:3].strip().isdigit()]
    assert steps.count("merge") == 1 and steps.count("sync") == 1


@pytest.mark.parametrize(("verified_at", "blocked"), [("2026-05-17T02:00:00Z", False), ("2026-05-10T02:00:00Z", True)])
def test_backup_evidence_must_be_recent_at_the_alert_time(cli, repo: Path, verified_at: str, blocked: bool,
                                                         monkeypatch):
    monkeypatch.setenv("INCIDENT_BOT_NOW", "2026-05-17T10:30:00Z")  # the gate runs the morning of the alert
    sts = repo / "deploy/appointments-db/statefulset.yaml"
    text = sts.read_text()
    assert "annotations:" not in text.split("spec:")[0]
    head, rest = text.split("  name: db\n", 1)
    sts.write_text(head + f'  name: db\n  annotations:\n    incident-bot.dev/backup-verified: "{verified_at}"\n' + rest)
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "restore test passed")
    payload = grafana_payload(namespace="appointments-db", pod="db-0", service="appointments-db")
    assert cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "db.json", payload)).code == 0
    run = cli("check", "readiness", ID, "--repo", repo)
    assert ("stateful workload without verified backup" in run.err) is blocked


@pytest.mark.parametrize("argv", [("check", "readiness", "HM-2030-01-01-01"), ("check", "dry-run", "HM-2030-01-01-01"),
                                  ("approve", "HM-2030-01-01-01", "--reviewer", "@alice"), ("merge", "HM-2030-01-01-01"),
                                  ("audit", "HM-2030-01-01-01"), ("replay", "HM-2030-01-01-01")])
def test_unknown_incident_is_unusable_input_and_writes_nothing(cli, repo: Path, argv):
    refs = git(repo, "for-each-ref")
    run = cli(*argv, "--repo", repo)
    assert run.code == 2, run.err
    assert run.err.startswith("incident-bot: HM-2030-01-01-01: ") and len(run.err.splitlines()) == 1
    assert git(repo, "for-each-ref") == refs


def test_not_a_git_repository(cli, tmp_path: Path):
    run = cli("open", "--repo", tmp_path, "--grafana", FIXTURES / "webhook_grafana.json")
    assert (run.code, run.err.strip()) == (2, f"incident-bot: {tmp_path}: --repo: not a git repository")


@pytest.mark.parametrize(("now", "blocked"), [("2026-05-17T10:30:00Z", False), ("2026-12-02T09:00:00Z", True)])
def test_backup_evidence_must_also_be_recent_when_the_gate_runs(cli, repo: Path, monkeypatch, now: str, blocked: bool):
    """Issue 11: an alert dated May with a May restore test does not pass in December."""
    monkeypatch.setenv("INCIDENT_BOT_NOW", now)
    sts = repo / "deploy/appointments-db/statefulset.yaml"
    head, rest = sts.read_text().split("  name: db\n", 1)
    sts.write_text(head + '  name: db\n  annotations:\n    incident-bot.dev/backup-verified: "2026-05-17T02:00:00Z"\n' + rest)
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "restore test passed")
    payload = grafana_payload(namespace="appointments-db", pod="db-0", service="appointments-db")
    assert cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "db.json", payload)).code == 0
    run = cli("check", "readiness", ID, "--repo", repo)
    assert ("stateful workload without verified backup" in run.err) is blocked


def test_a_malformed_clock_override_is_unusable_input(cli, repo: Path, monkeypatch):
    monkeypatch.setenv("INCIDENT_BOT_NOW", "yesterday")
    run = cli("check", "readiness", ID, "--repo", repo)
    assert run.code == 2 and "INCIDENT_BOT_NOW" in run.err and len(run.err.splitlines()) == 1


def test_a_manifest_turned_into_a_symlink_to_the_exact_yaml_is_an_untrusted_change(cli, repo: Path):
    """Issue 11, finding 7: the blob of a symlink may hold the exact rendered YAML as its target; the
    content matches, the file type does not (Argo CD would apply what the link points to)."""
    open_seed(cli, repo)
    path = "deploy/appointments-api/deployment.yaml"
    blob = git(repo, "rev-parse", f"{BRANCH}:{path}").strip()
    wt = repo.parent / "wt-symlink"
    git(repo, "worktree", "add", "-q", str(wt), BRANCH)
    git(wt, "update-index", "--cacheinfo", f"120000,{blob},{path}")
    git(wt, "-c", "user.name=Mallory", "-c", "user.email=m@example.com", "commit", "-qm", "a link")
    git(repo, "worktree", "remove", "--force", str(wt))
    assert git(repo, "ls-tree", BRANCH, path).startswith("120000")
    assert cli("check", "readiness", ID, "--repo", repo).code == 1
    readiness = git(repo, "show", f"audit/{ID}:incidents/{ID}/readiness.json")
    assert f"{path}: changed its file type (e.g. into a symlink)" in readiness


def test_a_delivery_reusing_an_incident_key_for_another_workload_is_refused(cli, repo: Path):
    """Issue 11, finding 7: a signed delivery carrying the incident's key with another namespace and pod
    must not rewrite the incident's identity (and so retarget the plan at the database)."""
    open_seed(cli, repo)
    refs = git(repo, "for-each-ref")
    key = "HighMemoryUsage/appointments-api/appointments-api/api-7b4"
    payload = grafana_payload(namespace="appointments-db", pod="db-0", incident_key=key)
    run = cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "reuse.json", payload))
    assert run.code == 1
    assert (f"incident_key {key!r} belongs to {ID} (Deployment/appointments-api/api); this delivery resolves to "
            "StatefulSet/appointments-db/db") in run.err
    assert git(repo, "for-each-ref") == refs


REFUSE_PULL_WRITES = """#!/bin/sh
# git's reference-transaction hook (githooks(5)): refuse to update a pull record once main has moved
[ "$1" = prepared ] || exit 0
while read -r old new ref; do
  case "$ref" in
    refs/forge/pulls/*)
      if [ "$(git rev-parse refs/heads/main)" != "$(cat "$(git rev-parse --git-dir)/main-before")" ]; then
        echo "pull record write blocked by the test" >&2; exit 1
      fi;;
  esac
done
exit 0
"""


def test_a_merge_interrupted_after_main_moved_is_finished_by_a_re_run_never_merged_twice(cli, repo: Path):
    """Issue 11 finding 6: the pull record cannot be written once main moved (a git reference-transaction
    hook refuses it, as a crash there would leave it); the command fails, and a re-run finishes it."""
    open_seed(cli, repo)
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice")):
        assert cli(*argv, "--repo", repo).code == 0
    before = git(repo, "rev-parse", "main").strip()
    (repo / ".git" / "main-before").write_text(before + "\n")
    hook = repo / ".git" / "hooks" / "reference-transaction"
    hook.write_text(REFUSE_PULL_WRITES)
    hook.chmod(0o755)
    first = cli("merge", ID, "--repo", repo)
    assert first.code != 0 and "merge refused" not in first.err, first.err  # what failed, not "merge refused"
    assert "could not" not in first.err and "hook" in first.err  # the real cause, not "contention"
    moved = git(repo, "rev-parse", "main").strip()
    assert moved != before
    hook.unlink()
    again = cli("merge", ID, "--repo", repo)
    assert again.code == 0, again.err
    assert git(repo, "rev-parse", "main").strip() == moved  # the same merge, not a second one
    assert git(repo, "rev-list", "--count", "--merges", f"{before}..main").strip() == "1"
    merges = [e for e in trace.entries(Workspace(LocalForge(repo)), ID) if e.step == "merge" and e.status == "ok"]
    assert [e.evidence["commit"] for e in merges] == [moved]
    assert json.loads(git(repo, "show", "refs/forge/pulls/1:pull.json"))["state"] == "merged"
    assert cli("merge", ID, "--repo", repo).code == 0  # and once more: nothing changes
    assert git(repo, "rev-parse", "main").strip() == moved


def test_a_second_code_owners_approval_racing_the_merge_neither_fails_it_nor_is_lost(cli, repo: Path):
    """Issue 11 finding 6: `approve` by @bob while `merge` runs (separate processes, as two workflow jobs):
    the merge succeeds once, the record ends merged, and Bob's review is kept."""
    import subprocess
    import sys

    open_seed(cli, repo)
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("approve", ID, "--reviewer", "@alice")):
        assert cli(*argv, "--repo", repo).code == 0
    before = git(repo, "rev-parse", "main").strip()
    command = [sys.executable, "-m", "bot"]
    racers = [subprocess.Popen([*command, *argv, "--repo", str(repo)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
              for argv in (("merge", ID), ("approve", ID, "--reviewer", "@bob"))]
    (merge_out, merge_err), _ = (r.communicate(timeout=120) for r in racers)
    assert racers[0].returncode == 0, merge_err
    assert git(repo, "rev-list", "--count", "--merges", f"{before}..main").strip() == "1"
    record = json.loads(git(repo, "show", "refs/forge/pulls/1:pull.json"))
    assert record["state"] == "merged" and "merging" not in record
    # bob either approved the open pull request (his review is kept) or was refused because it was merged
    if racers[1].returncode == 0:
        assert "@bob" in {r["reviewer"] for r in record["reviews"]}
def _human_commit_on_main(repo: Path, path: str, text: str, message: str) -> str:
    (repo / path).write_text(text)
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", message)
    return git(repo, "rev-parse", "main").strip()


def test_the_merge_writes_exactly_the_tree_the_checks_judged(cli, repo: Path):
    """Issue 11 finding 3: the checks judge the head, which contains main, so the merge is the head's own tree."""
    remediate(cli, repo)
    merged_head = git(repo, "rev-parse", "main^2").strip()
    assert git(repo, "rev-parse", "main^{tree}") == git(repo, "rev-parse", f"{merged_head}^{{tree}}")


def test_a_head_that_does_not_contain_main_is_never_judged(cli, repo: Path):
    """Issue 11 findings 3 and 4: a branch behind main (here: a human fix of a policy line landed after
    `open`, then the branch merged an older main, a criss-cross history) is refused by both checks and by
    merge, before anything is recorded, naming the head and main."""
    open_seed(cli, repo)
    old_main = git(repo, "rev-parse", "main").strip()
    policy = (repo / "policies/incident_types.yaml").read_text()
    fixed = _human_commit_on_main(repo, "policies/incident_types.yaml", policy + "# reviewed by SRE\n",
                                  "policy: a human fix")
    # the attacker "updates" the branch with the old main only (a merge commit; the fix is not in it)
    wt = repo.parent / "wt-crisscross"
    git(repo, "worktree", "add", "-q", str(wt), BRANCH)
    git(wt, "-c", "user.name=Mallory", "-c", "user.email=m@e", "merge", "-q", "--no-ff", "-m", "sync", old_main)
    git(repo, "worktree", "remove", "--force", str(wt))
    head = git(repo, "rev-parse", BRANCH).strip()
    notes_before = git(repo, "for-each-ref", "refs/notes/")
    for argv in (("check", "readiness", ID), ("check", "dry-run", ID), ("merge", ID)):
        run = cli(*argv, "--repo", repo)
        assert run.code == 1, argv
        assert f"head {head[:12]} does not contain main's head {fixed[:12]}" in run.err
    assert git(repo, "for-each-ref", "refs/notes/") == notes_before  # no check was posted
    assert git(repo, "rev-parse", "main").strip() == fixed


def _git_hunks(repo: Path, *paths: str) -> str:
    """`git diff main...incident -- paths` without the lines only git writes (`diff --git`, `index`, file
    modes) and the function context git appends to a hunk header."""
    out = []
    for line in git(repo, "diff", "--no-color", f"main...{BRANCH}", "--", *paths).splitlines(True):
        if line.startswith(("diff --git ", "index ", "new file mode ", "deleted file mode ")):
            continue
        out.append(re.sub(r"^(@@ [^@]* @@).*", r"\1", line))
    return "".join(out)


def _check_diff(repo: Path) -> str:
    """The diff the dry-run check shows the reviewer (its summary's ```diff block)."""
    head = git(repo, "rev-parse", BRANCH).strip()
    summary = json.loads(git(repo, "notes", "--ref=refs/notes/incident-bot/checks", "show", head))["dry-run"]["summary"]
    return summary.split("```diff\n", 1)[1].split("```", 1)[0]


def test_the_dry_run_check_shows_the_reviewer_exactly_the_deploy_change_against_main(cli, repo: Path):
    open_seed(cli, repo)
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 0
    shown = _check_diff(repo)
    assert shown == _git_hunks(repo, "deploy")
    assert '+        incident-bot.dev/restarted-by: "HM-2026-05-17-01"\n' in shown
    assert f"incidents/{ID}" not in shown  # the incident's own files are judged against the derivation


def test_the_dry_run_check_shows_an_added_and_a_deleted_manifest_as_git_does(cli, repo: Path):
    """A smuggled deletion and addition (blocked) are shown as git shows them: from and to /dev/null."""
    open_seed(cli, repo)
    traced_human_commit(repo, {"deploy/appointments-db/namespace.yaml": None,
                               "deploy/appointments-api/extra.yaml": "kind: ConfigMap\n"})
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    assert cli("check", "dry-run", ID, "--repo", repo).code == 1
    shown = _check_diff(repo)
    assert shown == _git_hunks(repo, "deploy")
    assert "--- /dev/null\n+++ b/deploy/appointments-api/extra.yaml\n" in shown
    assert "--- a/deploy/appointments-db/namespace.yaml\n+++ /dev/null\n" in shown


def test_the_dry_run_names_every_change_outside_the_plan_whatever_its_path_and_kind(cli, repo: Path):
    """A traced human commit deletes one manifest, edits another and adds a test file (a path that sorts after
    incidents/, outside deploy/): readiness loses the point naming all three; the dry-run blocks on each, with
    git's kind of change (the dry-run is what posts `make test` skipped, so no code may ride along)."""
    open_seed(cli, repo)
    service = (repo / "deploy/appointments-db/service.yaml").read_text()
    sha = traced_human_commit(repo, {"deploy/appointments-db/namespace.yaml": None,
                                     "deploy/appointments-db/service.yaml": service + "# note\n",
                                     "tests/test_evil.py": "import os\n"})
    outside = ["deploy/appointments-db/namespace.yaml: deleted, not part of the planned action restart_pod",
               "deploy/appointments-db/service.yaml: changed, not part of the planned action restart_pod",
               "tests/test_evil.py: added, not part of the planned action restart_pod"]
    readiness = cli("check", "readiness", ID, "--repo", repo)
    assert readiness.code == 0
    assert readiness.err.strip() == "lost 1 point: implementation: change equals rendering: " + "; ".join(outside)
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1
    assert [line for line in run.err.splitlines() if line.startswith("BLOCK: ")] == [f"BLOCK: {o}" for o in outside]
    notes = json.loads(git(repo, "notes", "--ref=refs/notes/incident-bot/checks", "show", sha))
    assert "make test" not in notes  # skipped only after a passed dry-run


def test_a_forged_readiness_note_admits_the_dry_run_which_still_blocks_an_edited_plan(cli, repo: Path):
    """The check note is a plain ref: rewritten to a success on a head whose plan.md was edited, it admits the
    dry-run, which derives the plan itself and names the file."""
    open_seed(cli, repo)
    plan = f"incidents/{ID}/plan.md"
    text = git(repo, "show", f"{BRANCH}:{plan}")
    sha = human_commit(repo, BRANCH, {plan: text.replace("stateless: true", "stateless: false")},
                       f"plan\n\nIncident-Id: {ID}\nPhase: plan")
    assert cli("check", "readiness", ID, "--repo", repo).code == 1
    notes = json.loads(git(repo, "notes", "--ref=refs/notes/incident-bot/checks", "show", sha))
    notes["readiness"] = {**notes["readiness"], "conclusion": "success", "title": "PASS"}
    git(repo, "notes", "--ref=refs/notes/incident-bot/checks", "add", "-f", "-m", json.dumps(notes), sha)
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1
    assert (f"BLOCK: {plan}: differs from what the bot derives from the recorded sources, main's deploy/, the spec"
            " and the policy") in run.err.splitlines()


def test_a_workload_no_pre_approved_action_fits_blocks_at_readiness_and_leaves_it_to_a_human(cli, repo: Path):
    """A spec whose only action needs a stateless workload with an HPA, and an alert of the StatefulSet: the
    plan names the workload and chooses nothing; the gate blocks, naming each lost point, with nothing rendered."""
    spec = repo / "specs/high_memory_usage/specify.md"
    spec.write_text(spec.read_text().replace("  - name: restart_pod\n", ""))
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "only scaling")
    payload = grafana_payload(namespace="appointments-db", pod="db-0", service="appointments-db")
    assert cli("open", "--repo", repo, "--grafana", write_json(repo.parent / "db.json", payload)).code == 0
    plan = git(repo, "show", f"{BRANCH}:incidents/{ID}/plan.md")
    assert "action: null" in plan and "kind: StatefulSet" in plan
    run = cli("check", "readiness", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (1, f"BLOCK incident={ID} score=18/25")
    assert "lost 1 point: implementation: strategy chosen: plan.md chooses no pre-approved action" in run.err
    assert "lost 1 point: implementation: change equals rendering: nothing rendered" in run.err.splitlines()
    assert git(repo, "diff", "--name-only", f"main...{BRANCH}", "--", "deploy") == ""

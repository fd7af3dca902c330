"""`check dry-run` on a real temporary repository: the checks it posts, the trace entries it writes, and what a
refusal, a rollback and an emergency stop leave (the survivors of `make mutate-flows MODULES=check_dry_run`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES
from lifecycle_helpers import BRANCH, ID, git, make_repo, merged_seed, smuggle_deletion, traced_human_commit
from test_merge_flow import entries

NOTES = "refs/notes/incident-bot/checks"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "gitops")


def checks(repo: Path, sha: str) -> dict[str, dict[str, str]]:
    return json.loads(git(repo, "notes", f"--ref={NOTES}", "show", sha))


def opened(cli, repo: Path) -> str:
    assert cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json").code == 0
    return git(repo, "rev-parse", BRANCH).strip()


def engage_stop(repo: Path, reason: str) -> None:
    """A person engages the emergency stop on main."""
    (repo / "policies/emergency_stop.yaml").write_text(f"engaged: true\nreason: {reason}\n")
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "engage the emergency stop")


def rollback_dry_run(cli, repo: Path):
    """`rollback`, its readiness (which passes), then its dry-run, whose result is returned."""
    assert cli("rollback", ID, "--repo", repo).code == 0
    assert cli("check", "readiness", ID, "--repo", repo, "--rollback").code == 0
    return cli("check", "dry-run", ID, "--repo", repo, "--rollback")


def blocks(run) -> list[str]:
    return [line for line in run.err.splitlines() if line.startswith("BLOCK")]


def test_a_passed_dry_run_posts_its_check_then_make_test_skipped_and_traces_the_base_it_judged(cli, repo: Path):
    head = opened(cli, repo)
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    base = git(repo, "rev-parse", "main").strip()
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (0, f"PASS action=restart_pod radius=deployment incident={ID}")
    posted = checks(repo, head)
    assert {k: v for k, v in posted["dry-run"].items() if k != "summary"} == {
        "name": "dry-run", "sha": head, "conclusion": "success", "title": "PASS action=restart_pod radius=deployment"}
    assert posted["dry-run"]["summary"].startswith("### `PASS action=restart_pod radius=deployment`\n\n- every rule")
    # GitHub starts no CI for a pull request the GITHUB_TOKEN opened: the passed dry-run posts `make test` itself
    assert {k: v for k, v in posted["make test"].items() if k != "summary"} == {
        "name": "make test", "sha": head, "conclusion": "skipped", "title": "incident pull request: no code changed"}
    assert posted["make test"]["summary"] == (
        f"dry-run passed on {head[:12]}: this pull request changes only `incidents/{ID}/` and the planned `deploy/`"
        " change, which dry-run verified line by line and validated; the test suite runs on changes to code.")
    # the summary shows the trace as it reads once this run is recorded, this run included
    assert ("**Audit chain**: webhook_received -> incident_event_normalized -> specify -> spec_diff_created -> commit"
            " -> readiness -> dry_run\n") in posted["dry-run"]["summary"]
    [entry] = entries(repo, "dry_run")
    assert (entry.status, entry.evidence) == ("ok", {"commit": head, "base": base, "check": "dry-run", "verdict": "PASS",
                                                     "action": "restart_pod", "reasons": []})


def test_a_refused_dry_run_posts_nothing_and_traces_the_head_and_the_reason(cli, repo: Path):
    head = opened(cli, repo)
    notes = git(repo, "for-each-ref", "refs/notes/")
    run = cli("check", "dry-run", ID, "--repo", repo)
    reason = f"check dry run refused: readiness check has not succeeded on head {head[:12]}"
    assert (run.code, run.err.strip()) == (1, f"incident-bot: {reason}")
    assert git(repo, "for-each-ref", "refs/notes/") == notes
    [entry] = entries(repo, "dry_run")
    assert (entry.status, entry.evidence) == ("refused", {"commit": head, "reasons": [reason]})


def test_a_blocked_dry_run_posts_a_failure_and_no_make_test(cli, repo: Path):
    opened(cli, repo)
    sha = smuggle_deletion(repo)
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1 and run.out.strip() == f"BLOCK action=restart_pod radius=deployment incident={ID}"
    posted = checks(repo, sha)
    assert (posted["dry-run"]["conclusion"], posted["dry-run"]["title"]) == (
        "failure", "BLOCK action=restart_pod radius=deployment")
    assert "make test" not in posted
    assert ("-> readiness -x dry_run (BLOCK: deploy/appointments-db/namespace.yaml: deleted, not part of the planned"
            " action restart_pod)\n") in posted["dry-run"]["summary"]
    [entry] = entries(repo, "dry_run")
    assert entry.status == "blocked" and entry.evidence["verdict"] == "BLOCK"
    assert entry.evidence["reasons"] == [
        "BLOCK: deploy/appointments-db/namespace.yaml: deleted, not part of the planned action restart_pod"]


def test_under_an_emergency_stop_the_dry_run_blocks_with_the_stop_alone(cli, repo: Path):
    """An engaged stop is the whole verdict: the diff's own problems wait until it is lifted."""
    engage_stop(repo, "change freeze")
    opened(cli, repo)
    smuggle_deletion(repo)
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1
    assert blocks(run) == ["BLOCK: emergency stop engaged (change freeze)"]


def test_the_rollback_dry_run_judges_the_catalogs_rollback_and_tags_its_entry(cli, repo: Path):
    merge = merged_seed(cli, repo)
    assert cli("rollback", ID, "--repo", repo).code == 0
    head = git(repo, "rev-parse", f"rollback/{ID}").strip()
    assert cli("check", "readiness", ID, "--repo", repo, "--rollback").code == 0
    run = cli("check", "dry-run", ID, "--repo", repo, "--rollback")
    assert (run.code, run.out.strip()) == (0, f"PASS action=rollback:restart_pod radius=deployment incident={ID}")
    assert checks(repo, head)["dry-run"]["conclusion"] == "success"
    [entry] = [e for e in entries(repo, "dry_run") if e.evidence.get("rollback")]
    assert entry.evidence == {"commit": head, "base": merge, "check": "dry-run", "verdict": "PASS",
                              "action": "rollback:restart_pod", "reasons": [], "rollback": True, "pull": 2}


def test_the_rollback_dry_run_blocks_under_an_emergency_stop_too(cli, repo: Path):
    """A stop freezes every change Argo CD would sync, a revert included."""
    merged_seed(cli, repo)
    engage_stop(repo, "change freeze")
    run = rollback_dry_run(cli, repo)
    assert (run.code, run.out.strip()) == (1, f"BLOCK action=rollback:restart_pod radius=deployment incident={ID}")
    assert blocks(run) == ["BLOCK: emergency stop engaged (change freeze)"]


def test_a_stop_engaged_without_a_reason_names_its_file(cli, repo: Path):
    engage_stop(repo, "''")
    opened(cli, repo)
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1
    assert blocks(run) == ["BLOCK: emergency stop engaged (policies/emergency_stop.yaml)"]


def test_the_rollback_of_an_action_the_catalog_no_longer_holds_is_blocked_naming_it(cli, repo: Path):
    """The revert is the catalog's promised rollback of the action: retired from the catalog (and the spec) after
    the merge, there is no promise left to keep, and the dry-run says so (radius unknown)."""
    merged_seed(cli, repo)
    actions = repo / "policies/actions.yaml"
    text = actions.read_text()
    actions.write_text(text[:text.index("  restart_pod:")] + text[text.index("  scale_up_replicas_one:"):])
    spec = repo / "specs/high_memory_usage/specify.md"
    spec.write_text(spec.read_text().replace("  - name: restart_pod\n", ""))
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "retire restart_pod")
    run = rollback_dry_run(cli, repo)
    assert (run.code, run.out.strip()) == (1, f"BLOCK action=rollback:restart_pod incident={ID}")
    assert blocks(run) == ["BLOCK: action restart_pod has no rollback in the catalog"]


def test_a_scale_up_whose_preconditions_hold_passes_with_the_facts_read_from_deploy(cli, repo: Path):
    """A spec pre-approving only `scale_up_replicas_one` (requires stateless and an HPA): the API's alert plans it
    with both facts read from deploy/, the dry-run checks them and passes, and the diff is the HPA's minReplicas."""
    spec = repo / "specs/high_memory_usage/specify.md"
    spec.write_text(spec.read_text().replace("  - name: restart_pod\n", ""))
    git(repo, "-c", "user.name=SRE", "-c", "user.email=s@e", "commit", "-qam", "only scaling")
    head = opened(cli, repo)
    plan = git(repo, "show", f"{BRANCH}:incidents/{ID}/plan.md")
    assert "action: scale_up_replicas_one" in plan and "preconditions:\n  hpa_enabled: true\n  stateless: true" in plan
    assert git(repo, "diff", "--name-only", f"main...{BRANCH}", "--", "deploy").split() == [
        "deploy/appointments-api/hpa.yaml"]
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert (run.code, run.out.strip()) == (0, f"PASS action=scale_up_replicas_one radius=deployment incident={ID}")
    assert checks(repo, head)["make test"]["conclusion"] == "skipped"


def test_a_changed_manifest_is_validated_against_the_kubernetes_schema_too(cli, repo: Path):
    """Beyond "not part of the plan", the dry-run names what Argo CD's apply would refuse in the manifest."""
    opened(cli, repo)
    extra = "deploy/appointments-api/extra.yaml"
    traced_human_commit(repo, {extra: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: 1}\n"})
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1
    assert blocks(run) == [f"BLOCK: {extra}: added, not part of the planned action restart_pod",
                           f"BLOCK: {extra}: ConfigMap data.a: 1 is not of type 'string', 'null'"]


def test_the_planned_manifest_edited_beyond_the_rendering_is_named(cli, repo: Path):
    """The planned file itself, changed more than the action renders (an image swapped next to the annotation)."""
    opened(cli, repo)
    path = "deploy/appointments-api/deployment.yaml"
    text = git(repo, "show", f"{BRANCH}:{path}")
    assert "image: " in text
    traced_human_commit(repo, {path: text.replace("image: ", "image: evil.example/", 1)})
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 1
    assert blocks(run) == [f"BLOCK: {path}: differs from the planned action restart_pod"]

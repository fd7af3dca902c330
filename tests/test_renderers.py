"""The renderer registry: the one list of `renders:` names the action catalog may use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, SPEC
from lifecycle_helpers import BRANCH, ID, git, make_repo
from test_manifests import (
    API_DEPLOYMENT,
    DB_STATEFULSET,
    INCIDENT,
    NEXT_INCIDENT,
    assert_valid,
    changed_lines,
    load,
    read_deploy,
)

from bot.config.loader import SCHEMAS
from bot.desired_state.renderers import MEMORY_RAISED_BY, RENDERERS, render
from bot.desired_state.workloads import Workload, find_workload
from bot.errors import RuleRefusal


def test_the_schema_enum_is_the_registry() -> None:
    schema = json.loads((SCHEMAS / "actions.schema.json").read_text("utf-8"))
    enum = schema["properties"]["actions"]["additionalProperties"]["properties"]["renders"]["enum"]
    assert enum == list(RENDERERS)


def test_an_unregistered_renderer_in_the_catalog_is_unusable_input(cli, repo_copy: Path) -> None:
    actions = repo_copy / "policies/actions.yaml"
    actions.write_text(actions.read_text("utf-8").replace("renders: replicas_plus_one", "renders: replicas_x2"))
    run = cli("spec", "lint", "--repo", repo_copy, SPEC)
    assert run.code == 2
    assert run.err.startswith("incident-bot: policies/actions.yaml: $.actions.scale_up_replicas_one.renders: ")
    assert "'replicas_x2' is not one of" in run.err and len(run.err.splitlines()) == 1


# ---------------------------------------------------------------- memory_limit_plus_256mi


MEMORY = "memory_limit_plus_256mi"
SEED_LIMIT = "              memory: 512Mi\n"  # the api container's limit (its request is 256Mi)


def _api(files: dict[str, str]) -> Workload:
    return find_workload(files, "appointments-api", "api-7b4", None)


def _with_limit(files: dict[str, str], written: str) -> dict[str, str]:
    assert files[API_DEPLOYMENT].count(SEED_LIMIT) == 1
    return {**files, API_DEPLOYMENT: files[API_DEPLOYMENT].replace(SEED_LIMIT, f"              memory: {written}\n")}


def test_memory_limit_rises_one_step_and_the_rest_of_the_file_is_byte_identical() -> None:
    files = read_deploy()
    before = files[API_DEPLOYMENT]
    changes = render(files, _api(files), MEMORY, INCIDENT)
    assert set(changes) == {API_DEPLOYMENT}
    after = changes[API_DEPLOYMENT]
    marker = f'  annotations:\n    {MEMORY_RAISED_BY}: "{INCIDENT}"\n'
    assert after.count(marker) == 1 and after.count('              memory: "768Mi"\n') == 1
    # undo exactly the three edits: what is left is the original text, comments and spacing included
    assert after.replace(marker, "").replace('              memory: "768Mi"\n', SEED_LIMIT) == before
    container = load(after)["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"},
                                      "limits": {"cpu": "500m", "memory": "768Mi"}}
    assert_valid(after)


def test_memory_limit_is_raised_once_per_incident() -> None:
    files = read_deploy()
    once = {**files, **render(files, _api(files), MEMORY, INCIDENT)}
    assert render(once, _api(once), MEMORY, INCIDENT) == {}
    twice = render(once, _api(once), MEMORY, NEXT_INCIDENT)[API_DEPLOYMENT]
    assert changed_lines(once[API_DEPLOYMENT], twice) == [
        f'-    {MEMORY_RAISED_BY}: "{INCIDENT}"', f'+    {MEMORY_RAISED_BY}: "{NEXT_INCIDENT}"',
        '-              memory: "768Mi"', '+              memory: "1024Mi"',
    ]


@pytest.mark.parametrize(("written", "raised"), [
    ("1Gi", "1280Mi"),  # 1.25Gi is not whole: Mi, which always divides
    ("2048Ki", "264192Ki"),
    ('"536870912"', "805306368"),  # bytes as a string stay a string of bytes
    ("536870912", 805306368),  # bytes as a YAML integer stay an integer
])
def test_memory_limit_keeps_its_unit_when_it_divides(written: str, raised: str | int) -> None:
    files = _with_limit(read_deploy(), written)
    after = render(files, _api(files), MEMORY, INCIDENT)[API_DEPLOYMENT]
    assert load(after)["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == raised
    assert len(changed_lines(files[API_DEPLOYMENT], after)) == 4


def test_the_statefulset_limit_rises_too() -> None:
    files = read_deploy()
    db = find_workload(files, "appointments-db", "db-0", None)
    after = render(files, db, MEMORY, INCIDENT)[DB_STATEFULSET]
    assert load(after)["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {"memory": "1280Mi"}
    assert_valid(after)


@pytest.mark.parametrize(("written", "match"), [("1.5Gi", "not whole bytes"), ("512M", "not whole bytes")])
def test_a_limit_the_bot_cannot_read_exactly_is_refused(written: str, match: str) -> None:
    files = _with_limit(read_deploy(), written)
    with pytest.raises(RuleRefusal, match=match):
        render(files, _api(files), MEMORY, INCIDENT)


def test_no_limit_or_several_limited_containers_are_refused() -> None:
    files = read_deploy()
    unlimited = files[API_DEPLOYMENT].replace(SEED_LIMIT, "")
    with pytest.raises(RuleRefusal, match="no container of Deployment/api"):
        render({**files, API_DEPLOYMENT: unlimited}, _api(files), MEMORY, INCIDENT)
    sidecar = files[API_DEPLOYMENT] + (
        "        - name: proxy\n          image: ghcr.io/example/proxy:1.0\n"
        "          resources:\n            limits:\n              memory: 64Mi\n"
    )
    with pytest.raises(RuleRefusal, match="2 containers of Deployment/api"):
        render({**files, API_DEPLOYMENT: sidecar}, _api(files), MEMORY, INCIDENT)


def test_a_spec_that_pre_approves_the_limit_raise_gets_it_planned_rendered_and_dry_run(cli, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "gitops")
    spec = repo / "specs/high_memory_usage/specify.md"
    spec.write_text(spec.read_text("utf-8").replace("  - name: restart_pod\n", "  - name: raise_memory_limit\n", 1))
    git(repo, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qam", "spec: raise the limit")
    run = cli("open", "--repo", repo, "--grafana", FIXTURES / "webhook_grafana.json",
              "--pagerduty", FIXTURES / "webhook_pagerduty.json")
    assert run.code == 0, run.err
    assert "action: raise_memory_limit" in git(repo, "show", f"{BRANCH}:incidents/{ID}/plan.md")
    diff = git(repo, "diff", "-U0", f"main...{BRANCH}", "--", "deploy")
    assert '+              memory: "768Mi"' in diff and "-              memory: 512Mi" in diff
    assert cli("check", "readiness", ID, "--repo", repo).code == 0
    run = cli("check", "dry-run", ID, "--repo", repo)
    assert run.code == 0 and run.out.startswith("PASS action=raise_memory_limit"), run.err

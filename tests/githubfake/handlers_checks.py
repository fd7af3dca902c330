"""Handlers for check runs and commit statuses.

Owns: `checks/create`, `checks/update`, `checks/get`, `checks/list-for-ref` (with `check_name`, `status`
and `filter=latest|all`), `repos/create-commit-status` and `repos/get-combined-status-for-ref`, and the
check-run lifecycle rules GitHub applies (a conclusion completes the run; completed needs a conclusion).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from . import render_pulls as rp
from . import render_repo as r
from .routing import ApiError, Call, Reply, handles, not_found
from .state import CheckRun, CommitStatus, now


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _commit_sha(call: Call, ref: str) -> str:
    sha = call.repo.resolve(ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return sha


def _apply_lifecycle(run: CheckRun, body: dict[str, Any]) -> None:
    """Copy the writable fields of a create/update body onto `run`, enforcing GitHub's status rules."""
    for name in ("name", "details_url", "external_id"):
        if name in body:
            setattr(run, name, body[name])
    if "output" in body:
        run.output = dict(body["output"])
    if "started_at" in body:
        run.started_at = _timestamp(body["started_at"])
    if "status" in body:
        run.status = body["status"]
    if body.get("conclusion") is not None or body.get("completed_at") is not None:
        run.status = "completed"
    if "conclusion" in body:
        run.conclusion = body["conclusion"]
    if run.status == "completed":
        if run.conclusion is None:
            raise ApiError(422, 'Invalid request.\n\n"conclusion" wasn\'t supplied.')
        run.completed_at = _timestamp(body.get("completed_at")) or run.completed_at or now()
    else:
        run.conclusion, run.completed_at = None, None


@handles("checks/create")
def create_check_run(call: Call) -> Reply:
    run = CheckRun(
        name=call.field("name"), head_sha=_commit_sha(call, call.field("head_sha")), status="queued",
        conclusion=None, started_at=now(), completed_at=None, app_slug=call.caller.login.removesuffix("[bot]"),
    )
    _apply_lifecycle(run, call.body)
    call.repo.check_runs.append(run)
    return Reply(201, rp.check_run(call.urls, call.repo, run))


def _run(call: Call) -> CheckRun:
    wanted = call.number("check_run_id")
    run = next((run for run in call.repo.check_runs if run.id == wanted), None)
    if run is None:
        raise not_found()
    return run


@handles("checks/update")
def update_check_run(call: Call) -> Reply:
    run = _run(call)
    updated = dataclasses.replace(run)  # a refused update must leave the run untouched
    _apply_lifecycle(updated, call.body)
    vars(run).update(vars(updated))
    return Reply(200, rp.check_run(call.urls, call.repo, run))


@handles("checks/get")
def get_check_run(call: Call) -> Reply:
    return Reply(200, rp.check_run(call.urls, call.repo, _run(call)))


@handles("checks/list-for-ref")
def list_check_runs(call: Call) -> Reply:
    sha = _commit_sha(call, call.params["ref"])
    name, status = call.arg("check_name"), call.arg("status")
    runs = [run for run in call.repo.check_runs if run.head_sha == sha]
    if call.arg("filter", "latest") == "latest":
        latest: dict[str, CheckRun] = {}
        for run in runs:
            latest[run.name] = run
        runs = list(latest.values())
    runs = [run for run in runs if name in (None, run.name) and status in (None, run.status)]
    runs.sort(key=lambda run: run.id, reverse=True)
    items, headers = call.page(runs)
    body = {"total_count": len(runs), "check_runs": [rp.check_run(call.urls, call.repo, run) for run in items]}
    return Reply(200, body, headers)


@handles("repos/create-commit-status")
def create_status(call: Call) -> Reply:
    sha = call.params["sha"]
    if sha not in call.repo.git.commits:
        raise ApiError(422, f"No commit found for SHA: {sha}")
    status = CommitStatus(
        sha=sha, state=call.field("state"), context=call.field("context", "default"),
        description=call.field("description"), target_url=call.field("target_url"), creator=call.caller,
    )
    call.repo.statuses.append(status)
    return Reply(201, r.commit_status(call.urls, call.repo, status, with_creator=True))


@handles("repos/get-combined-status-for-ref")
def combined_status(call: Call) -> Reply:
    sha = call.repo.resolve(call.params["ref"])
    if sha is None:
        raise not_found()
    return Reply(200, r.combined_status(call.urls, call.repo, sha))

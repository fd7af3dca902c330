"""Commands for the operator: protect (branch protection on GitHub) and serve (the webhook receiver)."""

from __future__ import annotations

import argparse

from bot.cli import common
from bot.cli.common import err, out, workspace
from bot.errors import InputError


def _judge_app_id(args: argparse.Namespace) -> int | None:
    """The incident-bot App whose checks the gate requires: --app-id, else the INCIDENT_BOT_APP_ID variable."""
    import os

    raw = str(args.app_id if args.app_id is not None else os.environ.get("INCIDENT_BOT_APP_ID", "")).strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise InputError("environment" if args.app_id is None else "--app-id", "INCIDENT_BOT_APP_ID",
                         f"expected the GitHub App's numeric id, got {raw!r}")
    return int(raw)


def cmd_protect(args: argparse.Namespace) -> int:
    from bot.config.loader import parse_yaml, validate
    from bot.errors import RuleRefusal
    from bot.forge.github import GitHubForge
    from bot.forge.github.protection import required_checks

    forge = common.forge(args)
    if not isinstance(forge, GitHubForge):
        raise RuleRefusal("protect applies branch protection on GitHub: set INCIDENT_BOT_FORGE=github")
    judge = _judge_app_id(args)
    path = "policies/branch-protection.yaml"
    text = forge.read(forge.default_branch, path)  # the policy in force is the default branch's
    if text is None:
        raise InputError(path, "", f"not found on {forge.default_branch}")
    policy = validate(parse_yaml(text, path), "branch_protection", path)
    if judge is None:
        err("incident-bot: no INCIDENT_BOT_APP_ID: the judge's checks are pinned to GitHub Actions, which every "
            "workflow's GITHUB_TOKEN posts as (see README, Running it on GitHub)")
    if args.check:
        drift = forge.protection_drift(policy, judge)
        for line in drift:
            err(line)
        out(f"{'DRIFT' if drift else 'NO DRIFT'} branch={policy['branch']}: {len(drift)} difference(s) from {path}")
        return 1 if drift else 0
    forge.protect(policy, judge)
    checks = ",".join(f"{name}@{'any' if app < 0 else app}" for name, app in required_checks(policy, judge))
    out(f"PROTECTED branch={policy['branch']} checks={checks} "
        f"approvals={policy['required_pull_request_reviews']['required_approving_review_count']}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.receiver.commands import serve

    return serve(args.host, args.port, lambda: workspace(args))

"""Commands for the operator: protect (branch protection on GitHub) and serve (the webhook receiver)."""

from __future__ import annotations

import argparse

from bot.cli import common
from bot.cli.common import err, out, workspace
from bot.errors import InputError


def cmd_protect(args: argparse.Namespace) -> int:
    from bot.config.loader import parse_yaml, validate
    from bot.errors import RuleRefusal
    from bot.forge.github import GitHubForge

    forge = common.forge(args)
    if not isinstance(forge, GitHubForge):
        raise RuleRefusal("protect applies branch protection on GitHub: set INCIDENT_BOT_FORGE=github")
    path = "policies/branch-protection.yaml"
    text = forge.read(forge.default_branch, path)  # the policy in force is the default branch's
    if text is None:
        raise InputError(path, "", f"not found on {forge.default_branch}")
    policy = validate(parse_yaml(text, path), "branch_protection", path)
    if args.check:
        drift = forge.protection_drift(policy)
        for line in drift:
            err(line)
        out(f"{'DRIFT' if drift else 'NO DRIFT'} branch={policy['branch']}: {len(drift)} difference(s) from {path}")
        return 1 if drift else 0
    forge.protect(policy)
    checks = ",".join(policy["required_status_checks"]["contexts"])
    out(f"PROTECTED branch={policy['branch']} checks={checks} "
         f"approvals={policy['required_pull_request_reviews']['required_approving_review_count']}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.receiver.commands import serve

    return serve(args.host, args.port, lambda: workspace(args))

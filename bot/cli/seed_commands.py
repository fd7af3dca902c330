"""The seed chapter's commands, on files: normalize, readiness, dry-run, spec lint."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import err, out, root
from bot.errors import InputError


def cmd_normalize(args: argparse.Namespace) -> int:
    from bot.config.files import atomic_write
    from bot.config.loader import canonical_json, load_json
    from bot.config.policy import load_policy
    from bot.intake.arguments import payloads_from_args
    from bot.intake.compare import differences
    from bot.intake.normalize import normalize

    policy = load_policy(root(args))
    payloads = payloads_from_args(args, load_json)
    events = normalize(payloads, policy.incident_types, sequence=args.sequence)
    document: Any = events[0] if len(events) == 1 else events
    expected = load_json(args.expected) if args.expected else None
    text = canonical_json(document)
    if args.out:
        atomic_write(args.out, text)
    else:
        out(text)
    if expected is None:
        return 0
    if isinstance(expected, dict) and isinstance(document, dict):
        diff = differences(expected, document)
    elif expected == document:
        diff = []
    else:
        diff = [f"$: expected {len(expected) if isinstance(expected, list) else 1} event(s), got {len(events)}"]
    if not diff:
        err(f"MATCH {args.expected}")
        return 0
    err(f"MISMATCH {args.expected}: {len(diff)} field(s) differ")
    for line in diff:
        err(f"  {line}")
    return 1


def cmd_readiness(args: argparse.Namespace) -> int:
    from bot.config.loader import load_json, parse_yaml, read_text, validate
    from bot.rules.readiness import PROFILES_FILE, Readiness, evaluate, pick_profile, profiles_from

    # Only the readiness profiles, one file instead of four, and without bot.config.policy (every policy's value
    # types): this command's start-up is what a workflow step pays per gate.
    path = PROFILES_FILE
    profiles, default = profiles_from(
        validate(parse_yaml(read_text(root(args) / path), path), "readiness_profiles", path), path)
    readiness = Readiness.from_dict(load_json(args.readiness, "readiness"))
    result = evaluate(readiness, pick_profile(profiles, default, args.profile))
    out(result.line())
    for reason in result.reasons:
        err(reason)
    return result.exit_code


def _context(args: argparse.Namespace) -> dict[str, bool]:
    from bot.config.loader import load_json, load_yaml

    context: dict[str, bool] = {}
    if args.context_file:
        loader = load_json if args.context_file.endswith(".json") else load_yaml
        context.update(loader(args.context_file, "context"))
    truthy = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    for pair in args.context or []:
        key, sep, value = pair.partition("=")
        if not sep or not key or value.strip().lower() not in truthy:
            raise InputError("--context", pair, "expected key=true|false")
        context[key.strip()] = truthy[value.strip().lower()]
    return context


def cmd_dry_run(args: argparse.Namespace) -> int:
    from bot.config.loader import load_json, read_text
    from bot.config.policy import load_policy
    from bot.rules.dryrun import evaluate as dry_run
    from bot.rules.readiness import Readiness
    from bot.rules.readiness import evaluate as gate
    from bot.rules.spec import parse_spec

    policy = load_policy(root(args))
    spec = parse_spec(read_text(args.spec), args.spec)
    context = _context(args)
    result_gate = None
    if args.readiness:
        result_gate = gate(Readiness.from_dict(load_json(args.readiness, "readiness")), policy.profile(args.profile))
        err(result_gate.line())
    result = dry_run(
        spec, args.action, context, policy.catalog, gate=result_gate,
        emergency_stop=(policy.emergency_reason or "policies/emergency_stop.yaml") if policy.emergency_stop else None,
    )
    out(result.line())
    for reason in result.reasons:
        err(reason)
    return result.exit_code


def cmd_spec_lint(args: argparse.Namespace) -> int:
    from bot.config.loader import read_text
    from bot.config.policy import load_policy
    from bot.rules.spec import lint, parse_spec

    policy = load_policy(root(args))
    text = read_text(args.file)
    findings = lint(parse_spec(text, args.file), text, policy.catalog)
    for finding in findings:
        err(finding)
    out(f"{'FAIL' if findings else 'OK'} {args.file}: {len(findings)} finding(s)")
    return 1 if findings else 0

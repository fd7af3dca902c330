"""The command line: the only place that reads argv and the terminal and maps errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.errors import BotError, InputError

EXIT_USAGE = 2


def find_root(start: Path) -> Path:
    """The repository root: the nearest directory upwards holding policies/actions.yaml."""
    for candidate in (start, *start.parents):
        if (candidate / "policies" / "actions.yaml").is_file():
            return candidate
    raise InputError(str(start), "policies/actions.yaml", "not inside an incident-bot repository (use --repo)")


def _root(args: argparse.Namespace) -> Path:
    return Path(args.repo).resolve() if args.repo else find_root(Path.cwd().resolve())


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


# ------------------------------------------------------------------ seed commands


def cmd_normalize(args: argparse.Namespace) -> int:
    from bot.config.files import atomic_write
    from bot.config.loader import canonical_json, load_json
    from bot.config.policy import load_policy
    from bot.intake.compare import differences
    from bot.intake.normalize import normalize

    policy = load_policy(_root(args))
    payloads = {
        source: (load_json(path), path)
        for source, path in (("grafana", args.grafana), ("alertmanager", args.alertmanager),
                             ("pagerduty", args.pagerduty))
        if path
    }
    events = normalize(payloads, policy.incident_types, sequence=args.sequence)
    document: Any = events[0] if len(events) == 1 else events
    expected = load_json(args.expected) if args.expected else None
    text = canonical_json(document)
    if args.out:
        atomic_write(args.out, text)
    else:
        _out(text)
    if expected is None:
        return 0
    if isinstance(expected, dict) and isinstance(document, dict):
        diff = differences(expected, document)
    elif expected == document:
        diff = []
    else:
        diff = [f"$: expected {len(expected) if isinstance(expected, list) else 1} event(s), got {len(events)}"]
    if not diff:
        _err(f"MATCH {args.expected}")
        return 0
    _err(f"MISMATCH {args.expected}: {len(diff)} field(s) differ")
    for line in diff:
        _err(f"  {line}")
    return 1


def cmd_readiness(args: argparse.Namespace) -> int:
    from bot.config.loader import load_json, parse_yaml, read_text, validate
    from bot.rules.readiness import PROFILES_FILE, Readiness, evaluate, pick_profile, profiles_from

    # Only the readiness profiles, one file instead of four, and without bot.config.policy (every policy's value
    # types): this command's start-up is what a workflow step pays per gate.
    path = PROFILES_FILE
    profiles, default = profiles_from(
        validate(parse_yaml(read_text(_root(args) / path), path), "readiness_profiles", path), path)
    readiness = Readiness.from_dict(load_json(args.readiness, "readiness"))
    result = evaluate(readiness, pick_profile(profiles, default, args.profile))
    _out(result.line())
    for reason in result.reasons:
        _err(reason)
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

    policy = load_policy(_root(args))
    spec = parse_spec(read_text(args.spec), args.spec)
    context = _context(args)
    result_gate = None
    if args.readiness:
        result_gate = gate(Readiness.from_dict(load_json(args.readiness, "readiness")), policy.profile(args.profile))
        _err(result_gate.line())
    result = dry_run(
        spec, args.action, context, policy.catalog, gate=result_gate,
        emergency_stop=(policy.emergency_reason or "policies/emergency_stop.yaml") if policy.emergency_stop else None,
    )
    _out(result.line())
    for reason in result.reasons:
        _err(reason)
    return result.exit_code


def cmd_spec_lint(args: argparse.Namespace) -> int:
    from bot.config.loader import read_text
    from bot.config.policy import load_policy
    from bot.rules.spec import lint, parse_spec

    policy = load_policy(_root(args))
    text = read_text(args.file)
    findings = lint(parse_spec(text, args.file), text, policy.catalog)
    for finding in findings:
        _err(finding)
    _out(f"{'FAIL' if findings else 'OK'} {args.file}: {len(findings)} finding(s)")
    return 1 if findings else 0


# ------------------------------------------------------------------ lifecycle commands


def _workspace(args: argparse.Namespace) -> Any:
    from bot.flows.workspace import Workspace

    forge = _forge(args)
    if forge.name == "github":
        forge.seal_key()  # every lifecycle command writes or judges sealed commits: no key, nothing is done
    return Workspace(forge)


def _forge(args: argparse.Namespace) -> Any:
    """The local forge on --repo, or GitHub when INCIDENT_BOT_FORGE=github: configured from the variables
    Actions provides (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_SHA), reading the default
    branch from the checkout at --repo when it holds the commit."""
    import os

    path = Path(args.repo).resolve() if args.repo else Path.cwd().resolve()
    kind = os.environ.get("INCIDENT_BOT_FORGE", "local")
    if kind == "github":
        from bot.forge.github import GitHubForge, settings_from_env

        return GitHubForge(settings_from_env(os.environ), checkout=path)
    if kind != "local":
        raise InputError("environment", "INCIDENT_BOT_FORGE", f"expected local or github, got {kind!r}")
    from bot.forge.local import LocalForge

    return LocalForge(path)


def _payloads(args: argparse.Namespace) -> dict[str, tuple[Any, str]]:
    from bot.config.loader import load_json

    return {
        source: (load_json(path), path)
        for source, path in (("grafana", args.grafana), ("alertmanager", args.alertmanager),
                             ("pagerduty", args.pagerduty))
        if path
    }


def cmd_open(args: argparse.Namespace) -> int:
    from bot.flows.opening import open_incidents

    results = open_incidents(_workspace(args), _payloads(args))
    for result in results:
        _out(result.line())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bot.flows.check_dry_run import check_dry_run
    from bot.flows.check_readiness import check_readiness

    ws = _workspace(args)
    if args.check == "readiness":
        gate, summary = check_readiness(ws, args.incident_id, args.profile, rollback=args.rollback)
        line, reasons, code = gate.line(), gate.reasons, gate.exit_code
    else:
        result, summary = check_dry_run(ws, args.incident_id, rollback=args.rollback)
        line, reasons, code = f"{result.line()} incident={args.incident_id}", result.reasons, result.exit_code
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as handle:  # $GITHUB_STEP_SUMMARY is appended to
            handle.write(summary + "\n")
    _out(line)
    for reason in reasons:
        _err(reason)
    return code


def cmd_approve(args: argparse.Namespace) -> int:
    from bot.flows.approve import approve

    review = approve(_workspace(args), args.incident_id, args.reviewer, args.action, rollback=args.rollback)
    action = f" action={review.approves_action}" if review.approves_action else ""
    _out(f"APPROVED incident={args.incident_id} reviewer={review.reviewer} head={review.sha[:12]}{action}")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from bot.flows.merge import merge

    sha = merge(_workspace(args), args.incident_id, rollback=args.rollback)
    _out(f"MERGED incident={args.incident_id} commit={sha[:12]} (Argo CD syncs the new desired state)")
    return 0


def cmd_post_merge(args: argparse.Namespace) -> int:
    from bot.flows.post_merge import post_merge

    for incident_id in post_merge(_workspace(args), args.commit, args.argocd_url):
        _out(f"SYNCED incident={incident_id} commit={args.commit[:12]} (Argo CD syncs {args.argocd_url or 'main'})")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from bot.flows.rollback import rollback

    number = rollback(_workspace(args), args.incident_id)
    _out(f"ROLLBACK incident={args.incident_id} pull=#{number} (review and merge it like the change)")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from bot.flows import trace
    from bot.model.ids import incident_branch
    from bot.rules import audit

    ws = _workspace(args)
    stored = trace.entries(ws, args.incident_id)
    entries = trace.current(ws, args.incident_id)
    if not entries:
        raise InputError(args.incident_id, "incident_id", "no audit trace for this incident")
    result = trace.verify(ws, args.incident_id)
    if args.audit_command == "verify":
        if result.ok:
            _out(f"VERIFIED incident={args.incident_id} entries={len(stored)} head={result.head[:16]}")
            return 0
        _out(f"TAMPERED incident={args.incident_id}")
        for problem in result.problems:
            _err(problem)
        return 1
    branch = incident_branch(args.incident_id)
    commits = [c.sha for c in ws.forge.commits(ws.main, branch)] if ws.forge.head(branch) else []
    coverage, missing = audit.coverage(entries, commits)
    for e in entries:
        pointer = e.evidence.get("commit") or e.evidence.get("head") or ""
        reasons = "; ".join(e.evidence.get("reasons", []))
        state = e.status if e.seq <= len(stored) else f"{e.status}*"
        _out(f"{e.seq:3d} {e.at} {e.step:26s} {state:8s} {str(pointer)[:12]:12s} {reasons}".rstrip())
    if len(entries) > len(stored):
        _out("  * implied by the bot's phase commits; stored with the next audit write")
    chain = audit.view(entries)
    _out(f"chain: {audit.text_chain(chain)}")
    _out(f"audit_trace_coverage={coverage:g}" + (f" (missing: {'; '.join(missing)})" if missing else ""))
    _out(f"integrity: {'intact' if result.ok else 'BROKEN: ' + '; '.join(result.problems)}")
    if args.mermaid:
        _out("```mermaid\n" + audit.mermaid(chain) + "\n```")
    return 0 if result.ok else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from bot.flows.replay import replay

    differences = replay(_workspace(args), args.incident_id)
    if not differences:
        _out(f"REPLAYED incident={args.incident_id}: event, readiness and dry-run reproduce the record")
        return 0
    _out(f"DIFFERS incident={args.incident_id}")
    for line in differences:
        _err(line)
    return 1


def cmd_protect(args: argparse.Namespace) -> int:
    from bot.config.loader import parse_yaml, validate
    from bot.errors import RuleRefusal
    from bot.forge.github import GitHubForge

    forge = _forge(args)
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
            _err(line)
        _out(f"{'DRIFT' if drift else 'NO DRIFT'} branch={policy['branch']}: {len(drift)} difference(s) from {path}")
        return 1 if drift else 0
    forge.protect(policy)
    checks = ",".join(policy["required_status_checks"]["contexts"])
    _out(f"PROTECTED branch={policy['branch']} checks={checks} "
         f"approvals={policy['required_pull_request_reviews']['required_approving_review_count']}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    from bot.config.loader import parse_json
    from bot.flows.opening import open_incidents
    from bot.serve import run, secrets_from_env

    def handle(source: str, body: bytes) -> tuple[int, str]:
        name = f"POST /webhook/{source}"
        data = parse_json(body.decode("utf-8", errors="replace"), name)
        # a fresh workspace per delivery: policies may have changed on main since the last one
        results = open_incidents(_workspace(args), {source: (data, name)})
        return 202, "\n".join(r.line() for r in results)

    run(args.host, args.port, secrets_from_env(os.environ), handle)
    return 0


# ------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="incident-bot", description="Alerts in, reviewed and provable GitOps remediations out."
    )
    parser.add_argument("--version", action="version", version="incident-bot 0.1.0")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--repo", help="repository root (default: found upwards from the current directory)")
        p.set_defaults(func=func)
        return p

    p = command("normalize", cmd_normalize, "normalize alert webhooks into one incident_event")
    p.add_argument("--grafana", help="Grafana unified alerting webhook (JSON)")
    p.add_argument("--pagerduty", help="PagerDuty Webhooks v3 incident event (JSON)")
    p.add_argument("--alertmanager", help="Prometheus Alertmanager webhook v4 (JSON)")
    p.add_argument("--expected", help="compare field-for-field with this incident_event; exit 1 on a difference")
    p.add_argument("--out", help="write the event here (atomically) instead of stdout")
    p.add_argument("--sequence", type=int, default=1, help="first sequence number of the incident id (default 1)")

    p = command("readiness", cmd_readiness, "run the 25-point readiness gate on a readiness.json")
    p.add_argument("--readiness", required=True, help="readiness input (JSON)")
    p.add_argument("--profile", help="risk profile from policies/readiness.yaml (default: its default_profile)")

    p = command("dry-run", cmd_dry_run, "check one action against the spec, the catalog and the context")
    p.add_argument("--spec", required=True, help="specs/<type>/specify.md")
    p.add_argument("--action", required=True, help="action name from the catalog")
    p.add_argument("--context", action="append", metavar="KEY=BOOL", help="a fact about the workload (repeatable)")
    p.add_argument("--context-file", help="facts as a JSON or YAML mapping of booleans")
    p.add_argument("--readiness", help="run the gate first; the action is not examined unless it passes")
    p.add_argument("--profile", help="risk profile for --readiness")

    spec = sub.add_parser("spec", help="spec tools").add_subparsers(dest="spec_command", required=True)
    p = spec.add_parser("lint", help="lint a specify.md: sections, catalog actions, no concrete commands")
    p.add_argument("file")
    p.add_argument("--repo", help="repository root")
    p.set_defaults(func=cmd_spec_lint)

    p = command("open", cmd_open, "normalize alerts and open or update the incident branch and pull request")
    p.add_argument("--grafana")
    p.add_argument("--pagerduty")
    p.add_argument("--alertmanager")

    check = sub.add_parser("check", help="post the readiness or dry-run check on the incident's head commit")
    checks = check.add_subparsers(dest="check", required=True)
    for name, help_ in (("readiness", "score the 25 points from the artifacts and run the gate"),
                        ("dry-run", "verify the planned action and the diff; only after readiness passed")):
        p = checks.add_parser(name, help=help_, description=help_)
        p.add_argument("incident_id")
        p.add_argument("--repo", help="repository (default: the current directory)")
        p.add_argument("--profile", help="risk profile from policies/readiness.yaml")
        p.add_argument("--summary", metavar="FILE", help="append the check's Markdown here (e.g. $GITHUB_STEP_SUMMARY)")
        p.add_argument("--rollback", action="store_true", help="judge the incident's rollback pull request")
        p.set_defaults(func=cmd_check)

    p = command("approve", cmd_approve, "record a code owner's approval of the incident pull request head")
    p.add_argument("incident_id")
    p.add_argument("--reviewer", required=True, help="the approving code owner, e.g. @alice")
    p.add_argument("--action", help="also approve this action explicitly (needed when readiness is semi-manual)")
    p.add_argument("--rollback", action="store_true", help="approve the incident's rollback pull request")

    p = command("merge", cmd_merge, "merge once both checks passed on the head and a code owner approved")
    p.add_argument("incident_id")
    p.add_argument("--rollback", action="store_true", help="merge the incident's rollback pull request")

    p = command("post-merge", cmd_post_merge, "after a merge to main: record the merge and the Argo CD sync")
    p.add_argument("--commit", required=True, help="the merge commit on the default branch")
    p.add_argument("--argocd-url", default="", help="link to the Argo CD application that syncs deploy/")

    p = command("rollback", cmd_rollback, "open a revert pull request for a merged remediation")
    p.add_argument("incident_id")

    p = command("audit", cmd_audit, "print an incident's audit chain and coverage; `audit verify ID` checks it")
    p.add_argument("audit_command", nargs="?", choices=["verify"], help="verify the hash chain only")
    p.add_argument("incident_id")
    p.add_argument("--mermaid", action="store_true", help="also print the chain as a Mermaid diagram")

    p = command("serve", cmd_serve, "receive signed webhooks (POST /webhook/<source>) and open incidents")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080)

    p = command("protect", cmd_protect, "apply policies/branch-protection.yaml on GitHub; --check reports drift")
    p.add_argument("--check", action="store_true", help="only compare the live settings with it (exit 1 on drift)")

    p = command("replay", cmd_replay, "recompute event, readiness and dry-run from the record; exit 1 on a difference")
    p.add_argument("incident_id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except BotError as exc:
        _err(f"incident-bot: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("incident-bot: interrupted")
        return 130
    return code

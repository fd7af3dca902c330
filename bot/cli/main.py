"""`main(argv) -> int`: parse, run the command, and turn every BotError into one line and its exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bot.cli.admin_commands import cmd_protect, cmd_serve
from bot.cli.common import err
from bot.cli.lifecycle_commands import (
    cmd_approve,
    cmd_audit,
    cmd_check,
    cmd_check_other_pull,
    cmd_evidence,
    cmd_merge,
    cmd_open,
    cmd_post_merge,
    cmd_refresh,
    cmd_replay,
    cmd_rollback,
    cmd_sync_confirm,
)
from bot.cli.seed_commands import cmd_dry_run, cmd_normalize, cmd_readiness, cmd_spec_lint
from bot.errors import BotError, ForgeError
from bot.model.ids import is_incident_id
from bot.receiver.commands import register as register_spool


def build_parser(command_given: str | None = None) -> argparse.ArgumentParser:
    """The whole parser. With `command_given` (the command on the command line), the alert sources' flags
    are added only to `normalize` and `open` when one of them runs: they come from the intake registry,
    whose import would cost every other command's start-up (bench/startup_bench.py)."""
    sources = command_given is None or command_given in ("normalize", "open")

    def add_source_arguments(p: argparse.ArgumentParser, described: bool = True) -> None:
        if sources:
            from bot.intake.arguments import add_source_arguments as add

            add(p, described=described)

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
    add_source_arguments(p)
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
    add_source_arguments(p, described=False)

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
    help_ = "on a pull request that is not an incident's: post readiness and dry-run as neutral (not applicable)"
    p = checks.add_parser("other-pull", help=help_, description=help_)
    p.add_argument("--branch", required=True, help="the pull request's head branch")
    p.add_argument("--sha", required=True, help="the pull request's head commit")
    p.add_argument("--fork", action="store_true", help="the head branch is in another repository")
    p.add_argument("--repo", help="repository (default: the current directory)")
    p.set_defaults(func=cmd_check_other_pull)

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

    sync = sub.add_parser("sync", help="record a sync from what Argo CD reported (never from a merge alone)")
    help_ = ("record `sync ok` (or `sync failed`) for every incident whose merge Argo CD reports synced at a "
             "revision that contains it")
    p = sync.add_subparsers(dest="sync_command", required=True).add_parser("confirm", help=help_, description=help_)
    p.add_argument("--argocd", required=True, metavar="FILE",
                   help="the Argo CD Notifications body (deploy/argocd/notifications.yaml) or the JSON of "
                        "`argocd app get|wait APP -o json`")
    p.add_argument("--repo", help="repository (default: the current directory)")
    p.set_defaults(func=cmd_sync_confirm)

    p = command("refresh", cmd_refresh, "rebuild open incident branches on the current main (those the bot wrote)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("incident_id", nargs="?", help="one incident")
    which.add_argument("--all", action="store_true", help="every incident branch with an open pull request")

    p = command("rollback", cmd_rollback, "open a revert pull request for a merged remediation")
    p.add_argument("incident_id")

    p = command("audit", cmd_audit, "print an incident's audit chain and coverage; `audit verify ID` checks it")
    p.add_argument("audit_command", nargs="?", choices=["verify"], help="verify the hash chain only")
    p.add_argument("incident_id")
    p.add_argument("--mermaid", action="store_true", help="also print the chain as a Mermaid diagram")

    p = command("serve", cmd_serve, "receive signed webhooks (POST /webhook/<source>), spool them, forward them")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080)

    register_spool(sub)

    p = command("protect", cmd_protect, "apply policies/branch-protection.yaml on GitHub; --check reports drift")
    p.add_argument("--check", action="store_true", help="only compare the live settings with it (exit 1 on drift)")
    p.add_argument("--app-id", help="the incident-bot GitHub App's id, whose checks the gate requires "
                                    "(default: $INCIDENT_BOT_APP_ID; none: GitHub Actions)")

    p = command("evidence", cmd_evidence, "write and print the review package: readiness.md and validation.md")
    p.add_argument("incident_id")
    p.add_argument("--out", metavar="DIR", help="where to write the two files (default: capstone/<id>)")

    p = command("replay", cmd_replay, "recompute event, readiness and dry-run from the record; exit 1 on a difference")
    p.add_argument("incident_id")
    return parser


# An unexpected exception is a bug of ours (EX_SOFTWARE of sysexits.h), unless it is one that unusable
# input causes (text that is not UTF-8, JSON or YAML, nesting too deep): that is exit 2, like an InputError.
EXIT_INTERNAL = 70
_INPUT_CAUSED = (UnicodeError, RecursionError, ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(next((w for w in words if not w.startswith("-")), None))
    args = parser.parse_args(argv)
    incident_id = getattr(args, "incident_id", None)
    if incident_id is not None and not is_incident_id(incident_id):  # it names refs and folders: matched whole
        err(f"incident-bot: {incident_id!r}: incident_id: not an incident id (expected e.g. HM-2026-05-17-01)")
        return 2
    args.words_ = words
    args.defer_audit_ = args.command in TRACED  # its audit entries and its command entry: one commit
    message = ""
    ran_against = _ran_against_default
    try:
        ran_against = _ran_against(args)
        code: int = args.func(args)
    except BotError as exc:
        err(f"incident-bot: {exc}")
        code, message = exc.exit_code, str(exc)
        args.forge_failed_ = isinstance(exc, ForgeError)  # the record could not be written either: re-run
    except KeyboardInterrupt:
        err("incident-bot: interrupted")
        return 130
    except Exception as exc:  # the last resort (pre-commit's error_handler): one line, the traceback in a log
        code = _unexpected(args, exc)
        return store_deferred(args, code)
    return trace_command(args, code, message, ran_against)


# ------------------------------------------------------------------ the command trace (issue 15)
# Every command that touches an incident is recorded in its trace with its command line (secrets removed),
# the head and base it ran against, its exit code and its verdict; only here are errors turned into exit
# codes, so the entry is written here, after the command. Unusable input (2) writes nothing, by the rule
# for bad input; an internal error (70) is not a verdict. `open` is recorded with the commits it writes,
# `audit` (the listing) and `evidence` read only, and a trace that does not verify is not appended to.
TRACED = ("check", "approve", "merge", "rollback", "replay", "post-merge", "open", "audit", "refresh", "sync")
_ran_against_default: dict[str, tuple[str | None, str | None]] = {}


def _ran_against(args: argparse.Namespace) -> dict[str, tuple[str | None, str | None]]:
    """(head, base) per incident named on the command line, read before the command changes them."""
    incident_id = getattr(args, "incident_id", None)
    if args.command not in TRACED or not isinstance(incident_id, str):
        return _ran_against_default
    from bot.cli.common import workspace
    from bot.model.ids import incident_branch, rollback_branch

    ws = workspace(args)
    branch = rollback_branch(incident_id) if getattr(args, "rollback", False) else incident_branch(incident_id)
    return {incident_id: (ws.forge.head(branch), ws.forge.head(ws.main))}


def trace_command(args: argparse.Namespace, code: int, message: str,
                  ran_against: dict[str, tuple[str | None, str | None]]) -> int:
    if args.command not in TRACED or code not in (0, 1, 3) or getattr(args, "forge_failed_", False):
        return store_deferred(args, code)
    touched: list[tuple[str, str, str | None]] = list(getattr(args, "touched", []))
    named = getattr(args, "incident_id", None)
    if not touched and code != 0 and isinstance(named, str) and args.command not in ("open", "audit"):
        touched = [(named, "REFUSED", None)]  # refused before any verdict: still a command that ran
    if not touched:
        return store_deferred(args, code)
    from bot.cli.common import workspace
    from bot.flows import trace
    from bot.intake.redact import scrub_text
    from bot.model.ids import incident_branch
    from bot.rules import audit

    try:
        ws = workspace(args)
        for incident_id, verdict, given in touched:
            head, base = ran_against.get(incident_id) or (ws.forge.head(incident_branch(incident_id)),
                                                          ws.forge.head(ws.main))
            line = given or audit.command_line(args.words_, scrub_text)
            # with the entries the command recorded for this incident, in one commit
            trace.record_command(ws, incident_id, audit.command_evidence(
                line, head, base, code, str(verdict), scrub_text(message)))
    except BotError as exc:
        if _waiting(args):  # a step's own entry is not stored: the command did not finish
            err(f"incident-bot: the audit trace was not written: {exc}")
            return code or exc.exit_code
        if code == 0:  # the command's own outcome stands; say that its record is missing (a failed command
            # already said what failed: the same store, e.g. a ref collision)
            err(f"incident-bot: the command ran (exit {code}) but its audit entry was not recorded: {exc}")
    return _refresh_review(args, store_deferred(args, code), [incident_id for incident_id, _, _ in touched])


def _waiting(args: argparse.Namespace) -> bool:
    ws = getattr(args, "workspace_", None)
    return ws is not None and any(ws.deferred.values())


def store_deferred(args: argparse.Namespace, code: int) -> int:
    """Store the entries the command recorded that no command entry carried (an error, an untraced outcome):
    recorded is stored, as if each had been written at once. Not stored: the command fails with that error."""
    if not _waiting(args):
        return code
    from bot.flows import trace

    ws = args.workspace_
    try:
        for incident_id in sorted(ws.deferred):
            trace.flush(ws, incident_id)
    except BotError as exc:
        err(f"incident-bot: the audit trace was not written: {exc}")
        return code or exc.exit_code
    return code


# When the incident pull request's review section (rubric, chain) is written again: when the pull request waits for
# a person. After `check dry-run` always (its verdict is what the review starts from); after `check readiness`,
# `approve` and `merge` when they did not go through (a block, a refusal, semi-manual: the broken arrow). A passing
# gate is followed by the dry-run on the same head, which writes the section with the gate's rubric; an approval or a
# merge that went through leaves no review to start. `open` and `refresh` write the whole body (a new head). This
# keeps the GitHub lifecycle to two body writes (bench.github_requests, budget 50).
REVIEWED = ("check", "approve", "merge")


def _refresh_review(args: argparse.Namespace, code: int, incident_ids: list[str]) -> int:
    """After the trace is stored: each touched incident's pull request review section, re-rendered from it."""
    dry_run = args.command == "check" and getattr(args, "check", None) == "dry-run"
    if args.command not in REVIEWED or getattr(args, "rollback", False) or (code == 0 and not dry_run):
        return code
    from bot.cli.common import workspace
    from bot.flows.review import refresh_pull_body

    try:
        ws = workspace(args)
        for incident_id in incident_ids:
            refresh_pull_body(ws, incident_id)
    except BotError as exc:  # the command's outcome and its record stand
        err(f"incident-bot: the pull request's review section was not updated: {exc}")
    return code


def _unexpected(args: argparse.Namespace, exc: Exception) -> int:
    """One line naming the command, the incident and the log file that holds the traceback."""
    import os
    import traceback
    from datetime import UTC, datetime
    from pathlib import Path

    command = " ".join(str(getattr(args, a)) for a in ("command", "check", "audit_command")
                       if getattr(args, a, None))
    incident = getattr(args, "incident_id", None)
    where = f"{command} {incident}" if incident else command
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    log = Path(os.environ.get("INCIDENT_BOT_LOG") or cache / "incident-bot" / "incident-bot.log")
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')} incident-bot {where}\n")
            handle.write("".join(traceback.format_exception(exc)))
        kept = f"the traceback is in {log}"
    except OSError:
        kept = "the traceback could not be written to a log"
    input_caused = isinstance(exc, _INPUT_CAUSED) or type(exc).__module__.split(".")[0] == "yaml"
    kind = "unusable input" if input_caused else "internal error"
    err(f"incident-bot: {where}: {kind}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        f" ({kept})")
    return 2 if input_caused else EXIT_INTERNAL

"""The lifecycle commands on a forge: open, check, approve, merge, post-merge, rollback, audit, replay."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import err, note, out, workspace
from bot.errors import InputError


def _payloads(args: argparse.Namespace) -> dict[str, tuple[Any, str]]:
    from bot.config.loader import load_json
    from bot.intake.arguments import payloads_from_args

    return payloads_from_args(args, load_json)


def recorded_command(args: argparse.Namespace, payloads: dict[str, tuple[Any, str]], folder: str = "sources"
                     ) -> Any:
    """The open command line for an incident: each `--<source> FILE` names the redacted copy `open`
    records (`incidents/<id>/sources/...`), so the line re-runs from the repository alone."""
    from bot.flows.workspace import source_name
    from bot.intake.redact import scrub_text
    from bot.intake.sources import SOURCES
    from bot.rules.audit import command_line

    def line(incident_id: str) -> str:
        words = list(args.words_)
        for source, (data, path) in payloads.items():
            recorded = f"incidents/{incident_id}/{folder}/{source_name(source, SOURCES[source].kept(data))}"
            for i, word in enumerate(words[:-1]):
                if word == f"--{source}" and words[i + 1] == path:
                    words[i + 1] = recorded
        return command_line(words, scrub_text)

    return line


def cmd_open(args: argparse.Namespace) -> int:
    from bot.flows.opening import open_incidents

    payloads = _payloads(args)
    ws = workspace(args)
    ws.command = recorded_command(args, payloads)
    for result in open_incidents(ws, payloads):
        # a resolution is recorded here; an incident opened or updated with the commits it wrote (their
        # trailers); a DUPLICATE, SKIPPED or WAITING delivery changed no incident of its own
        if result.outcome in ("VALIDATED", "PARTIALLY-RESOLVED", "RESOLVED-UNREMEDIATED"):
            note(args, result.incident_id, result.outcome,
                 recorded_command(args, payloads, "validation")(result.incident_id))
        out(result.line())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bot.flows.check_dry_run import check_dry_run
    from bot.flows.check_readiness import check_readiness
    from bot.render.report import lost_point_line

    ws = workspace(args)
    if args.check == "readiness":
        run = check_readiness(ws, args.incident_id, args.profile, rollback=args.rollback)
        gate, summary, title = run.gate, run.summary, run.title
        approved = title != gate.line()  # semi-manual, and a code owner approved the action: a success
        lost = [lost_point_line(p) for p in run.points if not p.earned]
        line, reasons, code = title, (*gate.reasons, *lost), 0 if approved else gate.exit_code
        note(args, args.incident_id, gate.verdict)
    else:
        result, summary = check_dry_run(ws, args.incident_id, rollback=args.rollback)
        line, reasons, code = f"{result.line()} incident={args.incident_id}", result.reasons, result.exit_code
        note(args, args.incident_id, result.verdict)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as handle:  # $GITHUB_STEP_SUMMARY is appended to
            handle.write(summary + "\n")
    out(line)
    for reason in reasons:
        err(reason)
    return code


def cmd_check_other_pull(args: argparse.Namespace) -> int:
    import re

    from bot.flows.other_pull import check_other_pull

    if not re.fullmatch(r"[0-9a-f]{40}", args.sha):
        raise InputError("--sha", "", f"expected a 40-hex commit id, got {args.sha!r}")
    out(check_other_pull(workspace(args), args.branch, args.sha, same_repository=not args.fork))
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from bot.flows.approve import approve

    review = approve(workspace(args), args.incident_id, args.reviewer, args.action, rollback=args.rollback)
    action = f" action={review.approves_action}" if review.approves_action else ""
    note(args, args.incident_id, "APPROVED")
    out(f"APPROVED incident={args.incident_id} reviewer={review.reviewer} head={review.sha[:12]}{action}")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from bot.flows.merge import merge

    sha = merge(workspace(args), args.incident_id, rollback=args.rollback)
    note(args, args.incident_id, "MERGED")
    out(f"MERGED incident={args.incident_id} commit={sha[:12]} (Argo CD syncs the new desired state)")
    return 0


def cmd_post_merge(args: argparse.Namespace) -> int:
    from bot.flows.opening import release
    from bot.flows.post_merge import after_push

    ws = workspace(args)
    recorded, refreshed = after_push(ws, args.commit, args.argocd_url)
    for incident_id, app in recorded:
        note(args, incident_id, "SYNC PENDING")
        where = f" ({args.argocd_url})" if args.argocd_url else ""
        out(f"SYNC PENDING incident={incident_id} revision={args.commit[:12]} app={app or '?'}{where}: "
             "confirm the sync in Argo CD")
    # main moved: every open incident branch follows it (one needing a human is reported, and labelled, but
    # post-merge's own job, recording the merge, succeeded)
    for result in refreshed:
        out(result.line())
    for incident_id, _ in recorded:  # a merged incident no longer holds its workload's lock
        for opened in release(ws, incident_id):
            out(opened.line())
    return 0


def cmd_sync_confirm(args: argparse.Namespace) -> int:
    from bot.config.loader import load_json
    from bot.errors import RuleRefusal
    from bot.flows.sync import confirm
    from bot.intake.argocd import observation

    data = load_json(args.argocd)
    ws = workspace(args)
    result = confirm(ws, observation(data, args.argocd, ws.clock()))
    for x in result.outcomes:
        if x.entry is not None:
            note(args, x.incident_id, x.kind)
    for line in result.lines():
        out(line)
    if result.problem:
        raise RuleRefusal(f"sync confirm: {result.problem}")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    from bot.flows.refresh import refresh, refresh_all

    ws = workspace(args)
    results = refresh_all(ws) if args.all else [refresh(ws, args.incident_id)]
    for result in results:
        if result.outcome in ("refreshed", "needs-human"):  # the others changed nothing
            note(args, result.incident_id, result.outcome.upper())
        out(result.line())
    return 1 if any(r.needs_human for r in results) else 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from bot.flows.rollback import rollback

    number = rollback(workspace(args), args.incident_id)
    note(args, args.incident_id, "ROLLBACK")
    out(f"ROLLBACK incident={args.incident_id} pull=#{number} (review and merge it like the change)")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from bot.flows import trace
    from bot.model.ids import incident_branch
    from bot.rules import audit

    ws = workspace(args)
    stored = trace.entries(ws, args.incident_id)
    entries = trace.current(ws, args.incident_id)
    if not entries:
        raise InputError(args.incident_id, "incident_id", "no audit trace for this incident")
    result = trace.verify(ws, args.incident_id)
    if args.audit_command == "verify":
        if result.ok:
            note(args, args.incident_id, "VERIFIED")
            out(f"VERIFIED incident={args.incident_id} entries={len(stored)} head={result.head[:16]}")
            return 0
        out(f"TAMPERED incident={args.incident_id}")
        for problem in result.problems:
            err(problem)
        return 1
    branch = incident_branch(args.incident_id)
    commits = [c.sha for c in ws.forge.commits(ws.main, branch)] if ws.forge.head(branch) else []
    coverage, missing = audit.coverage(entries, commits)
    for e in entries:
        pointer = e.evidence.get("commit") or e.evidence.get("head") or ""
        reasons = "; ".join(e.evidence.get("reasons", []))
        state = e.status if e.seq <= len(stored) else f"{e.status}*"
        out(f"{e.seq:3d} {e.at} {e.step:26s} {state:8s} {str(pointer)[:12]:12s} {reasons}".rstrip())
    if len(entries) > len(stored):
        out("  * implied by the bot's phase commits; stored with the next audit write")
    chain = audit.view(entries)
    out(f"chain: {audit.text_chain(chain)}")
    out(f"audit_trace_coverage={coverage:g}" + (f" (missing: {'; '.join(missing)})" if missing else ""))
    out(f"integrity: {'intact' if result.ok else 'BROKEN: ' + '; '.join(result.problems)}")
    if args.mermaid:
        out("```mermaid\n" + audit.mermaid(chain) + "\n```")
    return 0 if result.ok else 1


def cmd_evidence(args: argparse.Namespace) -> int:
    """Write readiness.md and validation.md (each atomically, both rendered before either is written) and
    print them; from the audit trace and the artifacts it records only."""
    from pathlib import Path

    from bot.config.files import atomic_write
    from bot.flows.evidence import package
    from bot.render.evidence import readiness_md, validation_md

    p = package(workspace(args), args.incident_id)
    files = {"readiness.md": readiness_md(p), "validation.md": validation_md(p)}
    where = Path(args.out) if args.out else Path("capstone") / args.incident_id
    for name, text in files.items():
        atomic_write(where / name, text)
    out(files["readiness.md"] + "\n" + files["validation.md"])
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from bot.flows.replay import replay

    differences = replay(workspace(args), args.incident_id)
    note(args, args.incident_id, "DIFFERS" if differences else "REPLAYED")
    if not differences:
        out(f"REPLAYED incident={args.incident_id}: event, readiness and dry-run reproduce the record")
        return 0
    out(f"DIFFERS incident={args.incident_id}")
    for line in differences:
        err(line)
    return 1

"""CLI handlers of the receiver: `serve` (called by bot.cli) and `spool list|retry|drop` (registered here)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from bot.errors import InputError, RuleRefusal


def serve(host: str, port: int, workspace: Callable[[], Any], env: dict[str, str] | None = None) -> int:
    """`incident-bot serve`: the receiver with its forwarder (INCIDENT_BOT_FORWARD=open|dispatch)."""
    from bot.receiver.app import Receiver
    from bot.receiver.config import secrets_from_env
    from bot.receiver.forwarder import dispatch_forward, open_forward
    from bot.receiver.server import run

    env = dict(os.environ if env is None else env)
    from bot.receiver.config import settings_from_env

    settings = settings_from_env(env)
    forward = dispatch_forward(settings.dispatch) if settings.dispatch else open_forward(workspace)
    run(Receiver(settings, secrets_from_env(env), forward), host, port)
    return 0


def _spool(args: argparse.Namespace) -> Any:
    from bot.receiver.config import settings_from_env
    from bot.receiver.spool import Spool

    path = args.spool or settings_from_env(os.environ).spool
    return Spool(path, create=False)


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def cmd_list(args: argparse.Namespace) -> int:
    spool = _spool(args)
    try:
        states = ["pending", "dead", "rejected"] if args.state == "all" else [args.state]
        rows = spool.rows(states)
        counts = spool.counts()
    finally:
        spool.close()
    now = time.time()
    for r in rows:
        error = f" {r.error}" if r.error else ""
        key = f" {r.group_key}" if r.group_key else ""
        sys.stdout.write(f"{r.id:>6} {r.state:8s} {r.source:12s} attempts={r.attempts} age={_age(now - r.received_at)}"
                         f"{key}{error}\n")
    sys.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()) + "\n")
    return 0


def _ids(values: list[str]) -> list[tuple[str, int]]:
    out = []
    for value in values:
        kind, digits = ("rejected", value[1:]) if value.startswith("r") else ("delivery", value)
        if not digits.isdigit():
            raise InputError("spool", value, "expected a delivery id (12) or a rejected id (r3), as `spool list` shows")
        out.append((kind, int(digits)))
    return out


def cmd_retry(args: argparse.Namespace) -> int:
    ids = _ids(args.ids)
    spool = _spool(args)
    refused = []
    try:
        for kind, number in ids:
            if kind == "rejected":
                refused.append(f"r{number}: a rejected payload can never become an incident; drop it")
            elif spool.retry(number, time.time()):
                sys.stdout.write(f"RETRY delivery={number} (pending; the running receiver forwards it)\n")
            else:
                state = spool.state_of(number)
                refused.append(f"{number}: {'no such delivery' if state is None else f'is {state}, not dead'}")
    finally:
        spool.close()
    if refused:
        raise RuleRefusal("spool retry refused: " + "; ".join(refused))
    return 0


def cmd_drop(args: argparse.Namespace) -> int:
    ids = _ids(args.ids)
    spool = _spool(args)
    refused = []
    try:
        for kind, number in ids:
            done = spool.drop_rejected(number) if kind == "rejected" else spool.drop(number)
            name = f"r{number}" if kind == "rejected" else str(number)
            if done:
                sys.stdout.write(f"DROPPED {kind}={name}\n")
            elif kind == "rejected":
                refused.append(f"{name}: no such rejected payload")
            else:
                state = spool.state_of(number)
                refused.append(f"{name}: {'no such delivery' if state is None else f'is {state} (already sent)'}")
    finally:
        spool.close()
    if refused:
        raise RuleRefusal("spool drop refused: " + "; ".join(refused))
    return 0


def register(sub: Any) -> None:
    """Adds `spool list|retry|drop` to the CLI's subparsers."""
    spool = sub.add_parser("spool", help="inspect the receiver's spool: list, retry a dead delivery, drop one",
                           description="The receiver's on-disk spool (INCIDENT_BOT_SPOOL).")
    actions = spool.add_subparsers(dest="spool_command", required=True)
    for name, func, help_ in (("list", cmd_list, "pending and dead deliveries and rejected payloads"),
                              ("retry", cmd_retry, "send dead deliveries again (attempts reset)"),
                              ("drop", cmd_drop, "delete pending/dead deliveries or rejected payloads")):
        p = actions.add_parser(name, help=help_, description=help_)
        p.add_argument("--spool", help="the spool file (default: $INCIDENT_BOT_SPOOL or .incident-bot/spool.db)")
        if name == "list":
            p.add_argument("--state", default="all", choices=["all", "pending", "dead", "rejected", "forwarded",
                                                              "coalesced"])
        else:
            p.add_argument("ids", nargs="+", help="ids as `spool list` shows them (12, or r3 for a rejected one)")
        p.set_defaults(func=func)

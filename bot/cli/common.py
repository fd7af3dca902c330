"""What every command shares: output, the repository root, the workspace and the forge from the environment."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import InputError
from bot.render.escape import terminal

if TYPE_CHECKING:
    from bot.flows.workspace import Workspace
    from bot.forge.base import Forge

EXIT_USAGE = 2


def find_root(start: Path) -> Path:
    """The repository root: the nearest directory upwards holding policies/actions.yaml."""
    for candidate in (start, *start.parents):
        if (candidate / "policies" / "actions.yaml").is_file():
            return candidate
    raise InputError(str(start), "policies/actions.yaml", "not inside an incident-bot repository (use --repo)")


def root(args: argparse.Namespace) -> Path:
    return Path(args.repo).resolve() if args.repo else find_root(Path.cwd().resolve())


def out(text: str) -> None:
    text = terminal(text)  # a value from an alert never moves the cursor or recolours the terminal
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def err(text: str) -> None:
    """One line on stderr: a newline inside a value is shown (`\\x0a`), never a second line."""
    sys.stderr.write(terminal(text, lines=False) + "\n")



def note(args: argparse.Namespace, incident_id: str, verdict: str, command: str | None = None) -> None:
    """Tell main which incident this command touched and its verdict (and, when the typed one would not
    re-run from the repository, the command line to record): main records the command in that incident's
    trace once it knows the exit code (bot.cli.main.trace_command)."""
    if not hasattr(args, "touched"):
        args.touched = []
    args.touched.append((incident_id, verdict, command))


def workspace(args: argparse.Namespace) -> Workspace:
    """The command's workspace (one per command: main's trace hook reuses it)."""
    if getattr(args, "workspace_", None) is None:
        args.workspace_ = _workspace(args)
    ws: Workspace = args.workspace_
    return ws


def _workspace(args: argparse.Namespace) -> Workspace:
    import os
    import re

    from bot.flows.workspace import Workspace

    # INCIDENT_BOT_NOW stops the bot's clock (audit times, backup age at the gate) for rehearsals and tests
    chosen = forge(args)
    if chosen.name == "github":
        chosen.seal_key()  # every lifecycle command writes or judges sealed commits: no key, nothing is done
    now = os.environ.get("INCIDENT_BOT_NOW")
    # a traced command's audit entries are stored with its command entry, in one commit (bot.cli.main)
    defer = bool(getattr(args, "defer_audit_", False))
    if now is None:
        return Workspace(chosen, defer_audit=defer)
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", now):
        raise InputError("environment", "INCIDENT_BOT_NOW",
                         f"expected a UTC time like 2026-05-17T10:00:00Z, got {now!r}")
    return Workspace(chosen, clock=lambda: now, defer_audit=defer)


def forge(args: argparse.Namespace) -> Forge:
    """The forge INCIDENT_BOT_FORGE names (default: the local forge) on --repo: see bot.forge.registry."""
    import os

    from bot.forge.registry import forge_from_env

    return forge_from_env(Path(args.repo).resolve() if args.repo else Path.cwd().resolve(), os.environ)



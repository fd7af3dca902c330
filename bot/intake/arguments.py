"""The CLI's `--<source>` options, one per registered alert source, and the payloads they name."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bot.intake.sources import CORRELATION_ORDER, SOURCES


def add_source_arguments(parser: argparse.ArgumentParser, *, described: bool = True) -> None:
    """Add `--grafana FILE`, `--pagerduty FILE`, ... to `parser` (with each source's help if `described`)."""
    for source in SOURCES.values():
        if described:
            parser.add_argument(source.cli_flag, help=source.cli_help)
        else:
            parser.add_argument(source.cli_flag)


def payloads_from_args(args: argparse.Namespace, load: Callable[[str], Any]) -> dict[str, tuple[Any, str]]:
    """{source: (load(path), path)} for every `--<source>` given, in correlation order."""
    return {name: (load(path), path) for name in CORRELATION_ORDER if (path := getattr(args, name, None))}

"""The command line: the only place that reads argv, the environment and the terminal, and the one place
that maps errors to messages and exit codes (`main`). One module per group of commands."""

from bot.cli.main import build_parser, main

__all__ = ["build_parser", "main"]

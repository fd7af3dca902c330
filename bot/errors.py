"""The one error family of incident-bot; only bot.cli turns these into messages and exit codes."""

from __future__ import annotations


class BotError(Exception):
    """Base of every error a user can cause or a rule can raise."""

    exit_code = 1


class InputError(BotError):
    """Unusable input: not parseable, unknown format, missing or invalid field (exit 2)."""

    exit_code = 2

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")


class RuleRefusal(BotError):
    """A rule refused the step (exit 1): the message names the rule."""

    exit_code = 1


class SourceConflict(RuleRefusal):
    """Two alert sources describe different incidents."""


class IllegalTransition(RuleRefusal):
    """A lifecycle step was attempted from a state that does not allow it."""


class ForgeError(BotError):
    """The forge (git or GitHub) failed in a way a re-run may fix."""

    exit_code = 1

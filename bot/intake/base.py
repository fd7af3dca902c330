"""What one alert source provides: its parser, its delivery check, its credentials and its CLI flag."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.intake.alert import Alert
from bot.intake.signatures import Secrets

# (parsed JSON, file name for messages) -> the delivery's alerts; raises InputError naming the JSON path.
Parse = Callable[[Any, str], list[Alert]]
# (headers with lower-cased names, raw body, credentials, Unix seconds now) -> None; raises SignatureError.
Verify = Callable[[dict[str, str], bytes, Secrets, float], None]


@dataclass(frozen=True)
class AlertSource:
    """One vendor, registered in bot/intake/sources.py; everything that lists sources reads the registry.

    `name` is the route (`POST /webhook/<name>`), the CLI flag (`--<name>`), the key of `source_refs` in
    the event schema and the prefix of stored payloads (`sources/<name>-<digest>.json`)."""

    name: str
    parse: Parse
    verify: Verify
    configured: Callable[[Secrets], bool]  # a credential is set, so a delivery can be accepted at all
    read_env: Callable[[Mapping[str, str], Secrets], Secrets]  # `secrets` plus this source's variables
    env: tuple[str, ...]  # the variables read_env reads; the first holds the credential
    cli_help: str  # what the file given to --<name> holds
    # the part of a parsed delivery that is stored (bot.intake.redact.project): what `parse` reads, no more
    kept: Callable[[Any], Any] = lambda data: data
    # A delivery may carry several incidents (a group of alerts). Such sources are correlated first, so
    # that a one-incident source's vendor key can pick among the incidents they formed.
    groups: bool = False

    @property
    def cli_flag(self) -> str:
        return f"--{self.name}"


@dataclass(frozen=True)
class NotificationSource:
    """A sender whose deliveries are not alerts (Argo CD's sync reports), registered in bot/intake/sources.py
    beside the alert sources: the receiver verifies, spools and forwards them the same way (`POST
    /webhook/<name>`), but they become no incident: they are forwarded to their own command."""

    name: str
    verify: Verify
    configured: Callable[[Secrets], bool]
    read_env: Callable[[Mapping[str, str], Secrets], Secrets]
    env: tuple[str, ...]  # the variables read_env reads; the first holds the credential
    # (parsed JSON, name for messages) -> the coalescing key; raises InputError when it can never be used
    group_key: Callable[[Any, str], str]
    dispatch_event: str  # the repository_dispatch event type its forward sends

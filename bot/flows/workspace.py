"""A read model of the repository through a forge: policy, specs, desired state and incident files,
always taken from the right ref (policy and specs from the default branch, never from the incident
branch: a pull request cannot lift its own emergency stop or widen its own spec)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.config.loader import canonical_json, parse_json
from bot.config.policy import Policy, policy_from_texts
from bot.errors import InputError
from bot.forge.base import Commit, Forge, Sealer
from bot.model.ids import incident_dir
from bot.rules import codeowners, seal
from bot.rules.spec import Spec, parse_spec

Clock = Callable[[], str]
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def source_name(source: str, redacted: Any) -> str:
    """Content-addressed file name: the same delivery twice is the same file (idempotent)."""
    digest = hashlib.sha256(canonical_json(redacted).encode()).hexdigest()[:12]
    return f"{source}-{digest}.json"


@dataclass
class Workspace:
    forge: Forge
    clock: Clock = utc_now
    base: str | None = None  # pin the default branch to a commit (replay judges at the recorded base)
    # the command line (secrets removed) of the CLI run, per incident id: `open` names it in the last phase
    # commit it writes, so the trace records the run with its commits (bot.flows.trace.pending)
    command: Callable[[str], str] | None = None
    # the CLI defers a command's audit entries and stores them with the command's own entry, in one commit
    # (bot.flows.trace.record / record_command); `deferred`: incident id -> entries waiting, with their files
    defer_audit: bool = False
    deferred: dict[str, list[tuple[Any, dict[str, str]]]] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> str:
        return self.base or self.forge.default_branch

    def pinned(self, base: str, at: str | None = None) -> Workspace:
        """The workspace as it was: main at `base` and, with `at`, the clock stopped at that time."""
        return Workspace(self.forge, (lambda: at) if at else self.clock, base)

    def sealer(self) -> Sealer:
        """What the bot passes to `commit_chain`: every commit it writes carries its seal."""
        key = self.forge.seal_key()
        return lambda tree, parents, message: seal.seal(key, tree, list(parents), message)

    def is_sealed(self, commit: Commit) -> bool:
        """The bot wrote this commit (its author name and trailers are claims anyone can type)."""
        if "seal_key" not in self._cache:
            self._cache["seal_key"] = self.forge.seal_key()
        return seal.is_sealed(self._cache["seal_key"], commit.tree, commit.parents, commit.message)

    def policy(self) -> Policy:
        if "policy" not in self._cache:
            self._cache["policy"] = policy_from_texts(self.forge.tree(self.main, "policies/"))
        policy: Policy = self._cache["policy"]
        return policy

    def spec(self, path: str) -> Spec:
        text = self.forge.read(self.main, path)
        if text is None:
            raise InputError(path, "", f"spec not found on {self.main}")
        return parse_spec(text, path)

    def deploy(self, ref: str | None = None) -> dict[str, str]:
        return self.forge.tree(ref or self.main, "deploy/")

    def codeowners(self) -> list[codeowners.Rule]:
        for path in CODEOWNERS_PATHS:
            text = self.forge.read(self.main, path)
            if text is not None:
                return codeowners.parse(text)
        return []

    def incident_files(self, ref: str, incident_id: str) -> dict[str, str]:
        return self.forge.tree(ref, incident_dir(incident_id) + "/")

    def event(self, ref: str, incident_id: str) -> dict[str, Any]:
        path = f"{incident_dir(incident_id)}/event.json"
        text = self.forge.read(ref, path)
        if text is None:
            raise InputError(path, "", f"no event at {ref}")
        data: dict[str, Any] = parse_json(text, path)
        return data

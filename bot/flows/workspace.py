"""A read model of the repository through a forge: policy, specs, desired state and incident files,
always taken from the right ref (policy and specs from the default branch, never from the incident
branch: a pull request cannot lift its own emergency stop or widen its own spec)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.config.loader import canonical_json, parse_json
from bot.config.policy import Policy, policy_from_texts
from bot.errors import InputError
from bot.forge.base import Forge
from bot.intake.normalize import normalize
from bot.rules import codeowners
from bot.rules.spec import Spec, parse_spec

Clock = Callable[[], str]
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def incident_branch(incident_id: str) -> str:
    return f"incident/{incident_id}"


def incident_dir(incident_id: str) -> str:
    return f"incidents/{incident_id}"


def source_name(source: str, redacted: Any) -> str:
    """Content-addressed file name: the same delivery twice is the same file (idempotent)."""
    digest = hashlib.sha256(canonical_json(redacted).encode()).hexdigest()[:12]
    return f"{source}-{digest}.json"


@dataclass
class Workspace:
    forge: Forge
    clock: Clock = utc_now
    base: str | None = None  # pin the default branch to a commit (replay judges at the recorded base)
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> str:
        return self.base or self.forge.default_branch

    def pinned(self, base: str) -> Workspace:
        return Workspace(self.forge, self.clock, base)

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


def renormalize(sources: dict[str, str], policy: Policy, incident_id: str, incident_key: str) -> dict[str, Any] | None:
    """The event of `incident_key` recomputed from recorded (redacted) sources, numbered `incident_id`."""
    by_source: dict[str, list[tuple[Any, str]]] = {}
    for path, text in sorted(sources.items()):
        name = path.rsplit("/", 1)[-1]
        by_source.setdefault(name.split("-", 1)[0], []).append((json.loads(text), path))
    # Deliveries of one source are normalized one by one and their alerts pooled per source.
    found: dict[str, Any] | None = None
    combos = _combinations(by_source)
    for payloads in combos:
        for event in normalize(payloads, policy.incident_types):
            if event["incident_key"] == incident_key:
                found = _merge_events(found, {**event, "incident_id": incident_id})
    return found


def _combinations(by_source: dict[str, list[tuple[Any, str]]]) -> list[dict[str, tuple[Any, str]]]:
    """Pair the i-th delivery of each source (a later delivery of one source is merged on its own)."""
    longest = max((len(v) for v in by_source.values()), default=0)
    return [{s: items[min(i, len(items) - 1)] for s, items in by_source.items()} for i in range(longest)]


def _merge_events(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    if old is None:
        return new
    refs: dict[str, list[Any]] = {}
    for event in (old, new):
        for source, items in event["source_refs"].items():
            for item in items:
                if item not in refs.setdefault(source, []):
                    refs[source].append(item)
    merged = {**old, "source_refs": {s: sorted(v, key=lambda r: json.dumps(r, sort_keys=True))
                                     for s, v in sorted(refs.items())}}
    merged["started_at"] = min(old["started_at"], new["started_at"])
    merged["status"] = "firing" if "firing" in (old["status"], new["status"]) else "resolved"
    for key in ("service", "namespace", "pod", "alertname", "window_minutes"):
        merged[key] = old[key] if old[key] is not None else new[key]
    merged["metric_context"] = {**new["metric_context"], **old["metric_context"]}
    return merged

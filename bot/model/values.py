"""Frozen value objects for what the flows read back from an incident branch: the plan and the tasks.
Built in one place from the front matter (`from_text`), so a missing field is `None`, never the
string "None"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config.loader import front_matter


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Plan:
    """plan.md's front matter: the chosen action, its radius, the workload and the preconditions read."""

    action: str | None = None
    blast_radius: str | None = None
    workload: dict[str, Any] = field(default_factory=dict)
    preconditions: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # the whole front matter, for the scoring rules

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Plan:
        action, radius = data.get("action"), data.get("blast_radius")
        return cls(
            action=action if isinstance(action, str) and action else None,
            blast_radius=radius if isinstance(radius, str) and radius else None,
            workload=_mapping(data.get("workload")),
            preconditions=_mapping(data.get("preconditions")),
            facts=_mapping(data.get("facts")),
            data=dict(data),
        )

    @classmethod
    def from_text(cls, text: str | None, source: str) -> Plan:
        return cls.from_mapping({} if text is None else front_matter(text, source))


@dataclass(frozen=True)
class Tasks:
    """tasks.md's front matter: the ordered steps and the validation they end with."""

    tasks: tuple[dict[str, Any], ...] = ()
    has_validation: bool = False

    @classmethod
    def from_text(cls, text: str | None, source: str) -> Tasks:
        data = {} if text is None else front_matter(text, source)
        items = data.get("tasks")
        return cls(tuple(dict(t) for t in items if isinstance(t, Mapping)) if isinstance(items, list) else (),
                   bool(data.get("validation")))

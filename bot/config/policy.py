"""Policies of the repository (policies/*.yaml), validated once at the edge into frozen values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config.loader import parse_yaml, read_text, validate
from bot.errors import InputError
from bot.rules.readiness import PROFILES_FILE, Profile, pick_profile, profiles_from
from bot.rules.recurrence import Limits

LIMITS_FILE = "policies/remediation.yaml"  # optional: without it, no cool-down and no cap


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    blast_radius: str
    preconditions: tuple[str, ...]
    rollback: str
    renders: str


@dataclass(frozen=True)
class Catalog:
    actions: dict[str, Action]
    forbidden: dict[str, str]
    backup_max_age_hours: float = 24.0


@dataclass(frozen=True)
class IncidentType:
    name: str
    prefix: str
    spec: str
    alertnames: tuple[str, ...]
    title_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncidentTypes:
    types: dict[str, IncidentType]
    unclassified: IncidentType

    def classify(self, alertname: str | None, title: str | None) -> IncidentType:
        """The type whose alertnames hold `alertname`, else whose title pattern matches the title."""
        for itype in self.types.values():
            if alertname is not None and alertname in itype.alertnames:
                return itype
        for text in (alertname, title):
            for itype in self.types.values():
                if text and any(re.search(p, text) for p in itype.title_patterns):
                    return itype
        return self.unclassified

    def by_prefix(self, prefix: str) -> IncidentType | None:
        for itype in (*self.types.values(), self.unclassified):
            if itype.prefix == prefix:
                return itype
        return None


@dataclass(frozen=True)
class RemediationLimits:
    """policies/remediation.yaml: per incident type a cool-down and a window cap, per service an open-pull cap."""

    types: dict[str, Limits]
    max_open_pulls: dict[str, int]  # service (or "default") -> cap

    def open_pull_cap(self, service: str | None) -> int | None:
        return self.max_open_pulls.get(service or "", self.max_open_pulls.get("default"))


def limits_from(data: dict[str, Any]) -> RemediationLimits:
    return RemediationLimits(
        types={name: Limits(t["cooldown_minutes"], t["window_minutes"], t["max_automatic"])
               for name, t in data.get("types", {}).items()},
        max_open_pulls={name: s["max_open_pulls"] for name, s in data.get("services", {}).items()})


@dataclass(frozen=True)
class Policy:
    catalog: Catalog
    profiles: dict[str, Profile]
    default_profile: str
    incident_types: IncidentTypes
    emergency_stop: bool
    emergency_reason: str = ""
    root: Path = field(default=Path("."), compare=False)
    limits: RemediationLimits = field(default_factory=lambda: RemediationLimits({}, {}))

    def profile(self, name: str | None) -> Profile:
        return pick_profile(self.profiles, self.default_profile, name)


def catalog_from(data: dict[str, Any]) -> Catalog:
    actions = {
        name: Action(
            name=name,
            description=a["description"],
            blast_radius=a["blast_radius"],
            preconditions=tuple(a["preconditions"]),
            rollback=a["rollback"],
            renders=a["renders"],
        )
        for name, a in data["actions"].items()
    }
    return Catalog(actions=actions, forbidden=dict(data["forbidden"]),
                   backup_max_age_hours=float(data["evidence"]["backup_verified"]["max_age_hours"]))


def incident_types_from(data: dict[str, Any], source: str) -> IncidentTypes:
    types = {}
    for name, t in data["types"].items():
        for i, pattern in enumerate(t.get("title_patterns", [])):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise InputError(source, f"$.types.{name}.title_patterns[{i}]", f"bad regex: {exc}") from None
        types[name] = IncidentType(
            name=name,
            prefix=t["prefix"],
            spec=t["spec"],
            alertnames=tuple(t["alertnames"]),
            title_patterns=tuple(t.get("title_patterns", [])),
        )
    u = data["unclassified"]
    return IncidentTypes(types=types, unclassified=IncidentType(u["type"], u["prefix"], "", ()))


POLICY_FILES = {
    "actions": "policies/actions.yaml",
    "readiness_profiles": PROFILES_FILE,
    "incident_types": "policies/incident_types.yaml",
    "emergency_stop": "policies/emergency_stop.yaml",
}


def load_policy(root: str | Path = ".") -> Policy:
    """Load and validate every policy file under `root`/policies."""
    texts = {path: read_text(Path(root) / path) for path in POLICY_FILES.values()}
    if (Path(root) / LIMITS_FILE).is_file():
        texts[LIMITS_FILE] = read_text(Path(root) / LIMITS_FILE)
    return policy_from_texts(texts, Path(root))


def policy_from_texts(texts: Mapping[str, str], root: Path = Path(".")) -> Policy:
    """Build the policy from file texts ({repo path: text}), e.g. read from the base branch in git."""

    def doc(schema_name: str) -> Any:
        path = POLICY_FILES[schema_name]
        if path not in texts:
            raise InputError(path, "", "file not found")
        return validate(parse_yaml(texts[path], path), schema_name, path)

    actions, readiness, types, stop = (doc(n) for n in POLICY_FILES)
    profiles, default_profile = profiles_from(readiness, POLICY_FILES["readiness_profiles"])
    catalog = catalog_from(actions)
    limits = limits_from(validate(parse_yaml(texts[LIMITS_FILE], LIMITS_FILE), "remediation_limits", LIMITS_FILE)
                         if LIMITS_FILE in texts else {})
    unknown = sorted(set(limits.types) - set(types["types"]))
    if unknown:
        raise InputError(LIMITS_FILE, f"$.types.{unknown[0]}", "names no incident type of policies/incident_types.yaml")
    overlap = sorted(set(catalog.actions) & set(catalog.forbidden))
    if overlap:
        raise InputError(POLICY_FILES["actions"], f"$.forbidden.{overlap[0]}", "also listed as an action")
    return Policy(
        catalog=catalog,
        profiles=profiles,
        default_profile=default_profile,
        incident_types=incident_types_from(types, POLICY_FILES["incident_types"]),
        emergency_stop=stop["engaged"],
        emergency_reason=stop.get("reason", ""),
        root=root,
        limits=limits,
    )

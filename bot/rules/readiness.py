"""The 25-point readiness gate with its independent blocking conditions (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.errors import InputError
from bot.model.enums import Radius, Verdict

# The gate's profiles live here, not in bot.config.policy, so `incident-bot readiness` does not import every
# policy's value types (about 5 ms of its start-up); bot.config.policy builds them with the same functions.
PROFILES_FILE = "policies/readiness.yaml"
CATEGORIES = ("spec", "implementation", "verification", "process", "security")
PASS, SEMI_MANUAL, BLOCK = Verdict.PASS, Verdict.SEMI_MANUAL, Verdict.BLOCK


def radius_rank(radius: str) -> int:
    return Radius(radius).rank


@dataclass(frozen=True)
class Profile:
    name: str
    auto: int
    semi_manual: int
    max_radius: str
    min_audit_trace_coverage: float


def profiles_from(readiness: dict[str, Any], where: str) -> tuple[dict[str, Profile], str]:
    """The profiles of a policies/readiness.yaml document already validated against its schema."""
    profiles = {n: Profile(name=n, **p) for n, p in readiness["profiles"].items()}
    for name, prof in profiles.items():
        if prof.semi_manual > prof.auto:
            raise InputError(where, f"$.profiles.{name}.semi_manual", "exceeds auto")
    if readiness["default_profile"] not in profiles:
        raise InputError(where, "$.default_profile", "names no defined profile")
    return profiles, readiness["default_profile"]


def pick_profile(profiles: dict[str, Profile], default: str, name: str | None) -> Profile:
    chosen = name or default
    if chosen not in profiles:
        known = ", ".join(sorted(profiles))
        raise InputError(PROFILES_FILE, "profiles", f"no profile '{chosen}' (known: {known})")
    return profiles[chosen]


@dataclass(frozen=True)
class Readiness:
    """The gate's input (readiness.json, schema bot/config/schemas/readiness.schema.json)."""

    incident_id: str
    scores: dict[str, int]
    audit_trace_coverage: float
    stateful: bool
    backup_verified: bool = False
    radius_of_impact: str | None = None
    dry_run_verified: bool = False
    evidence: dict[str, str] = field(default_factory=dict)
    # files of the incident branch that are not what the bot derives (a claim, never an input): each blocks
    untrusted_changes: tuple[str, ...] = ()
    # why a human must decide although the points may pass (a remediation that did not hold): at best semi-manual
    escalations: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Readiness:
        """Build from data already validated against the readiness schema."""
        return cls(
            incident_id=data["incident_id"],
            scores={c: data["scores"][c] for c in CATEGORIES},
            audit_trace_coverage=data["audit_trace_coverage"],
            stateful=data["stateful"],
            backup_verified=data.get("backup_verified", False),
            radius_of_impact=data.get("radius_of_impact"),
            dry_run_verified=data.get("dry_run_verified", False),
            evidence=dict(data.get("evidence", {})),
            untrusted_changes=tuple(data.get("untrusted_changes", ())),
            escalations=tuple(data.get("escalations", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "incident_id": self.incident_id,
            "scores": dict(self.scores),
            "audit_trace_coverage": self.audit_trace_coverage,
            "stateful": self.stateful,
            "backup_verified": self.backup_verified,
            "dry_run_verified": self.dry_run_verified,
            "evidence": dict(self.evidence),
        }
        if self.radius_of_impact is not None:
            out["radius_of_impact"] = self.radius_of_impact
        if self.untrusted_changes:
            out["untrusted_changes"] = list(self.untrusted_changes)
        if self.escalations:
            out["escalations"] = list(self.escalations)
        return out


@dataclass(frozen=True)
class GateResult:
    """Verdict, effective scores and every blocking reason; renderers turn it into text."""

    incident_id: str
    verdict: Verdict
    score: int
    scores: dict[str, int]
    reasons: tuple[str, ...]
    profile: str
    threshold: int
    evidence: dict[str, str]

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def line(self) -> str:
        return f"{self.verdict} incident={self.incident_id} score={self.score}/25"


def evaluate(r: Readiness, profile: Profile) -> GateResult:
    """Apply the gate: each blocking condition is checked on its own and all that hold are reported."""
    scores = dict(r.scores)
    blockers: list[str] = []

    # Undefined blast radius. A radius wider than the profile allows, without a verified dry-run,
    # caps implementation at 2 (seed exercise 2); an implementation <= 2 with no radius at all blocks.
    if r.radius_of_impact is not None and radius_rank(r.radius_of_impact) > radius_rank(profile.max_radius):
        if not r.dry_run_verified:
            scores["implementation"] = min(scores["implementation"], 2)
            blockers.append(
                f"implementation<=2: undefined blast radius, radius_of_impact={r.radius_of_impact} wider than "
                f"{profile.max_radius} (profile {profile.name}) without dry_run_verified"
            )
    elif r.radius_of_impact is None and scores["implementation"] <= 2:
        blockers.append(
            f"implementation={scores['implementation']} <= 2: undefined blast radius (no radius_of_impact)"
        )
    if scores["verification"] <= 2:
        blockers.append(f"verification={scores['verification']} <= 2: failed validation")
    if scores["security"] == 0:
        blockers.append("security=0: forbidden at any total")
    elif scores["security"] <= 2:
        blockers.append(f"security={scores['security']} <= 2: missing rollback")
    if r.audit_trace_coverage < profile.min_audit_trace_coverage:
        blockers.append(f"audit_trace_coverage={r.audit_trace_coverage:g} < {profile.min_audit_trace_coverage:.1f}")
    if r.stateful and not r.backup_verified:
        blockers.append("stateful workload without verified backup")
    blockers += [f"untrusted change: {change}" for change in r.untrusted_changes]

    total = sum(scores.values())
    reasons: list[str] = []
    if total < profile.semi_manual:
        reasons.append(f"score={total}/25 below semi-manual threshold {profile.semi_manual}")
    elif total < profile.auto and blockers:
        reasons.append(f"score={total}/25 below threshold {profile.auto}")
    reasons.extend(blockers)

    if reasons:
        verdict = BLOCK
    elif total < profile.auto:
        verdict = SEMI_MANUAL
        reasons.append(f"score={total}/25 below threshold {profile.auto}: semi-manual, a human approves the action")
    else:
        verdict = PASS
    if r.escalations:  # a human decides: never automatic, whatever the points (a blocker still blocks)
        verdict = SEMI_MANUAL if verdict == PASS else verdict
        reasons.extend(r.escalations)
    return GateResult(
        incident_id=r.incident_id,
        verdict=verdict,
        score=total,
        scores=scores,
        reasons=tuple(reasons),
        profile=profile.name,
        threshold=profile.auto,
        evidence=dict(r.evidence),
    )

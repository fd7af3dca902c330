"""Dry-run of one action against the spec, the catalog and the workload's facts (pure).

Nothing is executed: the verdict says whether the action *may* be rendered. The gate comes first:
a dry-run never looks at an action unless the readiness gate passed (seed, "Lessons learned").
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.policy import Catalog
from bot.model.enums import Verdict
from bot.rules.readiness import PASS, SEMI_MANUAL, GateResult, radius_rank
from bot.rules.spec import Spec


@dataclass(frozen=True)
class DryRunResult:
    action: str
    verdict: Verdict  # PASS or BLOCK
    radius: str | None
    reasons: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == Verdict.PASS else 1

    def line(self) -> str:
        radius = f" radius={self.radius}" if self.radius else ""
        return f"{self.verdict} action={self.action}{radius}"


def evaluate(
    spec: Spec,
    action: str,
    context: dict[str, bool],
    catalog: Catalog,
    *,
    gate: GateResult | None = None,
    semi_manual_approved: bool = False,
    emergency_stop: str | None = None,
) -> DryRunResult:
    """PASS only if every rule holds; otherwise BLOCK with every reason that applies."""
    if emergency_stop is not None:
        return DryRunResult(action, Verdict.BLOCK, None, (f"BLOCK: emergency stop engaged ({emergency_stop})",))
    if gate is not None and gate.verdict != PASS and not (gate.verdict == SEMI_MANUAL and semi_manual_approved):
        why = "semi-manual, needs a human approval of the action" if gate.verdict == SEMI_MANUAL else gate.verdict
        return DryRunResult(action, Verdict.BLOCK, None, (f"BLOCK: readiness gate not passed ({why})",))

    reasons: list[str] = []
    known = catalog.actions.get(action)
    if action not in spec.pre_approved:
        reasons.append("BLOCK: action not in pre-approved list")
    if action in catalog.forbidden:
        reasons.append(f"BLOCK: action '{action}' is forbidden by policy ({catalog.forbidden[action]})")
    if known is None and action not in catalog.forbidden:
        reasons.append(f"BLOCK: action '{action}' is not in the action catalog")
    if known is not None:
        required = list(known.preconditions)
        if action in spec.pre_approved:
            required += [r for r in spec.pre_approved[action].requires if r not in required]
        for name in required:
            if context.get(name) is not True:
                state = "unknown" if name not in context else "false"
                reasons.append(f"BLOCK: precondition '{name}' not met ({name}={state})")
        if radius_rank(known.blast_radius) > radius_rank(spec.max_blast_radius):
            reasons.append(
                f"BLOCK: radius {known.blast_radius} exceeds the spec's maximum {spec.max_blast_radius}"
            )
    radius = known.blast_radius if known else None
    return DryRunResult(action, Verdict.BLOCK if reasons else Verdict.PASS, radius, tuple(reasons))

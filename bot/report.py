"""Renderers: the same results as terminal lines, check-run / job-summary Markdown and PR bodies (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.audit import ChainView, mermaid, text_chain
from bot.dryrun import DryRunResult
from bot.readiness import CATEGORIES, GateResult
from bot.scoring import Point

# GitHub limits a check run's output.summary to 65535 characters.
SUMMARY_LIMIT = 65535


def truncate(text: str, limit: int = SUMMARY_LIMIT) -> str:
    if len(text) <= limit:
        return text
    note = "\n\n*(truncated: the full report is in the audit branch)*\n"
    return text[: limit - len(note)] + note


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def readiness_markdown(gate: GateResult, points: list[Point], chain: ChainView) -> str:
    lines = [f"### `{gate.line()}` (profile `{gate.profile}`, threshold {gate.threshold}/25)", ""]
    if gate.reasons:
        lines += ["**Blocking conditions and notes** (each independent of the total):", ""]
        lines += [f"- {r}" for r in gate.reasons] + [""]
    lines += ["| Category | Score | Evidence |", "|---|---|---|"]
    for category in CATEGORIES:
        mine = [p for p in points if p.category == category]
        detail = "<br>".join(f"{'✅' if p.earned else '❌'} {_cell(p.name)}: {_cell(p.evidence)}" for p in mine)
        lines.append(f"| {category} | {gate.scores[category]}/5 | {detail} |")
    lines += [f"| **Total** | **{gate.score}/25** | |", ""]
    lines += chain_markdown(chain)
    return truncate("\n".join(lines) + "\n")


def dry_run_markdown(result: DryRunResult, diff: str, chain: ChainView) -> str:
    lines = [f"### `{result.line()}`", ""]
    lines += [f"- {r}" for r in result.reasons] or ["- every rule holds: pre-approved, preconditions met, "
                                                     "diff equals the rendering, manifests valid"]
    lines += ["", "<details><summary>Manifest diff under deploy/</summary>", "", "```diff", diff.rstrip(), "```",
              "", "</details>", ""]
    lines += chain_markdown(chain)
    return truncate("\n".join(lines) + "\n")


def chain_markdown(chain: ChainView) -> list[str]:
    return ["**Audit chain**: " + text_chain(chain), "", "```mermaid", mermaid(chain), "```"]


def pull_body(incident_id: str, event: dict[str, Any], files: list[str], plan: dict[str, Any],
              chain: ChainView, link: Callable[[str], str] = str) -> str:
    """`link(path)`: where an artifact opens (GitHub does not rewrite relative links in a pull request's
    description, so on GitHub it is the blob at the head commit)."""
    refs = event.get("source_refs", {})
    lines = [
        f"## Incident {incident_id}", "",
        f"- **Key**: `{event.get('incident_key')}`",
        f"- **Where**: service `{event.get('service')}`, namespace `{event.get('namespace')}`, "
        f"pod `{event.get('pod')}`",
        f"- **Severity**: {event.get('severity')}; **status**: {event.get('status')}; "
        "**metric context**: "
        + (", ".join(f"{k}={v}" for k, v in sorted((event.get("metric_context") or {}).items())) or "none")
        + f" over {event.get('window_minutes')} min",
        f"- **Planned action**: `{plan.get('action')}` (radius `{plan.get('blast_radius')}`)",
        "- **Sources**: " + ", ".join(
            f"{source} {r.get('fingerprint') or r.get('incident_id')}" for source, items in sorted(refs.items())
            for r in items),
        "", "### Artifacts", "",
    ]
    lines += [f"- [`{f}`]({link(f)})" for f in files]
    lines += [
        "", "### Review checklist (part 16, team code review)", "",
        "- [ ] specify.md states WHY / WHAT / constraints and names no concrete command",
        "- [ ] plan.md picks a pre-approved action whose preconditions hold for this workload",
        "- [ ] the diff under `deploy/` touches exactly one workload, as tasks.md says",
        "- [ ] `readiness` and `dry-run` checks are green on the head commit",
        "- [ ] the rollback (git revert) is understood; the emergency stop is known",
        "",
    ]
    lines += chain_markdown(chain)
    return "\n".join(lines) + "\n"

"""Renderers: the same results as terminal lines, check-run / job-summary Markdown and PR bodies (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.render.escape import md_code, md_text
from bot.render.evidence import review_rubric
from bot.rules.audit import ChainView, mermaid, text_chain
from bot.rules.dryrun import DryRunResult
from bot.rules.readiness import CATEGORIES, GateResult
from bot.rules.scoring import Point

# GitHub limits a check run's output.summary to 65535 characters; counted here in UTF-8 bytes (never fewer
# than characters), the one place this limit is applied.
SUMMARY_LIMIT = 65535


def fit_summary(summary: str, limit: int = SUMMARY_LIMIT) -> str:
    """The summary within GitHub's limit (counted in UTF-8 bytes, which is never fewer than characters):
    cut at a line, close an open code fence, and say so."""
    data = summary.encode("utf-8")
    if len(data) <= limit:
        return summary
    note = (f"\n\n> **Truncated:** GitHub allows {limit} characters in a check summary; this one had "
            f"{len(summary)}. The full report is in the job summary and the incident's audit trace.\n")
    kept = data[: limit - len(note.encode()) - 8].decode("utf-8", errors="ignore")
    kept = kept[: kept.rfind("\n") + 1] or kept
    if kept.count("```") % 2:
        kept += "```\n"
    return kept + note


def _cell(text: str) -> str:
    """A table cell: evidence and reasons may carry text from the incident branch (file names), shown as text."""
    return md_text(text)


def readiness_markdown(gate: GateResult, points: list[Point], chain: ChainView) -> str:
    lines = [f"### `{gate.line()}` (profile `{gate.profile}`, threshold {gate.threshold}/25)", ""]
    if gate.reasons:
        lines += ["**Blocking conditions and notes** (each independent of the total):", ""]
        lines += [f"- {md_text(r)}" for r in gate.reasons] + [""]
    lines += ["| Category | Score | Evidence |", "|---|---|---|"]
    for category in CATEGORIES:
        mine = [p for p in points if p.category == category]
        detail = "<br>".join(f"{'✅' if p.earned else '❌'} {_cell(p.name)}: {_cell(p.evidence)}" for p in mine)
        lines.append(f"| {category} | {gate.scores[category]}/5 | {detail} |")
    lines += [f"| **Total** | **{gate.score}/25** | |", ""]
    lines += lost_points_markdown(points)
    lines += chain_markdown(chain)
    return fit_summary("\n".join(lines) + "\n")


# ------------------------------------------------------------------ lost points (issue 15)
# The terminal lines and the check-run table show the same list: every point the gate did not award, with
# its category and the evidence that cost it.


def lost_point_line(point: Point) -> str:
    """One stderr line per lost point, after the verdict line."""
    return f"lost 1 point: {point.category}: {point.name}: {point.evidence}"


def lost_points_markdown(points: list[Point]) -> list[str]:
    lost = [p for p in points if not p.earned]
    if not lost:
        return ["**Lost points**: none", ""]
    lines = ["**Lost points** (one line each on stderr after the verdict):", "",
             "| Category | Point | Evidence |", "|---|---|---|"]
    lines += [f"| {p.category} | {_cell(p.name)} | {_cell(p.evidence)} |" for p in lost]
    return [*lines, ""]


def dry_run_markdown(result: DryRunResult, diff: str, chain: ChainView) -> str:
    lines = [f"### `{result.line()}`", ""]
    lines += [f"- {md_text(r)}" for r in result.reasons] or ["- every rule holds: pre-approved, preconditions met, "
                                                     "diff equals the rendering, manifests valid"]
    lines += ["", "<details><summary>Manifest diff under deploy/</summary>", "", "```diff", diff.rstrip(), "```",
              "", "</details>", ""]
    lines += chain_markdown(chain)
    return fit_summary("\n".join(lines) + "\n")


def chain_markdown(chain: ChainView) -> list[str]:
    return ["**Audit chain**: " + text_chain(chain), "", "```mermaid", mermaid(chain), "```"]


# The pull request body's review section (issue 15): the rubric and the chain, always the body's last part under
# this heading, so that after each command the bot replaces just that part (bot/flows/review.py) and the part-16
# review starts from it. A heading, not an HTML comment: no line of the body starts HTML (tests/render).
REVIEW_START = "## Review: readiness rubric and audit chain (rewritten by incident-bot after each command)"


def review_markdown(rubric: list[str], chain: ChainView) -> list[str]:
    """The review section: the latest readiness run's rubric, then the audit chain with its broken arrow."""
    return [REVIEW_START, "", *rubric, *chain_markdown(chain)]


def with_review(body: str, review: list[str]) -> str:
    """`body` with its review section (from its heading to the end) replaced by `review`, appended when it has
    none. GitHub's web editor saves a description with CRLF line endings, while the API returns it exactly as
    sent (https://github.com/actions/runner/issues/1462, https://github.com/Mergifyio/mergify/pull/3822): compared
    and written with LF, so a person's edit of the description does not make every later command write it again."""
    text = body.replace("\r\n", "\n")
    start = text.find(REVIEW_START)
    kept = (text[:start] if start != -1 else text).rstrip("\n")
    return (kept + "\n\n" if kept else "") + "\n".join(review) + "\n"


def pull_title(incident_id: str, event: dict[str, Any]) -> str:
    """The pull request's title; GitHub renders code spans in titles, so the alert's service is one."""
    return f"{incident_id}: {event['type']} on {md_code(event['service'])}"


def pull_body(incident_id: str, event: dict[str, Any], files: list[str], plan: dict[str, Any],
              chain: ChainView, link: Callable[[str], str] = str) -> str:
    """`link(path)`: where an artifact opens (GitHub does not rewrite relative links in a pull request's
    description, so on GitHub it is the blob at the head commit)."""
    # Every value taken from an alert is shown as text (bot/render/escape.py): an inline code span each.
    refs = event.get("source_refs", {})
    lines = [
        f"## Incident {incident_id}", "",
        f"- **Key**: {md_code(event.get('incident_key'))}",
        f"- **Where**: service {md_code(event.get('service'))}, namespace {md_code(event.get('namespace'))}, "
        f"pod {md_code(event.get('pod'))}",
        f"- **Severity**: {md_code(event.get('severity'))}; **status**: {md_code(event.get('status'))}; "
        "**metric context**: "
        + (", ".join(md_code(f"{k}={v}") for k, v in sorted((event.get("metric_context") or {}).items())) or "none")
        + f" over {md_code(event.get('window_minutes'))} min",
        f"- **Planned action**: {md_code(plan.get('action'))} (radius {md_code(plan.get('blast_radius'))})",
        "- **Sources**: " + ", ".join(
            f"{md_code(source)} {md_code(r.get('fingerprint') or r.get('incident_id'))}"
            for source, items in sorted(refs.items()) for r in items),
        "", "### Artifacts", "",
    ]
    lines += [f"- [{md_code(f)}]({link(f)})" for f in files]
    lines += [
        "", "### Review checklist (part 16, team code review)", "",
        "- [ ] specify.md states WHY / WHAT / constraints and names no concrete command",
        "- [ ] plan.md picks a pre-approved action whose preconditions hold for this workload",
        "- [ ] the diff under `deploy/` touches exactly one workload, as tasks.md says",
        "- [ ] `readiness` and `dry-run` checks are green on the head commit",
        "- [ ] the rollback (git revert) is understood; the emergency stop is known",
        "",
    ]
    lines += review_markdown(review_rubric(incident_id, [], None), chain)
    return "\n".join(lines) + "\n"

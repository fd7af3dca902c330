"""The evidence package for team review (issue 15, the chapter's exercises 4 and 5): `readiness.md` and
`validation.md`, rendered from the audit trace and the artifacts it records (pure).

Nothing here reads a clock, a conversation or the forge: the same trace gives the same bytes. Every line
points at an audit entry, a commit, a file or a command with its exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.render.escape import md_text
from bot.rules.audit import COMMAND, AuditEntry
from bot.rules.criteria import Criterion
from bot.rules.readiness import CATEGORIES
from bot.rules.remedies import Change, Context, for_blocker, for_point
from bot.rules.scoring import Point

# Steps whose latest refusal or block is a standing blocker until a later ok entry of the same step.
GATED_STEPS = ("readiness", "dry_run", "review", "merge")


@dataclass(frozen=True)
class PostEvidence:
    """One recorded resolved alert (a file the validate entry stored)."""

    file: str
    source: str
    status: str
    ended_at: str | None
    metric_context: dict[str, Any]
    window_minutes: int | None


@dataclass(frozen=True)
class Package:
    incident_id: str
    entries: list[AuditEntry]
    integrity: tuple[str, ...]   # problems; empty = the chain verifies
    context: Context
    tasks: list[dict[str, Any]] = field(default_factory=list)     # tasks.md at the latest readiness commit
    windows: int | None = None                                    # tasks.md validation.windows
    post: list[PostEvidence] = field(default_factory=list)
    judged: str | None = None        # the commit the latest readiness run judged (tasks.md is read there)
    criteria: list[Criterion] = field(default_factory=list)  # specify.md's Given/When/Then at that commit


def _short(sha: object) -> str:
    return str(sha)[:12] if isinstance(sha, str) and sha else "-"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _latest(entries: list[AuditEntry], step: str) -> AuditEntry | None:
    found = [e for e in entries if e.step == step and not e.evidence.get("rollback")]
    return found[-1] if found else None


def points_of(entry: AuditEntry) -> list[Point]:
    return [Point(str(c), str(n), bool(ok), str(ev)) for c, n, ok, ev in entry.evidence.get("points", [])]


def blockers(entries: list[AuditEntry]) -> list[tuple[AuditEntry, str]]:
    """Every standing blocker: the reasons of the latest readiness BLOCK, dry-run BLOCK and refused step."""
    out: list[tuple[AuditEntry, str]] = []
    for step in GATED_STEPS:
        latest = _latest(entries, step)
        if latest is None or latest.status == "ok":
            continue
        out += [(latest, str(r)) for r in latest.evidence.get("reasons", [])]
    return out


def changes(p: Package) -> list[Change]:
    ready = _latest(p.entries, "readiness")
    rows: list[Change] = []
    if ready is not None:
        for point in points_of(ready):
            if not point.earned:
                rows += for_point(point, p.context)
    for _, reason in blockers(p.entries):
        rows += for_blocker(reason, p.context)
    return list(dict.fromkeys(rows))


def task_verified(p: Package, task: dict[str, Any]) -> dict[str, object]:
    """The chapter's per-task `dry_run_verified`, from the trace: a task that changes state (a radius other than
    none) is verified by a dry-run that passed on the commit the latest readiness run judged, the commit whose
    tasks.md lists it (the chapter's lost implementation point: a state-changing branch without its own dry-run)."""
    if str(task.get("radius")) == "none":
        return {"dry_run_verified": "not a state change (radius none)"}
    passed = [e for e in p.entries if e.step == "dry_run" and e.status == "ok" and not e.evidence.get("rollback")
              and p.judged is not None and e.evidence.get("commit") == p.judged]
    if passed:
        return {"dry_run_verified": True, "by": f"entry {passed[0].seq}: dry-run {passed[0].evidence.get('verdict')} "
                                                 f"at commit {_short(p.judged)}"}
    return {"dry_run_verified": False, "by": f"no dry-run passed at commit {_short(p.judged)} (the commit the latest "
                                              "readiness run judged)"}


def _yaml_block(p: Package) -> list[str]:
    runs = [f"entry {e.seq}: {e.evidence.get('verdict')} score={e.evidence.get('score')}/25 at commit "
            f"{_short(e.evidence.get('commit'))} (base {_short(e.evidence.get('base'))}, profile "
            f"{e.evidence.get('profile')}, file {e.evidence.get('file')})"
            for e in p.entries if e.step == "readiness" and not e.evidence.get("rollback")]
    blocked = [f"{reason} (entry {e.seq}, {e.step} at commit {_short(e.evidence.get('commit'))})"
               for e, reason in blockers(p.entries)]
    dry = [f"entry {e.seq}: "
           + (f"{e.evidence.get('action')} {e.evidence.get('verdict')}" if e.evidence.get("verdict") else e.status)
           + f" at commit {_short(e.evidence.get('commit'))}"
           + (f": {'; '.join(map(str, e.evidence.get('reasons', [])))}" if e.evidence.get("reasons") else "")
           for e in p.entries if e.step == "dry_run" and not e.evidence.get("rollback")]
    tasks = [{"task": str(t.get("id")), "step": str(t.get("step")), "radius": str(t.get("radius")),
              **task_verified(p, t)} for t in p.tasks]
    data = {"readiness": {"incident_id": p.incident_id, "runs": runs, "blockers": blocked, "dry_run": dry,
                          "tasks": tasks}}
    return ["```yaml", yaml.safe_dump(data, sort_keys=False, width=1000, allow_unicode=True).rstrip(), "```"]


def readiness_md(p: Package) -> str:
    head = p.entries[-1].hash[:16] if p.entries else "-"
    lines = [f"# Readiness evidence: {p.incident_id}", "",
             f"From the audit trace on `audit/{p.incident_id}` (entries 1-{len(p.entries)}, last hash `{head}`, "
             + ("integrity intact" if not p.integrity else "integrity BROKEN: " + "; ".join(p.integrity))
             + ") and the artifacts it records. Each line names an audit entry, a commit, a file or a command.", ""]
    lines += _yaml_block(p) + [""]
    ready = _latest(p.entries, "readiness")
    if ready is None:
        lines += ["## Rubric", "", "No readiness run is recorded: run `incident-bot check readiness "
                  f"{p.incident_id}`.", ""]
    else:
        lines += rubric_table(ready)
    found = blockers(p.entries)
    lines += ["## Blocking conditions", ""]
    lines += [f"- {_cell(reason)} (entry {e.seq}, {e.step} at commit {_short(e.evidence.get('commit'))})"
              for e, reason in found] or ["- none"]
    lines += ["", "## What to change", ""]
    rows = changes(p)
    if rows:
        lines += ["| Lost point or blocker | File | Field | Value |", "|---|---|---|---|"]
        lines += [f"| {_cell(c.lost)} | `{_cell(c.file)}` | {_cell(c.field)} | {_cell(c.value)} |" for c in rows]
    else:
        lines += ["Nothing: every point is earned and no blocker stands."]
    return "\n".join(lines) + "\n"


def rubric_table(ready: AuditEntry, cell: Callable[[object], str] = _cell) -> list[str]:
    """The chapter's table: category | score | artifact-evidence | reason for reduction, then the total.
    `cell`: how a cell's text is escaped (the pull request body shows every character as text: md_text)."""
    points = points_of(ready)
    scores: dict[str, int] = dict(ready.evidence.get("scores") or {})
    lines = [f"## Rubric (entry {ready.seq}: readiness at commit {_short(ready.evidence.get('commit'))})", "",
             "| Category | Score | Artifact-evidence | Reason for reduction |", "|---|---|---|---|"]
    for category in CATEGORIES:
        mine = [p for p in points if p.category == category]
        earned = scores.get(category, sum(1 for p in mine if p.earned))
        good = "; ".join(f"{p.name}: {p.evidence}" for p in mine if p.earned) or "-"
        bad = "; ".join(f"{p.name}: {p.evidence}" for p in mine if not p.earned)
        if earned < sum(1 for p in mine if p.earned):
            bad = "; ".join(x for x in (bad, "capped by a blocking condition") if x)
        lines.append(f"| {category} | {earned} | {cell(good)} | {cell(bad or 'None')} |")
    reasons = [str(r) for r in ready.evidence.get("reasons", [])]
    blocking = "; ".join(reasons) if ready.evidence.get("verdict") == "BLOCK" else "none"
    change = "see *What to change*" if any(not p.earned for p in points) or blocking != "none" else "none"
    lines += [f"| Total | {ready.evidence.get('score')}/25 | Blocking: {cell(blocking)} | What to change: {change} |",
              ""]
    return lines


def review_rubric(incident_id: str, entries: list[AuditEntry], head: str | None) -> list[str]:
    """The pull request's rubric: the latest readiness run's table (saying so when it judged an earlier head),
    and where the package for review is."""
    ready = _latest(entries, "readiness")
    if ready is None:
        return ["### Readiness rubric", "", "Shown here once the head's checks have run (`incident-bot check readiness "
                f"{incident_id}`, then `incident-bot check dry-run {incident_id}`); until then, see the checks.", ""]
    table = rubric_table(ready, md_text)
    lines = ["### " + table[0].removeprefix("## "), *table[1:]]
    judged = ready.evidence.get("commit")
    if head is not None and judged != head:
        lines += [f"This run judged `{_short(judged)}`; the head is now `{_short(head)}`: the checks run again on it.",
                  ""]
    return [*lines, f"The package for review: `incident-bot evidence {incident_id}` (`readiness.md`: what to change "
            "for every lost point and blocker; `validation.md`: the commands run, with their exit codes).", ""]


def validation_md(p: Package) -> str:
    commands = [e for e in p.entries if e.step == COMMAND]
    lines = [f"# Validation: {p.incident_id}", "",
             "Commands actually executed for this incident, in the order its audit trace records them. Each ran "
             "in this repository against the listed commit of the incident branch and base of the default "
             "branch; `--repo` is left out and secrets are removed.", ""]
    if commands:
        lines += ["| Entry | Time (UTC) | Command | Exit code | Verdict | Commit | Base |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {e.seq} | {e.at} | `{_cell(e.evidence.get('command'))}` | {e.evidence.get('exit_code')} | "
                  f"{_cell(e.evidence.get('verdict'))} | {_short(e.evidence.get('head'))} | "
                  f"{_short(e.evidence.get('base'))} |" for e in commands]
    else:
        lines += ["No command is recorded for this incident."]
    lines += ["", "## Post-remediation evidence", ""]
    want = f"{p.windows} windows" if p.windows else "no windows"
    lines += [f"- tasks.md asks for: metric below the threshold in {want} and the resolved alert."]
    validated = [e for e in p.entries if e.step == "validate"]
    lines += [_sync_line(e) for e in p.entries if e.step == "sync" and not e.evidence.get("rollback")]
    for post in p.post:
        context = ", ".join(f"{k}={v}" for k, v in sorted(post.metric_context.items())) or "none"
        window = f"{post.window_minutes} min" if post.window_minutes else "not stated"
        lines.append(f"- `{post.file}`: {post.source} alert {post.status}"
                     + (f" at {post.ended_at}" if post.ended_at else "")
                     + f"; metric context {context} over a window of {window}")
    if not validated:
        lines += ["- Recorded: no `validate` entry yet (the alert has not resolved)."]
    for e in validated:
        lines.append(f"- entry {e.seq} (validate, {e.at}): {e.evidence.get('note')}; files: "
                     + ", ".join(f"`{f}`" for f in e.evidence.get("files", [])))
    if p.windows and validated:
        seen = len(p.post)
        if seen < p.windows:
            lines.append(f"- Windows: {seen} of {p.windows} recorded (the firing event and each resolved alert); "
                         "the others are not in the record.")
    return "\n".join(lines + _criteria_lines(p, validated)) + "\n"


def _criteria_lines(p: Package, validated: list[AuditEntry]) -> list[str]:
    """The spec's Given/When/Then criteria the validate step checked against the post-remediation evidence."""
    after = [c for c in p.criteria if c.after_remediation]
    lines = ["", "## Acceptance criteria checked after the remediation", "",
             f"- `incidents/{p.incident_id}/specify.md` at commit {_short(p.judged)}: {len(p.criteria)} "
             f"Given/When/Then criteria, {len(after)} on the state after the remediation (the validate step checks "
             "those against the post-remediation evidence; the others are shown by the steps before the merge, "
             "above)."]
    checks = [(e, c) for e in validated for c in e.evidence.get("criteria", []) if isinstance(c, dict)]
    for e, c in checks:
        lines.append(f"- entry {e.seq} (validate): {'met' if c.get('met') else 'NOT met'}: "
                     f"{_cell(c.get('criterion'))}: {_cell(c.get('evidence'))}")
    if not checks:
        lines.append("- Checked: none yet (no `validate` entry checked a criterion)." if after else
                     "- Checked: none (no criterion is about the state after the remediation).")
    return lines


def _sync_line(e: AuditEntry) -> str:
    """A sync as the trace holds it: what Argo CD reported (bot/rules/sync.py), or that nothing observed it."""
    observed = e.evidence.get("observed")
    if not isinstance(observed, dict):
        return (f"- entry {e.seq} (sync {e.status}, {e.at}): merge {_short(e.evidence.get('revision'))} for "
                f"Application {e.evidence.get('argocd_application')}: not observed")
    finished = f", finished {observed.get('finished_at')}" if observed.get("finished_at") else ""
    return (f"- entry {e.seq} (sync {e.status}, {e.at}): Argo CD ({observed.get('source')}) reported Application "
            f"{observed.get('application')} {observed.get('sync_status')}, health {observed.get('health_status')}, "
            f"operation {observed.get('operation_phase') or 'none'} at {_short(observed.get('revision'))}{finished}; "
            f"merge {_short(e.evidence.get('revision'))}")

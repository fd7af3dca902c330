"""What to change for every lost readiness point and every blocker: a file, a field and a value (pure).

The evidence package (issue 15) never says "improve the process": each row names where the fix goes. The
incident's own files under `incidents/<id>/` are derived by the bot, so a fix to them is a fix to what they
are derived from (the spec and policies on main, `deploy/`), or dropping the commit that edited them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from string import Formatter

from bot.rules.lifecycle import FACTS
from bot.rules.scoring import Point

FILE = re.compile(r"((?:incidents|deploy|policies|specs|\.github)/[\w./@-]+)")
COMMIT = re.compile(r"\b([0-9a-f]{12,40})\b")


@dataclass(frozen=True)
class Context:
    """What the trace and the recorded artifacts say about the incident (plain data)."""

    incident_id: str
    spec: str                   # specs/<type>/specify.md on main
    action: str | None          # the derived plan's action
    workload: str               # deploy/... file of the workload
    workload_name: str
    namespace: str
    profile: str = "default"


@dataclass(frozen=True)
class Change:
    lost: str    # the point or blocker this recovers
    file: str
    field: str
    value: str


def _files(text: str) -> list[str]:
    return list(dict.fromkeys(m.removesuffix(".") for m in FILE.findall(text)))  # a path ending a sentence


def _drop_edit(lost: str, text: str, c: Context) -> list[Change]:
    """A file on the incident branch that differs from what the bot derives: the fix is main's (or the bot's)
    content for exactly that file."""
    files = _files(text) or [f"incidents/{c.incident_id}/"]
    return [Change(lost, f, "the whole file", f"the content the bot derives (drop the incident branch's edit of {f}; "
                   f"`incident-bot refresh {c.incident_id}` rebuilds the bot's commits)") for f in files]


def _drop_commits(lost: str, text: str, c: Context) -> list[Change]:
    commits = COMMIT.findall(text)
    if not commits:
        return []
    return [Change(lost, f"incident/{c.incident_id} (branch)", f"commit {sha[:12]}",
                   "absent: the branch holds only the bot's sealed phase commits (revert or drop it, then "
                   f"`incident-bot check readiness {c.incident_id}`)") for sha in commits]


def _choose(lost: str, c: Context) -> Change:
    """No action is planned (or none that holds): the spec must offer one the bot can plan."""
    return Change(lost, c.spec, "pre_approved_actions", "an action of policies/actions.yaml whose preconditions "
                  f"hold for {c.workload} (restart_pod needs none)")


def for_point(p: Point, c: Context) -> list[Change]:
    """The change that earns point `p` back."""
    lost = f"{p.category}: {p.name}"
    spec, action = c.spec, c.action
    sections = {"WHY": ("## WHY", "a paragraph on who is hurt and how (impact, not a command)"),
                "WHAT": ("## WHAT", "the outcome to reach, in terms of the alert's metric"),
                "constraints": ("## Constraints", "bullets for blast radius, stateful workloads, idempotency, "
                                "rollback and the emergency stop")}
    name = p.name
    if name == "specify instantiated":
        return [Change(lost, "policies/incident_types.yaml", "types.<type>.spec", f"{spec} (a spec on main)")]
    if name in sections:
        field, value = sections[name]
        return [Change(lost, spec, field, value)]
    if name in ("acceptance, no command", "acceptance criteria"):
        if "concrete command" in p.evidence:  # bot/rules/spec.py command_findings
            return [Change(lost, spec, "the line the finding names", "the outcome in words (no kubectl, helm, "
                           "curl or API verb): " + p.evidence)]
        if name == "acceptance criteria":
            return [Change(lost, spec, "## Acceptance (Given / When / Then)", "a criterion on the state after the "
                           "remediation, e.g. `Given the remediation is merged, When the alert resolves, Then the "
                           "resolved alert is recorded` (the validate step checks it against the resolved alert)")]
        return [Change(lost, spec, "## Acceptance (Given / When / Then)",
                       "one `Given ... When ... Then ...` criterion per outcome the validate step checks")]
    if name in ("strategy chosen", "preconditions hold", "idempotent tasks", "radius stated"):
        # only an autoscaler missing: add one (a stateful workload is never scaled, whatever governs it)
        if name == "preconditions hold" and "hpa_enabled" in p.evidence and "stateless" not in p.evidence:
            return [Change(lost, f"deploy/{c.namespace}/hpa.yaml", "spec.scaleTargetRef.name",
                           f"{c.workload_name} (an HPA governs the workload)")]
        if name == "radius stated" and action:
            return [Change(lost, "policies/actions.yaml", f"actions.{action}.blast_radius", "pod | deployment | "
                           "namespace (the action's honest radius)")]
        return [_choose(lost, c)]
    if name == "change equals rendering":
        return _drop_edit(lost, p.evidence, c) if _files(p.evidence) else [
            Change(lost, spec, "pre_approved_actions", "an action the bot can render for the workload")]
    if name == "manifests valid":
        return [Change(lost, f, "the field the Kubernetes schema names: " + p.evidence, "a value the schema accepts")
                for f in _files(p.evidence) or [c.workload]]
    if name in ("event valid", "event replayable"):
        return [Change(lost, f"incidents/{c.incident_id}/event.json", "the whole file", "what `incident-bot open` "
                       f"derives from incidents/{c.incident_id}/sources/ (drop the branch's edit)")]
    if name == "validation plan":
        return [Change(lost, f"incidents/{c.incident_id}/tasks.md", "validation", "{windows: 2, evidence: resolved "
                       "alert} (derived by `open` once the plan has an action)")]
    if name == "branch and trailers" and " is not incident/" in p.evidence:
        return [Change(lost, "pull request", "head branch", f"incident/{c.incident_id}")]
    if name in ("branch and trailers", "audit complete"):
        missing_steps = re.findall(r"step (\w+)", p.evidence)
        out = _drop_commits(lost, p.evidence, c)
        out += [Change(lost, f"audit/{c.incident_id} (branch)", f"step {s}", "an ok entry (run the command that "
                       "records it: `incident-bot open` with the recorded sources)") for s in missing_steps]
        return out  # scoring names every commit and step it misses (bot/rules/audit.py coverage)
    if name == "replay from git":
        # the trace is append-only: an entry that does not replay stays; what changes is the input it lacks
        out = []
        for seq, step, problem in re.findall(r"entry (\d+) \((\w+)[^)]*\)(?::| records) ([^;]*)", p.evidence):
            value = ("evidence.commit and evidence.base, which only the bot's `check readiness` and `check dry-run` "
                     "write" if "no commit or base" in problem else "what `incident-bot replay "
                     f"{c.incident_id}` gives at the recorded commit and base: put the input it differs by (the "
                     "bot's version, its seal key, main's history) back as it was")
            out.append(Change(lost, f"audit/{c.incident_id} (branch)", f"entry {seq} ({step})", value))
        return out or [Change(lost, f"audit/{c.incident_id} (branch)", "the entries `incident-bot replay "
                              f"{c.incident_id}` names", "their recorded commit and base, as git still holds them")]
    if name == "pull request":
        return [Change(lost, f"pull request of incident/{c.incident_id}", "body", "the body the bot writes, linking "
                       f"every artifact (`incident-bot refresh {c.incident_id}` or re-run `open`)")]
    if name == "audit intact":
        return [Change(lost, f"audit/{c.incident_id}:incidents/{c.incident_id}/audit.jsonl", "the entries named: "
                       + p.evidence, "the entries the Audit-Hash trailers of the audit branch history record")]
    if p.evidence.startswith("forbidden action"):
        return [Change(lost, f"incidents/{c.incident_id}/plan.md", "action", "the action the bot derives (a "
                       "pre-approved, non-forbidden one; drop the branch's edit)")]
    if action is None and name in ("action allowed", "rollback"):
        return [_choose(lost, c)]
    if name == "action allowed":
        return [Change(lost, spec, "pre_approved_actions", f"{action} within max_blast_radius")]
    if name == "rollback":
        return [Change(lost, "policies/actions.yaml", f"actions.{action}.rollback",
                       f"git revert of the {action} commit; Argo CD syncs the previous state")]
    if name == "no personal data":
        return [Change(lost, f, "the personal field", "[REDACTED] (deliver the alert again through `incident-bot "
                       "open`, which redacts)") for f in _files(p.evidence)]
    if name == "human review":
        return [Change(lost, ".github/CODEOWNERS", "deploy/", "@<human team or person> (never the bot)")]
    if name == "no self-granted permissions":
        return [Change(lost, f, "the whole file", "main's content (change policies/, specs/ and .github/ in their "
                       "own pull request to main)") for f in _files(p.evidence)]
    return [Change(lost, "?", p.name, p.evidence)]


def _template(message: str) -> re.Pattern[str]:
    """A lifecycle refusal message (`FACTS`) as a pattern whose groups are its fields, ending where the refusal
    does or where `lifecycle.require` joins the next message ("; ")."""
    out = ""
    for literal, field, _spec, conversion in Formatter().parse(message):
        group = f"(?P<{field}>.+?)" if field is not None else ""
        out += re.escape(literal) + (f"'{group}'" if conversion == "r" else group)  # {x!r}: the value quoted
    return re.compile(out + r"(?=; |\Z)")


def refusals() -> dict[str, re.Pattern[str]]:
    """Each lifecycle fact's refusal, recognised from the lifecycle table's own messages (one authority; `re`
    caches the compiled patterns)."""
    return {fact: _template(message) for fact, message in FACTS.items()}

REFUSED = re.compile(r"([a-z][a-z -]*) refused: (.+)")


def messages(text: str) -> list[tuple[str | None, dict[str, str]]]:
    """The messages a refusal joined (a message may hold "; " itself): (fact, its fields), or (None, {"text": the
    message}) for one that is not a lifecycle fact's."""
    out: list[tuple[str | None, dict[str, str]]] = []
    rest = text
    while rest:
        found = next(((f, m) for f, p in refusals().items() if (m := p.match(rest))), None)
        if found is None:
            message, _, rest = rest.partition("; ")
            out.append((None, {"text": message}))
            continue
        out.append((found[0], found[1].groupdict()))
        rest = rest[found[1].end():].removeprefix("; ")
    return out


def _approve(c: Context, extra: str = "") -> str:
    return f"`incident-bot approve {c.incident_id} --reviewer @<owner>{extra}`"


def for_fact(lost: str, fact: str, fields: dict[str, str], c: Context) -> list[Change]:
    """The change that makes one lifecycle fact (bot/rules/lifecycle.py FACTS) hold."""
    pull, trace = f"pull request of incident/{c.incident_id}", f"audit/{c.incident_id} (branch)"
    fields = defaultdict(str, fields)  # every fact's row is built; each message has only its own fields
    action = fields.get("planned") or c.action
    owner_review = Change(lost, pull, "review of the head commit", "APPROVED by a code owner of deploy/ in "
                          f".github/CODEOWNERS ({_approve(c)})")
    action_review = Change(lost, pull, "review of the head commit", f"APPROVED with `Approves-Action: {action}` by "
                           f"a code owner ({_approve(c, f' --action {action}')})") if action else _choose(lost, c)
    checks = Change(lost, f"readiness and dry-run checks of incident/{c.incident_id}", "head and base", "the head "
                    f"and main's current head (`incident-bot check readiness {c.incident_id}`, then `incident-bot "
                    f"check dry-run {c.incident_id}`)")
    rows = {
        "not_resolved_unremediated": [Change(lost, trace, "step resolve", "none to change: the alerts resolved "
                                             "before a remediation merged, and a recurrence opens a new incident "
                                             "(`incident-bot open` with its alerts)")],
        "pull_open": [Change(lost, pull, "state", f"open (`incident-bot open` with the recorded sources of "
                             f"incidents/{c.incident_id}/sources/ reopens it)")],
        "pull_merged": [Change(lost, pull, "state", f"merged (a rollback reverts a merged remediation only: "
                               f"`incident-bot merge {c.incident_id}` first)")],
        "gate_allows_dry_run": [Change(lost, f"readiness check on commit {fields['head']}" if "head" in fields
                                       else "readiness check on the head commit",
                                       "conclusion", f"success (`incident-bot check readiness {c.incident_id}` on "
                                       "the current head)")],
        "dry_run_success_on_head": [Change(lost, "dry-run check on the head commit", "conclusion",
                                           f"success (`incident-bot check dry-run {c.incident_id}`)")],
        "code_owner_approved_on_head": [owner_review],
        "review_traced_on_head": [owner_review],
        "action_approved_if_semi_manual": [action_review],
        "action_approval_traced_if_semi_manual": [action_review],
        "approved_action_is_planned": [action_review],
        "emergency_stop_lifted": [Change(lost, "policies/emergency_stop.yaml", "engaged",
                                         "false (merged to main when the freeze ends)")],
        "reviewer_is_human": [owner_review],
        "reviewer_is_a_person": [Change(lost, pull, "reviewer", f"a person who is a member of {fields['reviewer']}"
                                        f" and a code owner ({_approve(c)})")],
        "reviewer_is_code_owner": [Change(lost, ".github/CODEOWNERS", fields["not_owned"],
                                          "the reviewer, or a review by an owner listed there")],
        "trace_verified": [Change(lost, trace, f"the entries `incident-bot audit verify {c.incident_id}` names",
                                  "the entries the Audit-Hash trailers of the audit branch history record")],
        "checks_traced_on_head": [checks],
        "main_unmoved_since_checks": [checks],
        "head_contains_main": [Change(lost, f"incident/{c.incident_id} (branch)", "base", "main's current head "
                                      f"(`incident-bot refresh {c.incident_id}`, then the checks again)")],
    }
    return rows[fact]


def for_refusal(lost: str, fact: str | None, fields: dict[str, str], c: Context) -> list[Change]:
    """One message of a refused step: a lifecycle fact's, or the flow's own."""
    if fact is not None:
        return for_fact(lost, fact, fields, c)
    message = fields["text"]
    if " says merged as " in message:  # the pull request's merge commit is not on main (bot/flows/merge.py)
        return [Change(lost, "main (branch)", "history", "the merge commit the pull request records (main is "
                       "restored by whoever moved it; the bot never rewrites main)")]
    return [Change(lost, "?", "?", message)]


def for_blocker(reason: str, c: Context) -> list[Change]:
    """The change that lifts one blocking condition (readiness reasons, dry-run reasons, refused steps)."""
    lost = f"blocker: {reason}"
    text = reason.removeprefix("BLOCK: ")
    refused = REFUSED.fullmatch(text)
    if refused:
        # one change can lift two messages (the forge's missing approval and the trace's): listed once
        return list(dict.fromkeys(row for fact, fields in messages(refused.group(2))
                                  for row in for_refusal(lost, fact, fields, c)))
    if text.startswith("audit_trace_coverage="):
        return [Change(lost, f"incident/{c.incident_id} (branch)", "the commits and steps the `process: audit "
                       "complete` row names", "absent commits dropped, each step recorded (rows above)")]
    if text == "stateful workload without verified backup":
        return [Change(lost, c.workload, 'metadata.annotations."incident-bot.dev/backup-verified"',
                       "the RFC 3339 time of the last verified restore test, at most 24 h before the alert fired "
                       "(policies/actions.yaml evidence.backup_verified.max_age_hours)")]
    if text.startswith("security=0"):
        return [Change(lost, f"incidents/{c.incident_id}/plan.md", "action",
                       "the action the bot derives (never one listed under `forbidden:` in policies/actions.yaml)")]
    if "(no radius_of_impact)" in text:
        return [Change(lost, "policies/actions.yaml", f"actions.{c.action}.blast_radius",
                       "pod | deployment | namespace (the action's honest radius)") if c.action else _choose(lost, c)]
    if text.startswith("implementation<=2"):
        return [Change(lost, "policies/readiness.yaml", f"profiles.{c.profile}.max_radius",
                       "the action's radius, or a verified dry-run first (`dry_run_verified: true` on the task)")]
    if text.startswith(("score=", "verification=", "security=")):
        return []  # recovered by the lost points' own changes (listed above)
    # the dry-run's reasons (bot/rules/dryrun.py)
    found = DRY_RUN.fullmatch(text)
    if found:
        return for_dry_run(lost, str(found.lastgroup), found.groupdict(), c)
    if text.endswith("a human decides"):  # a repeated failure or an unverified past trace (bot/rules/recurrence.py)
        return [for_fact(lost, "action_approved_if_semi_manual", {}, c)[0]]
    if _files(text):
        return _drop_edit(lost, text, c)
    return [Change(lost, "?", "?", text)]


DRY_RUN = re.compile(
    r"(?P<emergency_stop>emergency stop engaged \((?P<stop>.+)\))"
    r"|(?P<gate>readiness gate not passed \((?P<why>.+)\))"
    r"|(?P<not_pre_approved>action not in pre-approved list)"
    r"|(?P<forbidden>action '(?P<forbidden_action>.+)' is forbidden by policy \((?P<because>.+)\))"
    r"|(?P<not_in_catalog>action '(?P<unknown_action>.+)' is not in the action catalog)"
    r"|(?P<precondition>precondition '(?P<name>.+)' not met \((?P<state>.+)\))"
    r"|(?P<radius>radius (?P<radius_of>\S+) exceeds the spec's maximum (?P<maximum>\S+))")


def for_dry_run(lost: str, rule: str, fields: dict[str, str], c: Context) -> list[Change]:
    """The change that lifts one dry-run reason (bot/rules/dryrun.py)."""
    if rule == "emergency_stop":
        return for_fact(lost, "emergency_stop_lifted", {}, c)
    if rule == "gate":
        return for_fact(lost, "gate_allows_dry_run", {}, c)
    if rule == "not_pre_approved":
        return [Change(lost, c.spec, "pre_approved_actions", f"{c.action} (the plan's action), or a plan choosing one "
                       "the spec lists") if c.action else _choose(lost, c)]
    if rule == "forbidden":
        return [Change(lost, c.spec, "pre_approved_actions", f"without {fields['forbidden_action']} (forbidden: "
                       f"{fields['because']}); the bot then derives a pre-approved action")]
    if rule == "not_in_catalog":
        return [Change(lost, "policies/actions.yaml", "actions", f"an entry {fields['unknown_action']}: (description, "
                       "blast_radius, preconditions, rollback, renders), or a spec without the action")]
    if rule == "precondition":
        if fields["name"] == "hpa_enabled":
            return [Change(lost, f"deploy/{c.namespace}/hpa.yaml", "spec.scaleTargetRef.name",
                           f"{c.workload_name} (an HPA governs the workload)")]
        return [Change(lost, c.spec, "pre_approved_actions", f"an action whose preconditions hold for {c.workload} "
                       f"({fields['state']} now; restart_pod needs none)")]
    return [Change(lost, c.spec, "max_blast_radius", f"{fields['radius_of']} if the spec's constraints allow it, or "
                   f"an action within {fields['maximum']}")]

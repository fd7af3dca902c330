"""What the bot itself derives for an incident from trusted inputs only: the recorded sources, the
default branch's desired state (`deploy/`), the spec and the policy. `open` writes exactly this; the
checks compare the incident branch with it, so whatever the branch says about itself is a claim to
check, never an input to a verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.config.loader import canonical_json, parse_json
from bot.config.policy import Policy
from bot.desired_state import renderers, workloads
from bot.errors import InputError, RuleRefusal
from bot.flows.workspace import Workspace
from bot.intake.renormalize import Target, renormalize
from bot.model.ids import incident_dir
from bot.model.values import Plan
from bot.render import artifacts


@dataclass(frozen=True)
class Derivation:
    """The incident's files as the bot renders them, and the planned change to deploy/."""

    event: dict[str, Any]
    files: dict[str, str]  # incidents/<id>/{event.json, specify.md, plan.md, tasks.md}
    rendered: dict[str, str]  # deploy/ path -> new text
    plan: Plan
    plan_text: str
    workload: dict[str, Any] = field(default_factory=dict)


def derive(ws: Workspace, policy: Policy, incident_id: str, event: dict[str, Any]) -> Derivation:
    """The specify / plan / tasks / implement files for `event` on the default branch's desired state."""
    d = incident_dir(incident_id)
    itype = policy.incident_types.types[event["type"]]
    spec = ws.spec(itype.spec)
    deploy = ws.deploy()
    workload: dict[str, Any] = {}
    rendered: dict[str, str] = {}
    try:
        found = workloads.find_workload(deploy, event["namespace"], event["pod"], event["service"])
        max_age = policy.catalog.backup_max_age_hours
        facts = workloads.preconditions(deploy, found, as_of=event["started_at"], max_age_hours=max_age)
        # the restore test must be recent both when the alert fired and now (the bot's own clock: a
        # January alert with a January restore test does not pass in December)
        now = workloads.preconditions(deploy, found, as_of=ws.clock(), max_age_hours=max_age)
        facts["backup_verified"] = facts["backup_verified"] and now["backup_verified"]
        workload = {"kind": found.kind, "name": found.name, "namespace": found.namespace, "path": found.path}
        choice = artifacts.choose(spec, policy.catalog, facts)
        if choice.action is not None:
            rendered = renderers.render(deploy, found, choice.action.renders, incident_id)
    except RuleRefusal as exc:
        choice = artifacts.PlanChoice(None, {}, {"(workload)": [str(exc)]})
    plan_text = artifacts.render_plan(incident_id, choice, workload)
    files = {
        f"{d}/event.json": canonical_json(event),
        f"{d}/specify.md": artifacts.render_specify(event, spec, itype.spec),
        f"{d}/plan.md": plan_text,
        f"{d}/tasks.md": artifacts.render_tasks(incident_id, choice, sorted(rendered)),
    }
    return Derivation(event, files, rendered, Plan.from_text(plan_text, f"{d}/plan.md"), plan_text, workload)


def target(ws: Workspace) -> Target:
    """An event's remediation target (`Kind/namespace/name`) through the default branch's deploy/, None when
    no single workload owns it: what makes alerts of different pods one incident."""
    if "target" not in ws._cache:
        of = workloads.targets(ws.deploy())
        ws._cache["target"] = lambda event: of(event.get("namespace"), event.get("pod"), event.get("service"))
    found: Target = ws._cache["target"]
    return found


def renormalized(ws: Workspace, sources: dict[str, str], incident_id: str, key: str) -> dict[str, Any] | None:
    """The incident's event from its recorded sources, its alerts joined by main's remediation targets."""
    return renormalize(sources, ws.policy(), incident_id, key, target(ws))


def recorded(ws: Workspace, incident_id: str, ref: str) -> Derivation | None:
    """The derivation from the sources recorded at `ref` (None when they give no event of a known type).

    The incident key is the one claim taken from the branch: it only selects which of the recorded
    alerts the incident is about, and a key the sources do not carry derives nothing."""
    d = incident_dir(incident_id)
    files = ws.incident_files(ref, incident_id)
    sources = {p: t for p, t in files.items() if p.startswith(f"{d}/sources/")}
    key = _claimed_key(files.get(f"{d}/event.json"))
    policy = ws.policy()
    event = renormalized(ws, sources, incident_id, key) if sources and key else None
    if event is None or event.get("type") not in policy.incident_types.types:
        return None
    return derive(ws, policy, incident_id, event)


def _claimed_key(text: str | None) -> str:
    try:
        data = parse_json(text or "{}", "event.json")
    except InputError:
        return ""
    key = data.get("incident_key") if isinstance(data, dict) else None
    return key if isinstance(key, str) else ""

"""The renderers of the action catalog: one small function per `renders:` name, in one registry (pure).

A renderer turns the planned action into edits of the desired state: it gets every object under
deploy/, the workload's object and the incident id, and returns the `Edit`s to make (none when already
rendered). `RENDERERS` is the one list of renderer names: the `renders` enum of
bot/config/schemas/actions.schema.json must equal it (tests/test_renderers.py checks).

Adding a renderer: one function here, decorated with `@renderer("<name>")`, plus its name in that enum.
Preconditions (stateless, ...) are not checked by renderers: the gate and the dry-run own them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from bot.desired_state.objects import ManifestObject, dig, int_field, read_objects
from bot.desired_state.workloads import Workload, hpa_of, object_of
from bot.desired_state.yaml_edit import Edit, apply
from bot.errors import InputError, RuleRefusal
from bot.model.ids import is_incident_id

RESTARTED_BY = "incident-bot.dev/restarted-by"
SCALED_BY = "incident-bot.dev/scaled-by"

Renderer = Callable[[list[ManifestObject], ManifestObject, str], list[Edit]]
RENDERERS: dict[str, Renderer] = {}


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register the decorated function as the renderer `name` (a name is registered once)."""

    def register(fn: Renderer) -> Renderer:
        if name in RENDERERS:
            raise ValueError(f"renderer '{name}' is registered twice")
        RENDERERS[name] = fn
        return fn

    return register


def render(files: Mapping[str, str], workload: Workload, renders: str, incident_id: str) -> dict[str, str]:
    """The files the action's renderer changes, as {path: new text}; {} when already rendered.

    Only a well-formed incident id (e.g. HM-2026-05-17-01) is ever written into a manifest.
    """
    if not is_incident_id(incident_id):
        raise InputError("render", "incident_id", f"not an incident id: {incident_id[:40]!r}")
    objects = read_objects(files)
    target = object_of(objects, workload)
    fn = RENDERERS.get(renders)
    if fn is None:
        known = ", ".join(RENDERERS)
        raise InputError("policies/actions.yaml", "renders", f"unknown renderer '{renders}' (known: {known})")
    return apply(files, fn(objects, target, incident_id))


@renderer("pod_template_annotation")
def pod_template_annotation(objects: list[ManifestObject], target: ManifestObject, incident_id: str) -> list[Edit]:
    """spec.template.metadata.annotations[incident-bot.dev/restarted-by] = incident_id on the workload
    (a template change is a rolling restart)."""
    return [Edit(target, ("spec", "template", "metadata", "annotations", RESTARTED_BY), incident_id)]


@renderer("replicas_plus_one")
def replicas_plus_one(objects: list[ManifestObject], target: ManifestObject, incident_id: str) -> list[Edit]:
    """With an HPA targeting the workload, the HPA's minReplicas + 1 (RuleRefusal when that would exceed
    maxReplicas: raising the ceiling is a capacity decision for a human); without one, the workload's
    spec.replicas + 1 (absent counts as Kubernetes' default, 1). The changed object gets
    metadata.annotations[incident-bot.dev/scaled-by] = incident_id, and an object already marked with
    this incident is left alone, so a re-render adds nothing."""
    hpa = hpa_of(objects, target)
    owner = hpa if hpa is not None else target
    if owner.annotations().get(SCALED_BY) == incident_id:
        return []
    edits = []
    if hpa is not None:
        low = int_field(hpa, "minReplicas", default=1)
        high = int_field(hpa, "maxReplicas", default=None)
        if high is not None and low + 1 > high:
            raise RuleRefusal(
                f"scale up refused: HorizontalPodAutoscaler/{hpa.name} ({hpa.path}) is at its ceiling "
                f"(minReplicas {low} = maxReplicas {high}); raising maxReplicas is a human decision"
            )
        edits.append(Edit(hpa, ("spec", "minReplicas"), low + 1))
    else:
        edits.append(Edit(target, ("spec", "replicas"), int_field(target, "replicas", default=1) + 1))
    edits.append(Edit(owner, ("metadata", "annotations", SCALED_BY), incident_id))
    return edits


MEMORY_RAISED_BY = "incident-bot.dev/memory-raised-by"
MEMORY_STEP = 256 * 2**20  # bytes: the step is part of the renderer's name, so the catalog says what it does
_QUANTITY = re.compile(r"([0-9]+)(Ki|Mi|Gi|Ti)?")
_UNITS = {"": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


@renderer("memory_limit_plus_256mi")
def memory_limit_plus_256mi(objects: list[ManifestObject], target: ManifestObject, incident_id: str) -> list[Edit]:
    """The memory limit of the workload's one limited container + 256Mi, in the unit written when it still
    divides (512Mi -> 768Mi, 1Gi -> 1280Mi), and metadata.annotations[incident-bot.dev/memory-raised-by] =
    incident_id; a workload already marked with this incident is left alone. RuleRefusal when no container
    or several have resources.limits.memory (the alert does not name a container: the bot never guesses)
    or the limit is not whole bytes, Ki, Mi, Gi or Ti (e.g. 1.5Gi, 512M: a human raises those)."""
    if target.annotations().get(MEMORY_RAISED_BY) == incident_id:
        return []
    containers = dig(target.body, "spec", "template", "spec", "containers")
    limited = [
        (i, c) for i, c in enumerate(containers if isinstance(containers, list) else [])
        if dig(c, "resources", "limits", "memory") is not None
    ]
    where = f"{target.kind}/{target.name} ({target.path})"
    if len(limited) != 1:
        found = "no container" if not limited else f"{len(limited)} containers"
        raise RuleRefusal(f"memory limit raise refused: {found} of {where} with resources.limits.memory; "
                          "exactly one is needed")
    index, container = limited[0]
    limit = container["resources"]["limits"]["memory"]
    match = _QUANTITY.fullmatch(limit) if isinstance(limit, str) else None
    if not (match or (isinstance(limit, int) and not isinstance(limit, bool))):
        raise RuleRefusal(f"memory limit raise refused: {where} limit {limit!r} is not whole bytes, Ki, Mi, Gi "
                          "or Ti; raise it by hand")
    number, unit = (int(match[1]), match[2] or "") if match else (int(limit), "")
    raised = number * _UNITS[unit] + MEMORY_STEP
    if raised % _UNITS[unit]:
        unit = "Mi"  # always divides: every unit below Gi divides the step
    value: str | int = f"{raised // _UNITS[unit]}{unit}" if isinstance(limit, str) else raised
    keys = ("spec", "template", "spec", "containers", index, "resources", "limits", "memory")
    return [Edit(target, keys, value), Edit(target, ("metadata", "annotations", MEMORY_RAISED_BY), incident_id)]

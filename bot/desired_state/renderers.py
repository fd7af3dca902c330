"""The renderers of the action catalog: one small function per `renders:` name, in one registry (pure).

A renderer turns the planned action into edits of the desired state: it gets every object under
deploy/, the workload's object and the incident id, and returns the `Edit`s to make (none when already
rendered). `RENDERERS` is the one list of renderer names: the `renders` enum of
bot/config/schemas/actions.schema.json must equal it (tests/test_renderers.py checks).

Adding a renderer: one function here, decorated with `@renderer("<name>")`, plus its name in that enum.
Preconditions (stateless, ...) are not checked by renderers: the gate and the dry-run own them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.desired_state.objects import ManifestObject, int_field, read_objects
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

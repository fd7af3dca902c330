"""The workload of an alert (Deployment or StatefulSet under deploy/) and its preconditions (pure).

Output is plain data: a `Workload`, or the dict of preconditions the action catalog names. Nothing here
reads a file, runs a command or talks to a forge.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.desired_state.objects import ManifestObject, dig, int_field, lookup, read_objects
from bot.errors import InputError, RuleRefusal

BACKUP_VERIFIED = "incident-bot.dev/backup-verified"
NAME_LABEL = "app.kubernetes.io/name"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")

# Pod names (Kubernetes naming of controller-created pods, simplified to what an alert label carries):
# a Deployment's pods are <deployment>-<replicaset-hash>-<pod-hash>, shortened in the seed to
# <deployment>-<hash>; a StatefulSet's pods are <statefulset>-<ordinal>.
_DEPLOYMENT_POD_SUFFIX = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)?")
_STATEFULSET_POD_SUFFIX = re.compile(r"[0-9]+")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class ObjectRef:
    """One object of the desired state: the file it lives in and its name."""

    path: str
    name: str


@dataclass(frozen=True)
class Workload:
    """The Deployment or StatefulSet an alert points at, with the facts the gate and renderers need."""

    kind: str
    name: str
    namespace: str
    path: str
    replicas: int | None  # spec.replicas as written; None when absent (an HPA or the default owns it)
    hpa: ObjectRef | None
    stateful: bool  # the negation of preconditions()["stateless"]; see `_stateless` for the rule
    backup_verified: bool
    pvcs: tuple[str, ...]  # claims it may hold state in (see `_claims`), sorted


def find_workload(
    files: Mapping[str, str], namespace: str | None, pod: str | None, service: str | None
) -> Workload:
    """The one Deployment or StatefulSet owning `pod` (else labelled `service`) in `namespace`.

    `namespace=None` searches every namespace. Raises RuleRefusal when nothing or more than one
    workload matches: the bot never guesses which workload to change.
    """
    objects = read_objects(files)
    return _workload(objects, _owner(objects, namespace, pod, service))


def targets(files: Mapping[str, str]) -> Callable[[str | None, str | None, str | None], str | None]:
    """The remediation target of an alert's (namespace, pod, service): `Kind/namespace/name` of the one
    workload `find_workload` picks, or None when none (or several) match. `files` is parsed once."""
    objects = read_objects(files)
    seen: dict[tuple[str | None, str | None, str | None], str | None] = {}

    def target(namespace: str | None, pod: str | None, service: str | None) -> str | None:
        key = (namespace, pod, service)
        if key not in seen:
            try:
                o = _owner(objects, namespace, pod, service)
                seen[key] = f"{o.kind}/{o.namespace}/{o.name}"
            except RuleRefusal:
                seen[key] = None
        return seen[key]

    return target


def _owner(objects: list[ManifestObject], namespace: str | None, pod: str | None, service: str | None
           ) -> ManifestObject:
    candidates = [
        o for o in objects if o.kind in WORKLOAD_KINDS and (namespace is None or o.namespace == namespace)
    ]
    where = f"namespace '{namespace}'" if namespace is not None else "any namespace"
    if pod is not None:
        matches = [o for o in candidates if _owns_pod(o, pod)]
        what = f"pod '{pod}'"
    elif service is not None:
        matches = [o for o in candidates if service in _name_labels(o)]
        what = f"service '{service}' (label {NAME_LABEL})"
    else:
        raise RuleRefusal("no workload: the alert names neither a pod nor a service")
    if not matches:
        raise RuleRefusal(f"no Deployment or StatefulSet under deploy/ owns {what} in {where}")
    if len(matches) > 1:
        listed = ", ".join(f"{o.kind}/{o.name} ({o.path})" for o in matches)
        raise RuleRefusal(f"{what} in {where} is ambiguous: it matches {listed}")
    return matches[0]


def workload_named(files: Mapping[str, str], kind: str, name: str, namespace: str) -> Workload:
    """The workload a plan names (kind, name, namespace), re-read from `files`."""
    objects = read_objects(files)
    found = lookup(objects, kind, namespace, name)
    if found is None:
        raise RuleRefusal(f"{kind}/{name} in namespace '{namespace}' is not under deploy/")
    return _workload(objects, found)


def preconditions(files: Mapping[str, str], workload: Workload, *, as_of: str | None = None,
                  max_age_hours: float | None = None) -> dict[str, bool]:
    """The facts the action catalog's preconditions name, read from `files` (not from `workload`).

    - `stateless`: see `_stateless` (conservative: any claim the workload may use makes it stateful).
    - `hpa_enabled`: a HorizontalPodAutoscaler in its namespace has a scaleTargetRef naming its kind
      and name.
    - `backup_verified`: the workload's `incident-bot.dev/backup-verified` annotation is present and an
      RFC 3339 time with an offset. Its age is not judged here (no clock in the pure core).
    """
    objects = read_objects(files)
    target = object_of(objects, workload)
    return {
        "stateless": _stateless(objects, target),
        "hpa_enabled": hpa_of(objects, target) is not None,
        "backup_verified": _backup_verified(target, as_of, max_age_hours),
    }


def object_of(objects: list[ManifestObject], workload: Workload) -> ManifestObject:
    """The workload's object among `objects`; RuleRefusal when it is gone from the tree."""
    found = lookup(objects, workload.kind, workload.namespace, workload.name)
    if found is None:
        where = f"namespace '{workload.namespace}'"
        raise RuleRefusal(f"{workload.kind}/{workload.name} in {where} is not under deploy/ any more")
    return found


def hpa_of(objects: list[ManifestObject], target: ManifestObject) -> ManifestObject | None:
    """The HorizontalPodAutoscaler of its namespace whose scaleTargetRef names `target`, if any."""
    hpas = [
        o
        for o in objects
        if o.kind == "HorizontalPodAutoscaler"
        and o.namespace == target.namespace
        and dig(o.body, "spec", "scaleTargetRef", "kind") == target.kind
        and dig(o.body, "spec", "scaleTargetRef", "name") == target.name
    ]
    if len(hpas) > 1:
        names = ", ".join(f"{o.name} ({o.path})" for o in hpas)
        problem = f"several HPAs target {target.kind}/{target.name}: {names}"
        raise InputError(hpas[1].path, "spec.scaleTargetRef", problem)
    return hpas[0] if hpas else None


def _owns_pod(o: ManifestObject, pod: str) -> bool:
    prefix = f"{o.name}-"
    if not pod.startswith(prefix):
        return False
    pattern = _STATEFULSET_POD_SUFFIX if o.kind == "StatefulSet" else _DEPLOYMENT_POD_SUFFIX
    return pattern.fullmatch(pod[len(prefix) :]) is not None


def _name_labels(o: ManifestObject) -> set[str]:
    """The app.kubernetes.io/name of the workload and of its pod template."""
    found = set()
    template = dig(o.body, "spec", "template", "metadata", "labels")
    for labels in (o.body["metadata"].get("labels"), template):
        if isinstance(labels, dict) and isinstance(labels.get(NAME_LABEL), str):
            found.add(labels[NAME_LABEL])
    return found


def _claims(objects: list[ManifestObject], target: ManifestObject) -> tuple[str, ...]:
    """Names of the PersistentVolumeClaims the workload may keep state in, sorted.

    Counted: its volumeClaimTemplates (the template name; the real claims are <name>-<pod>), its pod
    volumes backed by a claim (persistentVolumeClaim.claimName, and ephemeral volumes by volume name:
    conservative, although they die with the pod), and every PersistentVolumeClaim object in its
    namespace, because something outside deploy/ (a Job, an operator) may bind it to this workload and
    the desired state cannot prove otherwise.
    """
    names: set[str] = set()
    for tpl in dig(target.body, "spec", "volumeClaimTemplates") or []:
        if isinstance(dig(tpl, "metadata", "name"), str):
            names.add(tpl["metadata"]["name"])
    for volume in dig(target.body, "spec", "template", "spec", "volumes") or []:
        claim = dig(volume, "persistentVolumeClaim", "claimName")
        if isinstance(claim, str):
            names.add(claim)
        elif isinstance(dig(volume, "ephemeral"), dict) and isinstance(dig(volume, "name"), str):
            names.add(volume["name"])
    names.update(
        o.name for o in objects if o.kind == "PersistentVolumeClaim" and o.namespace == target.namespace
    )
    return tuple(sorted(names))


def _stateless(objects: list[ManifestObject], target: ManifestObject) -> bool:
    """Stateless = not a StatefulSet and no claim in `_claims` (none of its own, none in its namespace).

    What this rule cannot see: claims created outside deploy/, hostPath volumes, and state held in an
    external service (a database reached over the network); those are the spec author's to declare.
    """
    return target.kind != "StatefulSet" and not _claims(objects, target)


def _backup_verified(target: ManifestObject, as_of: str | None = None, max_age_hours: float | None = None) -> bool:
    """The backup annotation holds a valid time; with `as_of` (the alert's time: no wall clock, so a
    replay judges the same) and `max_age_hours`, that time must also be recent enough and not later."""
    value = target.annotations().get(BACKUP_VERIFIED)
    if value is None:
        return False
    if not isinstance(value, str):  # unquoted YAML timestamps load as datetime: the API rejects them too
        raise InputError(target.path, f"metadata.annotations.{BACKUP_VERIFIED}", "must be a quoted string")
    if _RFC3339.fullmatch(value.upper()) is None:
        return False
    try:  # the pattern checks the shape, this the ranges (month 13, hour 25); "Z" reads as UTC since 3.11
        verified = datetime.fromisoformat(value.upper())
    except ValueError:
        return False
    if as_of is None or max_age_hours is None:
        return True
    moment = datetime.fromisoformat(as_of)
    age_hours = (moment - verified).total_seconds() / 3600
    return 0 <= age_hours <= max_age_hours


def _workload(objects: list[ManifestObject], o: ManifestObject) -> Workload:
    hpa = hpa_of(objects, o)
    replicas = dig(o.body, "spec", "replicas")
    return Workload(
        kind=o.kind,
        name=o.name,
        namespace=o.namespace,
        path=o.path,
        replicas=int_field(o, "replicas", default=None) if replicas is not None else None,
        hpa=ObjectRef(hpa.path, hpa.name) if hpa is not None else None,
        stateful=not _stateless(objects, o),
        backup_verified=_backup_verified(o),
        pvcs=_claims(objects, o),
    )

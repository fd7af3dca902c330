"""The desired state under deploy/: finds the workload of an alert and renders remediations (pure).

Input is plain data, `{path: yaml_text}` for the files under deploy/ (the caller reads the disk or a git
tree); output is plain data too: a `Workload`, a dict of preconditions, or `{path: new_text}` for the
files a remediation changes. Nothing here reads a file, runs a command or talks to a forge.

Edits are textual and minimal so that a reviewer sees a one-line diff and the file's comments survive:
the YAML node marks of PyYAML locate the value to replace or the line after which to insert a key. Every
edited text is parsed again and must equal the intended data; if it does not (a layout this small editor
does not handle: flow-style mappings, block scalars, aliases, duplicate keys), the file is re-emitted
with `yaml.safe_dump_all(sort_keys=False)` instead, which keeps key order and values but drops comments.
Both paths are deterministic: the same input always gives the same bytes.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.errors import InputError, RuleRefusal
from bot.model.ids import is_incident_id

RESTARTED_BY = "incident-bot.dev/restarted-by"
SCALED_BY = "incident-bot.dev/scaled-by"
BACKUP_VERIFIED = "incident-bot.dev/backup-verified"
NAME_LABEL = "app.kubernetes.io/name"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
RENDERERS = ("pod_template_annotation", "replicas_plus_one")

# Pod names (Kubernetes naming of controller-created pods, simplified to what an alert label carries):
# a Deployment's pods are <deployment>-<replicaset-hash>-<pod-hash>, shortened in the seed to
# <deployment>-<hash>; a StatefulSet's pods are <statefulset>-<ordinal>.
_DEPLOYMENT_POD_SUFFIX = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)?")
_STATEFULSET_POD_SUFFIX = re.compile(r"[0-9]+")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
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


@dataclass(frozen=True)
class _Object:
    path: str
    index: int  # position of the document in its file, as yaml.compose_all counts it
    body: dict[str, Any]
    namespace: str

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    def annotations(self) -> dict[str, Any]:
        found = self.body["metadata"].get("annotations") or {}
        return found if isinstance(found, dict) else {}


_Edit = tuple[_Object, tuple[str, ...], str | int]  # (object, key path, new value)


# ---------------------------------------------------------------- public API


def find_workload(
    files: Mapping[str, str], namespace: str | None, pod: str | None, service: str | None
) -> Workload:
    """The one Deployment or StatefulSet owning `pod` (else labelled `service`) in `namespace`.

    `namespace=None` searches every namespace. Raises RuleRefusal when nothing or more than one
    workload matches: the bot never guesses which workload to change.
    """
    objects = _objects(files)
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
    return _workload(objects, matches[0])


def workload_named(files: Mapping[str, str], kind: str, name: str, namespace: str) -> Workload:
    """The workload a plan names (kind, name, namespace), re-read from `files`."""
    objects = _objects(files)
    for o in objects:
        if (o.kind, o.namespace, o.name) == (kind, namespace, name):
            return _workload(objects, o)
    raise RuleRefusal(f"{kind}/{name} in namespace '{namespace}' is not under deploy/")


def preconditions(files: Mapping[str, str], workload: Workload, *, as_of: str | None = None,
                  max_age_hours: float | None = None) -> dict[str, bool]:
    """The facts the action catalog's preconditions name, read from `files` (not from `workload`).

    - `stateless`: see `_stateless` (conservative: any claim the workload may use makes it stateful).
    - `hpa_enabled`: a HorizontalPodAutoscaler in its namespace has a scaleTargetRef naming its kind
      and name.
    - `backup_verified`: the workload's `incident-bot.dev/backup-verified` annotation is present and an
      RFC 3339 time with an offset. Its age is not judged here (no clock in the pure core).
    """
    objects = _objects(files)
    target = _lookup(objects, workload)
    return {
        "stateless": _stateless(objects, target),
        "hpa_enabled": _hpa_of(objects, target) is not None,
        "backup_verified": _backup_verified(target, as_of, max_age_hours),
    }


def render(files: Mapping[str, str], workload: Workload, renders: str, incident_id: str) -> dict[str, str]:
    """The files the action's renderer changes, as {path: new text}; {} when already rendered.

    - `pod_template_annotation`: spec.template.metadata.annotations[incident-bot.dev/restarted-by] =
      incident_id on the workload (a template change is a rolling restart).
    - `replicas_plus_one`: with an HPA targeting the workload, the HPA's minReplicas + 1 (RuleRefusal
      when that would exceed maxReplicas: raising the ceiling is a capacity decision for a human);
      without one, the workload's spec.replicas + 1 (absent counts as Kubernetes' default, 1). The
      changed object gets metadata.annotations[incident-bot.dev/scaled-by] = incident_id, and an object
      already marked with this incident is left alone, so a re-render adds nothing.

    Preconditions (stateless, ...) are not checked here: the gate and the dry-run own them.
    Only a well-formed incident id (e.g. HM-2026-05-17-01) is ever written into a manifest.
    """
    if not is_incident_id(incident_id):
        raise InputError("render", "incident_id", f"not an incident id: {incident_id[:40]!r}")
    if not isinstance(incident_id, str) or not incident_id:
        raise InputError("incident", "incident_id", "must be a non-empty string")
    objects = _objects(files)
    target = _lookup(objects, workload)
    edits: list[_Edit] = []
    if renders == "pod_template_annotation":
        edits.append((target, ("spec", "template", "metadata", "annotations", RESTARTED_BY), incident_id))
    elif renders == "replicas_plus_one":
        hpa = _hpa_of(objects, target)
        owner = hpa if hpa is not None else target
        if owner.annotations().get(SCALED_BY) == incident_id:
            return {}
        if hpa is not None:
            low = _int_field(hpa, "minReplicas", default=1)
            high = _int_field(hpa, "maxReplicas", default=None)
            if high is not None and low + 1 > high:
                raise RuleRefusal(
                    f"scale up refused: HorizontalPodAutoscaler/{hpa.name} ({hpa.path}) is at its ceiling "
                    f"(minReplicas {low} = maxReplicas {high}); raising maxReplicas is a human decision"
                )
            edits.append((hpa, ("spec", "minReplicas"), low + 1))
        else:
            edits.append((target, ("spec", "replicas"), _int_field(target, "replicas", default=1) + 1))
        edits.append((owner, ("metadata", "annotations", SCALED_BY), incident_id))
    else:
        known = ", ".join(RENDERERS)
        raise InputError("policies/actions.yaml", "renders", f"unknown renderer '{renders}' (known: {known})")
    return _apply(files, edits)


def diff_paths(before: Mapping[str, str], after: Mapping[str, str]) -> set[str]:
    """Paths added, removed or whose text differs between two file mappings."""
    return {p for p in set(before) | set(after) if before.get(p) != after.get(p)}


# ---------------------------------------------------------------- reading the desired state


def _is_kustomization(path: str) -> bool:
    return posixpath.basename(path) in KUSTOMIZATION_NAMES


def _is_manifest(path: str) -> bool:
    return path.endswith((".yaml", ".yml")) and not _is_kustomization(path)


def _load_all(text: str, source: str) -> list[Any]:
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "$"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(source, where, f"not YAML: {problem}") from None


def _kustomize_namespaces(files: Mapping[str, str]) -> dict[str, str]:
    """Directory -> the `namespace:` its kustomization.yaml sets (kustomize overrides metadata with it)."""
    found = {}
    for path in sorted(files):
        if _is_kustomization(path):
            docs = _load_all(files[path], path)
            data = docs[0] if docs else None
            if isinstance(data, dict) and isinstance(data.get("namespace"), str):
                found[posixpath.dirname(path)] = data["namespace"]
    return found


def _objects(files: Mapping[str, str]) -> list[_Object]:
    """Every Kubernetes object of every manifest file, in path order; InputError for an unusable one."""
    overrides = _kustomize_namespaces(files)
    objects = []
    for path in sorted(p for p in files if _is_manifest(p)):
        for index, body in enumerate(_load_all(files[path], path)):
            if body is None:  # an empty document (a stray `---`)
                continue
            field = f"document {index + 1}"
            if not isinstance(body, dict):
                raise InputError(path, field, "expected a Kubernetes object (a mapping)")
            meta = body.get("metadata")
            if not isinstance(body.get("kind"), str) or not isinstance(meta, dict):
                raise InputError(path, field, "a Kubernetes object needs `kind` and `metadata`")
            if not isinstance(meta.get("name"), str):
                raise InputError(path, f"{field}: metadata.name", "required string is missing")
            declared = meta.get("namespace")
            namespace = overrides.get(posixpath.dirname(path)) or (
                declared if isinstance(declared, str) else "default"
            )
            objects.append(_Object(path, index, body, namespace))
    return objects


def _lookup(objects: list[_Object], workload: Workload) -> _Object:
    for o in objects:
        if (o.kind, o.namespace, o.name) == (workload.kind, workload.namespace, workload.name):
            return o
    where = f"namespace '{workload.namespace}'"
    raise RuleRefusal(f"{workload.kind}/{workload.name} in {where} is not under deploy/ any more")


def _owns_pod(o: _Object, pod: str) -> bool:
    prefix = f"{o.name}-"
    if not pod.startswith(prefix):
        return False
    pattern = _STATEFULSET_POD_SUFFIX if o.kind == "StatefulSet" else _DEPLOYMENT_POD_SUFFIX
    return pattern.fullmatch(pod[len(prefix) :]) is not None


def _name_labels(o: _Object) -> set[str]:
    """The app.kubernetes.io/name of the workload and of its pod template."""
    found = set()
    template = _dig(o.body, "spec", "template", "metadata", "labels")
    for labels in (o.body["metadata"].get("labels"), template):
        if isinstance(labels, dict) and isinstance(labels.get(NAME_LABEL), str):
            found.add(labels[NAME_LABEL])
    return found


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _int_field(o: _Object, key: str, default: int | None) -> int:
    value = _dig(o.body, "spec", key)
    if value is None and default is not None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(o.path, f"{o.kind}/{o.name}: spec.{key}", "expected an integer")
    return value


def _hpa_of(objects: list[_Object], target: _Object) -> _Object | None:
    hpas = [
        o
        for o in objects
        if o.kind == "HorizontalPodAutoscaler"
        and o.namespace == target.namespace
        and _dig(o.body, "spec", "scaleTargetRef", "kind") == target.kind
        and _dig(o.body, "spec", "scaleTargetRef", "name") == target.name
    ]
    if len(hpas) > 1:
        names = ", ".join(f"{o.name} ({o.path})" for o in hpas)
        problem = f"several HPAs target {target.kind}/{target.name}: {names}"
        raise InputError(hpas[1].path, "spec.scaleTargetRef", problem)
    return hpas[0] if hpas else None


def _claims(objects: list[_Object], target: _Object) -> tuple[str, ...]:
    """Names of the PersistentVolumeClaims the workload may keep state in, sorted.

    Counted: its volumeClaimTemplates (the template name; the real claims are <name>-<pod>), its pod
    volumes backed by a claim (persistentVolumeClaim.claimName, and ephemeral volumes by volume name:
    conservative, although they die with the pod), and every PersistentVolumeClaim object in its
    namespace, because something outside deploy/ (a Job, an operator) may bind it to this workload and
    the desired state cannot prove otherwise.
    """
    names: set[str] = set()
    for tpl in _dig(target.body, "spec", "volumeClaimTemplates") or []:
        if isinstance(_dig(tpl, "metadata", "name"), str):
            names.add(tpl["metadata"]["name"])
    for volume in _dig(target.body, "spec", "template", "spec", "volumes") or []:
        claim = _dig(volume, "persistentVolumeClaim", "claimName")
        if isinstance(claim, str):
            names.add(claim)
        elif isinstance(_dig(volume, "ephemeral"), dict) and isinstance(_dig(volume, "name"), str):
            names.add(volume["name"])
    names.update(
        o.name for o in objects if o.kind == "PersistentVolumeClaim" and o.namespace == target.namespace
    )
    return tuple(sorted(names))


def _stateless(objects: list[_Object], target: _Object) -> bool:
    """Stateless = not a StatefulSet and no claim in `_claims` (none of its own, none in its namespace).

    What this rule cannot see: claims created outside deploy/, hostPath volumes, and state held in an
    external service (a database reached over the network); those are the spec author's to declare.
    """
    return target.kind != "StatefulSet" and not _claims(objects, target)


def _backup_verified(target: _Object, as_of: str | None = None, max_age_hours: float | None = None) -> bool:
    """The backup annotation holds a valid time; with `as_of` (the alert's time: no wall clock, so a
    replay judges the same) and `max_age_hours`, that time must also be recent enough and not later."""
    value = target.annotations().get(BACKUP_VERIFIED)
    if value is None:
        return False
    if not isinstance(value, str):  # unquoted YAML timestamps load as datetime: the API rejects them too
        raise InputError(target.path, f"metadata.annotations.{BACKUP_VERIFIED}", "must be a quoted string")
    if _RFC3339.fullmatch(value.upper()) is None:
        return False
    try:  # the pattern checks the shape, this the ranges (month 13, hour 25)
        verified = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    if as_of is None or max_age_hours is None:
        return True
    moment = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    age_hours = (moment - verified).total_seconds() / 3600
    return 0 <= age_hours <= max_age_hours


def _workload(objects: list[_Object], o: _Object) -> Workload:
    hpa = _hpa_of(objects, o)
    replicas = _dig(o.body, "spec", "replicas")
    return Workload(
        kind=o.kind,
        name=o.name,
        namespace=o.namespace,
        path=o.path,
        replicas=_int_field(o, "replicas", default=None) if replicas is not None else None,
        hpa=ObjectRef(hpa.path, hpa.name) if hpa is not None else None,
        stateful=not _stateless(objects, o),
        backup_verified=_backup_verified(o),
        pvcs=_claims(objects, o),
    )


# ---------------------------------------------------------------- minimal edits


def _apply(files: Mapping[str, str], edits: Iterable[_Edit]) -> dict[str, str]:
    """Apply every (object, key path, value) edit; return the files whose text changed."""
    by_path: dict[str, list[tuple[int, tuple[str, ...], str | int]]] = {}
    for o, keys, value in edits:
        by_path.setdefault(o.path, []).append((o.index, keys, value))
    changed = {}
    for path, file_edits in sorted(by_path.items()):
        before = files[path]
        after = _edit_file(before, file_edits)
        if after != before:
            changed[path] = after
    return changed


def _edit_file(text: str, edits: list[tuple[int, tuple[str, ...], str | int]]) -> str:
    expected = _load_all(text, "edit")
    edited: str | None = text
    for index, keys, value in edits:
        if _dig(expected[index], *keys) == value:
            continue  # already so: leave its spelling alone, which makes re-rendering a no-op
        _set(expected[index], keys, value)
        if edited is not None:
            edited = _edit_text(edited, index, keys, value)
    if edited is not None and _load_all(edited, "edit") == expected:
        return edited
    # Fallback for layouts the textual editor does not handle: same data, comments dropped.
    return yaml.safe_dump_all(
        [d for d in expected if d is not None], sort_keys=False, default_flow_style=False, allow_unicode=True
    )


def _set(data: dict[str, Any], keys: tuple[str, ...], value: str | int) -> None:
    for key in keys[:-1]:
        if not isinstance(data.get(key), dict):
            data[key] = {}
        data = data[key]
    data[keys[-1]] = value


def _scalar(value: str | int) -> str:
    # Strings are always double-quoted (JSON strings are valid YAML): an id like 2026-05-17 stays a string.
    return str(value) if isinstance(value, int) else json.dumps(value)


def _key(key: str) -> str:
    # Plain only when YAML reads it back as the same string (not `yes`, `null`, `1.0`, ...).
    plain = _PLAIN_KEY.fullmatch(key) is not None and yaml.safe_load(f"{key}: 0") == {key: 0}
    return key if plain else json.dumps(key)


def _edit_text(text: str, index: int, keys: tuple[str, ...], value: str | int) -> str | None:
    """Set `keys` of document `index` by replacing or inserting lines; None for an unsupported layout."""
    node: Node = list(yaml.compose_all(text, Loader=yaml.SafeLoader))[index]
    for depth, key in enumerate(keys):
        if not isinstance(node, MappingNode) or node.flow_style or not node.value:
            return None
        found = [v for k, v in node.value if isinstance(k, ScalarNode) and k.value == key]
        if not found:
            return _insert(text, node, keys[depth:], value)
        if len(found) > 1:
            return None
        node = found[0]
    if not isinstance(node, ScalarNode) or node.style in ("|", ">"):
        return None
    return text[: node.start_mark.index] + _scalar(value) + text[node.end_mark.index :]


def _insert(text: str, mapping: MappingNode, keys: tuple[str, ...], value: str | int) -> str | None:
    """Insert `keys: value` (nested) as the last entry of a block mapping, at its keys' indentation."""
    end = _node_end(mapping.value[-1][1])
    if end is None:
        return None
    newline = "\r\n" if "\r\n" in text else "\n"
    at = text.find("\n", end)
    if at == -1:
        text, at = text + newline, len(text) + len(newline)
    else:
        at += 1
    indent = mapping.value[0][0].start_mark.column
    lines = [" " * (indent + 2 * i) + f"{_key(k)}:" for i, k in enumerate(keys)]
    lines[-1] += f" {_scalar(value)}"
    return text[:at] + "".join(line + newline for line in lines) + text[at:]


def _node_end(node: Node) -> int | None:
    """Character index where the text of a node ends (block collections: where their last leaf ends)."""
    if isinstance(node, ScalarNode):
        return None if node.style in ("|", ">") else node.end_mark.index
    if isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1][1] if isinstance(node, MappingNode) else node.value[-1]
        return _node_end(last)
    return node.end_mark.index

"""The Kubernetes objects of the files under deploy/: documents, kustomize namespaces, lookup (pure).

Input is `{path: yaml_text}` for the files under deploy/ (the caller reads the disk or a git tree).
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config.loader import parse_yaml_all
from bot.errors import InputError

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class ManifestObject:
    """One Kubernetes object: its file, its document's position there, its body and effective namespace."""

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


def is_kustomization(path: str) -> bool:
    return posixpath.basename(path) in KUSTOMIZATION_NAMES


def is_manifest(path: str) -> bool:
    return path.endswith((".yaml", ".yml")) and not is_kustomization(path)


# text -> its documents: `open` reads main's deploy/ several times per alert (targets, preconditions,
# rendering), and the pure-Python parser costs ~10 ms a manifest; callers get a copy, never the cached one.
_PARSED: dict[str, list[Any]] = {}
_PARSED_MAX = 512


def load_all(text: str, source: str) -> list[Any]:
    """Every document of a YAML text; InputError naming `source` and the line when it is not YAML."""
    if text not in _PARSED:
        docs = parse_yaml_all(text, source)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[text] = docs
    return copy.deepcopy(_PARSED[text])


def kustomize_namespaces(files: Mapping[str, str]) -> dict[str, str]:
    """Directory -> the `namespace:` its kustomization.yaml sets (kustomize overrides metadata with it)."""
    found = {}
    for path in sorted(files):
        if is_kustomization(path):
            docs = load_all(files[path], path)
            data = docs[0] if docs else None
            if isinstance(data, dict) and isinstance(data.get("namespace"), str):
                found[posixpath.dirname(path)] = data["namespace"]
    return found


def read_objects(files: Mapping[str, str]) -> list[ManifestObject]:
    """Every Kubernetes object of every manifest file, in path order; InputError for an unusable one."""
    overrides = kustomize_namespaces(files)
    objects = []
    for path in sorted(p for p in files if is_manifest(p)):
        for index, body in enumerate(load_all(files[path], path)):
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
            objects.append(ManifestObject(path, index, body, namespace))
    return objects


def lookup(objects: list[ManifestObject], kind: str, namespace: str, name: str) -> ManifestObject | None:
    """The object of that kind, namespace and name, or None."""
    for o in objects:
        if (o.kind, o.namespace, o.name) == (kind, namespace, name):
            return o
    return None


def dig(data: Any, *keys: str | int) -> Any:
    """The value at a key path (mapping keys, sequence indexes); None where the path does not exist."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(data, list) or not 0 <= key < len(data):
                return None
            data = data[key]
        elif isinstance(data, dict):
            data = data.get(key)
        else:
            return None
    return data


def int_field(o: ManifestObject, key: str, default: int | None) -> int:
    """spec.<key> as an integer (`default` when absent and one is given); InputError otherwise."""
    value = dig(o.body, "spec", key)
    if value is None and default is not None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(o.path, f"{o.kind}/{o.name}: spec.{key}", "expected an integer")
    return value


def diff_paths(before: Mapping[str, str], after: Mapping[str, str]) -> set[str]:
    """Paths added, removed or whose text differs between two file mappings."""
    return {p for p in set(before) | set(after) if before.get(p) != after.get(p)}

"""A fast decision procedure for the JSON Schema subset our schema files use (pure).

It answers one question, "is this document valid?", without importing jsonschema (60 ms of start-up
on a 2-core runner, most of a command's cost). When the answer is no, bot.config.loader asks jsonschema for
the full, path-precise error list, so messages keep jsonschema's quality. tests/test_schemacheck.py
proves the two agree on generated documents for every schema, and that the schemas use only the
keywords below.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

SUPPORTED = frozenset({
    "$schema", "$id", "$defs", "$ref", "title", "description", "type", "properties", "required",
    "additionalProperties", "propertyNames", "enum", "pattern", "minimum", "maximum", "minLength",
    "minItems", "minProperties", "uniqueItems", "items", "format",
})

_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(whole(pattern))


def whole(pattern: str) -> str:
    """A schema pattern with ECMA-262's `$` (the very end) for Python's `$`, which also matches before a
    trailing newline: `^HM-...$` must not accept `HM-2026-05-17-01\\n`."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + r"\Z"
    return pattern


def whole_patterns(schema: Any) -> Any:
    """A copy of `schema` with every `pattern` rewritten by `whole` (for jsonschema's error reports)."""
    if isinstance(schema, dict):
        return {k: whole(v) if k == "pattern" and isinstance(v, str) else whole_patterns(v)
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [whole_patterns(v) for v in schema]
    return schema


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0 but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    scalars = (int, float, str, type(None))
    return bool(a == b) and isinstance(a, scalars) == isinstance(b, scalars)


def is_valid(instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None) -> bool:
    root = schema if root is None else root
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        if not is_valid(instance, target, root):
            return False
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES[k](instance) for k in kinds):
            return False
    if "enum" in schema and not any(_equal(instance, e) for e in schema["enum"]):
        return False
    if isinstance(instance, str):
        if len(instance) < schema.get("minLength", 0):
            return False
        if "pattern" in schema and not _regex(schema["pattern"]).search(instance):
            return False
    if isinstance(instance, int | float) and not isinstance(instance, bool):
        if "minimum" in schema and instance < schema["minimum"]:
            return False
        if "maximum" in schema and instance > schema["maximum"]:
            return False
    if isinstance(instance, list):
        if len(instance) < schema.get("minItems", 0):
            return False
        if schema.get("uniqueItems") and any(
            _equal(a, b) for i, a in enumerate(instance) for b in instance[i + 1:]
        ):
            return False
        if "items" in schema and not all(is_valid(v, schema["items"], root) for v in instance):
            return False
    if isinstance(instance, dict):
        return _object_valid(instance, schema, root)
    return True


def _object_valid(instance: dict[str, Any], schema: dict[str, Any], root: dict[str, Any]) -> bool:
    if len(instance) < schema.get("minProperties", 0):
        return False
    if any(key not in instance for key in schema.get("required", ())):
        return False
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    for key, value in instance.items():
        if names is not None and not is_valid(key, names, root):
            return False
        if key in props:
            if not is_valid(value, props[key], root):
                return False
        elif extra is False or (isinstance(extra, dict) and not is_valid(value, extra, root)):
            return False
    return True


def unsupported(schema: Any, where: str = "$") -> list[str]:
    """Keywords of `schema` this checker does not implement (must be empty for our schema files)."""
    found: list[str] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key not in SUPPORTED:
                found.append(f"{where}.{key}")
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    found += unsupported(sub, f"{where}.{key}.{name}")
            elif key in ("items", "additionalProperties", "propertyNames") and isinstance(value, dict):
                found += unsupported(value, f"{where}.{key}")
    return found

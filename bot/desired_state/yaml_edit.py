"""Text-preserving edits of YAML manifests: set a key path to a value, keep everything else (pure).

Edits are textual and minimal so that a reviewer sees a one-line diff and the file's comments survive:
the YAML node marks of PyYAML locate the value to replace or the line after which to insert a key. Every
edited text is parsed again and must equal the intended data; if it does not (a layout this small editor
does not handle: flow-style mappings, block scalars, aliases, duplicate keys), the file is re-emitted
with `yaml.safe_dump_all(sort_keys=False)` instead, which keeps key order and values but drops comments.
Both paths are deterministic: the same input always gives the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.config.loader import parse_yaml
from bot.desired_state.objects import ManifestObject, dig, load_all

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")


@dataclass(frozen=True)
class Edit:
    """Set `keys` of object `target` to `value`: a path of mapping keys and sequence indexes (an index
    must exist; only mapping keys are created)."""

    target: ManifestObject
    keys: tuple[str | int, ...]
    value: str | int


_FileEdit = tuple[int, tuple[str | int, ...], str | int]  # (document index, key path, new value)


def apply(files: Mapping[str, str], edits: Iterable[Edit]) -> dict[str, str]:
    """Apply every edit; return the files whose text changed, as {path: new text}."""
    by_path: dict[str, list[_FileEdit]] = {}
    for e in edits:
        by_path.setdefault(e.target.path, []).append((e.target.index, e.keys, e.value))
    changed = {}
    for path, file_edits in sorted(by_path.items()):
        before = files[path]
        after = _edit_file(before, file_edits)
        if after != before:
            changed[path] = after
    return changed


def _edit_file(text: str, edits: list[_FileEdit]) -> str:
    expected = load_all(text, "edit")
    edited: str | None = text
    for index, keys, value in edits:
        if dig(expected[index], *keys) == value:
            continue  # already so: leave its spelling alone, which makes re-rendering a no-op
        _set(expected[index], keys, value)
        if edited is not None:
            edited = _edit_text(edited, index, keys, value)
    if edited is not None and load_all(edited, "edit") == expected:
        return edited
    # Fallback for layouts the textual editor does not handle: same data, comments dropped.
    return yaml.safe_dump_all(
        [d for d in expected if d is not None], sort_keys=False, default_flow_style=False, allow_unicode=True
    )


def _set(data: Any, keys: tuple[str | int, ...], value: str | int) -> None:
    for key, below in zip(keys[:-1], keys[1:], strict=True):
        if isinstance(key, str) and isinstance(below, str) and not isinstance(data.get(key), dict):
            data[key] = {}  # a missing mapping is created; sequences and their items must exist
        data = data[key]
    data[keys[-1]] = value


def _scalar(value: str | int) -> str:
    # Strings are always double-quoted (JSON strings are valid YAML): an id like 2026-05-17 stays a string.
    return str(value) if isinstance(value, int) else json.dumps(value)


def _key(key: str) -> str:
    # Plain only when YAML reads it back as the same string (not `yes`, `null`, `1.0`, ...).
    plain = _PLAIN_KEY.fullmatch(key) is not None and parse_yaml(f"{key}: 0", "key") == {key: 0}
    return key if plain else json.dumps(key)


def _edit_text(text: str, index: int, keys: tuple[str | int, ...], value: str | int) -> str | None:
    """Set `keys` of document `index` by replacing or inserting lines; None for an unsupported layout."""
    node: Node = list(yaml.compose_all(text, Loader=yaml.SafeLoader))[index]
    for depth, key in enumerate(keys):
        if isinstance(key, int):
            if not isinstance(node, SequenceNode) or node.flow_style or not 0 <= key < len(node.value):
                return None
            node = node.value[key]
            continue
        if not isinstance(node, MappingNode) or node.flow_style or not node.value:
            return None
        found = [v for k, v in node.value if isinstance(k, ScalarNode) and k.value == key]
        if not found:
            rest = tuple(k for k in keys[depth:] if isinstance(k, str))
            return _insert(text, node, rest, value) if len(rest) == len(keys) - depth else None
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

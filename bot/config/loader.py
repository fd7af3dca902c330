"""Reads JSON/YAML documents and validates them against the schemas in bot/config/schemas (the edge)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.config.schemacheck import is_valid
from bot.errors import InputError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parent / "schemas"
# libyaml when the wheel has it (it does on the usual platforms): several times faster than pure Python.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def schema(name: str) -> dict[str, Any]:
    text = (SCHEMAS / f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # only for error reports: 60 ms of import

    return Draft202012Validator(schema(name))


def json_path(parts: Any) -> str:
    """`$.scores.security` style path for a jsonschema error location."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def schema_errors(data: Any, name: str) -> list[tuple[str, str]]:
    """Every violation of schema `name` as (json path, message), sorted by path."""
    found = []
    for err in _validator(name).iter_errors(data):
        path = list(err.absolute_path)
        if err.validator == "required" and isinstance(err.instance, dict):
            missing = [k for k in err.validator_value if k not in err.instance]
            path += missing[:1]
            found.append((json_path(path), "required field is missing"))
        elif err.validator == "additionalProperties":
            found.append((json_path(path), err.message))
        else:
            found.append((json_path(path), err.message))
    return sorted(set(found))


def validate(data: Any, name: str, source: str) -> Any:
    """Return `data` unchanged if it satisfies schema `name`, else raise InputError for the first path."""
    if is_valid(data, schema(name)):
        return data
    errors = schema_errors(data, name) or [("$", "does not match the schema")]
    if errors:
        path, message = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(source, path, message + more)
    return data


def read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text("utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "", "file not found") from None
    except IsADirectoryError:
        raise InputError(str(path), "", "is a directory, expected a file") from None
    except UnicodeDecodeError as exc:
        raise InputError(str(path), "", f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(str(path), "", exc.strerror or "cannot be read") from None


def parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"line {exc.lineno} column {exc.colno}", f"not JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(source, "$", "not JSON: nested too deeply") from None


def yaml_error(exc: yaml.YAMLError, source: str) -> InputError:
    """The one InputError for text that is not YAML: where (line and column, when known) and the problem."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "$"
    problem = getattr(exc, "problem", None) or "invalid YAML"
    return InputError(source, where, f"not YAML: {problem}")


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader (C or Python)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source) from None
    except RecursionError:
        raise InputError(source, "$", "not YAML: nested too deeply") from None


# A Markdown file's machine-readable part: a YAML block between two `---` lines at the very top.
FRONT_MATTER = re.compile(r"\A---\n(?P<yaml>.*?)\n---\n", re.DOTALL)


def front_matter(text: str, source: str, missing: str = "missing") -> dict[str, Any]:
    """The front matter of a Markdown document as a mapping (InputError naming `source` otherwise)."""
    match = FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        raise InputError(source, "front matter", missing)
    data = parse_yaml(match.group("yaml"), source)
    if not isinstance(data, dict):
        raise InputError(source, "front matter", "not a mapping")
    return data


def load_json(path: str | Path, schema_name: str | None = None) -> Any:
    data = parse_json(read_text(path), str(path))
    return validate(data, schema_name, str(path)) if schema_name else data


def load_yaml(path: str | Path, schema_name: str | None = None) -> Any:
    data = parse_yaml(read_text(path), str(path))
    return validate(data, schema_name, str(path)) if schema_name else data


def canonical_json(data: Any) -> str:
    """Sorted, stable serialization: the same data always gives the same bytes (replayable)."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"

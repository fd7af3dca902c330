"""Reads JSON/YAML documents and validates them against the schemas in bot/config/schemas (the edge)."""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.config.schemacheck import is_valid, whole_patterns
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

    return Draft202012Validator(whole_patterns(schema(name)))


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
        else:
            found.append((json_path(path), err.message))
    return sorted(set(found))


def validate(data: Any, name: str, source: str) -> Any:
    """Return `data` unchanged if it satisfies schema `name`, else raise InputError naming every violation
    with its path (check-jsonschema's habit: all of them, not only the first)."""
    if is_valid(data, schema(name)):
        return data
    # The fast checker and jsonschema agree on every schema (tests/test_schemacheck.py proves it by
    # hypothesis), so jsonschema always names at least one error here.
    errors = schema_errors(data, name)
    path, message = errors[0]
    rest = "".join(f"; {p}: {m}" for p, m in errors[1:MAX_REPORTED])
    more = f"; +{len(errors) - MAX_REPORTED} more" if len(errors) > MAX_REPORTED else ""
    count = f" ({len(errors)} errors)" if len(errors) > 1 else ""
    raise InputError(source, path, one_line(message) + rest + more + count)


MAX_REPORTED = 20  # schema errors named in the one line; the count says how many there were
# Limits on every document the bot parses (payloads, incident-branch files, policies, specs): far above
# anything real, low enough that no input costs more than a moment or breaks a later step.
MAX_CHARS = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_INT = 2**63 - 1  # also keeps int() clear of Python's int-str digit limit (a ValueError)
_INT_DIGITS = len(str(MAX_INT))
# A string may hold \t, \n and \r but no other control character and no lone surrogate: either breaks
# a commit message, a terminal line or the UTF-8 encoding of the file it would be written to.
_BAD_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def one_line(text: str) -> str:
    return " ".join(text.split())[:300]


class _Refused:
    """Put in place of a number the parser refuses, so that the walk can name its path."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _json_int(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > _INT_DIGITS or abs(number := int(text)) > MAX_INT:
        return _Refused(f"integer of {len(text.lstrip('-'))} digits is out of range")
    return number


def _json_float(text: str) -> float | _Refused:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        return _Refused(f"number {text[:30]} is out of range")
    return number


def _json_constant(text: str) -> _Refused:
    return _Refused(f"{text} is not a JSON number")


def check_tree(data: Any, source: str) -> None:
    """Raise InputError at a value no document may hold: nesting deeper than MAX_DEPTH, a refused number,
    an integer out of range, a non-finite float, a control character or a lone surrogate. The walk keeps
    each value's parent link, not its path: the path is spelled only for the error."""
    stack: list[tuple[Any, int, Any]] = [(data, 0, None)]
    while stack:
        value, depth, trail = stack.pop()
        problem = None
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                problem = f"nested deeper than {MAX_DEPTH} levels"
            else:
                for key, item in value.items():
                    if isinstance(key, str) and _BAD_CHAR.search(key):
                        problem = f"key {key[:40]!r} holds a control character or a lone surrogate"
                        break
                    stack.append((item, depth + 1, (trail, key)))
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                problem = f"nested deeper than {MAX_DEPTH} levels"
            else:
                stack.extend((item, depth + 1, (trail, i)) for i, item in enumerate(value))
        elif isinstance(value, str):
            if (bad := _BAD_CHAR.search(value)) is not None:
                char = bad.group(0)
                kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
                problem = f"{kind} (U+{ord(char):04X}) in a string"
        elif isinstance(value, _Refused):
            problem = value.problem
        elif isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_INT:
                problem = f"integer of {len(str(abs(value)))} digits is out of range"
        elif isinstance(value, float) and not math.isfinite(value):
            problem = f"number {value} is not finite"
        if problem is not None:
            raise InputError(source, _spelled(trail), problem)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _spelled(trail: Any) -> str:
    """`$.alerts[0].labels.window` for a parent-linked trail ((parent, key) pairs ending in None)."""
    parts: list[str] = []
    while trail is not None:
        trail, key = trail
        if isinstance(key, int) and not isinstance(key, bool):
            parts.append(f"[{key}]")
        else:
            text = str(key)
            parts.append(f".{text}" if _PLAIN_KEY.fullmatch(text) else f"[{text[:40]!r}]")
    parts.reverse()
    if len(parts) > 12:  # a path through deep nesting: its start and its end
        parts = [*parts[:6], f"...({len(parts) - 10} more)...", *parts[-4:]]
    return "$" + "".join(parts)


def _too_long(text: str, source: str) -> None:
    if len(text) > MAX_CHARS:
        raise InputError(source, "$", f"{len(text)} characters is over the {MAX_CHARS}-character limit")


def read_text(path: str | Path) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MAX_CHARS + 1)
    except FileNotFoundError:
        raise InputError(str(path), "", "file not found") from None
    except IsADirectoryError:
        raise InputError(str(path), "", "is a directory, expected a file") from None
    except UnicodeDecodeError as exc:
        raise InputError(str(path), "", f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(str(path), "", exc.strerror or "cannot be read") from None
    _too_long(text, str(path))
    return text


_UNDECODED = re.compile(r"[\udc80-\udcff]")  # what the forges' surrogateescape decoding leaves of a bad byte


def require_utf8(text: str, source: str) -> str:
    """`text` as read from git (bytes that were not UTF-8 kept as lone surrogates), or InputError."""
    if (bad := _UNDECODED.search(text)) is not None:
        raise InputError(source, "", f"not UTF-8 text (character {bad.start()})")
    return text


def decode(data: bytes, source: str) -> str:
    """Bytes read from git or a socket as text: UTF-8 or an InputError naming `source`."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(source, "", f"not UTF-8 text (byte {exc.start})") from None


def parse_json(text: str | bytes, source: str) -> Any:
    """JSON within the limits above (NaN and Infinity are not JSON and are refused too)."""
    from_bytes = isinstance(text, bytes)
    if isinstance(text, bytes):
        text = decode(text, source)  # strict UTF-8: no lone surrogate comes out of it
    _too_long(text, source)
    if not from_bytes:
        require_utf8(text, source)
    refused = False

    def on_refusal(value: Any) -> Any:
        nonlocal refused
        refused = refused or isinstance(value, _Refused)
        return value

    try:
        data = json.loads(text, parse_int=lambda t: on_refusal(_json_int(t)),
                          parse_float=lambda t: on_refusal(_json_float(t)),
                          parse_constant=lambda t: on_refusal(_json_constant(t)))
    except json.JSONDecodeError as exc:
        raise InputError(source, f"line {exc.lineno} column {exc.colno}", f"not JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(source, "$", f"not JSON: nested deeper than {MAX_DEPTH} levels") from None
    if refused or not _clean_text(text, from_bytes):
        check_tree(data, source)
    return data


# A \u escape that may decode to a character _BAD_CHAR refuses (\t, \n, \r match too: harmless)
_SUSPECT_ESCAPE = re.compile(r"\\u(?:00[01][0-9a-fA-F]|007[fF]|[dD][89a-fA-F][0-9a-fA-F]{2})")


def _clean_text(text: str, from_bytes: bool = False) -> bool:
    """True when the parsed document cannot hold what check_tree refuses, seen from the text alone: fewer
    brackets than MAX_DEPTH (so no deeper nesting), no refused character and no escape that could decode
    to one (JSON allows no raw control character in a string). The walk costs ~100 us for a 2 KB webhook
    body, a third of what the receiver spends on a delivery; a refused number is known from the parser.

    Text that json.loads accepted holds no raw character below U+0020 but tab, newline and carriage return
    (JSON refuses the others in a string and outside one), and text decoded from bytes as strict UTF-8 no
    lone surrogate: of what _BAD_CHAR refuses only U+007F is left to look for, a substring search instead
    of the pattern (the receiver's case; 6 of its 9 us for a 2 KB body). An escape needs a `\\u`."""
    if text.count("{") + text.count("[") >= MAX_DEPTH:
        return False
    if "\\u" in text and _SUSPECT_ESCAPE.search(text) is not None:
        return False
    return "\x7f" not in text if from_bytes else _BAD_CHAR.search(text) is None


def yaml_error(exc: yaml.YAMLError, source: str) -> InputError:
    """The one InputError for text that is not YAML: where (line and column, when known) and the problem."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "$"
    problem = getattr(exc, "problem", None) or "invalid YAML"
    return InputError(source, where, f"not YAML: {one_line(str(problem))}")


def _no_aliases(text: str, source: str) -> None:
    """Refuse YAML aliases (`*name`): an alias bomb expands a few lines into billions of nodes for whatever
    walks the result, and no file the bot reads needs one. Only text holding a `*` is scanned."""
    if "*" not in text:
        return
    for event in yaml.parse(text, Loader=_YAML_LOADER):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            where = f"line {mark.line + 1} column {mark.column + 1}" if mark else "$"
            raise InputError(source, where, "YAML aliases (*name) are not accepted")


def parse_yaml(text: str, source: str) -> Any:
    _too_long(text, source)
    require_utf8(text, source)
    try:
        _no_aliases(text, source)
        data = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader (C or Python)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source) from None
    except RecursionError:
        raise InputError(source, "$", f"not YAML: nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, OverflowError) as exc:  # an integer past Python's int-str limit, a bad date
        raise InputError(source, "$", f"not YAML: {one_line(str(exc))[:120]}") from None
    check_tree(data, source)
    return data


def parse_yaml_all(text: str, source: str) -> list[Any]:
    """Every document of a multi-document YAML text (a manifest file), within the same limits."""
    _too_long(text, source)
    require_utf8(text, source)
    try:
        _no_aliases(text, source)
        documents = list(yaml.load_all(text, Loader=_YAML_LOADER))  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source) from None
    except RecursionError:
        raise InputError(source, "$", f"not YAML: nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, OverflowError) as exc:
        raise InputError(source, "$", f"not YAML: {one_line(str(exc))[:120]}") from None
    for document in documents:
        check_tree(document, source)
    return documents


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
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

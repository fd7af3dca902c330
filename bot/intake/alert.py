"""The internal `Alert` record every source parses into, and the field readers the parsers share (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from bot.errors import InputError
from bot.intake.redact import clean_url, scrub_text

IDENTITY_FIELDS = ("incident_key", "service", "namespace", "pod")
METRIC_FIELDS = ("window_minutes", "metric_context")
SEVERITY_RANK = {"unknown": 0, "info": 1, "warning": 2, "critical": 3}
SERVICE_LABELS = ("service", "app_kubernetes_io_name", "app", "job")  # the first one present names the service
_SEVERITY_ALIASES = {
    "critical": "critical", "crit": "critical", "page": "critical", "high": "critical", "p1": "critical",
    "p2": "critical", "error": "critical", "warning": "warning", "warn": "warning", "low": "warning",
    "p3": "warning", "p4": "info", "p5": "info", "info": "info", "none": "info",
}
_DURATION = re.compile(r"\s*(\d{1,9})\s*(s|m|h|d)?\s*")  # nine digits: int() stays cheap, the value sane
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


T = TypeVar("T")


class once(Generic[T]):  # noqa: N801 (a decorator, named like functools.cached_property)
    """functools.cached_property without the lock Python 3.11 takes on every first access (a tenth of the
    per-alert cost in bench/normalize_bench.py): the value is computed once and stored in the instance."""

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func, self.name = func, func.__name__

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        value = obj.__dict__[self.name] = self.func(obj)  # later reads find it in __dict__ first
        return value


@dataclass
class Alert:
    """One alert of one source, reduced to the fields incident-bot keeps (an allowlist).

    Internal to normalization and never mutated after parsing; not frozen because a frozen dataclass's
    __init__ (object.__setattr__ per field) was a third of the per-alert cost (bench/normalize_bench.py).
    """

    source: str
    status: str
    started_at: str
    alertname: str | None = None
    title: str | None = None
    incident_key: str | None = None
    service: str | None = None
    namespace: str | None = None
    pod: str | None = None
    severity: str = "unknown"
    window_minutes: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    ref: dict[str, Any] = field(default_factory=dict)

    @once
    def identity(self) -> dict[str, str]:
        """The identity fields this alert carries (computed once: correlation asks often)."""
        return {f: v for f in IDENTITY_FIELDS if (v := getattr(self, f)) is not None}

    @once
    def key(self) -> str:
        """Its incident key: the vendor's, else derived from its identity."""
        return self.incident_key or derived_key(self.alertname, self.identity)


def derived_key(alertname: str | None, identity: dict[str, str]) -> str:
    """Key for sources that carry none: alertname/service/namespace/pod ('-' where unknown)."""
    parts = [alertname or "-"] + [identity.get(f) or "-" for f in ("service", "namespace", "pod")]
    return "/".join(parts)


# ---------------------------------------------------------------- small readers


def get(data: Any, path: str, source: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
    """Walk a dotted path; raise InputError naming the path when it is missing or of the wrong kind."""
    node = data
    walked = "$"
    for part in path.split("."):
        walked += f".{part}"
        if not isinstance(node, dict) or part not in node or node[part] is None:
            if required:
                raise InputError(source, walked, "required field is missing")
            return None
        node = node[part]
    if not isinstance(node, kind) or (isinstance(node, bool) and bool not in _as_tuple(kind)):
        raise InputError(source, walked, f"expected {_kind_name(kind)}, got {type(node).__name__}")
    return node


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean"}
    return " or ".join(names.get(k, k.__name__) for k in _as_tuple(kind))


def utc(text: str, source: str, where: str) -> str:
    """ISO-8601 in any offset and precision (Grafana sends nanoseconds) to UTC seconds, `Z` suffix."""
    raw = text.strip()
    match = _RFC3339.match(raw)
    if not match:
        raise InputError(source, where, f"not an RFC 3339 timestamp: {raw[:40]!r}")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    try:
        moment = datetime.fromisoformat(match.group(1) + zone)
        if zone != "+00:00":
            moment = moment.astimezone(UTC)  # OverflowError past 9999-12-31 or before year 1
    except (ValueError, OverflowError):
        raise InputError(source, where, f"not a valid date: {raw[:40]!r}") from None
    if not 1970 <= moment.year <= 9999:  # the incident id carries the year in four digits
        raise InputError(source, where, f"{raw[:40]!r} is not a plausible alert time (year {moment.year})")
    if zone == "+00:00":  # already UTC: the same digits strftime would give
        return f"{match.group(1)}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def vendor_key(value: Any, source: str, where: str) -> str | None:
    """A vendor's incident key kept exactly as sent (it must match the vendor's own), or None; one with a
    control character (a newline that would start a commit trailer of its own) is refused."""
    if not isinstance(value, str) or not value:
        return None
    if (bad := _KEY_CONTROL.search(value)) is not None:
        raise InputError(source, where, f"control character U+{ord(bad.group(0)):04X} in an incident key")
    return value


_KEY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def url(text: str, source: str, where: str) -> str:
    """A link kept in a source ref, without credentials (bot.intake.redact.clean_url), or InputError."""
    try:
        return clean_url(text)
    except ValueError as exc:
        raise InputError(source, where, f"not a URL ({exc})") from None


def minutes(text: Any) -> int | None:
    """A duration such as `10m`, `1h` or `600s` in whole minutes (a bare number is minutes), else None."""
    if not isinstance(text, str):
        return None
    match = _DURATION.fullmatch(text)
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2) or "m"
    return {"s": amount // 60, "m": amount, "h": amount * 60, "d": amount * 1440}[unit]


def severity(text: Any) -> str:
    return _SEVERITY_ALIASES.get(str(text).strip().lower(), "unknown") if text else "unknown"


def clean(text: Any) -> str | None:
    """A label value fit for the event: scrubbed, with every run of whitespace (newlines too) one space, or
    None. An identity value ends up in a commit subject, a trailer and a branch's files: one line each."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    return scrub_text(" ".join(text.split()) if _FOLD.search(text) else text)


_FOLD = re.compile(r"[^\S ]|  ")  # whitespace other than single spaces: the unusual case

"""Field-for-field comparison of two incident events, each difference labelled by its role (pure)."""

from __future__ import annotations

from typing import Any

from bot.intake.alert import IDENTITY_FIELDS, METRIC_FIELDS


def _flat(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in event.items():
        if key == "metric_context" and isinstance(value, dict):
            for name, number in value.items():
                out[f"metric_context.{name}"] = number
            if not value:
                out[key] = {}
        else:
            out[key] = value
    return out


def role(field: str) -> str:
    top = field.split(".", 1)[0]
    if top in IDENTITY_FIELDS:
        return "identity field: a different incident"
    if top in METRIC_FIELDS:
        return "metric context: same incident, other measurements"
    return "derived field"


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """One line per differing field, identity fields first."""
    want, got = _flat(expected), _flat(actual)
    lines = []
    for name in sorted(set(want) | set(got), key=lambda f: (role(f) != role("service"), f)):
        if want.get(name, "<absent>") != got.get(name, "<absent>"):
            lines.append(
                f"{name}: expected {_show(want.get(name, '<absent>'))}, got {_show(got.get(name, '<absent>'))}"
                f" ({role(name)})"
            )
    return lines


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict | list) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."

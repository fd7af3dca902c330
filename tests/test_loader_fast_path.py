"""parse_json skips the tree walk when the text alone shows there is nothing to refuse (the receiver's
hot path); it must refuse exactly what the walk refuses, and name the same path."""

from __future__ import annotations

import json

import pytest

from bot.config import loader
from bot.errors import InputError


def walked(text: str) -> object:
    """What parse_json answered before the shortcut: parse, then always walk."""
    data = json.loads(text, parse_int=loader._json_int, parse_float=loader._json_float,
                      parse_constant=loader._json_constant)
    loader.check_tree(data, "x")
    return data


CASES = [
    '{"alerts": [{"labels": {"pod": "api-7b4"}}], "n": 3, "f": 1.5}',
    '{"a": "\\u00e9 caf\\u00e9", "b": "tab\\tnew\\nline"}',
    '{"a": "\\u0000"}', '{"a": "\\u001F"}', '{"a": "\\u007f"}', '{"a": "\\uD800"}', '{"a": "\\udfff x"}',
    '{"k\\u0001": 1}', '{"a": "\\\\u0001 is a backslash and text"}',
    '{"a": 123456789012345678901234}', '{"a": -9223372036854775808}', '{"a": 9223372036854775807}',
    '{"a": 1e999}', '{"a": NaN}', '{"a": [Infinity]}',
    "[" * 63 + "]" * 63, "[" * 64 + "]" * 64, "[" * 65 + "]" * 65, '{"a":' * 70 + "1" + "}" * 70,
    '"\ud800"', '{"a": "\x7f raw"}', '{"a\x7f": 1}', '{"a": "caf\u00e9 \u2603 raw"}',
]


@pytest.mark.parametrize("text", CASES)
def test_the_shortcut_refuses_exactly_what_the_walk_refuses(text):
    try:
        expected: object = walked(text)
    except InputError as exc:
        expected = (exc.field, exc.problem)
    try:
        got: object = loader.parse_json(text, "x")
    except InputError as exc:
        got = (exc.field, exc.problem)
    assert got == expected


@pytest.mark.parametrize("text", [case for case in CASES if not any("\ud800" <= c <= "\udfff" for c in case)])
def test_the_shortcut_for_bytes_refuses_exactly_what_the_walk_refuses(text):
    """Bytes (the receiver's bodies) take a shorter check: strict UTF-8 decoding leaves no lone surrogate."""
    try:
        expected: object = walked(text)
    except InputError as exc:
        expected = (exc.field, exc.problem)
    try:
        got: object = loader.parse_json(text.encode("utf-8"), "x")
    except InputError as exc:
        got = (exc.field, exc.problem)
    assert got == expected

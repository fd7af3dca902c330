"""CODEOWNERS: who owns a path (GitHub semantics: the last matching pattern wins) (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    pattern: str
    regex: re.Pattern[str]
    owners: tuple[str, ...]


def _compile(pattern: str) -> re.Pattern[str]:
    """gitignore-style pattern as GitHub applies it in CODEOWNERS."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    out = ""
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif body.startswith("**", i):
            out += ".*"
            i += 2
        elif body[i] == "*":
            out += "[^/]*"
            i += 1
        elif body[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(body[i])
            i += 1
    prefix = "^" if anchored else "^(?:.*/)?"
    # A pattern names a file or a directory (and everything below it).
    return re.compile(prefix + out + "(?:/.*)?$")


def parse(text: str) -> list[Rule]:
    rules = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, *owners = line.split()
        rules.append(Rule(pattern, _compile(pattern), tuple(owners)))
    return rules


def owners(rules: list[Rule], path: str) -> tuple[str, ...]:
    found: tuple[str, ...] = ()
    for rule in rules:
        if rule.regex.match(path):
            found = rule.owners
    return found


def may_approve(rules: list[Rule], paths: list[str], reviewer: str) -> list[str]:
    """Paths of the change that `reviewer` does not own (empty: the reviewer may approve)."""
    who = reviewer if reviewer.startswith("@") else f"@{reviewer}"
    return [p for p in paths if owners(rules, p) and who not in owners(rules, p)]

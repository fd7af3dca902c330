"""CODEOWNERS: who owns a path, as GitHub decides it (the last matching pattern wins) (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    pattern: str
    regex: re.Pattern[str]
    owners: tuple[str, ...]


def _compile(pattern: str) -> re.Pattern[str]:
    """A CODEOWNERS pattern as GitHub applies it, searched in a repository path.

    GitHub ("About code owners", https://docs.github.com/en/repositories/managing-your-repositorys-settings-
    and-features/customizing-your-repository/about-code-owners): gitignore's rules
    (https://git-scm.com/docs/gitignore#_pattern_format) with exceptions: no `!` negation, no `[ ]`
    character ranges and no `\\` escapes (all three are literal here), and `docs/*` owns the files directly
    in docs/ only, "not further nested files". A slash at the start or in the middle anchors the pattern at
    the root; one only at the end (`apps/`) matches a directory at any depth and everything below it.
    `**` counts only as a whole component (`**/x`, `x/**/y`; a trailing `x/**` is `x/*` and what is below,
    as any pattern without a trailing slash); elsewhere it is one `*`.
    """
    anchored = "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    out = ""
    i = 0
    while i < len(body):
        whole = i == 0 or body[i - 1] == "/"
        if whole and body.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif body[i] == "*":
            while i < len(body) and body[i] == "*":
                i += 1
            out += "[^/]*"
        elif body[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(body[i])
            i += 1
    prefix = r"\A" if anchored else r"(?:\A|/)"
    if pattern.endswith("/"):
        suffix = "/"  # a directory: every file below it
    elif pattern.endswith("/*"):
        suffix = r"\Z"  # `docs/*`: direct children only
    else:
        suffix = r"(?:\Z|/)"  # a file, or a directory and everything below it
    return re.compile(prefix + out + suffix)


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
        if rule.regex.search(path):
            found = rule.owners
    return found


def may_approve(rules: list[Rule], paths: list[str], reviewer: str) -> list[str]:
    """Paths of the change that `reviewer` does not own (empty: the reviewer may approve)."""
    who = reviewer if reviewer.startswith("@") else f"@{reviewer}"
    return [p for p in paths if owners(rules, p) and who not in owners(rules, p)]

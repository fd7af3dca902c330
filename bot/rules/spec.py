"""Spec documents (specs/<type>/specify.md): front matter parsing and the spec linter (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.config.loader import FRONT_MATTER, parse_yaml, require_utf8, validate
from bot.config.policy import Catalog
from bot.errors import InputError

_SECTIONS = {
    "WHY": re.compile(r"(?im)^#{1,3}\s*why\b"),
    "WHAT": re.compile(r"(?im)^#{1,3}\s*what\b"),
    "constraints": re.compile(r"(?im)^#{1,3}\s*constraints\b"),
}
# Concrete remediation commands never belong in a spec: Plan and Tasks choose, Specify does not.
_COMMANDS = re.compile(
    r"(?i)\b(kubectl|helm|curl|wget|oc|argocd)\s+[a-z-]+"
    r"|\b(GET|POST|PUT|PATCH|DELETE)\s+/(api|apis)/"
    r"|\bsystemctl\s+\w+|\brm\s+-[rf]+"
)


@dataclass(frozen=True)
class PreApproved:
    requires: tuple[str, ...]  # preconditions the spec adds to the catalog's


@dataclass(frozen=True)
class Spec:
    incident_type: str
    pre_approved: dict[str, PreApproved]
    max_blast_radius: str
    body: str
    source: str


def parse_spec(text: str, source: str) -> Spec:
    require_utf8(text, source)
    text = text.replace("\r\n", "\n")  # the body's offsets are the normalised text's
    match = FRONT_MATTER.match(text)
    if not match:
        raise InputError(source, "front matter", "missing: the spec must start with a '---' YAML block")
    data: Any = validate(parse_yaml(match.group("yaml"), source), "spec_frontmatter", source)
    actions = {}
    for item in data["pre_approved_actions"]:
        if item["name"] in actions:
            raise InputError(source, "$.pre_approved_actions", f"action {item['name']!r} listed twice")
        actions[item["name"]] = PreApproved(tuple(item.get("requires", [])))
    return Spec(
        incident_type=data["incident_type"],
        pre_approved=actions,
        max_blast_radius=data["max_blast_radius"],
        body=text[match.end():],
        source=source,
    )


_ACCEPTANCE = re.compile(r"(?is)\bgiven\b.*?\bwhen\b.*?\bthen\b")


def sections(text: str) -> dict[str, bool]:
    """Which SDD sections a specify document has (WHY, WHAT, constraints, Given/When/Then acceptance)."""
    found = {name: bool(pattern.search(text)) for name, pattern in _SECTIONS.items()}
    found["acceptance"] = bool(_ACCEPTANCE.search(text))
    return found


def command_findings(text: str, source: str) -> list[str]:
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        found = _COMMANDS.search(line)
        if found:
            findings.append(f"{source}:{number}: concrete command {found.group(0)!r} (specify says what, not how)")
    return findings


def lint(spec: Spec, text: str, catalog: Catalog) -> list[str]:
    """Every finding, one line each, naming the file and (where it applies) the line."""
    findings = []
    for name, pattern in _SECTIONS.items():
        if not pattern.search(spec.body):
            findings.append(f"{spec.source}: missing section {name}")
    for name in spec.pre_approved:
        if name in catalog.forbidden:
            findings.append(f"{spec.source}: pre-approved action {name!r} is forbidden by policy")
        elif name not in catalog.actions:
            findings.append(f"{spec.source}: pre-approved action {name!r} is not in the action catalog")
    return findings + command_findings(text, spec.source)

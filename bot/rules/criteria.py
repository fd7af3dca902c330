"""The Given/When/Then acceptance criteria of a specify document, and their check against the evidence the
validate step records after the remediation (pure).

The chapter's Verification counts criteria a run checked, not criteria written down: the gate (before the merge)
counts those the validate step can check, a criterion whose Given or When is the merged change or the resolved
alert; the validate step (after the merge) checks each of them against the resolved alert it stores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SECTION = re.compile(r"(?im)^#{1,3}\s*acceptance\b.*$")
_HEADING = re.compile(r"(?m)^#{1,3}\s")
_CRITERION = re.compile(r"(?is)^given\b\s*(?P<given>.*?)[\s,;]*\bwhen\b\s*(?P<when>.*?)[\s,;]*\bthen\b\s*(?P<then>.*?)"
                        r"[\s.]*$")
# A criterion about the state after the remediation: only the post-remediation evidence can show it.
_AFTER = re.compile(r"(?i)\b(merged|synced|resolves|resolved)\b")


@dataclass(frozen=True)
class Criterion:
    given: str
    when: str
    then: str

    @property
    def text(self) -> str:
        return f"Given {self.given}, When {self.when}, Then {self.then}"

    @property
    def after_remediation(self) -> bool:
        """Its Given or When is the merged change or the alert resolving: the validate step checks it."""
        return bool(_AFTER.search(f"{self.given} {self.when}"))


def _acceptance_body(text: str) -> str:
    """The acceptance section (up to the next heading); the whole text when it has no such heading."""
    found = _SECTION.search(text)
    if not found:
        return text
    rest = text[found.end():]
    end = _HEADING.search(rest)
    return rest[: end.start()] if end else rest


def parse(text: str) -> list[Criterion]:
    """One criterion per list item of the acceptance section that reads `Given ... When ... Then ...`."""
    items: list[str] = []
    for line in _acceptance_body(text).splitlines():
        stripped = line.strip()
        if stripped.startswith(("- ", "* ")):
            items.append(stripped[2:].strip())
        elif stripped and items:
            items[-1] += " " + stripped  # a continuation line of the item
    out = []
    for item in items:
        found = _CRITERION.match(" ".join(item.split()))
        if found:
            out.append(Criterion(found["given"], found["when"], found["then"]))
    return out


@dataclass(frozen=True)
class PostRemediation:
    """What the record holds after the merge (plain data, read by the validate step)."""

    merged: bool                      # a merge entry of the remediation
    resolved: tuple[str, ...]         # the resolved alerts stored (audit branch paths)
    windows_wanted: int | None        # tasks.md validation.windows
    windows_recorded: int             # the firing window (event.json) and one per resolved alert


@dataclass(frozen=True)
class Check:
    criterion: str
    met: bool
    evidence: str


def check(criteria: list[Criterion], post: PostRemediation) -> list[Check]:
    """Each post-remediation criterion against the record: met when the remediation merged, the resolved alert
    is stored and the record holds the windows tasks.md asks for (the firing one and each resolved alert)."""
    wanted = post.windows_wanted or 1
    problems = []
    if not post.merged:
        problems.append("no merge of the remediation is recorded")
    if not post.resolved:
        problems.append("no resolved alert is stored")
    if post.windows_recorded < wanted:
        problems.append(f"{post.windows_recorded} of the {wanted} windows tasks.md asks for are recorded")
    evidence = "; ".join(problems) or (
        f"merged; resolved alert {', '.join(post.resolved)}; {post.windows_recorded} windows recorded "
        f"(tasks.md asks for {wanted})")
    return [Check(c.text, not problems, evidence) for c in criteria if c.after_remediation]

"""Incident ids and every name derived from one (branches, folders). One pattern, matched whole."""

from __future__ import annotations

import re

# <prefix>-<UTC date of the first firing>-<sequence>, e.g. HM-2026-05-17-01 (the schemas carry the same
# pattern; tests/model/test_ids.py keeps them equal).
INCIDENT_ID_PATTERN = r"[A-Z]{2,4}-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2,}"
_INCIDENT_ID = re.compile(INCIDENT_ID_PATTERN)
# every incident id named in a text, e.g. a merge commit's message ("Merge pull request #3 from
# o/incident/<id>"), a squash's title or its trailers
IN_TEXT = re.compile(rf"\b({INCIDENT_ID_PATTERN})\b")


def is_incident_id(text: object) -> bool:
    """True for a well-formed id, matched whole (no trailing newline slips through as with `$`)."""
    return isinstance(text, str) and _INCIDENT_ID.fullmatch(text) is not None


def incident_branch(incident_id: str) -> str:
    return f"incident/{incident_id}"


def rollback_branch(incident_id: str) -> str:
    return f"rollback/{incident_id}"


def audit_branch(incident_id: str) -> str:
    return f"audit/{incident_id}"


def incident_dir(incident_id: str) -> str:
    return f"incidents/{incident_id}"

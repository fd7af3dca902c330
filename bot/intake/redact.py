"""Removes secrets and personal data from vendor payloads before anything is stored."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"

# Keys whose whole value is personal data or a credential (PagerDuty people, bridges, auth).
_DROP_KEYS = frozenset(
    {
        "assignees", "assignments", "agent", "acknowledgers", "acknowledgements", "conference_bridge",
        "email", "phone", "phone_number", "contact_methods", "password", "token", "secret",
        "authorization", "api_key", "apikey", "routing_key", "integration_key", "user", "users",
        "last_status_change_by", "responders", "responder_requests",
    }
)
_SECRET_PARAM = re.compile(r"(?i)(token|key|secret|password|passwd|pwd|auth|signature|sig|session|code)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# International or grouped phone numbers: +1 1234123412, (555) 123-4567, 555-123-4567.
_PHONE = re.compile(r"(?<![\w.])(?:\+\d[\d ()-]{7,}\d|\(?\d{3}\)?[ -]\d{3}-\d{4})(?![\w.])")
_URL = re.compile(r"https?://[^\s\"'<>\]\)]+")
_BEARER = re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}")
_GH_TOKEN = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b")


def clean_url(url: str) -> str:
    """Drop userinfo and secret-looking query parameters; keep everything an operator needs.

    Raises ValueError for a URL that is not one (e.g. a port out of 0-65535): the caller names the field."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:  # ValueError when out of range
        netloc += f":{parts.port}"
    query = [
        (k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="/:=,%"), parts.fragment))


# Every pattern below needs one of these: ':' (URL), '_' (GitHub token), whitespace (bearer), '@' (e-mail),
# '+' or a grouped 10-digit number (phone). Text with none of them is returned as is, with one search.
_MAYBE = re.compile(r"[@:_+\s]|\d{3}\)?[ -]\d{3}-\d{4}")


def _scrubbed_url(url: str) -> str:
    try:
        return clean_url(url)
    except ValueError:  # a URL-looking run of free text that is not one: nothing of it is kept
        return REDACTED


def scrub_text(text: str) -> str:
    if not _MAYBE.search(text):
        return text
    text = _URL.sub(lambda m: _scrubbed_url(m.group(0)), text)
    text = _GH_TOKEN.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _EMAIL.sub(REDACTED, text)
    return _PHONE.sub(REDACTED, text)


def redact(value: Any) -> Any:
    """A copy of a JSON value with personal data and credentials removed, structure kept."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if k.lower() in _DROP_KEYS and v not in (None, [], {}) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value

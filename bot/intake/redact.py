"""What of a vendor payload may be stored: an allowlisted projection (`project`, the fields normalization
reads, per source), with secret patterns scrubbed from its free text as a second layer; and the scrubbing
of free text and URLs itself (pure)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"

_PLAIN_QUERY = re.compile(r"[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*")
_SECRET_PARAM = re.compile(r"(?i)(token|key|secret|password|passwd|pwd|auth|signature|sig|session|code)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# International or grouped phone numbers: +1 1234123412, (555) 123-4567, 555-123-4567.
_PHONE = re.compile(r"(?<![\w.])(?:\+\d[\d ()-]{7,}\d|\(?\d{3}\)?[ -]\d{3}-\d{4})(?![\w.])")
_URL = re.compile(r"https?://[^\s\"'<>\]\)]+")
_BEARER = re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}")
_GH_TOKEN = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b")
# AWS access key ids (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids:
# AKIA for long-term, ASIA for temporary keys) and Slack tokens (xoxb- bot, xoxp- user, xoxa-/xoxr-/xoxs-).
_CLOUD_TOKEN = re.compile(r"\b((?:AKIA|ASIA)[0-9A-Z]{16}|xox[abposr]-[A-Za-z0-9-]{10,})\b")
# A bare international number (E.164: up to 15 digits after the +) or ten or more digits in a row.
_BARE_PHONE = re.compile(r"(?<![\w.+-])\+?\d{10,15}(?![\w.])")
# Incoming-webhook URLs whose path is the credential (Slack: https://hooks.slack.com/services/T../B../..., also
# Slack workflows, Discord and Microsoft Teams / Power Automate webhooks).
_WEBHOOK_HOSTS = re.compile(r"(?i)^(hooks\.slack\.com|discord(app)?\.com|[\w.-]*webhook\.office\.com|"
                            r"[\w.-]*\.logic\.azure\.com)$")


def clean_url(url: str) -> str:
    """Drop userinfo and secret-looking query parameters; keep everything an operator needs.

    Raises ValueError for a URL that is not one (e.g. a port out of 0-65535): the caller names the field."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if _WEBHOOK_HOSTS.match(netloc):  # the path is the secret
        return urlunsplit((parts.scheme, netloc, f"/{REDACTED}", "", ""))
    if parts.port:  # ValueError when out of range
        netloc += f":{parts.port}"
    query = parts.query
    # A query of plain URL characters with nothing secret-looking in it is kept as sent (no parameter name can
    # match); any other is rebuilt, percent-encoded, with the secret-looking parameters' values redacted.
    if _SECRET_PARAM.search(query) or not _PLAIN_QUERY.fullmatch(query):
        query = urlencode([(k, REDACTED if _SECRET_PARAM.search(k) else v)
                           for k, v in parse_qsl(query, keep_blank_values=True)], safe="/:=,%")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# Every pattern below needs one of these: ':' (URL), '_' (GitHub token), whitespace (bearer), '@' (e-mail),
# '+' or a grouped 10-digit number (phone). Text with none of them is returned as is, with one search.
_MAYBE = re.compile(r"[@:_+\s]|\d{3}\)?[ -]\d{3}-\d{4}|\d{10}|AKIA|ASIA|xox")


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
    text = _CLOUD_TOKEN.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _EMAIL.sub(REDACTED, text)
    text = _PHONE.sub(REDACTED, text)
    return _BARE_PHONE.sub(REDACTED, text)


# A projection spec: which fields of a JSON value are kept. KEEP: the value as sent (an identifier, a number,
# a URL the parser cleans itself); TEXT: a string kept with scrub_text applied (free text, label values);
# a dict: an object of which only these keys are kept, each by its own spec; a one-item list: an array each
# of whose items is kept by that spec. A value of another shape than its spec is dropped: normalization
# treats it as absent (tests/intake/test_projection.py proves replay gives the same event).
KEEP = "keep"
TEXT = "text"
Spec = Any


def project(value: Any, spec: Spec) -> Any:
    """The part of `value` that `spec` allows, or None when its shape is not the allowed one."""
    if spec == KEEP:
        return value if isinstance(value, str | int | float | bool) or value is None else None
    if spec == TEXT:  # folded as bot.intake.alert.clean folds it, so that a replay reads the same value
        return scrub_text(" ".join(value.split())) if isinstance(value, str) else project(value, KEEP)
    if isinstance(spec, list):
        return [project(v, spec[0]) for v in value] if isinstance(value, list) else None
    if isinstance(value, dict):
        kept = {k: project(value[k], sub) for k, sub in spec.items() if k in value}
        return {k: v for k, v in kept.items() if v is not None or value[k] is None}
    return None

"""Fault injection: one-shot (or n-shot) canned answers, with GitHub's real error body shapes.

Owns: the `Fault` record that `GitHubFake.inject` queues, matching it to a request, and ready-made
answers for the failures a GitHub client must survive.  Each builder returns keyword arguments for
`inject`, e.g. `server.inject("POST", r"/pulls$", **faults.secondary_rate_limit())`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

DOCS = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    remaining: int = 1
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method in ("*", method.upper()) and bool(self.pattern.search(path))


def default_body(status: int) -> dict[str, Any]:
    """What GitHub sends for a bare status: `{"message": <reason>, "documentation_url": ..., "status": "<n>"}`."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    message = "Server Error" if status >= 500 else phrase
    return {"message": message, "documentation_url": DOCS, "status": str(status)}


def server_error(status: int = 502) -> dict[str, Any]:
    return {"status": status, "body": default_body(status)}


def secondary_rate_limit(retry_after: int = 1) -> dict[str, Any]:
    message = (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach "
        "out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000."
    )
    return {
        "status": 403,
        "body": {"message": message, "documentation_url": f"{RATE_LIMIT_DOCS}#about-secondary-rate-limits"},
        "headers": {"Retry-After": str(retry_after)},
    }


def primary_rate_limit(reset_in: int = 1) -> dict[str, Any]:
    return {
        "status": 403,
        "body": {
            "message": "API rate limit exceeded for installation ID 424242.",
            "documentation_url": f"{RATE_LIMIT_DOCS}#about-the-primary-rate-limit",
        },
        "headers": {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": str(int(time.time()) + reset_in),
            "x-ratelimit-resource": "core",
        },
    }


def not_found() -> dict[str, Any]:
    return {"status": 404, "body": default_body(404)}


def conflict(message: str = "Git Repository is empty.") -> dict[str, Any]:
    return {"status": 409, "body": {"message": message, "documentation_url": DOCS, "status": "409"}}


def validation_failed(*errors: dict[str, Any], message: str = "Validation Failed") -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": "422"}
    if errors:
        body["errors"] = list(errors)
    return {"status": 422, "body": body}

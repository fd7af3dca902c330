"""An in-process fake of the GitHub REST API, validated against GitHub's own OpenAPI description.

Modules: `spec` (OpenAPI loading/validation), `gitstore` (git objects), `state` (resources),
`render_repo` / `render_pulls` (response bodies), `merging` (pull request semantics), `auth` (tokens and
permissions), `routing` + `handlers_*` (operations), `faults` (fault injection), `server` (HTTP server
and test API), `fixture` (pytest fixtures).  `extract_openapi.py` regenerates `openapi_extra.json`.
"""

from .faults import Fault
from .server import BOT_TOKEN, READONLY_TOKEN, REVIEWER_TOKEN, GitHubFake, RecordedRequest
from .spec import OpenAPISpec

__all__ = [
    "BOT_TOKEN",
    "READONLY_TOKEN",
    "REVIEWER_TOKEN",
    "Fault",
    "GitHubFake",
    "OpenAPISpec",
    "RecordedRequest",
]

"""Token authentication and fine-grained permission checks, answered the way GitHub answers them.

Owns: the token -> (account, permissions) table, parsing `Authorization: token X` / `Bearer X`, the
permission each operation needs (GitHub App / fine-grained token model: read < write < admin, any one
of several alternative sets may suffice), and the 401/403 bodies and `x-accepted-github-permissions`
header GitHub sends when a caller is not allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .state import User

LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
Requirement = tuple[Mapping[str, str], ...]  # alternatives; each maps permission -> minimum level


def _one(**needs: str) -> Requirement:
    return (needs,)


_ISSUES_OR_PULLS_WRITE: Requirement = ({"issues": "write"}, {"pull_requests": "write"})
_ISSUES_OR_PULLS_READ: Requirement = ({"issues": "read"}, {"pull_requests": "read"})

# Per GitHub's "Permissions required for GitHub Apps" tables, for the operations the fake serves.
REQUIRED_PERMISSIONS: dict[str, Requirement] = {
    "repos/get": _one(metadata="read"),
    "repos/get-branch": _one(contents="read"),
    "repos/get-commit": _one(contents="read"),
    "repos/get-branch-protection": _one(administration="read"),
    "repos/update-branch-protection": _one(administration="write"),
    "repos/get-content": _one(contents="read"),
    "repos/create-or-update-file-contents": _one(contents="write"),
    "repos/create-dispatch-event": _one(contents="write"),
    "repos/get-combined-status-for-ref": _one(statuses="read"),
    "repos/create-commit-status": _one(statuses="write"),
    "git/get-ref": _one(contents="read"),
    "git/list-matching-refs": _one(contents="read"),
    "repos/compare-commits": _one(contents="read"),
    "git/create-ref": _one(contents="write"),
    "git/update-ref": _one(contents="write"),
    "git/delete-ref": _one(contents="write"),
    "git/get-commit": _one(contents="read"),
    "git/create-commit": _one(contents="write"),
    "git/get-tree": _one(contents="read"),
    "git/create-tree": _one(contents="write"),
    "git/get-blob": _one(contents="read"),
    "git/create-blob": _one(contents="write"),
    "checks/create": _one(checks="write"),
    "checks/update": _one(checks="write"),
    "checks/get": _one(checks="read"),
    "checks/list-for-ref": _one(checks="read"),
    "issues/create-comment": _ISSUES_OR_PULLS_WRITE,
    "issues/list-comments": _ISSUES_OR_PULLS_READ,
    "issues/add-labels": _ISSUES_OR_PULLS_WRITE,
    "pulls/list": _one(pull_requests="read"),
    "pulls/get": _one(pull_requests="read"),
    "pulls/create": _one(pull_requests="write"),
    "pulls/update": _one(pull_requests="write"),
    "pulls/list-files": _one(pull_requests="read"),
    "pulls/request-reviewers": _one(pull_requests="write"),
    "pulls/create-review": _one(pull_requests="write"),
    "pulls/list-reviews": _one(pull_requests="read"),
    "pulls/merge": _one(contents="write"),
}

ALL_WRITE = {
    "metadata": "read", "contents": "write", "pull_requests": "write", "issues": "write",
    "checks": "write", "statuses": "write", "administration": "write",
}
BOT_PERMISSIONS = {
    "metadata": "read", "contents": "write", "pull_requests": "write", "issues": "write",
    "checks": "write", "statuses": "write", "administration": "read",
}


@dataclass(frozen=True)
class Grant:
    """What a token authenticates as and what it may do."""

    account: User
    permissions: Mapping[str, str] = field(default_factory=lambda: dict(BOT_PERMISSIONS))

    def level(self, permission: str) -> int:
        implicit = "read" if permission == "metadata" else "none"  # every installation can read metadata
        return LEVELS[self.permissions.get(permission, implicit)]

    def allows(self, requirement: Requirement) -> bool:
        return any(all(self.level(p) >= LEVELS[lvl] for p, lvl in needs.items()) for needs in requirement)


def bearer(header: str | None) -> str | None:
    """The token in `Authorization: token X` or `Authorization: Bearer X`, else None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() in ("token", "bearer") else None


def accepted_header(requirement: Requirement) -> str:
    """`x-accepted-github-permissions` value: alternative sets joined by "; ", members by ","."""
    return "; ".join(",".join(f"{p}={lvl}" for p, lvl in needs.items()) for needs in requirement)


@dataclass
class Denial:
    status: int
    message: str
    headers: dict[str, str]


def authorize(grants: Mapping[str, Grant], header: str | None, operation_id: str) -> Grant | Denial:
    token = bearer(header)
    if token is None:
        return Denial(401, "Requires authentication", {})
    grant = grants.get(token)
    if grant is None:
        return Denial(401, "Bad credentials", {})
    requirement = REQUIRED_PERMISSIONS.get(operation_id, _one(metadata="read"))
    if not grant.allows(requirement):
        header_value = accepted_header(requirement)
        return Denial(403, "Resource not accessible by integration", {"x-accepted-github-permissions": header_value})
    return grant

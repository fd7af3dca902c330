"""GitHub's error answers as types (gidgethub's `sansio.decipher_response` is the model): classified once,
here, by HTTP status and the body's `errors[].code`; the few cases GitHub tells apart only by its message
(code `custom`) are matched here too, so no caller matches message text.

Status meanings: https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api and
"Client errors" in https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api
(400 bad request, 404 not found or not visible, 405 not allowed (e.g. a merge method the repository
disables), 409 conflict (e.g. a head that moved), 422 validation failed with `errors[].code` such as
`missing`, `missing_field`, `invalid`, `already_exists`, `unprocessable`, or `custom` with a message).
"""

from __future__ import annotations

from typing import Any

from bot.errors import ForgeError


class ApiError(ForgeError):
    """GitHub answered with an error status the caller may want to interpret."""

    def __init__(self, text: str, status: int, message: str, details: list[str], codes: tuple[str, ...] = ()) -> None:
        super().__init__(text)
        self.status = status
        self.message = message
        self.details = details
        self.codes = codes

    def mentions(self, phrase: str) -> bool:
        return any(phrase.lower() in m.lower() for m in (self.message, *self.details))


class BadRequest(ApiError):
    """400."""


class NotFound(ApiError):
    """404: absent, or invisible to this token."""


class BranchNotProtected(NotFound):
    """404 "Branch not protected" from GET /branches/{branch}/protection."""


class MethodNotAllowed(ApiError):
    """405: e.g. a merge method the repository does not allow."""


class Conflict(ApiError):
    """409: e.g. the pull request head moved since it was read."""


class ValidationFailed(ApiError):
    """422, with the `errors[].code` values GitHub gave."""


class AlreadyExists(ValidationFailed):
    """422 `already_exists`, or `custom` "A pull request already exists for ..."."""


class OwnPullRequest(ValidationFailed):
    """422 "Can not approve your own pull request"."""


_BY_STATUS: dict[int, type[ApiError]] = {400: BadRequest, 404: NotFound, 405: MethodNotAllowed, 409: Conflict,
                                         422: ValidationFailed}


def classify(text: str, status: int, message: str, errors: list[Any]) -> ApiError:
    """The typed error of one GitHub answer (`errors`: the body's `errors` list, strings or objects)."""
    details = [e if isinstance(e, str) else str(e.get("message") or e.get("code") or e)
               for e in errors if isinstance(e, str | dict)]
    codes = tuple(str(e["code"]) for e in errors if isinstance(e, dict) and isinstance(e.get("code"), str))
    said = " ".join([message, *details]).lower()
    kind = _BY_STATUS.get(status, ApiError)
    if status == 422 and ("already_exists" in codes or "already exists" in said):
        kind = AlreadyExists
    elif status == 422 and "your own pull request" in said:
        kind = OwnPullRequest
    elif status == 404 and "not protected" in said:
        kind = BranchNotProtected
    return kind(text, status, message, details, codes)

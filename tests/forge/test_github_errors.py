"""GitHub's error answers become types in one place (bot/forge/github/errors.py); the bodies below are the
shapes GitHub documents (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api)
and sends for these cases (422 `custom` carries its meaning only in the message)."""

from __future__ import annotations

import pytest

from bot.forge.github.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    BranchNotProtected,
    Conflict,
    MethodNotAllowed,
    NotFound,
    OwnPullRequest,
    ValidationFailed,
    classify,
)

CASES = [
    (422, "Validation Failed",
     [{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:incident/x."}],
     AlreadyExists),
    (422, "Reference already exists", [{"resource": "Reference", "code": "already_exists", "field": "ref"}],
     AlreadyExists),
    (422, "Unprocessable Entity", ["Can not approve your own pull request"], OwnPullRequest),
    (422, "Validation Failed", [{"resource": "Issue", "code": "missing_field", "field": "title"}], ValidationFailed),
    (404, "Branch not protected", [], BranchNotProtected),
    (404, "Not Found", [], NotFound),
    (405, "Merge commits are not allowed on this repository.", [], MethodNotAllowed),
    (409, "Head branch was modified. Review and try the merge again.", [], Conflict),
    (400, "Problems parsing JSON", [], BadRequest),
    (502, "Server Error", [], ApiError),
]


@pytest.mark.parametrize(("status", "message", "errors", "kind"), CASES, ids=[c[3].__name__ + str(c[0]) for c in CASES])
def test_each_answer_gets_its_type(status, message, errors, kind):
    error = classify("GitHub API: ...", status, message, errors)
    assert type(error) is kind
    assert error.status == status and error.message == message


def test_codes_are_kept_and_subtypes_are_their_status_type():
    error = classify("x", 422, "Validation Failed", [{"code": "missing_field"}, {"code": "invalid"}])
    assert error.codes == ("missing_field", "invalid")
    assert isinstance(classify("x", 404, "Branch not protected", []), NotFound)
    assert isinstance(classify("x", 422, "Reference already exists", []), ValidationFailed)

"""The contract between the HTTP layer and the per-operation handlers.

Owns: `Call` (one authenticated, matched request: operation, path params, query, JSON body, caller,
repository), `Reply`, `ApiError` (rendered as GitHub's error body), the operationId -> handler registry
filled by the `handlers_*` modules, and Link-header pagination shared by every list operation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from .auth import Grant
from .render_repo import Urls
from .spec import Operation
from .state import Repository, User

T = TypeVar("T")


class ApiError(Exception):
    """An error answer: status, GitHub's message, and for 422s optionally its `errors` list."""

    def __init__(self, status: int, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors

    def body(self, documentation_url: str) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(documentation_url=documentation_url, status=str(self.status))
        return body


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(*errors: dict[str, Any]) -> ApiError:
    return ApiError(422, "Validation Failed", list(errors))


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    op: Operation
    params: dict[str, str]
    query: dict[str, list[str]]
    body: Any
    grant: Grant
    urls: Urls
    repo: Repository
    users: dict[str, User]
    path: str

    @property
    def caller(self) -> User:
        return self.grant.account

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def field(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default

    def number(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise not_found() from None

    def page(self, items: Sequence[T]) -> tuple[list[T], dict[str, str]]:
        """Slice `items` by `page`/`per_page` and build GitHub's `Link` header for the other pages."""
        per_page = min(max(int(self.arg("per_page", "30") or 30), 1), 100)
        page = max(int(self.arg("page", "1") or 1), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)):
            if 1 <= number <= last and number != page:
                query = {k: v[-1] for k, v in self.query.items()} | {"per_page": per_page, "page": number}
                links.append(f'<{self.urls.api}{self.path}?{urlencode(query)}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if links else {}
        return list(items[(page - 1) * per_page : page * per_page]), headers


Handler = Callable[[Call], Reply]
HANDLERS: dict[str, Handler] = {}


def handles(operation_id: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[operation_id] = handler
        return handler

    return register

"""pytest fixtures: a running `GitHubFake` seeded with `acme/gitops`, and PyGithub clients bound to it.

Owns: `github_seed_files` (override it, or parametrize `github_server` indirectly with a dict, to
choose the files on `main`), `github_server` (fails the test at teardown if any request or response
broke GitHub's OpenAPI description), and `github_client` (a factory of PyGithub `Github` objects that
are closed at teardown, so no socket outlives the test under `-W error`).

Load it with `pytest_plugins = ["tests.githubfake.fixture"]` in a conftest.py or test module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from github import Auth, Github

from .server import BOT_TOKEN, GitHubFake

REPOSITORY = "acme/gitops"
DEFAULT_FILES: dict[str, str] = {
    "README.md": "# acme/gitops\n\nDesired state for acme's clusters.\n",
    "apps/checkout/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout\n"
        "spec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n"
        "        - name: checkout\n          image: ghcr.io/acme/checkout:1.4.2\n"
    ),
    "apps/checkout/kustomization.yaml": "resources:\n  - deployment.yaml\n",
}


@pytest.fixture
def github_seed_files() -> dict[str, str | bytes]:
    """Files committed to `main` of acme/gitops before the test starts."""
    return dict(DEFAULT_FILES)


@pytest.fixture
def github_server(request: pytest.FixtureRequest, github_seed_files: dict[str, str | bytes]) -> Iterator[GitHubFake]:
    files = getattr(request, "param", None) or github_seed_files
    with GitHubFake() as server:
        server.add_repo(REPOSITORY, files)
        yield server
    if server.violations:
        listing = "\n".join(f"  - {v}" for v in server.violations)
        pytest.fail(f"GitHub fake saw {len(server.violations)} OpenAPI/contract violation(s):\n{listing}")


GithubFactory = Callable[..., Github]


@pytest.fixture
def github_client(github_server: GitHubFake) -> Iterator[GithubFactory]:
    """`github_client(token=BOT_TOKEN, **kwargs)` -> a PyGithub `Github` talking to the fake."""
    clients: list[Github] = []

    def make(token: str = BOT_TOKEN, **kwargs: Any) -> Github:
        kwargs.setdefault("per_page", 30)
        kwargs.setdefault("seconds_between_requests", None)  # PyGithub throttles by default (0.25 s / 1 s)
        kwargs.setdefault("seconds_between_writes", None)
        client = Github(base_url=github_server.base_url, auth=Auth.Token(token), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()

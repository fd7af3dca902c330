"""GitHub's REST API through PyGithub's requester: the one place that sends a request, follows pages,
retries transient faults (PyGithub's `GithubRetry`) and turns every failure into a `BotError` whose
text names the operation and never holds the token.

Configuration comes in as a `Settings` value: only the CLI reads the environment (`settings_from_env`
is handed `os.environ` by it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait

from bot.errors import ForgeError, InputError
from bot.forge.github.errors import classify

DEFAULT_API = "https://api.github.com"
RERUN = "re-run to finish: nothing half-done is left that a re-run cannot complete"
_SHA = re.compile(r"[0-9a-f]{40}")
# Every method the bot sends. urllib3's default leaves out PATCH (and POST), so a branch move, an audit append or a
# pull request body update would fail on one 502 or secondary rate limit. Each write is safe to repeat: ref
# moves are compare-and-swap (force=false), trees and commits are content-addressed, a pull request or ref that
# already exists answers 422, which the forge resolves.
RETRIED_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
_BRANCH = re.compile(r"[A-Za-z0-9][\w.-]*(?:/[\w.-]+)*")
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
_TOO_MANY = re.compile(r"too many (\d{3}) error responses")


@dataclass(frozen=True)
class Settings:
    """Where and how to reach GitHub. `main_sha`: the default branch as checked out (GITHUB_SHA)."""

    token: str = field(repr=False)
    repository: str  # owner/name
    api_url: str = DEFAULT_API
    main_sha: str | None = None
    identity: str | None = None  # the bot's login when configured (INCIDENT_BOT_IDENTITY)
    # Only check runs created by this GitHub App count (its slug, e.g. github-actions, or its numeric id): a
    # `readiness` check posted by any other App cannot open the gate (INCIDENT_BOT_CHECK_APP).
    check_app: str | None = None
    default_branch: str = "main"
    # branches the job fetched into the checkout just before the bot ran (INCIDENT_BOT_FETCHED, written by
    # .github/actions/fetch-incident): their heads are read from `origin/<branch>` there, not from the API
    fetched: frozenset[str] = frozenset()
    attempts: int = 5  # per request, the first included (5xx, rate limits)
    backoff: float = 0.5  # urllib3 backoff factor between attempts on 5xx
    secondary_rate_wait: float = 60.0  # GitHub: wait at least a minute when no Retry-After is sent
    max_rate_limit_wait: float = 300.0  # never sleep longer for a rate-limit reset; fail and re-run instead
    seconds_between_requests: float | None = 0.25  # PyGithub's pacing, per GitHub's best practices
    seconds_between_writes: float | None = 1.0
    timeout: int = 30

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def html_url(self) -> str:
        """The web root that goes with the API root (github.com, or a GitHub Enterprise Server host)."""
        api = self.api_url.rstrip("/")
        return "https://github.com" if api == DEFAULT_API else api.removesuffix("/api/v3")


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Settings from the variables GitHub Actions provides (the CLI passes `os.environ`)."""
    token = env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise InputError("environment", "GITHUB_TOKEN", "not set (a token or GitHub App installation token)")
    repository = env.get("GITHUB_REPOSITORY", "").strip()
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        raise InputError("environment", "GITHUB_REPOSITORY", f"expected owner/name, got {repository!r}")
    branch = env.get("INCIDENT_BOT_DEFAULT_BRANCH", "main").strip() or "main"
    sha = env.get("GITHUB_SHA", "").strip().lower()
    # GITHUB_SHA is the default branch only when the run was triggered on it (on a pull_request event
    # it is a merge commit holding the pull request's changes: policies must never come from there).
    on_main = env.get("GITHUB_REF", f"refs/heads/{branch}") == f"refs/heads/{branch}"
    pacing = env.get("INCIDENT_BOT_GITHUB_PACING", "github")
    if pacing not in ("github", "none"):
        raise InputError("environment", "INCIDENT_BOT_GITHUB_PACING", f"expected github or none, got {pacing!r}")
    paced = pacing == "github"
    fetched = env.get("INCIDENT_BOT_FETCHED", "").split()
    bad = [b for b in fetched if not _BRANCH.fullmatch(b)]
    if bad:
        raise InputError("environment", "INCIDENT_BOT_FETCHED", f"not a branch name: {bad[0]!r}")
    return Settings(
        token=token,
        repository=repository,
        api_url=env.get("GITHUB_API_URL", "").strip() or DEFAULT_API,
        main_sha=sha if _SHA.fullmatch(sha) and on_main else None,
        identity=env.get("INCIDENT_BOT_IDENTITY", "").strip() or None,
        check_app=env.get("INCIDENT_BOT_CHECK_APP", "").strip() or None,
        default_branch=branch,
        fetched=frozenset(fetched),
        attempts=_number(env, "INCIDENT_BOT_GITHUB_ATTEMPTS", 5, int),
        backoff=_number(env, "INCIDENT_BOT_GITHUB_BACKOFF", 0.5, float),
        seconds_between_requests=0.25 if paced else None,
        seconds_between_writes=1.0 if paced else None,
    )


def _number(env: Mapping[str, str], name: str, default: float, kind: type[int] | type[float]) -> Any:
    raw = env.get(name, "").strip()
    try:
        value = kind(raw) if raw else default
    except ValueError:
        raise InputError("environment", name, f"expected a number, got {raw!r}") from None
    if value < (1 if kind is int else 0):
        raise InputError("environment", name, f"out of range: {raw}")
    return value


class MissingPermission(ForgeError):
    """The token may not do this (403 without rate-limit signs): a re-run will not help."""


def installation_token(token: str) -> bool:
    """GitHub App installation tokens (and Actions' GITHUB_TOKEN) start with ghs_ (GitHub's token formats)."""
    return token.startswith("ghs_")


class Api:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        owner, _, name = settings.repository.partition("/")
        self.repo = f"/repos/{quote(owner)}/{quote(name)}"
        retry = GithubRetry(  # 5xx and rate limits (403, and 429 which GitHub may send for secondary limits)
            total=settings.attempts - 1, backoff_factor=settings.backoff, status_forcelist=[*range(500, 600), 429],
            allowed_methods=RETRIED_METHODS,
            secondary_rate_wait=settings.secondary_rate_wait, max_rate_limit_wait=settings.max_rate_limit_wait,
        )
        self._github = Github(
            auth=Auth.Token(settings.token), base_url=settings.api_url.rstrip("/"), retry=retry,
            timeout=settings.timeout, user_agent="incident-bot", per_page=100,
            seconds_between_requests=settings.seconds_between_requests,
            seconds_between_writes=settings.seconds_between_writes,
        )

    def close(self) -> None:
        self._github.close()

    def call(self, method: str, path: str, what: str, body: Any = None, params: dict[str, Any] | None = None,
             *, in_repo: bool = True) -> Any:
        """One request to `path` (below the repository unless `in_repo` is False); the JSON answer."""
        return self._send(method, (self.repo if in_repo else "") + path, what, body, params)[1]

    def pages(self, path: str, what: str, params: dict[str, Any] | None = None, key: str | None = None,
              *, per_page: bool = True) -> list[Any]:
        """Every item of a paginated list (following `Link: rel="next"`), 100 per request where the
        operation takes `per_page` (list-matching-refs does not: GitHub pages it on its own)."""
        url: str | None = self.repo + path
        query: dict[str, Any] | None = {**(params or {}), **({"per_page": 100} if per_page else {})}
        items: list[Any] = []
        while url:
            headers, data = self._send("GET", url, what, None, query)
            items += data[key] if key else data
            found = _NEXT.search(_header(headers, "link") or "")
            url, query = (found.group(1), None) if found else (None, None)
        return items

    def _send(self, method: str, url: str, what: str, body: Any, params: dict[str, Any] | None
              ) -> tuple[dict[str, Any], Any]:
        path = url.split("?", 1)[0].removeprefix(self.settings.api_url.rstrip("/"))
        where = f"{method} {path.removeprefix(self.repo) if path.startswith(self.repo + '/') else path}"
        try:
            return self._github.requester.requestJsonAndCheck(method, url, parameters=params, input=body)
        except RateLimitExceededExceedsMaxWait as exc:
            text = (f"GitHub API: rate limited on {where} ({what}): the limit resets in {exc.wait or 0:.0f} s, "
                    f"more than the {self.settings.max_rate_limit_wait:.0f} s this run may wait; {RERUN}")
            raise ForgeError(self._scrub(text)) from None
        except GithubException as exc:
            raise self._error(where, what, exc) from None
        except requests.exceptions.RetryError as exc:
            found = _TOO_MANY.search(str(exc))
            status = found.group(1) if found else "error"
            label = f"rate limited ({status})" if status == "403" else status
            text = f"GitHub API: {label} on {where} after {self.settings.attempts} attempts ({what}); {RERUN}"
            raise ForgeError(self._scrub(text)) from None
        except requests.exceptions.RequestException as exc:
            text = (f"GitHub API unreachable at {self.settings.api_url} on {where} ({what}): "
                    f"{type(exc).__name__}; {RERUN}")
            raise ForgeError(self._scrub(text)) from None

    def _error(self, where: str, what: str, exc: GithubException) -> ForgeError:
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or exc.message or "no message")
        errors = data.get("errors") if isinstance(data.get("errors"), list) else []
        details = [e if isinstance(e, str) else str(e.get("message") or e.get("code") or e)
                   for e in errors or [] if isinstance(e, str | dict)]
        status = exc.status
        said = message + (f" ({'; '.join(details)})" if details else "")
        if status == 401:
            return ForgeError(self._scrub(f"GitHub API: 401 {message} on {where} ({what}): the token in "
                                          "GITHUB_TOKEN is not valid (expired or revoked?)"))
        if status == 403 and not _header(exc.headers, "retry-after"):
            accepted = _header(exc.headers, "x-accepted-github-permissions")
            scopes = _header(exc.headers, "x-accepted-oauth-scopes")
            need = (f"the permission {accepted.replace('; ', ' or ')}" if accepted
                    else f"the OAuth scope {scopes}" if scopes else "a permission it does not have")
            return MissingPermission(self._scrub(
                f"GitHub API: 403 on {where} ({what}): the token lacks {need} (GitHub: {said}); grant it in the "
                "workflow's `permissions:` or the GitHub App's settings"))
        if status == 404 and message == "Not Found":  # GitHub hides what a token may not see behind 404s
            said += f" (does {self.settings.repository} exist, and can the token see it?)"
        return classify(self._scrub(f"GitHub API: {status} {said} on {where} ({what})"), status, message, errors or [])

    def _scrub(self, text: str) -> str:
        return text.replace(self.settings.token, "***") if self.settings.token else text


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None

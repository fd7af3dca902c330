"""The receiver's settings from the environment (pure: the caller passes os.environ)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import InputError
from bot.intake.sources import RECEIVED
from bot.receiver.verify import MAX_BODY, Secrets

# Credentials. Several values in one variable (a rotation on our side) are separated by whitespace.
ENV_RELAY = "INCIDENT_BOT_RELAY_SECRET"  # X-Hub-Signature-256 from a relay, optional

# The receiver itself: (variable, default, meaning) -- README "Receiving webhooks" lists the same.
ENV_SPOOL = "INCIDENT_BOT_SPOOL"
ENV_SPOOL_MAX_MB = "INCIDENT_BOT_SPOOL_MAX_MB"
ENV_MAX_BODY = "INCIDENT_BOT_MAX_BODY"
ENV_BODY_DEADLINE = "INCIDENT_BOT_BODY_DEADLINE"
ENV_HEADER_TIMEOUT = "INCIDENT_BOT_HEADER_TIMEOUT"
ENV_MAX_CONCURRENCY = "INCIDENT_BOT_MAX_CONCURRENCY"
ENV_MAX_CONNECTIONS = "INCIDENT_BOT_MAX_CONNECTIONS"
ENV_FORWARD = "INCIDENT_BOT_FORWARD"
ENV_ATTEMPTS = "INCIDENT_BOT_FORWARD_ATTEMPTS"
ENV_BACKOFF = "INCIDENT_BOT_FORWARD_BACKOFF"
ENV_BACKOFF_MAX = "INCIDENT_BOT_FORWARD_BACKOFF_MAX"
ENV_COALESCE = "INCIDENT_BOT_COALESCE_SECONDS"
ENV_REJECTED_KEEP = "INCIDENT_BOT_REJECTED_KEEP"

DEFAULT_SPOOL = ".incident-bot/spool.db"
FORWARD_MODES = ("open", "dispatch")


def secrets_from_env(env: Mapping[str, str]) -> Secrets:
    """The credentials named by the INCIDENT_BOT_* variables: each registered source reads its own."""
    secrets = Secrets(relay=tuple(env.get(ENV_RELAY, "").split()))
    for source in RECEIVED.values():
        secrets = source.read_env(env, secrets)
    return secrets


@dataclass(frozen=True)
class Dispatch:
    """Where `repository_dispatch` goes (README "Send the alerts"). The token is hidden from repr."""

    api_url: str
    repository: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    spool: Path = Path(DEFAULT_SPOOL)
    spool_max_mb: int = 512
    max_body: int = MAX_BODY
    body_deadline: float = 10.0
    header_timeout: float = 10.0
    max_concurrency: int = 64
    max_connections: int = 256
    forward: str = "open"
    attempts: int = 8
    backoff: float = 2.0
    backoff_max: float = 300.0
    coalesce_seconds: float = 2.0
    rejected_keep: int = 1000
    dispatch: Dispatch | None = None

    def retry_delay(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: exponential, capped."""
        return float(min(self.backoff_max, self.backoff * (2 ** max(0, attempts - 1))))


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float, integer: bool) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise InputError("environment", name, f"expected {'an integer' if integer else 'a number'}, "
                         f"got {raw[:20]!r}") from None
    if not value >= minimum or value != value:
        raise InputError("environment", name, f"must be at least {minimum:g}")
    return value


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Settings from INCIDENT_BOT_* (and, for dispatch, GITHUB_REPOSITORY / GITHUB_API_URL / GITHUB_TOKEN)."""
    forward = env.get(ENV_FORWARD, "open").strip() or "open"
    if forward not in FORWARD_MODES:
        raise InputError("environment", ENV_FORWARD, f"expected one of {', '.join(FORWARD_MODES)}, got {forward!r}")
    dispatch = None
    if forward == "dispatch":
        repository, token = env.get("GITHUB_REPOSITORY", "").strip(), env.get("GITHUB_TOKEN", "").strip()
        if repository.count("/") != 1:
            raise InputError("environment", "GITHUB_REPOSITORY", "expected owner/name for repository_dispatch")
        if not token:
            raise InputError("environment", "GITHUB_TOKEN", "a token with Contents: write is needed for dispatch")
        api = (env.get("GITHUB_API_URL", "").strip() or "https://api.github.com").rstrip("/")
        dispatch = Dispatch(api, repository, token)
    max_body = int(_number(env, ENV_MAX_BODY, MAX_BODY, minimum=1, integer=True))
    if max_body > MAX_BODY:
        raise InputError("environment", ENV_MAX_BODY, f"at most {MAX_BODY} (the verifier's limit)")
    return Settings(
        spool=Path(env.get(ENV_SPOOL, "").strip() or DEFAULT_SPOOL),
        spool_max_mb=int(_number(env, ENV_SPOOL_MAX_MB, 512, minimum=1, integer=True)),
        max_body=max_body,
        body_deadline=_number(env, ENV_BODY_DEADLINE, 10.0, minimum=0.1, integer=False),
        header_timeout=_number(env, ENV_HEADER_TIMEOUT, 10.0, minimum=0.1, integer=False),
        max_concurrency=int(_number(env, ENV_MAX_CONCURRENCY, 64, minimum=1, integer=True)),
        max_connections=int(_number(env, ENV_MAX_CONNECTIONS, 256, minimum=1, integer=True)),
        forward=forward,
        attempts=int(_number(env, ENV_ATTEMPTS, 8, minimum=1, integer=True)),
        backoff=_number(env, ENV_BACKOFF, 2.0, minimum=0, integer=False),
        backoff_max=_number(env, ENV_BACKOFF_MAX, 300.0, minimum=0, integer=False),
        coalesce_seconds=_number(env, ENV_COALESCE, 2.0, minimum=0, integer=False),
        rejected_keep=int(_number(env, ENV_REJECTED_KEEP, 1000, minimum=0, integer=True)),
        dispatch=dispatch,
    )

"""What every delivery check shares: the credentials (`Secrets`), the refusals, constant-time comparison
and the relay signature (pure: no sockets, no clock)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.errors import InputError, RuleRefusal

MAX_BODY = 1024 * 1024  # 1 MiB: far above any real alert group, small enough to hash on every request
MAX_AGE_SECONDS = 300.0  # Grafana's docs ask receivers to check the timestamp "is recent"; 5 min as Slack et al.

GRAFANA_HEADER = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMP_HEADER = "X-Grafana-Alerting-Timestamp"
AUTHORIZATION = "Authorization"
RELAY_HEADER = "X-Hub-Signature-256"


class SignatureError(RuleRefusal):
    """A delivery failed verification. The message names the header and the problem, never a secret
    or a signature value, so it is safe to log."""

    def __init__(self, source: str, header: str, problem: str) -> None:
        self.source = source
        self.header = header
        self.problem = problem
        super().__init__(f"{source}: {header}: {problem}")


class PayloadTooLarge(InputError):
    """The body is over MAX_BODY bytes (HTTP 413)."""


class UnknownRoute(InputError):
    """The request path names no known source (HTTP 404)."""


@dataclass(frozen=True)
class Secrets:
    """The credentials per source. Several values per source allow a rotation on our side; every
    value is hidden from repr so a traceback or a log of this object never shows one."""

    pagerduty: tuple[str, ...] = field(default=(), repr=False)
    grafana: tuple[str, ...] = field(default=(), repr=False)
    alertmanager_tokens: tuple[str, ...] = field(default=(), repr=False)
    alertmanager_basic: tuple[str, ...] = field(default=(), repr=False)  # "user:password"
    relay: tuple[str, ...] = field(default=(), repr=False)
    grafana_header: str = GRAFANA_HEADER
    # None: the contact point sets no timestamp header, so the body alone is signed (no replay window).
    grafana_timestamp_header: str | None = GRAFANA_TIMESTAMP_HEADER
    max_age_seconds: float = MAX_AGE_SECONDS
    # Shared tokens by source name, for the sources that need nothing but a list of tokens and so no
    # field of their own (a source module added later reads and writes only its own entry).
    tokens: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False, hash=False)

    def __post_init__(self) -> None:
        lists = {n: getattr(self, n) for n in ("pagerduty", "grafana", "alertmanager_tokens",
                                               "alertmanager_basic", "relay")}
        if not isinstance(self.tokens, Mapping):
            raise InputError("secrets", "tokens", "expected a mapping of source name to tokens")
        object.__setattr__(self, "tokens", MappingProxyType(dict(self.tokens)))  # frozen all the way down
        lists.update({f"tokens.{name}": values for name, values in self.tokens.items()})
        for name, values in lists.items():
            # A bare string would be iterated character by character: every letter a valid secret.
            if not isinstance(values, tuple) or not all(isinstance(v, str) and v for v in values):
                raise InputError("secrets", name, "expected a tuple of non-empty strings")
        for value in self.alertmanager_basic:
            if ":" not in value:
                raise InputError("secrets", "alertmanager_basic", "expected 'user:password'")
        if not self.grafana_header:
            raise InputError("secrets", "grafana_header", "a header name must not be empty")
        if self.grafana_timestamp_header == "":
            raise InputError("secrets", "grafana_timestamp_header", "a header name or None")
        if not self.max_age_seconds > 0:
            raise InputError("secrets", "max_age_seconds", "must be positive")

    def configured(self) -> tuple[str, ...]:
        """The sources that have a credential, so deliveries for them can be accepted at all."""
        from bot.intake.sources import RECEIVED  # the registry's modules import this one

        return tuple(name for name, source in RECEIVED.items() if self.relay or source.configured(self))


def env_values(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """The whitespace-separated values of one variable (several: a rotation on our side)."""
    return tuple(env.get(name, "").split())


def verify_relay(source: str, headers: dict[str, str], body: bytes, keys: tuple[str, ...]) -> None:
    # A relay in front of the bot signs like GitHub webhooks ("Validating webhook deliveries",
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
    # X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>. When present it replaces the
    # vendor check; a bad one is refused, never retried against the vendor scheme.
    value = headers[RELAY_HEADER.lower()].strip()
    if not value.startswith("sha256="):
        raise SignatureError(source, RELAY_HEADER, "expected 'sha256=<hex>'")
    if not any_equal([value[7:].lower()], [hmac_hex(key, body) for key in keys]):
        raise SignatureError(source, RELAY_HEADER, "does not match the body")


def lower(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names folded to lower case; repeated names joined with "," as RFC 9110 §5.3 allows."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def hmac_hex(key: str, message: bytes) -> str:
    import hashlib  # here, not at import: `incident-bot readiness` loads the source registry for its parser
    import hmac

    return hmac.new(_bytes(key), message, hashlib.sha256).hexdigest()


def _bytes(text: str) -> bytes:
    # compare_digest refuses non-ASCII str; bytes compare any header a client can send.
    return text.encode("utf-8", "surrogatepass")


def any_equal(given: list[str], expected: list[str]) -> bool:
    """Constant-time: every pair is compared, so the time taken does not say which one matched."""
    import hmac

    found = False
    for g in given:
        for e in expected:
            found |= hmac.compare_digest(_bytes(g), _bytes(e))
    return found

"""Verifies that a webhook delivery comes from the vendor it claims to (pure: no sockets, no clock)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.errors import InputError, RuleRefusal

# The sources a delivery may claim; the same names as bot.intake.normalize.PARSERS (a test keeps them equal).
SOURCES = ("grafana", "pagerduty", "alertmanager")
MAX_BODY = 1024 * 1024  # 1 MiB: far above any real alert group, small enough to hash on every request
MAX_AGE_SECONDS = 300.0  # Grafana's docs ask receivers to check the timestamp "is recent"; 5 min as Slack et al.

PAGERDUTY_HEADER = "X-PagerDuty-Signature"
GRAFANA_HEADER = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMP_HEADER = "X-Grafana-Alerting-Timestamp"
AUTHORIZATION = "Authorization"
RELAY_HEADER = "X-Hub-Signature-256"

_ROUTE = re.compile(r"^/webhook/(?P<source>[a-z]+)/?$")
_TIMESTAMP = re.compile(r"^[0-9]{1,15}$")


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

    def __post_init__(self) -> None:
        for name in ("pagerduty", "grafana", "alertmanager_tokens", "alertmanager_basic", "relay"):
            values = getattr(self, name)
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
        have = {
            "grafana": bool(self.grafana),
            "pagerduty": bool(self.pagerduty),
            "alertmanager": bool(self.alertmanager_tokens or self.alertmanager_basic),
        }
        return tuple(s for s in SOURCES if have[s] or self.relay)


def detect_source(path: str) -> str:
    """`/webhook/<source>` (a query string and a trailing slash allowed) to the source name.

    The path alone decides: sniffing vendor headers would let the sender pick the verifier."""
    match = _ROUTE.match(urlsplit(path).path)
    if not match or match.group("source") not in SOURCES:
        raise UnknownRoute("webhook", "path", f"no webhook here; use /webhook/{{{','.join(SOURCES)}}}")
    return match.group("source")


def verify(source: str, headers: Mapping[str, str], body: bytes, secrets: Secrets, now: float) -> None:
    """Return when `body` is an authentic delivery from `source`; raise SignatureError otherwise.

    `headers` is matched case-insensitively; `now` is Unix seconds, passed in so this stays pure."""
    if source not in SOURCES:
        raise UnknownRoute("webhook", "source", f"unknown source {source!r}")
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(source, "body", f"{len(body)} bytes is over the {MAX_BODY}-byte limit")
    lower = _lower(headers)
    if secrets.relay and RELAY_HEADER.lower() in lower:
        _verify_relay(source, lower, body, secrets.relay)
    elif source == "pagerduty":
        _verify_pagerduty(lower, body, secrets.pagerduty)
    elif source == "grafana":
        _verify_grafana(lower, body, secrets, now)
    else:
        _verify_alertmanager(lower, secrets)


# ---------------------------------------------------------------- one scheme per vendor


def _verify_pagerduty(headers: dict[str, str], body: bytes, keys: tuple[str, ...]) -> None:
    # PagerDuty Webhooks v3, "Verifying Signatures"
    # (https://developer.pagerduty.com/docs/webhooks/webhook-signatures/, PagerDuty/developer-docs
    # docs/webhooks/04-Signatures.md): the header holds one or more comma-separated signatures, one per
    # signing secret during a rotation; keep the `v1=` ones, each the Base16 HMAC-SHA256 of the raw body
    # with the subscription's secret; the delivery is authentic if at least one matches, compared in
    # constant time.
    source, header = "pagerduty", PAGERDUTY_HEADER
    if not keys:
        raise SignatureError(source, header, "no secret configured for this source; delivery refused")
    value = headers.get(header.lower())
    if value is None:
        raise SignatureError(source, header, "missing")
    given = [item.strip()[3:].lower() for item in value.split(",") if item.strip().startswith("v1=")]
    if not given:
        raise SignatureError(source, header, "holds no v1= signature")
    expected = [_hmac_hex(key, body) for key in keys]
    if not _any_equal(given, expected):
        raise SignatureError(source, header, f"none of the {len(given)} v1 signature(s) matches the body")


def _verify_grafana(headers: dict[str, str], body: bytes, secrets: Secrets, now: float) -> None:
    # Grafana Alerting webhook contact point, "HMAC signature"
    # (https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/
    # integrations/webhook-notifier/#hmac-signature; signer: grafana/alerting http/hmac.go): the header
    # (default X-Grafana-Alerting-Signature, configurable) is the lower-case hex HMAC-SHA256 of the body;
    # when a timestamp header is configured Grafana sets it to Unix seconds and signs
    # timestamp + ":" + body. The docs ask receivers to check that the timestamp is recent.
    source, header = "grafana", secrets.grafana_header
    if not secrets.grafana:
        raise SignatureError(source, header, "no secret configured for this source; delivery refused")
    value = headers.get(header.lower())
    if value is None:
        raise SignatureError(source, header, "missing")
    signed = body
    if secrets.grafana_timestamp_header is not None:
        ts_header = secrets.grafana_timestamp_header
        stamp = headers.get(ts_header.lower())
        if stamp is None:
            raise SignatureError(source, ts_header, "missing (the contact point must set this timestamp header)")
        stamp = stamp.strip()
        if not _TIMESTAMP.match(stamp):
            raise SignatureError(source, ts_header, "not a Unix timestamp in seconds")
        age = now - int(stamp)
        if age > secrets.max_age_seconds:
            raise SignatureError(source, ts_header, f"stale: {int(age)} s old (limit {int(secrets.max_age_seconds)} s)")
        if -age > secrets.max_age_seconds:
            raise SignatureError(source, ts_header, f"{int(-age)} s in the future "
                                 f"(limit {int(secrets.max_age_seconds)} s)")
        signed = stamp.encode("ascii") + b":" + body
    expected = [_hmac_hex(key, signed) for key in secrets.grafana]
    if not _any_equal([value.strip().lower()], expected):
        raise SignatureError(source, header, "does not match the body" +
                             (" and timestamp" if secrets.grafana_timestamp_header else ""))


def _verify_alertmanager(headers: dict[str, str], secrets: Secrets) -> None:
    # Prometheus Alertmanager signs no body. Its <webhook_config> takes an <http_config>
    # (https://prometheus.io/docs/alerting/latest/configuration/#http_config) whose `authorization`
    # (type defaults to Bearer) sends "Authorization: Bearer <credentials>", or whose `basic_auth` sends
    # "Authorization: Basic base64(user:password)". The auth-scheme is case-insensitive (RFC 9110 §11.1).
    source, header = "alertmanager", AUTHORIZATION
    if not (secrets.alertmanager_tokens or secrets.alertmanager_basic):
        raise SignatureError(source, header, "no token configured for this source; delivery refused")
    value = headers.get(header.lower())
    if value is None:
        raise SignatureError(source, header, "missing")
    scheme, _, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and secrets.alertmanager_tokens:
        if _any_equal([credentials], list(secrets.alertmanager_tokens)):
            return
        raise SignatureError(source, header, "bearer token does not match")
    if scheme.lower() == "basic" and secrets.alertmanager_basic:
        try:
            pair = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise SignatureError(source, header, "basic credentials are not base64 'user:password'") from None
        if _any_equal([pair], list(secrets.alertmanager_basic)):
            return
        raise SignatureError(source, header, "basic credentials do not match")
    accepted = " or ".join(n for n, on in (("Bearer", secrets.alertmanager_tokens),
                                           ("Basic", secrets.alertmanager_basic)) if on)
    raise SignatureError(source, header, f"expected the {accepted} scheme")


def _verify_relay(source: str, headers: dict[str, str], body: bytes, keys: tuple[str, ...]) -> None:
    # A relay in front of the bot signs like GitHub webhooks ("Validating webhook deliveries",
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
    # X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>. When present it replaces the
    # vendor check; a bad one is refused, never retried against the vendor scheme.
    value = headers[RELAY_HEADER.lower()].strip()
    if not value.startswith("sha256="):
        raise SignatureError(source, RELAY_HEADER, "expected 'sha256=<hex>'")
    if not _any_equal([value[7:].lower()], [_hmac_hex(key, body) for key in keys]):
        raise SignatureError(source, RELAY_HEADER, "does not match the body")


# ---------------------------------------------------------------- helpers


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names folded to lower case; repeated names joined with "," as RFC 9110 §5.3 allows."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def _hmac_hex(key: str, message: bytes) -> str:
    return hmac.new(_bytes(key), message, hashlib.sha256).hexdigest()


def _bytes(text: str) -> bytes:
    # compare_digest refuses non-ASCII str; bytes compare any header a client can send.
    return text.encode("utf-8", "surrogatepass")


def _any_equal(given: list[str], expected: list[str]) -> bool:
    """Constant-time: every pair is compared, so the time taken does not say which one matched."""
    found = False
    for g in given:
        for e in expected:
            found |= hmac.compare_digest(_bytes(g), _bytes(e))
    return found

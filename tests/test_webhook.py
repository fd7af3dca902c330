"""Delivery verification per vendor, signed in the test with hmac over the real fixture bodies."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac

import pytest
from conftest import FIXTURES, ROOT
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import InputError, RuleRefusal
from bot.intake.normalize import PARSERS
from bot.intake.sources import NOTIFICATIONS
from bot.intake.webhook import (
    MAX_BODY,
    SOURCES,
    PayloadTooLarge,
    Secrets,
    SignatureError,
    UnknownRoute,
    detect_source,
    verify,
)

PD_BODY = (FIXTURES / "webhook_pagerduty.json").read_bytes()
GRAFANA_BODY = (FIXTURES / "webhook_grafana.json").read_bytes()
AM_BODY = (FIXTURES / "vendor" / "alertmanager_v4.json").read_bytes()

PD_SECRET = "pd-Subscription-Secret-4f9c"
PD_OLD_SECRET = "pd-Old-Rotated-Secret-77aa"
GRAFANA_SECRET = "grafana-hmac-Secret-e21b"
AM_TOKEN = "am-Bearer-Token-0c5d9e"
RELAY_SECRET = "relay-Secret-13f0"
NOW = 1_790_000_000.0

SECRETS = Secrets(pagerduty=(PD_SECRET,), grafana=(GRAFANA_SECRET,), alertmanager_tokens=(AM_TOKEN,))
ALL_SECRETS = (PD_SECRET, PD_OLD_SECRET, GRAFANA_SECRET, AM_TOKEN, RELAY_SECRET)


def hexmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def grafana_headers(body: bytes, stamp: int, secret: str = GRAFANA_SECRET) -> dict[str, str]:
    return {
        "X-Grafana-Alerting-Signature": hexmac(secret, str(stamp).encode() + b":" + body),
        "X-Grafana-Alerting-Timestamp": str(stamp),
    }


def refused(source: str, headers: dict[str, str], body: bytes, secrets: Secrets = SECRETS,
            now: float = NOW) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        verify(source, headers, body, secrets, now)
    return caught.value


# ---------------------------------------------------------------- PagerDuty


def test_pagerduty_valid_signature():
    verify("pagerduty", {"X-PagerDuty-Signature": "v1=" + hexmac(PD_SECRET, PD_BODY)}, PD_BODY, SECRETS, NOW)


def test_pagerduty_header_name_is_case_insensitive():
    verify("pagerduty", {"x-pagerduty-signature": "v1=" + hexmac(PD_SECRET, PD_BODY)}, PD_BODY, SECRETS, NOW)


@pytest.mark.parametrize("order", ["good_last", "good_first"])
def test_pagerduty_rotation_two_v1_values_any_may_match(order):
    good, old = "v1=" + hexmac(PD_SECRET, PD_BODY), "v1=" + hexmac(PD_OLD_SECRET, PD_BODY)
    value = f"{old},{good}" if order == "good_last" else f"{good}, {old}"
    verify("pagerduty", {"X-PagerDuty-Signature": value}, PD_BODY, SECRETS, NOW)


def test_pagerduty_rotation_on_our_side_two_secrets():
    secrets = Secrets(pagerduty=(PD_OLD_SECRET, PD_SECRET))
    verify("pagerduty", {"X-PagerDuty-Signature": "v1=" + hexmac(PD_SECRET, PD_BODY)}, PD_BODY, secrets, NOW)


def test_pagerduty_tampered_body():
    signature = "v1=" + hexmac(PD_SECRET, PD_BODY)
    err = refused("pagerduty", {"X-PagerDuty-Signature": signature}, PD_BODY.replace(b"triggered", b"resolved"))
    assert "X-PagerDuty-Signature" in str(err) and "matches" in str(err)


def test_pagerduty_wrong_secret_and_both_rotation_values_wrong():
    value = f"v1={hexmac('nope', PD_BODY)},v1={hexmac(PD_OLD_SECRET, PD_BODY)}"
    err = refused("pagerduty", {"X-PagerDuty-Signature": value}, PD_BODY)
    assert "2 v1 signature(s)" in str(err)


def test_pagerduty_only_v1_counts():
    err = refused("pagerduty", {"X-PagerDuty-Signature": "v0=" + hexmac(PD_SECRET, PD_BODY)}, PD_BODY)
    assert "no v1=" in str(err)


def test_pagerduty_missing_header():
    assert "missing" in str(refused("pagerduty", {}, PD_BODY))


# ---------------------------------------------------------------- Grafana


def test_grafana_valid_with_timestamp():
    verify("grafana", grafana_headers(GRAFANA_BODY, int(NOW) - 20), GRAFANA_BODY, SECRETS, NOW)


def test_grafana_timestamp_at_the_limit_is_accepted_one_second_later_is_stale():
    verify("grafana", grafana_headers(GRAFANA_BODY, int(NOW) - 300), GRAFANA_BODY, SECRETS, NOW)
    err = refused("grafana", grafana_headers(GRAFANA_BODY, int(NOW) - 301), GRAFANA_BODY)
    assert "X-Grafana-Alerting-Timestamp" in str(err) and "stale" in str(err)


def test_grafana_stale_replay_is_refused_although_the_signature_is_right():
    headers = grafana_headers(GRAFANA_BODY, int(NOW) - 3600)
    assert "stale: 3600 s old" in str(refused("grafana", headers, GRAFANA_BODY))


def test_grafana_timestamp_far_in_the_future():
    headers = grafana_headers(GRAFANA_BODY, int(NOW) + 900)
    assert "future" in str(refused("grafana", headers, GRAFANA_BODY))


def test_grafana_moved_timestamp_breaks_the_signature():
    headers = grafana_headers(GRAFANA_BODY, int(NOW) - 10)
    headers["X-Grafana-Alerting-Timestamp"] = str(int(NOW) - 5)
    assert "does not match" in str(refused("grafana", headers, GRAFANA_BODY))


def test_grafana_tampered_body():
    headers = grafana_headers(GRAFANA_BODY, int(NOW))
    assert "does not match" in str(refused("grafana", headers, GRAFANA_BODY.replace(b"critical", b"info")))


def test_grafana_missing_or_bad_timestamp_when_configured():
    body_only = {"X-Grafana-Alerting-Signature": hexmac(GRAFANA_SECRET, GRAFANA_BODY)}
    assert "X-Grafana-Alerting-Timestamp: missing" in str(refused("grafana", body_only, GRAFANA_BODY))
    bad = {**body_only, "X-Grafana-Alerting-Timestamp": "2026-05-17T08:12:41Z"}
    assert "not a Unix timestamp" in str(refused("grafana", bad, GRAFANA_BODY))


def test_grafana_body_only_when_no_timestamp_header_is_configured():
    secrets = Secrets(grafana=(GRAFANA_SECRET,), grafana_timestamp_header=None)
    verify("grafana", {"X-Grafana-Alerting-Signature": hexmac(GRAFANA_SECRET, GRAFANA_BODY)},
           GRAFANA_BODY, secrets, NOW)


def test_grafana_custom_header_names():
    secrets = Secrets(grafana=(GRAFANA_SECRET,), grafana_header="X-Sig", grafana_timestamp_header="X-Ts")
    stamp = str(int(NOW))
    headers = {"x-sig": hexmac(GRAFANA_SECRET, stamp.encode() + b":" + GRAFANA_BODY), "x-ts": stamp}
    verify("grafana", headers, GRAFANA_BODY, secrets, NOW)
    err = refused("grafana", grafana_headers(GRAFANA_BODY, int(NOW)), GRAFANA_BODY, secrets)
    assert "X-Sig: missing" in str(err)


def test_grafana_max_age_is_configurable():
    secrets = Secrets(grafana=(GRAFANA_SECRET,), max_age_seconds=30)
    assert "stale" in str(refused("grafana", grafana_headers(GRAFANA_BODY, int(NOW) - 31), GRAFANA_BODY, secrets))


# ---------------------------------------------------------------- Alertmanager


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_alertmanager_bearer_token(scheme):
    verify("alertmanager", {"Authorization": f"{scheme} {AM_TOKEN}"}, AM_BODY, SECRETS, NOW)


def test_alertmanager_wrong_or_missing_token():
    assert "does not match" in str(refused("alertmanager", {"Authorization": "Bearer guessed"}, AM_BODY))
    assert "missing" in str(refused("alertmanager", {}, AM_BODY))
    err = refused("alertmanager", {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()}, AM_BODY)
    assert "Bearer scheme" in str(err)


def test_alertmanager_basic_auth():
    secrets = Secrets(alertmanager_basic=("alertmanager:s3cret-Pass",))
    good = "Basic " + base64.b64encode(b"alertmanager:s3cret-Pass").decode()
    verify("alertmanager", {"Authorization": good}, AM_BODY, secrets, NOW)
    bad = "Basic " + base64.b64encode(b"alertmanager:other").decode()
    assert "do not match" in str(refused("alertmanager", {"Authorization": bad}, AM_BODY, secrets))
    assert "base64" in str(refused("alertmanager", {"Authorization": "Basic ###"}, AM_BODY, secrets))


def test_alertmanager_token_is_not_a_body_signature_but_the_body_limit_holds():
    with pytest.raises(PayloadTooLarge) as caught:
        verify("alertmanager", {"Authorization": f"Bearer {AM_TOKEN}"}, b"x" * (MAX_BODY + 1), SECRETS, NOW)
    assert isinstance(caught.value, InputError) and caught.value.exit_code == 2


# ---------------------------------------------------------------- relay (GitHub-style) and refusals


def test_relay_signature_replaces_the_vendor_check():
    secrets = Secrets(relay=(RELAY_SECRET,))
    headers = {"X-Hub-Signature-256": "sha256=" + hexmac(RELAY_SECRET, AM_BODY)}
    verify("alertmanager", headers, AM_BODY, secrets, NOW)
    headers = {"X-Hub-Signature-256": "sha256=" + hexmac("wrong", GRAFANA_BODY),
               **grafana_headers(GRAFANA_BODY, int(NOW))}
    err = refused("grafana", headers, GRAFANA_BODY, Secrets(relay=(RELAY_SECRET,), grafana=(GRAFANA_SECRET,)))
    assert "X-Hub-Signature-256" in str(err)


def test_relay_header_is_ignored_when_no_relay_secret_is_configured():
    headers = {"X-Hub-Signature-256": "sha256=" + hexmac(RELAY_SECRET, PD_BODY)}
    assert "X-PagerDuty-Signature: missing" in str(refused("pagerduty", headers, PD_BODY))


@pytest.mark.parametrize("source,headers", [
    ("pagerduty", {"X-PagerDuty-Signature": "v1=" + hexmac(PD_SECRET, PD_BODY)}),
    ("grafana", grafana_headers(GRAFANA_BODY, int(NOW))),
    ("alertmanager", {"Authorization": f"Bearer {AM_TOKEN}"}),
])
def test_a_source_without_a_secret_is_refused_even_when_signed(source, headers):
    body = {"pagerduty": PD_BODY, "grafana": GRAFANA_BODY, "alertmanager": AM_BODY}[source]
    err = refused(source, headers, body, Secrets())
    assert "configured" in str(err) and isinstance(err, RuleRefusal) and err.exit_code == 1


def test_body_over_the_limit_is_refused_before_any_hmac():
    big = b" " * (MAX_BODY + 1)
    with pytest.raises(PayloadTooLarge):
        verify("pagerduty", {"X-PagerDuty-Signature": "v1=" + hexmac(PD_SECRET, big)}, big, SECRETS, NOW)


def test_unknown_source():
    with pytest.raises(UnknownRoute):
        verify("datadog", {}, b"{}", SECRETS, NOW)


def _all_refusals() -> list[tuple[SignatureError, list[str]]]:
    """Every refusal above, with the signature values it was given."""
    pd_sigs = [hexmac(PD_SECRET, PD_BODY), hexmac(PD_OLD_SECRET, PD_BODY)]
    gf = grafana_headers(GRAFANA_BODY, int(NOW) - 1000)
    cases = [
        ("pagerduty", {"X-PagerDuty-Signature": f"v1={pd_sigs[1]},v1={pd_sigs[0]}"}, PD_BODY + b" "),
        ("grafana", gf, GRAFANA_BODY),
        ("grafana", grafana_headers(GRAFANA_BODY, int(NOW)), GRAFANA_BODY + b" "),
        ("alertmanager", {"Authorization": f"Bearer {AM_TOKEN}x"}, AM_BODY),
        ("alertmanager", {"Authorization": f"Token {AM_TOKEN}"}, AM_BODY),
    ]
    out = [(refused(s, h, b), list(h.values()) + pd_sigs) for s, h, b in cases]
    relay = Secrets(relay=(RELAY_SECRET,))
    sig = hexmac(RELAY_SECRET, AM_BODY)
    out.append((refused("alertmanager", {"X-Hub-Signature-256": f"sha256={sig}"}, AM_BODY + b"!", relay), [sig]))
    return out


def test_error_messages_never_contain_a_secret_or_a_signature():
    for err, signatures in _all_refusals():
        text = f"{err} {err!r} {err.problem}"
        for secret in ALL_SECRETS:
            assert secret not in text
        for value in signatures:
            for part in value.replace("v1=", ",").split(","):
                if len(part) >= 16:
                    assert part not in text, (str(err), part)


def test_secrets_repr_hides_every_secret():
    secrets = Secrets(pagerduty=(PD_SECRET,), grafana=(GRAFANA_SECRET,), alertmanager_tokens=(AM_TOKEN,),
                      relay=(RELAY_SECRET,))
    for secret in ALL_SECRETS:
        assert secret not in repr(secrets) and secret not in str(secrets)


def test_secrets_refuses_a_bare_string_which_would_make_every_letter_a_secret():
    with pytest.raises(InputError):
        Secrets(pagerduty=PD_SECRET)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        Secrets(grafana=("",))
    with pytest.raises(InputError):
        Secrets(alertmanager_basic=("no-colon",))


def test_configured_lists_the_sources_that_can_be_accepted():
    assert SECRETS.configured() == ("grafana", "pagerduty", "alertmanager")
    assert Secrets(pagerduty=(PD_SECRET,)).configured() == ("pagerduty",)
    assert Secrets().configured() == ()


@given(st.text(max_size=200), st.sampled_from(SOURCES))
def test_arbitrary_header_values_are_refused_cleanly(value, source):
    headers = {"X-PagerDuty-Signature": value, "X-Grafana-Alerting-Signature": value,
               "X-Grafana-Alerting-Timestamp": value, "Authorization": value}
    with pytest.raises(SignatureError):
        verify(source, headers, PD_BODY, SECRETS, NOW)


# ---------------------------------------------------------------- routes and purity


@pytest.mark.parametrize("path,source", [
    ("/webhook/grafana", "grafana"), ("/webhook/pagerduty/", "pagerduty"),
    ("/webhook/alertmanager?receiver=x", "alertmanager"),
])
def test_detect_source(path, source):
    assert detect_source(path) == source


@pytest.mark.parametrize("path", ["/", "/webhook", "/webhook/", "/webhook/datadog", "/webhook/Grafana",
                                  "/webhooks/grafana", "/webhook/grafana/x", "/x/../webhook/grafana"])
def test_detect_source_unknown(path):
    with pytest.raises(UnknownRoute) as caught:
        detect_source(path)
    assert caught.value.exit_code == 2


def test_sources_are_the_normalizer_sources_and_the_other_senders():
    assert set(SOURCES) == set(PARSERS) | set(NOTIFICATIONS)
    assert not set(PARSERS) & set(NOTIFICATIONS)  # a route is one or the other


def test_webhook_module_is_pure():
    tree = ast.parse((ROOT / "bot" / "intake" / "webhook.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    forbidden = {"git", "github", "subprocess", "requests", "urllib3", "socket", "http", "time", "os"}
    assert not {m for m in imported if m.split(".")[0] in forbidden}

"""The real receiver on 127.0.0.1: statuses, the handler only for verified bodies, quiet logs."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from conftest import FIXTURES, ROOT

from bot.errors import ForgeError, InputError, RuleRefusal
from bot.intake.webhook import MAX_BODY, Secrets
from bot.serve import make_server, run, secrets_from_env

PD_BODY = (FIXTURES / "webhook_pagerduty.json").read_bytes()
GRAFANA_BODY = (FIXTURES / "webhook_grafana.json").read_bytes()
AM_BODY = (FIXTURES / "vendor" / "alertmanager_v4.json").read_bytes()
PD_SECRET = "pd-Serve-Secret-91ab"
GRAFANA_SECRET = "grafana-Serve-Secret-3c7d"
NOW = 1_790_000_000.0
SMALL_LIMIT = 64 * 1024  # above every fixture body


def hexmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def pd_headers(body: bytes, secret: str = PD_SECRET) -> dict[str, str]:
    return {"X-PagerDuty-Signature": "v1=" + hexmac(secret, body), "Content-Type": "application/json"}


@dataclass
class Bot:
    """The handler the server calls, with a switchable behaviour and a record of its calls."""

    calls: list[tuple[str, bytes]] = field(default_factory=list)
    behaviour: Callable[[], tuple[int, str]] = lambda: (202, "INC-2026-05-17-01")

    def __call__(self, source: str, body: bytes) -> tuple[int, str]:
        self.calls.append((source, body))
        return self.behaviour()


@dataclass
class Running:
    url: str
    bot: Bot
    log: list[str]


@contextmanager
def running(max_body: int) -> Iterator[Running]:
    bot, log = Bot(), []
    secrets = Secrets(pagerduty=(PD_SECRET,), grafana=(GRAFANA_SECRET,))  # alertmanager: no token
    srv = make_server("127.0.0.1", 0, secrets, bot, now=lambda: NOW, log=log.append, max_body=max_body)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        host, port = srv.server_address[:2]
        yield Running(f"http://{host!s}:{port}", bot, log)
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
    assert not thread.is_alive()


@pytest.fixture
def server() -> Iterator[Running]:
    with running(max_body=SMALL_LIMIT) as srv:
        yield srv


def send(url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         method: str = "POST") -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read().decode(), dict(err.headers)


# ---------------------------------------------------------------- verified deliveries reach the handler


def test_verified_pagerduty_delivery_is_handled(server):
    status, text, _ = send(server.url + "/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY))
    assert (status, text.strip()) == (202, "INC-2026-05-17-01")
    assert server.bot.calls == [("pagerduty", PD_BODY)]
    assert server.log == ["incident-bot serve: POST /webhook/pagerduty 202 source=pagerduty"]


def test_verified_grafana_delivery_uses_the_injected_clock(server):
    stamp = str(int(NOW) - 10)
    headers = {"X-Grafana-Alerting-Signature": hexmac(GRAFANA_SECRET, stamp.encode() + b":" + GRAFANA_BODY),
               "X-Grafana-Alerting-Timestamp": stamp}
    assert send(server.url + "/webhook/grafana", GRAFANA_BODY, headers)[0] == 202
    stale = str(int(NOW) - 1000)
    headers = {"X-Grafana-Alerting-Signature": hexmac(GRAFANA_SECRET, stale.encode() + b":" + GRAFANA_BODY),
               "X-Grafana-Alerting-Timestamp": stale}
    assert send(server.url + "/webhook/grafana", GRAFANA_BODY, headers)[0] == 401
    assert [c[0] for c in server.bot.calls] == ["grafana"]
    assert "stale" in server.log[-1]


# ---------------------------------------------------------------- refusals never reach the handler


def test_bad_signature_is_401_with_a_generic_message(server):
    headers = pd_headers(PD_BODY, secret="guessed")
    status, text, _ = send(server.url + "/webhook/pagerduty", PD_BODY, headers)
    assert (status, text.strip()) == (401, "unauthorized")
    tampered = PD_BODY.replace(b"triggered", b"resolved")
    assert send(server.url + "/webhook/pagerduty", tampered, pd_headers(PD_BODY))[0] == 401
    assert send(server.url + "/webhook/pagerduty", PD_BODY, {})[0] == 401
    assert server.bot.calls == []


def test_source_without_a_configured_secret_is_401(server):
    status, _, _ = send(server.url + "/webhook/alertmanager", AM_BODY, {"Authorization": "Bearer anything"})
    assert status == 401
    assert server.bot.calls == []
    assert "no token configured" in server.log[-1]


def test_unknown_path_is_404_and_wrong_method_is_405(server):
    assert send(server.url + "/webhook/datadog", b"{}", {})[0] == 404
    assert send(server.url + "/", b"{}", {})[0] == 404
    assert send(server.url + "/nowhere", method="GET")[0] == 404
    status, _, headers = send(server.url + "/webhook/grafana", method="GET")
    assert (status, headers.get("Allow")) == (405, "POST")
    assert send(server.url + "/webhook/grafana", b"{}", {}, method="PUT")[0] == 405
    assert send(server.url + "/webhook/grafana", method="HEAD")[0] == 405
    assert server.bot.calls == []


def test_too_large_is_413_without_handling():
    # A small limit keeps the unread body inside one socket read, so the reply is never raced by a reset.
    with running(max_body=1024) as small:
        body = b" " * 1025
        assert send(small.url + "/webhook/pagerduty", body, pd_headers(body))[0] == 413
        assert send(small.url + "/webhook/pagerduty", b"{}", {"Content-Length": "99999999999"})[0] == 413
        assert small.bot.calls == []
        assert small.log[-1] == "incident-bot serve: POST /webhook/pagerduty 413 source=pagerduty"


def raw_post(url: str, headers: list[tuple[str, str]], body: bytes = b"") -> int:
    """A POST with exactly these headers (urllib would add a Content-Length)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.putrequest("POST", "/webhook/pagerduty", skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders(body or None)
        with connection.getresponse() as response:
            response.read()
            return response.status
    finally:
        connection.close()


@pytest.mark.parametrize("extra,status", [
    ([], 411),
    ([("Transfer-Encoding", "chunked")], 411),
    ([("Content-Length", "2x")], 400),
    ([("Content-Length", "+2")], 400),
    ([("Content-Length", "2"), ("Content-Length", "2")], 400),
    ([("Content-Length", "9" * 40)], 413),
])
def test_content_length_is_required_and_strict(server, extra, status):
    headers = list(pd_headers(b"{}").items()) + extra
    assert raw_post(server.url, headers, b"{}" if extra else b"") == status
    assert server.bot.calls == []


# ---------------------------------------------------------------- the handler's errors map to statuses


def _raise(error: Exception) -> Callable[[], tuple[int, str]]:
    def behaviour() -> tuple[int, str]:
        raise error

    return behaviour


@pytest.mark.parametrize("error,status,shown", [
    (InputError("pagerduty", "$.event.data.id", "required field is missing"), 400,
     "pagerduty: $.event.data.id: required field is missing"),
    (RuleRefusal("incident INC-1 is already open"), 409, "incident INC-1 is already open"),
    (ForgeError("push rejected"), 503, "temporarily unavailable; retry later"),
    (ValueError("body said: secret-ish text"), 500, "internal error"),
])
def test_handler_errors_map_to_statuses(server, error, status, shown):
    server.bot.behaviour = _raise(error)
    got, text, _ = send(server.url + "/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY))
    assert (got, text.strip()) == (status, shown)
    assert len(server.bot.calls) == 1
    assert server.log[-1].endswith(f"{status} source=pagerduty ({type(error).__name__})")


def test_handler_returning_nonsense_is_500(server):
    server.bot.behaviour = lambda: ("ok", 200)  # type: ignore[assignment,return-value]
    assert send(server.url + "/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY))[0] == 500


def test_handler_runs_one_delivery_at_a_time(server):
    active, peak, lock = [0], [0], threading.Lock()

    def slow() -> tuple[int, str]:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return 202, "ok"

    server.bot.behaviour = slow
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(
        send(server.url + "/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY))[0])) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert results == [202] * 4 and peak[0] == 1


# ---------------------------------------------------------------- logs


def test_log_has_one_line_per_request_and_no_headers_body_or_secrets(server):
    send(server.url + "/webhook/pagerduty?token=abc123", PD_BODY, pd_headers(PD_BODY))
    send(server.url + "/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY, secret="guessed"))
    send(server.url + "/webhook/grafana", GRAFANA_BODY, {"X-Grafana-Alerting-Signature": "00" * 32})
    send(server.url + "/webhook/grafana", method="GET")
    assert len(server.log) == 4
    text = "\n".join(server.log)
    for forbidden in (PD_SECRET, GRAFANA_SECRET, hexmac(PD_SECRET, PD_BODY), hexmac("guessed", PD_BODY),
                      "00" * 32, "abc123", "HighMemoryUsage", "Dana Whitfield", "application/json"):
        assert forbidden not in text
    assert server.log[0] == "incident-bot serve: POST /webhook/pagerduty 202 source=pagerduty"
    assert server.log[3] == "incident-bot serve: GET /webhook/grafana 405 source=-"


# ---------------------------------------------------------------- configuration


def test_secrets_from_env():
    secrets = secrets_from_env({
        "INCIDENT_BOT_PAGERDUTY_SECRET": "new-secret old-secret",
        "INCIDENT_BOT_GRAFANA_SECRET": "  g-secret\n",
        "INCIDENT_BOT_ALERTMANAGER_TOKEN": "",
        "UNRELATED": "x",
    })
    assert secrets.pagerduty == ("new-secret", "old-secret")
    assert secrets.grafana == ("g-secret",)
    assert secrets.alertmanager_tokens == ()
    assert secrets.configured() == ("grafana", "pagerduty")
    assert secrets.grafana_header == "X-Grafana-Alerting-Signature"
    assert secrets.grafana_timestamp_header == "X-Grafana-Alerting-Timestamp"


def test_secrets_from_env_grafana_headers_and_optional_schemes():
    secrets = secrets_from_env({
        "INCIDENT_BOT_ALERTMANAGER_TOKEN": "am-token",
        "INCIDENT_BOT_ALERTMANAGER_BASIC_AUTH": "am:pass",
        "INCIDENT_BOT_RELAY_SECRET": "relay",
        "INCIDENT_BOT_GRAFANA_SIGNATURE_HEADER": "X-Sig",
        "INCIDENT_BOT_GRAFANA_TIMESTAMP_HEADER": "",
    })
    assert (secrets.alertmanager_tokens, secrets.alertmanager_basic, secrets.relay) == (
        ("am-token",), ("am:pass",), ("relay",))
    assert (secrets.grafana_header, secrets.grafana_timestamp_header) == ("X-Sig", None)


def test_run_refuses_to_start_without_any_credential():
    with pytest.raises(InputError) as caught:
        run("127.0.0.1", 0, secrets_from_env({}), Bot())
    assert "INCIDENT_BOT_PAGERDUTY_SECRET" in str(caught.value)


def test_default_body_limit_is_the_webhook_limit():
    srv = make_server("127.0.0.1", 0, Secrets(pagerduty=("x",)), Bot())
    try:
        assert srv.max_body == MAX_BODY
    finally:
        srv.server_close()


def test_run_serves_until_sigterm_and_closes_cleanly(tmp_path):
    """The blocking entry point, in its own process as the CLI would run it."""
    script = (
        "import sys\n"
        "from bot.serve import run, secrets_from_env\n"
        "run('127.0.0.1', 0, secrets_from_env({'INCIDENT_BOT_PAGERDUTY_SECRET': sys.argv[1]}),\n"
        "    lambda source, body: (202, f'{source} {len(body)}'))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script, PD_SECRET], cwd=ROOT, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("incident-bot serve: listening on 127.0.0.1:")
        assert "accepting pagerduty" in first and PD_SECRET not in first
        port = first.split("127.0.0.1:")[1].split(";")[0]
        status, text, _ = send(f"http://127.0.0.1:{port}/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY))
        assert (status, text.strip()) == (202, f"pagerduty {len(PD_BODY)}")
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=10)[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert rest.splitlines() == ["incident-bot serve: POST /webhook/pagerduty 202 source=pagerduty",
                                 "incident-bot serve: stopping"]

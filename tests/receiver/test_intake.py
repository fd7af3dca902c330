"""The receiver on 127.0.0.1: what a vendor sees (statuses), what is spooled, what is counted and logged."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time

import pytest
from receiver_helpers import (
    AM_BODY,
    AM_TOKEN,
    GRAFANA_BODY,
    GRAFANA_SECRET,
    PD_BODY,
    PD_SECRET,
    Forge,
    am_basic,
    am_headers,
    grafana_headers,
    hexmac,
    pagerduty_body,
    pd_headers,
    receiver,
    until,
)

from bot.intake.webhook import Secrets


@pytest.fixture
def rx(tmp_path):
    with receiver(tmp_path) as running:  # no forwarder: what is spooled stays pending
        yield running


def pending(rx) -> list:
    spool = rx.spool()
    try:
        return spool.rows(["pending"])
    finally:
        spool.close()


# ---------------------------------------------------------------- accepted: 202 only once spooled


def test_verified_delivery_is_202_and_already_on_disk(rx):
    response = rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY, webhook_id="wh-1"))
    assert response.status_code == 202
    assert response.text.startswith("accepted delivery ")
    # a second connection to the file (what a restarted process would open) sees it at once
    rows = pending(rx)
    assert [(r.source, r.state) for r in rows] == [("pagerduty", "pending")]
    assert rows[0].group_key == "HighMemoryUsage/appointments-api/appointments-api/api-7b4@firing"
    assert rx.metric("incident_bot_deliveries_received_total", source="pagerduty") == 1
    assert rx.log == ["incident-bot serve: POST /webhook/pagerduty 202 source=pagerduty"]


def test_spool_keeps_body_and_the_headers_that_matter_never_a_credential(rx):
    rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY, webhook_id="wh-keep"))
    rx.post("/webhook/alertmanager", AM_BODY, am_headers())
    raw = rx.spool_path.read_bytes() + (rx.spool_path.with_name("spool.db-wal").read_bytes()
                                        if rx.spool_path.with_name("spool.db-wal").exists() else b"")
    assert b"wh-keep" in raw and b"Q2K7HM0P4X9ZRB" in raw
    for secret in (PD_SECRET, AM_TOKEN, hexmac(PD_SECRET, PD_BODY)):
        assert secret.encode() not in raw


def test_every_source_and_scheme_is_verified(tmp_path):
    secrets = Secrets(pagerduty=(PD_SECRET,), grafana=(GRAFANA_SECRET,), alertmanager_tokens=(AM_TOKEN,),
                      alertmanager_basic=("am:pass",))
    with receiver(tmp_path, secrets=secrets) as rx:
        assert rx.post("/webhook/grafana", GRAFANA_BODY, grafana_headers(GRAFANA_BODY)).status_code == 202
        assert rx.post("/webhook/alertmanager", AM_BODY, am_headers()).status_code == 202
        other = AM_BODY.replace(b"andromeda", b"cassiopeia")
        assert rx.post("/webhook/alertmanager", other, am_basic("am", "pass")).status_code == 202
        assert rx.post("/webhook/alertmanager/", AM_BODY.replace(b"andromeda", b"vega"), am_headers()).status_code == 202


# ---------------------------------------------------------------- redeliveries are no-ops


def test_pagerduty_retry_with_the_same_webhook_id_is_a_no_op(rx):
    # PagerDuty "Webhook Behavior", At-Least-Once Delivery (PagerDuty/developer-docs docs/webhooks/02-Behavior.md):
    # X-Webhook-Id "is unique to the webhook but is repeated for each delivery attempt".
    body = pagerduty_body(1)
    first = rx.post("/webhook/pagerduty", body, pd_headers(body, webhook_id="wh-retry"))
    again = rx.post("/webhook/pagerduty", body, pd_headers(body, webhook_id="wh-retry"))
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.text.startswith("duplicate of delivery ")
    # the same id with a body changed in transit by PagerDuty's size trimming is still the same webhook
    trimmed = pagerduty_body(1, description="omitted")
    assert rx.post("/webhook/pagerduty", trimmed, pd_headers(trimmed, webhook_id="wh-retry")).text.startswith(
        "duplicate")
    assert len(pending(rx)) == 1
    assert rx.metric("incident_bot_deliveries_deduplicated_total", source="pagerduty") == 2


def test_the_same_content_without_an_id_is_a_no_op(rx):
    stamp = int(time.time())
    assert rx.post("/webhook/grafana", GRAFANA_BODY, grafana_headers(GRAFANA_BODY, stamp)).text.startswith("accepted")
    # Grafana retries sign a new timestamp; the body, and so the content hash, is the same
    assert rx.post("/webhook/grafana", GRAFANA_BODY, grafana_headers(GRAFANA_BODY, stamp + 3)).text.startswith(
        "duplicate")
    assert len(pending(rx)) == 1


# ---------------------------------------------------------------- refusals: nothing is stored


def test_bad_or_missing_signature_is_401_and_nothing_is_stored(rx):
    assert rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY, secret="guessed")).status_code == 401
    assert rx.post("/webhook/pagerduty", PD_BODY.replace(b"triggered", b"resolved"),
                   pd_headers(PD_BODY)).status_code == 401
    assert rx.post("/webhook/pagerduty", PD_BODY, {}).status_code == 401
    assert rx.post("/webhook/alertmanager", AM_BODY, am_headers("wrong")).status_code == 401
    assert rx.post("/webhook/grafana", b"not even json", {}).status_code == 401  # verified before parsed
    assert pending(rx) == []
    assert rx.metric("incident_bot_deliveries_rejected_total", source="pagerduty", reason="bad_signature") == 3
    series = [line for line in rx.client.get("/metrics").text.splitlines()
              if line.startswith("incident_bot_deliveries_rejected_total{") and 'reason="bad_signature"' in line]
    assert len(series) == 3  # one per source


def test_stale_grafana_timestamp_is_401(rx):
    # Grafana's webhook notifier "HMAC signature": with a timestamp header the signature covers
    # timestamp:body, and receivers should check the timestamp is recent (bot/intake/webhook.py: 5 minutes).
    old = int(time.time()) - 600
    response = rx.post("/webhook/grafana", GRAFANA_BODY, grafana_headers(GRAFANA_BODY, old))
    assert response.status_code == 401 and response.text.strip() == "unauthorized"
    assert "stale" in rx.log[-1]
    assert pending(rx) == []


def test_never_usable_payload_is_400_counted_and_kept_as_reason_and_shape(rx):
    """The rejected table keeps the parser's reason and the body's shape, never a value of the body: a secret
    no pattern knows (here under a made-up key) is not stored either."""
    not_json = b'{"contact": "dana@example.com", "k": "s3cr3t-no-pattern-knows", oops'
    assert rx.post("/webhook/pagerduty", not_json, pd_headers(not_json)).status_code == 400
    ping = json.dumps({"event": {"event_type": "pagey.ping", "resource_type": "pagey", "id": "1",
                                 "data": {"email": "dana@example.com", "k": "s3cr3t-no-pattern-knows"}}}).encode()
    response = rx.post("/webhook/pagerduty", ping, pd_headers(ping))
    assert response.status_code == 400 and "not an incident alert" in response.text
    assert pending(rx) == []
    assert rx.metric("incident_bot_deliveries_rejected_total", source="pagerduty", reason="not_json") == 1
    assert rx.metric("incident_bot_deliveries_rejected_total", source="pagerduty", reason="not_an_alert") == 1
    spool = rx.spool()
    try:
        rows = spool.rows(["rejected"])
        excerpts = [spool.rejected_excerpt(int(r.id[1:])) or "" for r in rows]
    finally:
        spool.close()
    assert [r.id for r in rows] == ["r1", "r2"]
    assert all("dana@example.com" not in e and "s3cr3t" not in e for e in excerpts)
    assert json.loads(excerpts[0])["bytes"] == len(not_json)
    kept = json.loads(excerpts[1])
    assert "'pagey' event is not an incident alert" in kept["problem"]  # why it is no alert
    assert kept["shape"]["event"]["data"] == {"email": "string(16)", "k": "string(23)"}


def test_too_large_is_413_by_header_and_by_stream(tmp_path):
    with receiver(tmp_path, max_body=1024) as rx:
        body = b" " * 1025
        assert rx.post("/webhook/pagerduty", body, pd_headers(body)).status_code == 413

        def chunks():
            for _ in range(4):
                yield b" " * 512

        response = rx.client.post("/webhook/pagerduty", content=chunks(), headers=pd_headers(b""))
        assert response.status_code == 413
        assert rx.metric("incident_bot_deliveries_rejected_total", source="pagerduty", reason="too_large") == 2


def _raw(url: str, request: bytes, pause_after: int | None = None, wait: float = 0.0) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        if pause_after is None:
            sock.sendall(request)
        else:
            sock.sendall(request[:pause_after])
            time.sleep(wait)
        return sock.recv(4096)


def test_a_slow_body_is_cut_off_at_the_deadline_without_holding_up_the_others(tmp_path):
    with receiver(tmp_path, body_deadline=2.0, max_concurrency=1) as rx:
        host, port = rx.url.removeprefix("http://").split(":")
        head = (b"POST /webhook/pagerduty HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n")
        started = time.monotonic()
        reply = b""
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(head)
            # a slow-loris body: one byte every 50 ms, never idle long, 50 s for the whole of it
            for n in range(1000):
                try:
                    sock.sendall(b"{")
                except OSError:
                    break
                if n == 3:  # meanwhile a real delivery takes the only slot, and is answered first
                    assert rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY)).status_code == 202
                    assert not select.select([sock], [], [], 0)[0]  # the slow one is still being read
                if select.select([sock], [], [], 0.05)[0]:  # the server answered
                    break
            with contextlib.suppress(OSError):
                reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert time.monotonic() - started < 8  # at the deadline, not after 50 s
        assert rx.metric("incident_bot_deliveries_rejected_total", source="pagerduty", reason="slow_body") == 1
        assert rx.client.get("/healthz").status_code == 200  # and the service is still up


def test_headers_trickled_one_byte_at_a_time_are_cut_off(tmp_path):
    # uvicorn alone would keep this connection for ever: its keep-alive timer is reset by every byte
    # (https://uvicorn.dev/settings/#timeouts; bot/receiver/protocol.py says where in its source)
    with receiver(tmp_path, header_timeout=0.6) as rx:
        host, port = rx.url.removeprefix("http://").split(":")
        head = b"POST /webhook/pagerduty HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
        started = time.monotonic()
        reply = b""
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            for byte in head:  # one byte every 50 ms: 3 s for the whole head, if it were let through
                try:
                    sock.sendall(bytes([byte]))
                except OSError:  # the server closed it
                    break
                time.sleep(0.05)
            with contextlib.suppress(OSError):
                reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert time.monotonic() - started < 2.5
        with socket.create_connection((host, int(port)), timeout=5) as silent:  # connects, sends nothing
            silent.settimeout(5)
            assert silent.recv(4096).startswith(b"HTTP/1.1 408")
        assert rx.metric("incident_bot_deliveries_rejected_total", source="-", reason="slow_headers") == 2
        assert pending(rx) == []
        assert rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY)).status_code == 202


def test_beyond_max_connections_new_requests_get_503(tmp_path):
    # uvicorn's --limit-concurrency: "Maximum number of concurrent connections or tasks to allow, before
    # issuing HTTP 503 responses" (https://uvicorn.dev/settings/#resource-limits)
    with receiver(tmp_path, max_connections=3) as rx:
        host, port = rx.url.removeprefix("http://").split(":")
        idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(2)]
        time.sleep(0.3)  # accepted by the server
        try:
            refused = rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY))
            assert (refused.status_code, refused.headers.get("connection")) == (503, "close")
        finally:
            for sock in idle:
                sock.close()
        assert rx.metric("incident_bot_deliveries_rejected_total", source="-", reason="over_capacity") == 1
        assert pending(rx) == []
        assert until(lambda: rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY)).status_code == 202)


@pytest.mark.parametrize("length,status", [("2x", 400), ("+2", 400), ("9" * 18, 413), ("9" * 40, 400)])
def test_content_length_must_be_a_sane_number(rx, length, status):
    # 40 digits: the HTTP parser (httptools) refuses the request itself, as malformed
    request = (f"POST /webhook/pagerduty HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}").encode()
    reply = _raw(rx.url, request)
    assert reply.split(b" ")[1] == str(status).encode()


def test_unknown_path_is_404_and_wrong_method_405(rx):
    assert rx.client.post("/webhook/datadog", content=b"{}").status_code == 404
    assert rx.client.get("/nowhere").status_code == 404
    response = rx.client.get("/webhook/grafana")
    assert (response.status_code, response.headers.get("allow")) == (405, "POST")
    assert rx.client.put("/webhook/grafana", content=b"{}").status_code == 405
    assert rx.metric("incident_bot_deliveries_rejected_total", source="-", reason="unknown_path") == 2


def test_spool_that_cannot_be_written_is_503_and_not_ready(tmp_path):
    # INCIDENT_BOT_SPOOL_MAX_MB caps the file: a full spool is the real-world "cannot write" (disk full)
    with receiver(tmp_path, spool_max_mb=1) as rx:
        statuses = []
        for n in range(8):
            body = pagerduty_body(n, pod=f"pod-{n}", description="x" * 300_000)
            statuses.append(rx.post("/webhook/pagerduty", body, pd_headers(body)).status_code)
        assert statuses[0] == 202 and statuses[-1] == 503
        assert rx.client.get("/readyz").status_code == 503
        assert rx.client.get("/healthz").status_code == 200
        assert rx.metric("incident_bot_deliveries_rejected_total", source="pagerduty",
                         reason="spool_unavailable") >= 1
        accepted = statuses.count(202)
        assert len(pending(rx)) == accepted  # every 202 is on disk, no 503 is


def test_probes_and_metrics(tmp_path):
    forge = Forge()
    with receiver(tmp_path, forward=forge) as rx:
        assert rx.client.get("/healthz").status_code == 200
        assert rx.client.get("/readyz").status_code == 200
        rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY))
        forge.wait_for(1)
        text = rx.client.get("/metrics").text
        for name in ("incident_bot_deliveries_received_total", "incident_bot_deliveries_rejected_total",
                     "incident_bot_deliveries_deduplicated_total", "incident_bot_deliveries_coalesced_total",
                     "incident_bot_forwards_total", "incident_bot_forward_failures_total",
                     "incident_bot_spool_depth", "incident_bot_spool_oldest_age_seconds",
                     "incident_bot_forward_seconds_bucket"):
            assert name in text, name


def test_log_is_one_line_per_request_without_headers_body_or_secrets(rx):
    rx.post("/webhook/pagerduty?token=abc123", PD_BODY, pd_headers(PD_BODY))
    rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY, secret="guessed"))
    rx.client.get("/webhook/grafana")
    assert len(rx.log) == 3
    text = "\n".join(rx.log)
    for forbidden in (PD_SECRET, hexmac(PD_SECRET, PD_BODY), hexmac("guessed", PD_BODY), "abc123",
                      "HighMemoryUsage", "Dana Whitfield", "application/json"):
        assert forbidden not in text
    assert rx.log[2] == "incident-bot serve: GET /webhook/grafana 405 source=grafana"

"""The worker: spooled deliveries reach the forge (the real local forge on a real git repository, or
repository_dispatch on a GitHub-speaking HTTP server), coalesced, retried, dead-lettered, never lost."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lifecycle_helpers import git, make_repo
from receiver_helpers import (
    GRAFANA_BODY,
    PD_BODY,
    Forge,
    grafana_body,
    grafana_headers,
    pagerduty_body,
    pd_headers,
    receiver,
    until,
)

from bot.errors import ForgeError
from bot.flows.workspace import Workspace
from bot.forge.local import LocalForge
from bot.receiver.config import Dispatch
from bot.receiver.forwarder import dispatch_forward, open_forward


def states(rx) -> dict[str, int]:
    spool = rx.spool()
    try:
        return spool.counts()
    finally:
        spool.close()


def test_a_delivery_opens_the_incident_on_the_local_forge(tmp_path):
    repo = make_repo(tmp_path / "repo")
    forward = open_forward(lambda: Workspace(LocalForge(repo)))
    with receiver(tmp_path, forward=forward) as rx:
        assert rx.post("/webhook/grafana", GRAFANA_BODY, grafana_headers(GRAFANA_BODY)).status_code == 202
        assert until(lambda: states(rx)["forwarded"] == 1, timeout=30)
        # the same alert from PagerDuty later: the same incident, updated, not a second one
        assert rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY)).status_code == 202
        assert until(lambda: states(rx)["forwarded"] == 2, timeout=30)
    branches = git(repo, "branch", "--list", "incident/*").split()
    assert branches == ["incident/HM-2026-05-17-01"]
    files = git(repo, "ls-tree", "-r", "--name-only", "incident/HM-2026-05-17-01", "incidents/").split()
    assert sum("/sources/" in f for f in files) == 2
    assert any("forwarded delivery 1 source=grafana (1 coalesced): OPENED incident=HM-2026-05-17-01" in line
               for line in rx.log)


def test_deliveries_waiting_for_one_incident_are_forwarded_as_one(tmp_path):
    forge = Forge()
    with receiver(tmp_path, forward=forge, coalesce_seconds=0.6) as rx:
        for n in range(5):
            body = grafana_body(n, pod="api-7b4")
            assert rx.post("/webhook/grafana", body, grafana_headers(body)).status_code == 202
        other = grafana_body(99, pod="api-other")
        rx.post("/webhook/grafana", other, grafana_headers(other))
        resolved = grafana_body(100, pod="api-7b4", status="resolved")
        rx.post("/webhook/grafana", resolved, grafana_headers(resolved))
        calls = forge.wait_for(3)
        assert until(lambda: states(rx)["pending"] == 0)
        counts = states(rx)
    assert len(calls) == 3  # api-7b4 firing (newest of 5), api-other, api-7b4 resolved: in that order
    assert [json.loads(b)["alerts"][0]["annotations"]["delivery"] for _, b in calls] == ["4", "99", "100"]
    assert (counts["forwarded"], counts["coalesced"]) == (3, 4)
    assert rx.metric("incident_bot_deliveries_coalesced_total", source="grafana") == 4


def commit_on_main(repo, incident_types: str, message: str) -> None:
    (repo / "policies" / "incident_types.yaml").write_text(incident_types)
    git(repo, "-c", "user.name=SRE", "-c", "user.email=sre@example.com", "commit", "-qam", message)


def test_a_broken_policy_on_main_is_retried_not_refused(tmp_path):
    """The vendor gets 202 (not a 400 it would drop); the worker retries until main is fixed."""
    repo = make_repo(tmp_path / "repo")
    good = (repo / "policies" / "incident_types.yaml").read_text()
    commit_on_main(repo, "types: [this is: not a policy\n", "break policy")
    forward = open_forward(lambda: Workspace(LocalForge(repo)))
    with receiver(tmp_path, forward=forward, attempts=1000) as rx:
        assert rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY)).status_code == 202
        assert until(lambda: rx.metric("incident_bot_forward_failures_total", source="pagerduty") >= 2)
        assert states(rx)["pending"] == 1
        assert any("InputError: policies/incident_types.yaml" in line for line in rx.log)
        commit_on_main(repo, good, "fix policy")
        assert until(lambda: states(rx)["forwarded"] == 1, timeout=30)
    assert git(repo, "branch", "--list", "incident/*").split() == ["incident/HM-2026-05-17-01"]


def test_after_the_policy_number_of_attempts_a_delivery_is_dead_lettered(tmp_path):
    forge = Forge(fail=lambda: ForgeError("push rejected"))
    with receiver(tmp_path, forward=forge, attempts=3) as rx:
        rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY))
        assert until(lambda: states(rx)["dead"] == 1)
        # the worker counts right after it wrote the row: wait for the counters, not only the row
        assert until(lambda: rx.metric("incident_bot_deliveries_dead_lettered_total", source="pagerduty") == 1)
        assert rx.metric("incident_bot_forward_failures_total", source="pagerduty") == 3
        spool = rx.spool()
        try:
            (row,) = spool.rows(["dead"])
            assert (row.attempts, row.error) == (3, "ForgeError: push rejected")
            forge.fail = lambda: None
            assert spool.retry(int(row.id), 0.0)  # what `incident-bot spool retry` does
        finally:
            spool.close()
        assert forge.wait_for(1) == [("pagerduty", PD_BODY)]
        assert until(lambda: states(rx)["forwarded"] == 1)


def test_acknowledged_deliveries_survive_a_restart(tmp_path):
    forge = Forge(fail=lambda: ForgeError("forge down"))
    with receiver(tmp_path, forward=forge, attempts=1000, backoff=0.5) as rx:
        for n in range(3):
            body = pagerduty_body(n, pod=f"pod-{n}")
            assert rx.post("/webhook/pagerduty", body, pd_headers(body)).status_code == 202
    assert forge.calls == []
    forge.fail = lambda: None
    with receiver(tmp_path, forward=forge) as rx:
        assert len(forge.wait_for(3)) == 3
        assert until(lambda: states(rx)["pending"] == 0)
    assert sorted(json.loads(b)["event"]["id"] for _, b in forge.calls) == ["EVT00000000", "EVT00000001",
                                                                            "EVT00000002"]


class _GitHub(BaseHTTPRequestHandler):
    """POST /repos/{owner}/{repo}/dispatches as GitHub documents it: 204 No Content."""

    seen: list[tuple[str, dict[str, str], dict]] = []
    status = 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((self.path, dict(self.headers), json.loads(body)))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def github():
    _GitHub.seen, _GitHub.status = [], 204
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GitHub)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _GitHub
    server.shutdown()
    server.server_close()
    thread.join()


def test_repository_dispatch_to_the_intake_workflow(tmp_path, github):
    url, gh = github
    gh.status = 502  # first GitHub has a bad moment: retried
    forward = dispatch_forward(Dispatch(url, "acme/appointments-gitops", "ghs_Token123"))
    with receiver(tmp_path, forward=forward) as rx:
        rx.post("/webhook/pagerduty", PD_BODY, pd_headers(PD_BODY))
        assert until(lambda: len(gh.seen) >= 2)
        gh.status = 204
        assert until(lambda: states(rx)["forwarded"] == 1)
    path, headers, payload = gh.seen[-1]
    assert path == "/repos/acme/appointments-gitops/dispatches"
    assert headers["Authorization"] == "Bearer ghs_Token123"
    assert headers["Accept"] == "application/vnd.github+json"
    assert payload == {"event_type": "pagerduty-alert", "client_payload": {"payload": json.loads(PD_BODY)}}
    assert not any("ghs_Token123" in line for line in rx.log)
    assert any("repository_dispatch answered 502" in line for line in rx.log)


class _KeepAlive(_GitHub):
    """The same, over HTTP/1.1 keep-alive as GitHub's API; notes each request's connection (client port)."""

    protocol_version = "HTTP/1.1"
    ports: list[int] = []
    drop = False  # close the connection after answering, without saying so (as an idle timeout would)

    def do_POST(self) -> None:
        type(self).ports.append(self.client_address[1])
        drop = type(self).drop  # read before answering: the test changes it as soon as the answer is in
        super().do_POST()
        self.close_connection = drop


def test_dispatches_share_one_kept_alive_connection_and_survive_its_close(tmp_path):
    _KeepAlive.seen, _KeepAlive.ports, _KeepAlive.status, _KeepAlive.drop = [], [], 204, False
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        forward = dispatch_forward(Dispatch(f"http://127.0.0.1:{server.server_address[1]}", "acme/gitops", "t"))
        for n in range(3):
            body = pagerduty_body(n, pod=f"p{n}")
            assert forward("pagerduty", body) == "DISPATCHED pagerduty-alert"
        assert len(set(_KeepAlive.ports)) == 1  # one connection for the three
        _KeepAlive.drop = True
        for n in range(3, 6):  # each after the first finds its connection closed, and sends on a new one
            assert forward("pagerduty", pagerduty_body(n, pod=f"p{n}")) == "DISPATCHED pagerduty-alert"
        forward.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert [payload["client_payload"]["payload"]["event"]["id"] for _, _, payload in _KeepAlive.seen] == [
        f"EVT{n:08d}" for n in range(6)]  # each once
    assert len(set(_KeepAlive.ports)) == 3  # the first (4 requests: it closed after the 4th), then one each

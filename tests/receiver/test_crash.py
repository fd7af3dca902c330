"""kill -9 of a real `incident-bot serve` in the middle of a load, then a restart on the same spool: every
delivery answered 202 reaches the forge exactly once, and nothing that was not answered 202 does.

The forge is the real local forge on a real git repository (`INCIDENT_BOT_FORWARD=open --repo`), so the
count is taken where it matters: the incident branches and the source files recorded on them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from conftest import ROOT
from lifecycle_helpers import git, make_repo
from receiver_helpers import PD_SECRET, pagerduty_body, pd_headers, until

from bot.receiver.spool import Spool

DELIVERIES = 24
FIRST = 8  # sent before the kill is armed, once the worker has forwarded one of them
KILL_AFTER = 12  # acknowledgements
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+);")


class Serve:
    """`python -m bot serve --port 0` as an operator runs it; its stderr is read all the time (so a full
    pipe never blocks it) and the port is taken from its "listening on" line."""

    def __init__(self, repo: Path, spool: Path) -> None:
        env = {**os.environ, "INCIDENT_BOT_PAGERDUTY_SECRET": PD_SECRET, "INCIDENT_BOT_SPOOL": str(spool),
               "INCIDENT_BOT_FORWARD": "open", "INCIDENT_BOT_COALESCE_SECONDS": "0",
               "INCIDENT_BOT_FORWARD_BACKOFF": "0.1", "INCIDENT_BOT_FORWARD_BACKOFF_MAX": "0.5"}
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--repo", str(repo), "--port", "0"],
                                        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._port = threading.Event()
        self.url = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        assert self._port.wait(30), "serve did not start: " + " | ".join(self.lines)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip())
            found = LISTENING.search(line)
            if found:
                self.url = f"http://127.0.0.1:{found.group(1)}"
                self._port.set()

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(10) == -signal.SIGKILL
        self._close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self._close()

    def _close(self) -> None:
        self._reader.join(10)
        assert self.process.stderr is not None
        self.process.stderr.close()


def pending(spool: Path) -> int:
    db = Spool(spool, create=False)
    try:
        return db.counts()["pending"]
    finally:
        db.close()


def event_ids_on_the_forge(repo: Path) -> Counter[str]:
    """How many recorded source files, over every incident branch, hold each PagerDuty event id."""
    seen: Counter[str] = Counter()
    for branch in git(repo, "branch", "--list", "--format=%(refname:short)", "incident/*").split():
        found = subprocess.run(["git", "-C", str(repo), "grep", "-o", "-E", "EVT[0-9]{8}", branch, "--",
                                ":(glob)incidents/**/sources/**"], capture_output=True, text=True).stdout
        seen.update(line.rsplit(":", 1)[1] for line in set(found.splitlines()))  # once per (file, id)
    return seen


def test_kill_9_mid_load_then_restart_forwards_every_acknowledged_delivery_exactly_once(tmp_path):
    repo = make_repo(tmp_path / "repo")
    spool = tmp_path / "spool.db"
    bodies = {f"EVT{n:08d}": pagerduty_body(n, pod=f"pod-{n}") for n in range(DELIVERIES)}  # one alert each
    acked: set[str] = set()
    in_flight: set[str] = set()  # sent, but the connection died before an answer: the server may have it
    lock = threading.Lock()
    server = Serve(repo, spool)
    killed = threading.Event()

    def deliver(event: str) -> None:
        body = bodies[event]
        try:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                response = client.post("/webhook/pagerduty", content=body, headers=pd_headers(body))
        except httpx.ConnectError:
            return  # never reached the receiver (it is dead): the vendor would retry
        except httpx.HTTPError:
            with lock:
                in_flight.add(event)
            return
        assert response.status_code == 202, response.text
        with lock:
            acked.add(event)
            if len(acked) >= KILL_AFTER and not killed.is_set():
                killed.set()
                server.kill9()

    events = list(bodies)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(deliver, events[:FIRST]))
        # the worker is forwarding (it has opened one incident, others are pending) when the kill comes
        assert until(lambda: any("forwarded delivery" in line for line in server.lines), timeout=60)
        list(pool.map(deliver, events[FIRST:]))
    assert killed.is_set() and KILL_AFTER <= len(acked) < DELIVERIES
    assert len(event_ids_on_the_forge(repo)) < len(acked)  # some acknowledged deliveries were still spooled

    restarted = Serve(repo, spool)
    try:
        assert until(lambda: pending(spool) == 0, timeout=120)
    finally:
        restarted.stop()

    on_forge = event_ids_on_the_forge(repo)
    assert {event: on_forge[event] for event in acked} == dict.fromkeys(acked, 1)  # each exactly once
    assert set(on_forge) <= acked | in_flight  # nothing the receiver did not take is forwarded
    # every key names a pod of Deployment api (PagerDuty carries the service): one incident (issue 13)
    assert len(git(repo, "branch", "--list", "incident/*").split()) == 1

"""The worker: forwards spooled deliveries to the forge, oldest incident first, retries with backoff,
dead-letters after `attempts`. All pending deliveries of one incident (same source, same incident keys and
status) are forwarded as one: the newest, the others marked coalesced into it.

The spool row moves to `forwarded` only after the forge answered, so a crash in between forwards it again
after the restart (at least once); the forge makes that a no-op (`open` is idempotent, and a second
repository_dispatch runs an `open` that reports DUPLICATE).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bot.config.loader import parse_json
from bot.errors import ForgeError
from bot.intake.redact import scrub_text
from bot.intake.sources import NOTIFICATIONS
from bot.receiver.config import Dispatch, Settings
from bot.receiver.metrics import Metrics
from bot.receiver.spool import Batch, Spool, SpoolUnavailable

Forward = Callable[[str, bytes], str]  # (source, body) -> a one-line outcome; raises to be retried
Log = Callable[[str], None]
POLL_SECONDS = 0.1
PRUNE_EVERY_SECONDS = 3600.0
CHECKPOINT_EVERY_SECONDS = 1.0  # the writer's connection leaves checkpoints to this thread


def open_forward(workspace: Callable[[], Any]) -> Forward:
    """Run the existing `open` flow (local forge, or GitHub with a token), a fresh workspace each time so
    policies changed on main are read again."""

    def forward(source: str, body: bytes) -> str:
        name = f"POST /webhook/{source}"
        if source in NOTIFICATIONS:  # Argo CD's sync report: `sync confirm`, whose refusal is an outcome
            from bot.flows.sync import confirm
            from bot.intake.argocd import observation

            ws = workspace()
            obs = observation(parse_json(body, name), name, ws.clock())
            done = confirm(ws, obs)
            if done.problem and obs.verdict()[0] is not None:
                # Argo CD may report the sync before post-merge recorded the merge (its push webhook syncs in
                # seconds, a workflow takes a minute): retried with backoff, then dead-lettered for a person
                raise ForgeError(f"sync confirm: {done.problem}")
            return "; ".join(done.lines()) or f"NOTHING: {done.problem}"
        from bot.flows.opening import open_incidents

        results = open_incidents(workspace(), {source: (parse_json(body, name), name)})
        return "; ".join(r.line() for r in results)

    return forward


def dispatch_forward(target: Dispatch, timeout: float = 10.0) -> DispatchForward:
    return DispatchForward(target, timeout)


class DispatchForward:
    """POST /repos/{owner}/{repo}/dispatches (README "Send the alerts"): the intake workflow runs `open`.

    One kept-alive connection (the worker is one thread): a connection per dispatch, and its TLS
    handshake, cost more CPU than the rest of a forward. A connection the server closed while idle is
    opened again once, for the same request; any other failure is the forward's (retried by the worker)."""

    def __init__(self, target: Dispatch, timeout: float = 10.0) -> None:
        self._url = urlsplit(f"{target.api_url}/repos/{target.repository}/dispatches")
        self._connect = http.client.HTTPSConnection if self._url.scheme == "https" else http.client.HTTPConnection
        self._timeout = timeout
        self._headers = {"Authorization": f"Bearer {target.token}", "Accept": "application/vnd.github+json",
                         "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json",
                         "User-Agent": "incident-bot-receiver"}
        self._connection: http.client.HTTPConnection | None = None

    def __repr__(self) -> str:  # never the token
        return f"DispatchForward({self._url.geturl()})"

    def __call__(self, source: str, body: bytes) -> str:
        payload = parse_json(body, f"POST /webhook/{source}")
        event = NOTIFICATIONS[source].dispatch_event if source in NOTIFICATIONS else f"{source}-alert"
        data = json.dumps({"event_type": event, "client_payload": {"payload": payload}}).encode()
        reused = self._connection is not None
        try:
            try:
                status = self._post(data)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if not reused:
                    raise
                status = self._post(data)  # the server had closed the idle connection: the request never arrived
        except (http.client.HTTPException, OSError) as err:
            self.close()
            raise ForgeError(f"repository_dispatch failed: {type(err).__name__}") from None
        if status != 204:
            raise ForgeError(f"repository_dispatch answered {status}" + ("" if status >= 300 else ", expected 204"))
        return f"DISPATCHED {event}"

    def _post(self, data: bytes) -> int:
        if self._connection is None:
            self._connection = self._connect(self._url.hostname or "", self._url.port, timeout=self._timeout)
        self._connection.request("POST", self._url.path, body=data, headers=self._headers)
        response = self._connection.getresponse()
        response.read()
        if response.will_close:
            self.close()
        return response.status

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Worker:
    def __init__(self, settings: Settings, forward: Forward, metrics: Metrics, log: Log,
                 now: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._forward = forward
        self._metrics = metrics
        self._log = log
        self._now = now
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spool-forwarder", daemon=True)
        self._spool: Spool | None = None

    def start(self) -> None:
        self._spool = Spool(self.settings.spool, self.settings.spool_max_mb, durable=False)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        if isinstance(self._forward, DispatchForward):
            self._forward.close()
        if self._spool is not None:
            self._spool.close()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        assert self._spool is not None
        last_prune = last_checkpoint = 0.0
        settle = self.settings.coalesce_seconds
        while not self._stop.is_set():
            settling = None
            try:
                now = self._now()
                if now - last_prune > PRUNE_EVERY_SECONDS:
                    self._spool.prune(now)
                    last_prune = now
                if now - last_checkpoint > CHECKPOINT_EVERY_SECONDS:
                    self._spool.checkpoint()
                    last_checkpoint = now
                batch = self._spool.next_batch(now, settle)
                if batch is None:
                    settling = self._spool.settling(now, settle)
            except SpoolUnavailable as exc:
                self._log(f"incident-bot serve: spool read failed ({type(exc).__name__})")
                batch = None
            if batch is not None:
                self._one(batch)
            elif settling is not None:
                # every delivery committed meanwhile settles after the oldest pending one: its commit's
                # wake-up would only run the same query again (once per group commit, in a storm)
                self._stop.wait(min(settling, POLL_SECONDS))
                self._wake.clear()
            else:
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()

    def _one(self, batch: Batch) -> None:
        assert self._spool is not None
        started = time.perf_counter()
        try:
            outcome = self._forward(batch.source, batch.body)
        except Exception as exc:  # every failure is retried: a broken policy on main, the forge, the network
            self._metrics.forward_seconds.labels(batch.source).observe(time.perf_counter() - started)
            self._failed(batch, f"{type(exc).__name__}: {scrub_text(str(exc))}"[:300])
            return
        self._metrics.forward_seconds.labels(batch.source).observe(time.perf_counter() - started)
        try:
            self._spool.forwarded(batch, self._now())
        except SpoolUnavailable:
            self._log("incident-bot serve: forwarded, but the spool could not record it (it will be sent again)")
            return
        self._metrics.forwarded.labels(batch.source).inc()
        if len(batch.members) > 1:
            self._metrics.coalesced.labels(batch.source).inc(len(batch.members) - 1)
        self._log(f"incident-bot serve: forwarded delivery {batch.id} source={batch.source} "
                  f"({len(batch.members)} coalesced): {scrub_text(outcome)[:200]}")

    def _failed(self, batch: Batch, error: str) -> None:
        assert self._spool is not None
        attempts = batch.attempts + 1
        dead = attempts >= self.settings.attempts
        now = self._now()
        self._metrics.forward_failures.labels(batch.source).inc()
        try:
            self._spool.failed(batch, error, now, now + self.settings.retry_delay(attempts), dead)
        except SpoolUnavailable:
            self._wake.wait(1.0)
            return
        if dead:
            self._metrics.dead_lettered.labels(batch.source).inc(len(batch.members))
        delay = self.settings.retry_delay(attempts)
        state = "dead-lettered (spool retry to send again)" if dead else f"retry in {delay:g} s"
        self._log(f"incident-bot serve: forward of delivery {batch.id} source={batch.source} failed "
                  f"(attempt {attempts}/{self.settings.attempts}, {state}): {error}")

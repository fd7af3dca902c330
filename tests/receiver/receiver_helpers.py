"""A real receiver on 127.0.0.1 (uvicorn in a thread, port 0), signed requests, and a recording forge."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from conftest import FIXTURES

from bot.intake.webhook import Secrets
from bot.receiver.app import Receiver
from bot.receiver.config import Settings
from bot.receiver.forwarder import Forward
from bot.receiver.server import running
from bot.receiver.spool import Spool

PD_BODY = (FIXTURES / "webhook_pagerduty.json").read_bytes()
GRAFANA_BODY = (FIXTURES / "webhook_grafana.json").read_bytes()
AM_BODY = (FIXTURES / "vendor" / "alertmanager_v4.json").read_bytes()
PD_SECRET = "pd-Receiver-Secret-5e1a"
GRAFANA_SECRET = "grafana-Receiver-Secret-b07c"
AM_TOKEN = "am-Receiver-Token-2d8f"
SECRETS = Secrets(pagerduty=(PD_SECRET,), grafana=(GRAFANA_SECRET,), alertmanager_tokens=(AM_TOKEN,))


def hexmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def pd_headers(body: bytes, webhook_id: str | None = None, secret: str = PD_SECRET) -> dict[str, str]:
    headers = {"X-PagerDuty-Signature": "v1=" + hexmac(secret, body), "Content-Type": "application/json"}
    if webhook_id:
        headers["X-Webhook-Id"] = webhook_id
    return headers


def grafana_headers(body: bytes, stamp: int | None = None, secret: str = GRAFANA_SECRET) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    return {"X-Grafana-Alerting-Signature": hexmac(secret, str(stamp).encode() + b":" + body),
            "X-Grafana-Alerting-Timestamp": str(stamp), "Content-Type": "application/json"}


def am_headers(token: str = AM_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def am_basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def pagerduty_body(n: int = 0, pod: str = "api-7b4", **data: Any) -> bytes:
    """The PagerDuty fixture as a distinct event `n` (its own event id) for the incident of `pod`."""
    doc = json.loads(PD_BODY)
    doc["event"]["id"] = f"EVT{n:08d}"
    doc["event"]["data"]["incident_key"] = f"HighMemoryUsage/appointments-api/appointments-api/{pod}"
    doc["event"]["data"].update(data)
    return json.dumps(doc).encode()


def grafana_body(n: int = 0, pod: str = "api-7b4", status: str = "firing") -> bytes:
    doc = json.loads(GRAFANA_BODY)
    doc = copy.deepcopy(doc)
    for alert in doc["alerts"]:
        alert["labels"]["pod"] = pod
        alert["status"] = status
        alert.setdefault("annotations", {})["delivery"] = str(n)
    doc["commonLabels"]["pod"] = pod
    doc["status"] = status
    return json.dumps(doc).encode()


@dataclass
class Forge:
    """The forge side as the worker sees it: records every forward; `fail` makes the next ones raise."""

    calls: list[tuple[str, bytes]] = field(default_factory=list)
    fail: Callable[[], Exception | None] = lambda: None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, source: str, body: bytes) -> str:
        error = self.fail()
        if error is not None:
            raise error
        with self.lock:
            self.calls.append((source, body))
        return f"OPENED {source}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.calls) >= count:
                    return list(self.calls)
            time.sleep(0.02)
        with self.lock:
            return list(self.calls)


@dataclass
class Running:
    url: str
    receiver: Receiver
    log: list[str]
    client: httpx.Client
    spool_path: Path

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post(path, content=body, headers=headers or {})

    def metric(self, name: str, **labels: str) -> float:
        value = self.receiver.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value

    def spool(self) -> Spool:
        return Spool(self.spool_path, create=False)


FAST = Settings(coalesce_seconds=0.0, backoff=0.05, backoff_max=0.2)


@contextmanager
def receiver(tmp_path: Path, forward: Forward | None = None, secrets: Secrets = SECRETS, **settings: Any
             ) -> Iterator[Running]:
    spool_path = tmp_path / "spool.db"
    config = replace(FAST, spool=spool_path, **settings)
    log: list[str] = []
    lock = threading.Lock()

    def record(line: str) -> None:
        with lock:
            log.append(line)

    app = Receiver(config, secrets, forward, log=record)
    with running(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield Running(url, app, log, client, spool_path)


def until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()

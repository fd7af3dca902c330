"""Webhook receiver under load on loopback: 10,000 signed PagerDuty deliveries for 50 incidents from 32
concurrent clients (httpx async), against a bare endpoint of the same stack (Starlette on uvicorn, 202
after reading the body: no verification, no spool) in the same run; then kill -9 mid-load and a restart.

The receiver runs in its own process and forwards by repository_dispatch to a fake forge at the network
edge (an HTTP server in this process that counts dispatches). Figures: accepted/s, latency to 202
(p50/p99/max), incidents forwarded, and for the crash: acknowledged deliveries that reached the forge
(directly or coalesced into a newer one) exactly once.

    python -m bench.receiver_bench [--count N] [--update-latest]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-pd-secret"
INCIDENTS, CLIENTS = 50, 32
SECTION = "Webhook receiver on loopback (bench/receiver_bench.py: 32 clients, httpx async, 2 cores shared)"


def deliveries(count: int) -> list[tuple[bytes, dict[str, str]]]:
    doc = json.loads((ROOT / "fixtures" / "webhook_pagerduty.json").read_text())
    out = []
    for n in range(count):
        doc["event"]["id"] = f"EVT{n:08d}"
        doc["event"]["data"]["incident_key"] = f"HighMemoryUsage/appointments-api/appointments-api/pod-{n % INCIDENTS}"
        body = json.dumps(doc).encode()
        sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        out.append((body, {"X-PagerDuty-Signature": f"v1={sig}", "X-Webhook-Id": f"wh-{n}",
                           "Content-Type": "application/json"}))
    return out


class Forge(BaseHTTPRequestHandler):
    events: list[str] = []
    keys: set[str] = set()
    lock = threading.Lock()

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["client_payload"]["payload"]
        with Forge.lock:
            Forge.events.append(payload["event"]["id"])
            Forge.keys.add(payload["event"]["data"]["incident_key"])
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_child(port_file: str) -> None:
    """The receiver process (run by this module with --child)."""
    import uvicorn

    from bot.receiver import server as srv
    from bot.receiver.app import Receiver
    from bot.receiver.config import secrets_from_env, settings_from_env
    from bot.receiver.forwarder import dispatch_forward
    from bot.receiver.server import bound_port

    settings = settings_from_env(os.environ)
    assert settings.dispatch is not None
    receiver = Receiver(settings, secrets_from_env(os.environ), dispatch_forward(settings.dispatch),
                        log=lambda line: None, bare=True)
    server = uvicorn.Server(srv._config(receiver, "127.0.0.1", 0))
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets)
        Path(port_file + ".tmp").write_text(str(bound_port(server)))
        os.replace(port_file + ".tmp", port_file)

    server.startup = startup  # type: ignore[method-assign]
    server.run()


def start(spool: Path, forge_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port_file = str(spool) + ".port"
    Path(port_file).unlink(missing_ok=True)
    env = {**os.environ, "INCIDENT_BOT_PAGERDUTY_SECRET": SECRET, "INCIDENT_BOT_SPOOL": str(spool),
           "INCIDENT_BOT_FORWARD": "dispatch", "GITHUB_REPOSITORY": "acme/gitops", "GITHUB_TOKEN": "bench",
           "GITHUB_API_URL": forge_url, "INCIDENT_BOT_COALESCE_SECONDS": "0.5", "INCIDENT_BOT_FORWARD_BACKOFF": "0.1"}
    process = subprocess.Popen([sys.executable, "-m", "bench.receiver_bench", "--child", port_file], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while not Path(port_file).is_file():
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("bench: receiver did not start")
        time.sleep(0.05)
    return process, f"http://127.0.0.1:{Path(port_file).read_text()}"


async def load(url: str, path: str, items: list[tuple[bytes, dict[str, str]]], stop_after: int | None = None
               ) -> dict[str, Any]:
    latencies: list[float] = []
    acked: list[int] = []
    errors = 0
    queue = list(reversed(items))
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        async def worker() -> None:
            nonlocal errors
            while queue:
                body, headers = queue.pop()
                t0 = time.perf_counter()
                try:
                    response = await client.post(path, content=body, headers=headers)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if response.status_code == 202:
                    acked.append(int(json.loads(body)["event"]["id"][3:]))
                else:
                    errors += 1
                if stop_after is not None and len(acked) >= stop_after:
                    queue.clear()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    return {"requests": len(latencies), "accepted": len(acked), "errors": errors, "elapsed_s": elapsed,
            "per_s": len(acked) / elapsed, "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            "max_ms": latencies[-1] * 1000 if latencies else 0, "acked": acked}


def spool_states(spool: Path) -> dict[int, tuple[str, int | None]]:
    db = sqlite3.connect(str(spool))
    try:
        rows = db.execute("SELECT webhook_id, state, forwarded_as FROM deliveries").fetchall()
        ids = dict(db.execute("SELECT id, webhook_id FROM deliveries").fetchall())
    finally:
        db.close()
    return {int(w[3:]): (s, int(ids[f][3:]) if f else None) for w, s, f in rows}


def wait_drained(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = httpx.get(url + "/metrics").text
        if "incident_bot_spool_depth 0.0" in text:
            return
        time.sleep(0.2)


def measure(count: int = 10_000) -> dict[str, Any]:
    items = deliveries(count)
    forge = ThreadingHTTPServer(("127.0.0.1", 0), Forge)
    threading.Thread(target=forge.serve_forever, daemon=True).start()
    forge_url = f"http://127.0.0.1:{forge.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        spool = Path(tmp) / "spool.db"
        process, url = start(spool, forge_url)
        try:
            asyncio.run(load(url, "/bare/pagerduty", items[:500]))  # warm-up
            bare = asyncio.run(load(url, "/bare/pagerduty", items))
            real = asyncio.run(load(url, "/webhook/pagerduty", items))
            wait_drained(url)
        finally:
            process.terminate()
            process.wait(timeout=30)
        forwarded = {"dispatches": len(Forge.events), "incidents": len(Forge.keys)}

        # crash: kill -9 after 3,000 acknowledgements, restart, drain
        Forge.events, Forge.keys = [], set()
        crash_spool = Path(tmp) / "crash.db"
        crash_items = deliveries(count)
        process, url = start(crash_spool, forge_url)
        killer_started = time.perf_counter()
        result: dict[str, Any] = {}

        def run_load() -> None:
            result.update(asyncio.run(load(url, "/webhook/pagerduty", crash_items)))

        loader = threading.Thread(target=run_load)
        loader.start()
        while time.perf_counter() - killer_started < 30:
            try:
                text = httpx.get(url + "/metrics", timeout=2).text
            except httpx.HTTPError:
                break
            line = next((ln for ln in text.splitlines() if ln.startswith("incident_bot_deliveries_received_total{")),
                        "x 0")
            if float(line.split()[-1]) >= 3000:
                break
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        loader.join()
        process, url = start(crash_spool, forge_url)
        try:
            wait_drained(url)
            time.sleep(0.5)
        finally:
            process.terminate()
            process.wait(timeout=30)
        states = spool_states(crash_spool)
        acked = set(result["acked"])
        seen = Forge.events
        seen_ids = [int(e[3:]) for e in seen]
        reached = {n for n in acked if n in states and states[n][0] in ("forwarded", "coalesced")
                   and (states[n][1] if states[n][1] is not None else n) in set(seen_ids)}
        crash = {"acknowledged": len(acked), "acknowledged_reached_forge": len(reached),
                 "missing": len(acked - reached), "dispatches": len(seen),
                 "dispatched_twice": len(seen_ids) - len(set(seen_ids)),
                 "spooled_not_acknowledged": len(set(states) - acked),
                 "forwarded_not_spooled": len(set(seen_ids) - set(states))}
    forge.shutdown()
    for r in (bare, real):
        r.pop("acked")
    return {"count": count, "bare": bare, "receiver": real, "forwarded": forwarded, "crash": crash}


def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    r, b, f, c = results["receiver"], results["bare"], results["forwarded"], results["crash"]
    return [
        {"id": "receiver.throughput", "section": SECTION,
         "name": f"{results['count']:,} signed deliveries, {INCIDENTS} incidents: accepted/s (verify + spool + 202)",
         "value": r["per_s"], "unit": "accepted/s", "detail": f"{r['errors']} errors",
         "baseline": b["per_s"], "baseline_unit": "202/s", "baseline_name": "bare endpoint, same stack",
         "ratio": b["per_s"] / r["per_s"], "target": 2.0, "target_text": ">= 50% of bare (ratio <= 2x)"},
        {"id": "receiver.absolute", "section": SECTION, "name": "the same run: accepted/s against the absolute target",
         "value": r["per_s"], "unit": "accepted/s", "detail": "the client runs on the same 2 cores",
         "baseline": None, "ratio": None, "target": 1000.0, "target_on": "value", "target_at_least": True,
         "target_text": ">= 1,000/s"},
        {"id": "receiver.p99", "section": SECTION, "name": "latency to 202: p99 (p50, max in detail)",
         "value": r["p99_ms"], "unit": "ms", "detail": f"p50 {r['p50_ms']:.1f} ms, max {r['max_ms']:.0f} ms",
         "baseline": b["p99_ms"], "baseline_unit": "ms", "baseline_name": "bare p99",
         "ratio": r["p99_ms"] / b["p99_ms"] if b["p99_ms"] else None, "target": 50.0, "target_on": "value",
         "target_text": "< 50 ms"},
        {"id": "receiver.incidents", "section": SECTION, "name": "incidents forwarded (repository_dispatch, coalesced)",
         "value": f["incidents"], "unit": "incidents", "detail": f"{f['dispatches']} dispatches",
         "baseline": None, "ratio": None, "target": None, "target_text": "exactly 50"},
        {"id": "receiver.crash", "section": SECTION,
         "name": "kill -9 mid-load, restart: acknowledged deliveries missing at the forge",
         "value": c["missing"], "unit": "missing",
         "detail": f"{c['acknowledged']} acknowledged, {c['acknowledged_reached_forge']} reached the forge, "
                   f"{c['dispatched_twice']} dispatched twice, {c['forwarded_not_spooled']} forwarded unspooled",
         "baseline": None, "ratio": None, "target": 0.0, "target_on": "value", "target_text": "0"},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.receiver_bench")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--update-latest", action="store_true", help="put these figures into bench/results/latest.json")
    args = parser.parse_args(argv)
    if args.child:
        serve_child(args.child)
        return 0
    results = measure(args.count)
    print(json.dumps(results, indent=2))
    figs = figures(results)
    for fig in figs:
        print(f"{fig['name']}: {fig['value']:.1f} {fig['unit']} {fig.get('detail', '')}")
    if args.update_latest:
        from bench.run import LATEST, status

        if not LATEST.is_file():
            print(f"bench: no {LATEST.relative_to(ROOT)} to update; run `make bench` (it includes this benchmark)")
            return 1
        document = json.loads(LATEST.read_text())
        for fig in figs:
            fig["status"] = status(fig)
        document["figures"] = [f for f in document["figures"] if not f["id"].startswith("receiver.")] + figs
        document["results"]["receiver"] = results
        LATEST.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Webhook receiver under load on loopback: 10,000 signed PagerDuty deliveries for 50 incidents from 32
concurrent clients (aiohttp, in 2 processes: bench/http_load.py), against a bare endpoint of the same stack
(Starlette on uvicorn, 202 after reading the body: no verification, no spool) in the same run; then the same
load again with bad input mixed in, and once more clean; then kill -9 mid-load and a restart.

The receiver runs in its own process and forwards by repository_dispatch to a fake forge at the network
edge (an HTTP server in this process that counts dispatches). Figures: accepted/s, latency to 202
(p50/p99/max), the receiver's CPU per delivery, incidents forwarded; under bad input: each kind refused with
its status and counted in /metrics, accepted/s against the clean run; for the crash: acknowledged
deliveries that reached the forge (directly or coalesced into a newer one) exactly once.

    python -m bench.receiver_bench [--count N] [--client aiohttp|raw] [--compare-clients] [--update-latest]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench import http_load

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "receiver.json"
SECRET = "bench-pd-secret"
GRAFANA_SECRET = "bench-grafana-secret"
INCIDENTS, CLIENTS, PROCESSES = 50, 32, 2
DEADLINE_S = 1.0  # INCIDENT_BOT_BODY_DEADLINE and INCIDENT_BOT_HEADER_TIMEOUT of the benchmarked receiver
PROFILE_ENV = "BENCH_RECEIVER_PROFILE"
SECTION = "Webhook receiver on loopback (bench/receiver_bench.py: 32 clients, aiohttp in 2 processes, 2 cores shared)"


def deliveries(count: int, first: int = 0) -> list[tuple[str, bytes, dict[str, str]]]:
    doc = json.loads((ROOT / "fixtures" / "webhook_pagerduty.json").read_text())
    out = []
    for n in range(first, first + count):
        doc["event"]["id"] = f"EVT{n:08d}"
        doc["event"]["data"]["incident_key"] = f"HighMemoryUsage/appointments-api/appointments-api/pod-{n % INCIDENTS}"
        body = json.dumps(doc).encode()
        sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        out.append((str(n), body, {"X-PagerDuty-Signature": f"v1={sig}", "X-Webhook-Id": f"wh-{n}",
                                   "Content-Type": "application/json"}))
    return out


class Forge(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as GitHub's API
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
    if os.environ.get(PROFILE_ENV):
        _profiled(os.environ[PROFILE_ENV], server)
    server.run()


def _profiled(out: str, server: Any) -> None:
    """--profile: SIGUSR1 starts cProfile on the event loop's thread, SIGUSR2 stops it and writes `out`;
    the threads' native ids go to `out`.threads once the server is up (their CPU is read from /proc)."""
    import cProfile

    profiler = cProfile.Profile(time.thread_time)  # CPU time: a wait for the GIL or the core is not counted
    signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())

    def dump(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(out + ".tmp")
        os.replace(out + ".tmp", out)

    signal.signal(signal.SIGUSR2, dump)
    started = server.startup

    async def startup(sockets: Any = None) -> None:
        await started(sockets)
        Path(out + ".threads").write_text(json.dumps({t.name: t.native_id for t in threading.enumerate()}))

    server.startup = startup


def start(spool: Path, forge_url: str, profile: str = "") -> tuple[subprocess.Popen[bytes], int]:
    port_file = str(spool) + ".port"
    Path(port_file).unlink(missing_ok=True)
    env = {**os.environ, PROFILE_ENV: profile, "INCIDENT_BOT_PAGERDUTY_SECRET": SECRET,
           "INCIDENT_BOT_GRAFANA_SECRET": GRAFANA_SECRET, "INCIDENT_BOT_SPOOL": str(spool),
           "INCIDENT_BOT_FORWARD": "dispatch", "GITHUB_REPOSITORY": "acme/gitops",
           "GITHUB_TOKEN": "bench", "GITHUB_API_URL": forge_url, "INCIDENT_BOT_COALESCE_SECONDS": "0.5",
           "INCIDENT_BOT_FORWARD_BACKOFF": "0.1", "INCIDENT_BOT_BODY_DEADLINE": str(DEADLINE_S),
           "INCIDENT_BOT_HEADER_TIMEOUT": str(DEADLINE_S)}
    process = subprocess.Popen([sys.executable, "-m", "bench.receiver_bench", "--child", port_file], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while not Path(port_file).is_file():
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("bench: receiver did not start")
        time.sleep(0.05)
    return process, int(Path(port_file).read_text())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric_values(port: int, name: str, label: str) -> Counter[str]:
    """Sum of a counter's samples by one label, from /metrics."""
    out: Counter[str] = Counter()
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) + 1:].rsplit("} ", 1)
            found = dict(part.split("=", 1) for part in labels.split(","))
            out[found.get(label, '""').strip('"')] += int(float(value))
    return out


def wait_drained(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "incident_bot_spool_depth 0.0" in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text:
            return
        time.sleep(0.2)


def summary(result: http_load.Result) -> dict[str, Any]:
    return {"requests": len(result.latencies), "accepted": len(result.accepted), "errors": result.errors,
            "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
            "elapsed_s": result.finished - result.started, "per_s": result.per_s(), "p50_ms": result.ms(0.5),
            "p99_ms": result.ms(0.99), "max_ms": result.ms(1.0)}


# ---------------------------------------------------------------- bad input, sent while the load runs

def _grafana(body: bytes, stamp: int) -> dict[str, str]:
    sig = hmac.new(GRAFANA_SECRET.encode(), str(stamp).encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Grafana-Alerting-Signature": sig, "X-Grafana-Alerting-Timestamp": str(stamp),
            "Content-Type": "application/json"}


def bad_requests(port: int) -> dict[str, tuple[bytes, int, str, float]]:
    """kind -> (raw request, expected status, the metric's reason, seconds to stall after sending it)."""
    body = deliveries(1, first=9_000_000)[0][1]
    pd_sig = "v1=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    not_json = b'{"event": {"id": "oops", '
    nj_sig = "v1=" + hmac.new(SECRET.encode(), not_json, hashlib.sha256).hexdigest()
    grafana = (ROOT / "fixtures" / "webhook_grafana.json").read_bytes()

    def post(path: str, payload: bytes, headers: dict[str, str], length: int | None = None) -> bytes:
        return http_load.encode("127.0.0.1", port, path, payload, headers) if length is None else (
            http_load.encode("127.0.0.1", port, path, b"", headers).replace(b"Content-Length: 0",
                                                                            f"Content-Length: {length}".encode())
            + payload)

    return {
        "wrong signature": (post("/webhook/pagerduty", body, {"X-PagerDuty-Signature": "v1=" + "0" * 64}), 401,
                            "bad_signature", 0),
        "missing signature": (post("/webhook/pagerduty", body, {"Content-Type": "application/json"}), 401,
                              "bad_signature", 0),
        "stale timestamp": (post("/webhook/grafana", grafana, _grafana(grafana, int(time.time()) - 900)), 401,
                            "bad_signature", 0),
        "oversized body": (post("/webhook/pagerduty", b"", {"X-PagerDuty-Signature": pd_sig}, length=2 << 20), 413,
                           "too_large", 0),
        "slow body": (post("/webhook/pagerduty", body[:100], {"X-PagerDuty-Signature": pd_sig}, length=len(body)),
                      408, "slow_body", DEADLINE_S * 3),
        "slow headers": (b"POST /webhook/pagerduty HTTP/1.1\r\nHost: x\r\nX-Pager", 408, "slow_headers",
                         DEADLINE_S * 3),
        "malformed JSON": (post("/webhook/pagerduty", not_json, {"X-PagerDuty-Signature": nj_sig}), 400,
                           "not_json", 0),
        "unknown path": (post("/webhook/datadog", body, {"Content-Type": "application/json"}), 404,
                         "unknown_path", 0),
    }


async def _one_bad(port: int, raw: bytes, stall: float) -> int | None:
    """One bad request on its own connection; its status, or None when the server closed without one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        async with asyncio.timeout(stall + 10):
            status, _ = await http_load._read_response(reader)
        return status
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
        return None
    finally:
        writer.close()


def send_bad_input(port: int, stop: threading.Event, concurrency: int = 4) -> dict[str, Any]:
    """Every kind of bad request in turn over `concurrency` connections until `stop`; statuses per kind."""
    kinds = bad_requests(port)
    seen: dict[str, Counter[int | None]] = {kind: Counter() for kind in kinds}

    async def sender(offset: int) -> None:
        order = list(kinds)
        n = offset
        while not stop.is_set():
            kind = order[n % len(order)]
            n += 1
            raw, _, _, stall = kinds[kind]
            seen[kind][await _one_bad(port, raw, stall)] += 1

    async def main() -> None:
        await asyncio.gather(*(sender(i * 2) for i in range(concurrency)))

    asyncio.run(main())
    return {kind: {"sent": sum(seen[kind].values()), "expected": kinds[kind][1], "reason": kinds[kind][2],
                   "statuses": {str(k): v for k, v in seen[kind].items()}} for kind in kinds}


def check_bad_input(bad: dict[str, Any], before: Counter[str], after: Counter[str]) -> dict[str, Any]:
    """Did every bad request get its status, and is each counted under its reason in /metrics?"""
    wrong_status = sum(v for kind in bad.values() for s, v in kind["statuses"].items() if s != str(kind["expected"]))
    expected_by_reason: Counter[str] = Counter()
    for kind in bad.values():
        expected_by_reason[kind["reason"]] += kind["statuses"].get(str(kind["expected"]), 0)
    counted = {reason: after[reason] - before[reason] for reason in expected_by_reason}
    miscounted = sum(abs(counted[r] - n) for r, n in expected_by_reason.items())
    return {"sent": sum(k["sent"] for k in bad.values()), "wrong_status": wrong_status,
            "expected_by_reason": dict(expected_by_reason), "counted_by_reason": counted, "miscounted": miscounted}


# ---------------------------------------------------------------- the run

def measure(count: int = 10_000, client: str = "aiohttp") -> dict[str, Any]:
    items = deliveries(count)
    second = deliveries(count, first=count)  # the same 50 incidents, new deliveries (no redelivery no-ops)
    third = deliveries(count, first=2 * count)
    forge = ThreadingHTTPServer(("127.0.0.1", 0), Forge)
    threading.Thread(target=forge.serve_forever, daemon=True).start()
    forge_url = f"http://127.0.0.1:{forge.server_address[1]}"
    Forge.events, Forge.keys = [], set()

    def run(port: int, path: str, requests: list[tuple[str, bytes, dict[str, str]]]) -> http_load.Result:
        return http_load.load("127.0.0.1", port, path, requests, CLIENTS, PROCESSES, client)

    with tempfile.TemporaryDirectory() as tmp:
        spool = Path(tmp) / "spool.db"
        process, port = start(spool, forge_url)
        try:
            run(port, "/bare/pagerduty", items[:1000])  # warm-up
            bare = run(port, "/bare/pagerduty", items)
            cpu_before = cpu_seconds(process.pid)
            real = run(port, "/webhook/pagerduty", items)
            cpu_per_delivery_us = (cpu_seconds(process.pid) - cpu_before) / max(1, len(real.accepted)) * 1e6

            rejected_before = metric_values(port, "incident_bot_deliveries_rejected_total", "reason")
            stop = threading.Event()
            bad: dict[str, Any] = {}
            sender = threading.Thread(target=lambda: bad.update(send_bad_input(port, stop)))
            sender.start()
            try:
                under_bad = run(port, "/webhook/pagerduty", second)
            finally:
                stop.set()
                sender.join()
            rejected_after = metric_values(port, "incident_bot_deliveries_rejected_total", "reason")
            clean_again = run(port, "/webhook/pagerduty", third)  # the bad-input run sits between two clean ones
            healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
            wait_drained(port)
        finally:
            process.terminate()
            process.wait(timeout=30)
        forwarded = {"dispatches": len(Forge.events), "incidents": len(Forge.keys),
                     "distinct_incident_keys": sorted(Forge.keys)[:3]}
        checked = check_bad_input(bad, rejected_before, rejected_after)
        bad_input = {"kinds": bad, **checked, "healthz_after": healthy, "load": summary(under_bad),
                     "clean_after": summary(clean_again)}
        crash = crash_run(Path(tmp) / "crash.db", forge_url, deliveries(count), run)
    forge.shutdown()
    return {"count": count, "client": client, "processes": PROCESSES, "bare": summary(bare),
            "receiver": summary(real), "receiver_cpu_us_per_delivery": cpu_per_delivery_us,
            "forwarded": forwarded, "bad_input": bad_input, "crash": crash}


def crash_run(spool: Path, forge_url: str, items: list[tuple[str, bytes, dict[str, str]]], run: Any) -> dict[str, Any]:
    """kill -9 after 30% of the deliveries were acknowledged (the receiver's own count), restart, send again
    what was not acknowledged (as the vendor retries it, same X-Webhook-Id and body), drain."""
    Forge.events, Forge.keys = [], set()
    kill_after = len(items) * 3 // 10
    process, port = start(spool, forge_url)

    def killer() -> None:
        started = time.monotonic()
        while time.monotonic() - started < 60:
            with contextlib.suppress(httpx.HTTPError):
                if metric_values(port, "incident_bot_deliveries_received_total", "source")["pagerduty"] >= kill_after:
                    break
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)

    watcher = threading.Thread(target=killer)
    watcher.start()
    result = run(port, "/webhook/pagerduty", items)
    watcher.join()
    process.wait()
    acked = {int(n) for n in result.accepted}
    committed_unacked = set(spool_states(spool)) - acked  # in the spool, but the 202 never reached the client
    process, port = start(spool, forge_url)
    try:
        retries = [item for item in items if int(item[0]) not in acked]
        retried = run(port, "/webhook/pagerduty", retries)
        duplicates = metric_values(port, "incident_bot_deliveries_deduplicated_total", "source")["pagerduty"]
        wait_drained(port)
        time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=30)
    states = spool_states(spool)
    acked_all = acked | {int(n) for n in retried.accepted}
    seen_ids = [int(e[3:]) for e in Forge.events]
    reached = {n for n in acked_all if n in states and states[n][0] in ("forwarded", "coalesced")
               and (states[n][1] if states[n][1] is not None else n) in set(seen_ids)}
    return {"acknowledged": len(acked), "acknowledged_reached_forge": len(reached & acked),
            "missing": len(acked - reached), "dispatches": len(seen_ids),
            "dispatched_twice": len(seen_ids) - len(set(seen_ids)),
            "spooled_not_acknowledged": len(committed_unacked), "retried": len(retries),
            "retried_acknowledged": len(retried.accepted), "retried_duplicate": duplicates,
            "retried_missing": len(acked_all - acked - reached),
            "forwarded_not_spooled": len(set(seen_ids) - set(states)), "client_errors": result.errors}


def spool_states(spool: Path) -> dict[int, tuple[str, int | None]]:
    db = sqlite3.connect(str(spool))
    try:
        rows = db.execute("SELECT webhook_id, state, forwarded_as FROM deliveries").fetchall()
        ids = dict(db.execute("SELECT id, webhook_id FROM deliveries").fetchall())
    finally:
        db.close()
    return {int(w[3:]): (s, int(ids[f][3:]) if f else None) for w, s, f in rows}


# ---------------------------------------------------------------- which side is the bound?

async def _httpx_load(port: int, path: str, items: list[tuple[str, bytes, dict[str, str]]]) -> http_load.Result:
    result = http_load.Result()
    queue = list(reversed(items))
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
        async def worker() -> None:
            while queue:
                ident, body, headers = queue.pop()
                t0 = time.perf_counter()
                response = await client.post(path, content=body, headers=headers)
                result.answered(ident, response.status_code, time.perf_counter() - t0)

        result.started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        result.finished = time.perf_counter()
    return result


def compare_clients(count: int) -> dict[str, Any]:
    """The bare endpoint under each client, and the receiver's CPU per request: who is the bound?"""
    items = deliveries(count)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        process, port = start(Path(tmp) / "spool.db", "http://127.0.0.1:9")
        try:
            http_load.load("127.0.0.1", port, "/bare/pagerduty", items[:500], CLIENTS, 1, "raw")
            for name, measure_one in (
                    ("httpx, 1 process", lambda: asyncio.run(_httpx_load(port, "/bare/pagerduty", items))),
                    ("aiohttp, 1 process", lambda: http_load.load("127.0.0.1", port, "/bare/pagerduty", items,
                                                                  CLIENTS, 1, "aiohttp")),
                    ("aiohttp, 2 processes", lambda: http_load.load("127.0.0.1", port, "/bare/pagerduty", items,
                                                                    CLIENTS, 2, "aiohttp")),
                    ("raw asyncio, 2 processes", lambda: http_load.load("127.0.0.1", port, "/bare/pagerduty", items,
                                                                        CLIENTS, 2, "raw"))):
                before = cpu_seconds(process.pid)
                result = measure_one()
                out[name] = {**summary(result), "server_cpu_us": (cpu_seconds(process.pid) - before) / count * 1e6}
                print(f"bare endpoint, {name}: {result.per_s():,.0f}/s, p99 {result.ms(0.99):.1f} ms, "
                      f"server CPU {out[name]['server_cpu_us']:.0f} us per request", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return out


# ---------------------------------------------------------------- where the microseconds go

def thread_cpu(pid: int, tid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profile(count: int, top: int = 35) -> dict[str, Any]:
    """The receiver's CPU per request by thread (bare, then receiver: /proc/<pid>/task), then one more
    receiver load under cProfile on the event loop's thread (its tottime per delivery, top functions)."""
    import pstats

    out: dict[str, Any] = {}
    forge = ThreadingHTTPServer(("127.0.0.1", 0), Forge)
    threading.Thread(target=forge.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        stats_file = str(Path(tmp) / "loop.prof")
        process, port = start(Path(tmp) / "spool.db", f"http://127.0.0.1:{forge.server_address[1]}", stats_file)
        try:
            threads = json.loads(Path(stats_file + ".threads").read_text())
            http_load.load("127.0.0.1", port, "/bare/pagerduty", deliveries(1000, first=10 * count), CLIENTS,
                           PROCESSES)
            for name, path, items in (("bare", "/bare/pagerduty", deliveries(count)),
                                      ("receiver", "/webhook/pagerduty", deliveries(count))):
                before = {t: thread_cpu(process.pid, tid) for t, tid in threads.items()}
                total = cpu_seconds(process.pid)
                result = http_load.load("127.0.0.1", port, path, items, CLIENTS, PROCESSES)
                per = {t: (thread_cpu(process.pid, tid) - before[t]) / count * 1e6 for t, tid in threads.items()}
                out[name] = {"per_s": result.per_s(), "cpu_us": (cpu_seconds(process.pid) - total) / count * 1e6,
                             "threads_us": {t: round(v) for t, v in per.items() if v > 0.5}}
                print(f"{name}: {result.per_s():,.0f}/s, server CPU {out[name]['cpu_us']:.0f} us per request "
                      f"({', '.join(f'{t} {v:.0f}' for t, v in per.items() if v > 0.5)})", flush=True)
            wait_drained(port)
            if not top:
                return out
            os.kill(process.pid, signal.SIGUSR1)
            time.sleep(0.2)
            http_load.load("127.0.0.1", port, "/webhook/pagerduty", deliveries(count, first=count), CLIENTS, PROCESSES)
            os.kill(process.pid, signal.SIGUSR2)
            deadline = time.monotonic() + 30
            while not Path(stats_file).is_file() and time.monotonic() < deadline:
                time.sleep(0.1)
            stats = pstats.Stats(stats_file)
            if os.environ.get("BENCH_PROFILE_KEEP"):
                stats.dump_stats(os.environ["BENCH_PROFILE_KEEP"])
        finally:
            process.terminate()
            process.wait(timeout=30)
    forge.shutdown()
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    loop_us = sum(v[2] for _, v in rows) / count * 1e6
    print(f"cProfile of the event loop's thread, receiver load: {loop_us:.0f} us per delivery (thread CPU time, "
          "the profiler's overhead included); top functions by tottime, us per delivery (own, cumulative):")
    out["profile"] = []
    for (file, lineno, func), (_, calls, tottime, cumtime, _) in rows[:top]:
        where = f"{Path(file).name}:{lineno}({func})" if lineno else func
        out["profile"].append({"function": where, "calls_per": calls / count, "own_us": tottime / count * 1e6,
                               "cum_us": cumtime / count * 1e6})
        print(f"  {tottime / count * 1e6:7.1f} {cumtime / count * 1e6:8.1f}  {calls / count:5.2f}x  {where}")
    return out


# ---------------------------------------------------------------- figures

def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    r, b, f, c = results["receiver"], results["bare"], results["forwarded"], results["crash"]
    bad = results["bad_input"]
    cpu = results["receiver_cpu_us_per_delivery"]
    clean = (r["per_s"] + bad["clean_after"]["per_s"]) / 2
    kinds = ", ".join(f"{k} {v['expected']}" for k, v in bad["kinds"].items())
    return [
        {"id": "receiver.throughput", "section": SECTION,
         "name": f"{results['count']:,} signed deliveries, {INCIDENTS} incidents: accepted/s (verify + spool + 202)",
         "value": r["per_s"], "unit": "accepted/s",
         "detail": f"{r['errors']} errors; the receiver's CPU {cpu:,.0f} us per delivery",
         "baseline": b["per_s"], "baseline_unit": "202/s", "baseline_name": "bare endpoint, same stack",
         "ratio": b["per_s"] / r["per_s"] if r["per_s"] else None, "target": 2.0,
         "target_text": ">= 50% of bare (ratio <= 2x)"},
        {"id": "receiver.absolute", "section": SECTION, "name": "the same run: accepted/s against the absolute target",
         "value": r["per_s"], "unit": "accepted/s", "detail": "client and receiver share the 2 cores",
         "baseline": None, "ratio": None, "target": 1000.0, "target_on": "value", "target_at_least": True,
         "target_text": ">= 1,000/s"},
        {"id": "receiver.p99", "section": SECTION, "name": "latency to 202: p99 (p50, max in detail)",
         "value": r["p99_ms"], "unit": "ms", "detail": f"p50 {r['p50_ms']:.1f} ms, max {r['max_ms']:.0f} ms",
         "baseline": b["p99_ms"], "baseline_unit": "ms", "baseline_name": "bare p99",
         "ratio": r["p99_ms"] / b["p99_ms"] if b["p99_ms"] else None, "target": 50.0, "target_on": "value",
         "target_text": "< 50 ms"},
        {"id": "receiver.incidents", "section": SECTION,
         "name": f"incidents forwarded (repository_dispatch, coalesced) from {3 * results['count']:,} deliveries",
         "value": f["incidents"], "unit": "incidents", "detail": f"{f['dispatches']} dispatches",
         "baseline": None, "ratio": None, "target": float(INCIDENTS), "target_on": "value", "target_exact": True,
         "target_text": "exactly 50"},
        {"id": "receiver.bad_input", "section": SECTION,
         "name": f"bad input during a second load ({kinds}): wrong status or not counted in /metrics",
         "value": bad["wrong_status"] + bad["miscounted"], "unit": "problems",
         "detail": f"{bad['sent']:,} bad requests: {bad['wrong_status']} wrong status, {bad['miscounted']} "
                   f"miscounted; /healthz "
                   f"{'200' if bad['healthz_after'] else 'down'} after",
         "baseline": None, "ratio": None, "target": 0.0, "target_on": "value", "target_text": "0"},
        {"id": "receiver.bad_input_load", "section": SECTION,
         "name": "accepted/s during that bad input (the accepted figures hold)",
         "value": bad["load"]["per_s"], "unit": "accepted/s",
         "detail": f"p99 {bad['load']['p99_ms']:.0f} ms, {bad['load']['errors']} errors",
         "baseline": clean, "baseline_unit": "accepted/s", "baseline_name": "mean of the clean runs before and after",
         "ratio": clean / bad["load"]["per_s"] if bad["load"]["per_s"] else None, "target": 1.25,
         "target_text": "within 25% (ratio <= 1.25x)"},
        {"id": "receiver.crash", "section": SECTION,
         "name": "kill -9 mid-load, restart: acknowledged deliveries missing at the forge",
         "value": c["missing"] + c.get("retried_missing", 0), "unit": "missing",
         "detail": f"{c['acknowledged']} acknowledged, {c['acknowledged_reached_forge']} reached the forge, "
                   f"{c['dispatched_twice']} dispatched twice, {c['forwarded_not_spooled']} forwarded unspooled; "
                   f"{c['spooled_not_acknowledged']} committed whose 202 never reached the client (forwarded); "
                   f"the {c.get('retried', 0):,} unacknowledged sent again after the restart: "
                   f"{c.get('retried_duplicate', 0)} answered as duplicates, "
                   f"{c.get('retried_missing', 0)} of those acknowledged missing at the forge",
         "baseline": None, "ratio": None, "target": 0.0, "target_on": "value", "target_text": "0"},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.receiver_bench")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--client", choices=http_load.CLIENTS, default="aiohttp")
    parser.add_argument("--compare-clients", action="store_true",
                        help="only measure the bare endpoint under httpx, aiohttp and a raw asyncio client")
    parser.add_argument("--profile", type=int, metavar="TOP", nargs="?", const=35,
                        help="only the receiver's CPU per request by thread, and cProfile of its event loop "
                             "(its TOP functions; 0: no cProfile)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--refigure", metavar="JSON", help=argparse.SUPPRESS)  # figures again from stored results
    parser.add_argument("--update-latest", action="store_true",
                        help="also put these figures into bench/results/latest.json (from a `make bench`)")
    args = parser.parse_args(argv)
    if args.child:
        serve_child(args.child)
        return 0
    if args.refigure:
        from bench.run import status as status_of

        stored = json.loads(Path(args.refigure).read_text())
        stored["figures"] = figures(stored["results"])
        for fig in stored["figures"]:
            fig["status"] = status_of(fig)
        Path(args.refigure).write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n", "utf-8")
        return 0
    if args.profile is not None:
        profile(args.count, args.profile)
        return 0
    if args.compare_clients:
        print(json.dumps(compare_clients(args.count), indent=2))
        return 0
    from bench.run import LATEST, line, status

    started = time.perf_counter()
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    results = measure(args.count, args.client)
    figs = figures(results)
    for fig in figs:
        fig["status"] = status(fig)
        print(line(fig))
    elapsed = time.perf_counter() - started
    print(f"receiver bench took {elapsed:.0f} s")
    RESULTS.parent.mkdir(exist_ok=True)
    meta = {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "cpu_count": os.cpu_count(),
            "elapsed_s": round(elapsed, 1), "load_average_before": load_before}
    RESULTS.write_text(json.dumps({"meta": meta, "figures": figs, "results": results}, indent=2, sort_keys=True)
                       + "\n", "utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}; `python -m bench.readme --section-from {RESULTS.relative_to(ROOT)}` "
          "puts these rows into README.md")
    if args.update_latest:
        if not LATEST.is_file():
            print(f"bench: no {LATEST.relative_to(ROOT)} to update; run `make bench` (it includes this benchmark)")
            return 1
        document = json.loads(LATEST.read_text())
        document["figures"] = [f for f in document["figures"] if not f["id"].startswith("receiver.")] + figs
        document["results"]["receiver"] = results
        LATEST.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

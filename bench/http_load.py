"""Load clients for the receiver benchmark, spread over several processes so that the client is not the
bound of what is measured: aiohttp (a real client library, the default) or raw asyncio streams (HTTP/1.1
keep-alive, the status line and Content-Length parsed, nothing else: the lightest client there is).
Both on uvloop, keep-alive connections, every request built before the clock starts.

httpx, the client of the first version of this benchmark, costs about 1 ms of CPU per request (its
request and response objects, its connection pool, anyio): at 1,000 requests per second that is a whole
core of the two this machine has, shared with the server, and the bare endpoint itself stayed near
500/s. `python -m bench.receiver_bench --compare-clients` measures the three against the bare endpoint.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

Request = tuple[str, bytes, dict[str, str]]  # (an id the caller knows it by, body, headers)
CLIENTS = ("aiohttp", "raw")


@dataclass
class Result:
    started: float = 0.0  # time.perf_counter() (CLOCK_MONOTONIC: the same clock in every process)
    finished: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, every answered request
    statuses: dict[int, int] = field(default_factory=dict)  # status -> count
    accepted: list[str] = field(default_factory=list)  # ids answered 202
    errors: int = 0  # connection failures (no status)

    def answered(self, ident: str, status: int, seconds: float) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 202:
            self.accepted.append(ident)

    def merge(self, other: Result) -> None:
        self.finished = max(self.finished, other.finished)
        self.latencies += other.latencies
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n
        self.accepted += other.accepted
        self.errors += other.errors

    def per_s(self) -> float:
        return len(self.accepted) / (self.finished - self.started) if self.finished > self.started else 0.0

    def ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def encode(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, close = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    if length:
        await reader.readexactly(length)
    return status, close


async def _raw(host: str, port: int, path: str, items: Sequence[Request], connections: int) -> Result:
    result = Result()
    queue = [(ident, encode(host, port, path, body, headers)) for ident, body, headers in reversed(items)]

    async def connection() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while queue:
            ident, raw = queue.pop()
            t0 = time.perf_counter()
            try:
                if reader is None or writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(raw)
                status, close = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                result.errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            result.answered(ident, status, time.perf_counter() - t0)
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    result.started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    result.finished = time.perf_counter()
    return result


async def _aiohttp(host: str, port: int, path: str, items: Sequence[Request], connections: int) -> Result:
    import aiohttp

    result = Result()
    queue = list(reversed(items))
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(f"http://{host}:{port}", connector=connector) as session:
        async def worker() -> None:
            while queue:
                ident, body, headers = queue.pop()
                t0 = time.perf_counter()
                try:
                    async with session.post(path, data=body, headers=headers) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, OSError):
                    result.errors += 1
                    continue
                result.answered(ident, status, time.perf_counter() - t0)

        result.started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        result.finished = time.perf_counter()
    return result


async def _at(start_at: float, client: str, host: str, port: int, path: str, items: Sequence[Request],
              connections: int) -> Result:
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))  # every process starts at once
    run = _raw if client == "raw" else _aiohttp
    return await run(host, port, path, items, connections)


def _child(args: tuple[float, str, str, int, str, Sequence[Request], int]) -> Result:
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(_at(*args))
    return uvloop.run(_at(*args))


def _ready(_: int) -> None:
    pass


def load(host: str, port: int, path: str, requests: Sequence[Request], connections: int = 32,
         processes: int = 2, client: str = "aiohttp") -> Result:
    """Send every request once over `connections` keep-alive connections split across `processes`."""
    if processes <= 1:
        return _child((0.0, client, host, port, path, requests, connections))
    slices = [requests[i::processes] for i in range(processes)]
    per = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(_ready, range(processes * 4))  # the workers are up and have imported this module
        start_at = time.perf_counter() + 0.5  # the requests travel to the workers meanwhile
        parts = pool.map(_child, [(start_at, client, host, port, path, s, n) for s, n in zip(slices, per, strict=True)])
    total = Result(started=min(p.started for p in parts))
    for part in parts:
        total.merge(part)
    return total

"""The ASGI app (Starlette): POST /webhook/{grafana,pagerduty,alertmanager}, /healthz, /readyz, /metrics.

A delivery is answered 202 only once it is committed to the spool; the forge is never called here.
Order per request: route, method, Content-Length, body within the deadline and the size limit, then within
one of `max_concurrency` slots: signature (constant time, bot.intake.webhook), "is it an alert" (400 if never
usable), spool write (503 if impossible).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.receiver.config import Settings
from bot.receiver.forwarder import Forward, Worker
from bot.receiver.metrics import Metrics
from bot.receiver.payload import Unusable, content_hash, kept_headers, parse, webhook_id
from bot.receiver.spool import Delivery, Rejected, Spool, SpoolUnavailable
from bot.receiver.verify import PayloadTooLarge, Secrets, SignatureError, UnknownRoute, detect_source, verify
from bot.receiver.writer import Writer

Log = Callable[[str], None]
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def stderr_log(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class _Refused(Exception):
    def __init__(self, status: int, text: str, reason: str, note: str = "", headers: dict[str, str] | None = None):
        super().__init__(text)
        self.status, self.text, self.reason, self.note, self.headers = status, text, reason, note, headers


@dataclass
class Receiver:
    """Everything one running receiver owns; `app` is what uvicorn serves."""

    settings: Settings
    secrets: Secrets
    forward: Forward | None  # None: spool only (nothing is forwarded by this process)
    log: Log = stderr_log
    now: Callable[[], float] = time.time
    bare: bool = False  # add POST /bare/{source}: 202 after reading the body, nothing else (benchmark baseline)

    def __post_init__(self) -> None:
        self.reader = Spool(self.settings.spool, self.settings.spool_max_mb)
        self.metrics = Metrics(self.reader.depth_and_oldest, self.now)
        self.worker = (Worker(self.settings, self.forward, self.metrics, self.log, self.now)
                       if self.forward is not None else None)
        self.writer = Writer(self.settings.spool, self.settings.spool_max_mb, self.settings.rejected_keep,
                             self.worker.wake if self.worker else (lambda: None), checkpoints=self.worker is None)
        self._slots: asyncio.Semaphore | None = None
        routes = [
            Route("/healthz", self._healthz, methods=["GET"]),
            Route("/readyz", self._readyz, methods=["GET"]),
            Route("/metrics", self._metrics, methods=["GET"]),
        ]
        if self.bare:
            routes.append(Route("/bare/{source}", self._bare, methods=["POST"]))
        routes.append(Route("/{path:path}", self._webhook, methods=ALL_METHODS))
        self.app = Starlette(routes=routes, lifespan=self._lifespan)
        self.app.router.redirect_slashes = False

    # ------------------------------------------------------------ lifecycle

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._slots = asyncio.Semaphore(self.settings.max_concurrency)
        self.writer.start()
        if self.worker:
            self.worker.start()
        try:
            yield
        finally:
            self.writer.stop()
            if self.worker:
                self.worker.stop()
            self.reader.close()

    # ------------------------------------------------------------ probes

    async def _healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def _readyz(self, request: Request) -> Response:
        if not self.writer.healthy:
            return PlainTextResponse("spool cannot be written\n", status_code=503)
        return PlainTextResponse("ready\n")

    async def _metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def _bare(self, request: Request) -> Response:
        await request.body()
        return PlainTextResponse("accepted\n", status_code=202)

    # ------------------------------------------------------------ deliveries

    async def _webhook(self, request: Request) -> Response:
        source = "-"
        status, note = 500, ""
        try:
            try:
                source = detect_source(request.scope["path"])
            except UnknownRoute:
                raise _Refused(404, "not found", "unknown_path") from None
            if request.method != "POST":
                raise _Refused(405, "method not allowed; use POST", "method", headers={"Allow": "POST"})
            response = await self._deliver(source, request)
            status = response.status_code
            return response
        except _Refused as refused:
            status, note = refused.status, refused.note
            self.metrics.count(self.metrics.rejected, source, refused.reason)
            text = "" if request.method == "HEAD" else refused.text + "\n"
            return PlainTextResponse(text, status_code=refused.status, headers=refused.headers)
        except Exception as exc:  # the message may quote the body: only the class reaches the log
            status, note = 500, type(exc).__name__
            return PlainTextResponse("internal error\n", status_code=500)
        finally:
            self._log(request, status, source, note)

    async def _deliver(self, source: str, request: Request) -> Response:
        headers: dict[str, str] = {}
        for raw_name, raw_value in request.scope["headers"]:  # names are lower case (ASGI), bytes latin-1
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        length = headers.get("content-length")
        if length is not None:
            digits = length.strip()
            if not digits.isdigit() or not digits.isascii():
                raise _Refused(400, "invalid Content-Length", "bad_request")
            if len(digits) > 18 or int(digits) > self.settings.max_body:  # int() of 4300+ digits raises
                raise _Refused(413, "payload too large", "too_large")
        # the body is read before a slot is taken: a slow client waits on the network, not in the way of the
        # others; memory stays bounded by INCIDENT_BOT_MAX_CONNECTIONS x INCIDENT_BOT_MAX_BODY
        body = await self._read(request)
        assert self._slots is not None
        async with self._slots:
            received_at = self.now()
            try:
                verify(source, headers, body, self.secrets, received_at)
            except SignatureError as err:
                raise _Refused(401, "unauthorized", "bad_signature", f"{err.header}: {err.problem}") from None
            except PayloadTooLarge:
                raise _Refused(413, "payload too large", "too_large") from None
            try:
                parsed = parse(source, body)
            except Unusable as err:
                await self._keep_rejected(source, err, body, received_at)
                raise _Refused(400, str(err), err.reason, err.reason) from None
            delivery = Delivery(source=source, webhook_id=webhook_id(source, headers),
                                content_hash=parsed.content_hash, group_key=parsed.group_key,
                                headers=kept_headers(headers), body=body, received_at=received_at)
            try:
                stored = await self.writer.add(delivery)
            except SpoolUnavailable:
                raise _Refused(503, "spool unavailable; retry later", "spool_unavailable",
                               "SpoolUnavailable") from None
        if stored.duplicate:
            self.metrics.count(self.metrics.deduplicated, source)
            return PlainTextResponse(f"duplicate of delivery {stored.id}\n", status_code=202)
        self.metrics.count(self.metrics.received, source)
        return PlainTextResponse(f"accepted delivery {stored.id}\n", status_code=202)

    async def _read(self, request: Request) -> bytes:
        # ASGI's receive() directly (Starlette's request.stream() adds a generator and its checks per chunk);
        # a body that came with the headers is one message, returned as it is
        receive = request.receive
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.settings.body_deadline):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":  # http.disconnect
                        raise ClientDisconnect()
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.settings.max_body:
                        raise _Refused(413, "payload too large", "too_large")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise _Refused(408, f"body not received within {self.settings.body_deadline:g} s", "slow_body",
                           "slow body") from None
        except ClientDisconnect:
            raise _Refused(400, "client disconnected", "bad_request", "client disconnected") from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _keep_rejected(self, source: str, err: Unusable, body: bytes, received_at: float) -> None:
        entry = Rejected(source=source, received_at=received_at, reason=f"{err.reason}: {err.problem}"[:300],
                         size=len(body), content_hash=content_hash(source, body), excerpt=err.excerpt)
        # the answer is 400 either way: the vendor must not retry a body that can never be used
        with contextlib.suppress(SpoolUnavailable):
            await self.writer.reject(entry)

    def _log(self, request: Request, status: int, source: str, note: str) -> None:
        path = _UNPRINTABLE.sub("?", request.scope["path"])[:200]
        method = _UNPRINTABLE.sub("?", request.scope["method"])[:16]
        line = f"incident-bot serve: {method} {path} {status} source={source}"
        if note:
            line += f" ({_UNPRINTABLE.sub(' ', note)[:160]})"
        self.log(line)

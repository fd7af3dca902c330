"""uvicorn's HTTP protocol (httptools) with a deadline for the request head, and counted refusals.

uvicorn has no timeout for receiving a request: `timeout_keep_alive` "closes Keep-Alive connections if no
new data is received within this timeout" (https://uvicorn.dev/settings/#timeouts), is armed only after a
response, and is cancelled by any byte received (`data_received` calls `_unset_keepalive_if_required`
first, uvicorn/protocols/http/httptools_impl.py in 0.54.0), so a client that connects and sends nothing,
or trickles its headers one byte at a time, holds a connection for ever; ASGI middleware runs only after
the headers are parsed. This class arms a timer when the connection opens and when the first byte of a
request arrives, and disarms it when the headers are complete: past it, 408 and the connection closes.
The body has its own deadline in the app (INCIDENT_BOT_BODY_DEADLINE).

Beyond `limit_concurrency` open connections or running requests uvicorn answers 503 itself ("Maximum
number of concurrent connections or tasks to allow, before issuing HTTP 503 responses",
https://uvicorn.dev/settings/#resource-limits); this class only counts those answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

Refused = Callable[[str], None]  # called with the metric's reason
_TEXT = b"request headers not received in time\n"
TIMEOUT_408 = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
               b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TEXT), _TEXT))


def guarded_protocol(header_timeout: float, refused: Refused) -> type[asyncio.Protocol]:
    """The protocol class to hand to uvicorn.Config(http=...)."""

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(header_timeout, self._head_timed_out)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.transport.is_closing():
                return
            refused("slow_headers")
            if self.cycle is None or self.cycle.response_complete:  # no answer of ours is being written
                self.transport.write(TIMEOUT_408)
            self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            if self.limit_concurrency is not None and (
                    len(self.connections) >= self.limit_concurrency or len(self.tasks) >= self.limit_concurrency):
                refused("over_capacity")  # the condition uvicorn answers 503 on, just below
            super().on_headers_complete()

    return GuardedHttpToolsProtocol

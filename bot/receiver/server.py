"""Runs a Receiver on uvicorn: blocking (`run`, the CLI) or in a background thread (`running`, tests and
benchmarks). uvicorn, because it is the reference ASGI server with a C HTTP parser (httptools) and
event loop (uvloop), a concurrency cap, keep-alive timeouts and graceful shutdown on SIGTERM; its protocol
gets a deadline for the request head (bot/receiver/protocol.py), which uvicorn lacks."""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from bot.errors import InputError
from bot.intake.sources import RECEIVED
from bot.receiver.app import Receiver
from bot.receiver.protocol import guarded_protocol


def _config(receiver: Receiver, host: str, port: int) -> uvicorn.Config:
    def refused(reason: str) -> None:
        receiver.metrics.rejected.labels("-", reason).inc()

    return uvicorn.Config(
        receiver.app, host=host, port=port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http=guarded_protocol(receiver.settings.header_timeout, refused),
        lifespan="on", access_log=False, log_level="warning", server_header=False,
        limit_concurrency=receiver.settings.max_connections, timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
    )


def bound_port(server: uvicorn.Server) -> int:
    for s in server.servers:
        for sock in s.sockets:
            return int(sock.getsockname()[1])
    raise RuntimeError("server is not listening")


def _require_credentials(receiver: Receiver) -> None:
    if not receiver.secrets.configured():
        raise InputError("environment", "INCIDENT_BOT_*", "no webhook credential is set; set at least one of "
                         + ", ".join(source.env[0] for source in RECEIVED.values()))


def run(receiver: Receiver, host: str, port: int) -> None:
    """Serve until SIGTERM or Ctrl-C (uvicorn finishes the requests in flight, then the spool closes)."""
    _require_credentials(receiver)
    server = uvicorn.Server(_config(receiver, host, port))
    config_startup = server.startup

    async def startup(sockets: object = None) -> None:
        await config_startup(sockets)  # type: ignore[arg-type]
        if server.started:
            receiver.log(f"incident-bot serve: listening on {host}:{bound_port(server)}; accepting "
                         f"{', '.join(receiver.secrets.configured())}; spool {receiver.settings.spool}; "
                         f"forward {receiver.settings.forward if receiver.forward else 'off'}")

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    receiver.log("incident-bot serve: stopping")


@contextmanager
def running(receiver: Receiver, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """The receiver serving in a thread; yields its base URL; stops it (gracefully) on exit."""
    server = uvicorn.Server(_config(receiver, host, port))
    thread = threading.Thread(target=server.run, name="receiver", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("receiver did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound_port(server)}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)

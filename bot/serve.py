"""The HTTP receiver: reads a webhook delivery, has bot.intake.webhook verify it, hands it to the bot."""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from bot.errors import BotError, InputError, RuleRefusal
from bot.intake.signatures import env_values
from bot.intake.sources import SOURCES
from bot.intake.webhook import (
    MAX_BODY,
    PayloadTooLarge,
    Secrets,
    SignatureError,
    UnknownRoute,
    detect_source,
    verify,
)

# The environment the CLI passes to secrets_from_env: each source's variables (AlertSource.env, in its
# module) and the relay's. Several values in one variable (a rotation on our side) are separated by whitespace.
ENV_RELAY = "INCIDENT_BOT_RELAY_SECRET"  # X-Hub-Signature-256 from a relay, optional

Handle = Callable[[str, bytes], tuple[int, str]]
Log = Callable[[str], None]

READ_TIMEOUT_SECONDS = 10.0  # a client that stalls mid-body does not hold a thread for long
_LENGTH = re.compile(r"^[0-9]+$")
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")


def secrets_from_env(env: Mapping[str, str]) -> Secrets:
    """The credentials named by the INCIDENT_BOT_* variables (pure: the caller passes os.environ)."""
    secrets = Secrets(relay=env_values(env, ENV_RELAY))
    for source in SOURCES.values():
        secrets = source.read_env(env, secrets)
    return secrets


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class WebhookServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that carries what its request handlers need."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], secrets: Secrets, handle: Handle, now: Callable[[], float],
                 log: Log, max_body: int) -> None:
        self.secrets = secrets
        self.handle = handle
        self.now = now
        self.log = log
        self.max_body = max_body
        # The handler writes incidents (files, git): one delivery at a time, verification stays parallel.
        self.handle_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    timeout = READ_TIMEOUT_SECONDS
    server_version = "incident-bot"
    sys_version = ""
    source = "-"
    note = ""

    def do_POST(self) -> None:
        try:
            self.source = detect_source(self.path)
        except UnknownRoute:
            self._reply(HTTPStatus.NOT_FOUND, "not found")
            return
        body = self._read_body()
        if body is None:
            return
        try:
            verify(self.source, self._headers(), body, self.server.secrets, self.server.now())
        except SignatureError as err:
            self.note = f"{err.header}: {err.problem}"
            self._reply(HTTPStatus.UNAUTHORIZED, "unauthorized")
            return
        except PayloadTooLarge:
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload too large")
            return
        self._dispatch(body)

    def _dispatch(self, body: bytes) -> None:
        try:
            with self.server.handle_lock:
                status, text = self.server.handle(self.source, body)
        except InputError as err:
            self.note = type(err).__name__
            self._reply(HTTPStatus.BAD_REQUEST, str(err))
            return
        except RuleRefusal as err:
            self.note = type(err).__name__
            self._reply(HTTPStatus.CONFLICT, str(err))
            return
        except BotError as err:  # ForgeError: a retry may succeed, and vendors retry on 5xx
            self.note = type(err).__name__
            self._reply(HTTPStatus.SERVICE_UNAVAILABLE, "temporarily unavailable; retry later")
            return
        except Exception as err:  # the message may quote the body: only its class reaches the log
            self.note = type(err).__name__
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")
            return
        if not isinstance(status, int) or not 200 <= status <= 599 or not isinstance(text, str):
            self.note = "handler returned an invalid response"
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")
            return
        self._reply(status, text)

    def _read_body(self) -> bytes | None:
        """The body by Content-Length, or None once an error reply went out."""
        if self.headers.get("Transfer-Encoding") is not None:
            self._reply(HTTPStatus.LENGTH_REQUIRED, "Content-Length required; chunked bodies are not accepted")
            return None
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            self._reply(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return None
        if len(lengths) > 1 or not _LENGTH.match(lengths[0].strip()):
            self._reply(HTTPStatus.BAD_REQUEST, "invalid Content-Length")
            return None
        digits = lengths[0].strip()
        length = int(digits) if len(digits) <= 18 else self.server.max_body + 1  # int() caps at 4300 digits
        if length > self.server.max_body:
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload too large")
            return None
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            body = b""
        if len(body) != length:
            self.note = "body shorter than Content-Length"
            self._reply(HTTPStatus.BAD_REQUEST, "body shorter than Content-Length")
            return None
        return body

    def _headers(self) -> dict[str, str]:
        """Lower-cased names; a repeated header joined with "," (RFC 9110 §5.3)."""
        out: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            out[key] = f"{out[key]},{value}" if key in out else value
        return out

    def _refuse_method(self) -> None:
        try:
            detect_source(self.path)
        except UnknownRoute:
            self._reply(HTTPStatus.NOT_FOUND, "not found")
            return
        self._reply(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed; use POST", allow="POST")

    do_GET = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _refuse_method

    def _reply(self, status: int, text: str, allow: str | None = None) -> None:
        payload = (text.rstrip("\n") + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.close_connection = True

    # ------------------------------------------------------------ logging: one line, no headers/body/secrets

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # send_response calls this once per response, including http.server's own error replies.
        status = code.value if isinstance(code, HTTPStatus) else code
        raw_path, raw_method = getattr(self, "path", None), getattr(self, "command", None)
        path = _UNPRINTABLE.sub("?", urlsplit(raw_path).path)[:200] if isinstance(raw_path, str) else "-"
        method = _UNPRINTABLE.sub("?", raw_method)[:16] if isinstance(raw_method, str) else "-"
        line = f"incident-bot serve: {method} {path} {status} source={self.source}"
        if self.note:
            line += f" ({_UNPRINTABLE.sub(' ', self.note)[:160]})"
        self.server.log(line)

    def log_error(self, format: str, *args: object) -> None:
        """Silenced: http.server would log the raw request line; log_request already wrote one line."""

    def log_message(self, format: str, *args: object) -> None:
        """Silenced for the same reason."""


def make_server(host: str, port: int, secrets: Secrets, handle: Handle, *, now: Callable[[], float] = time.time,
                log: Log = _stderr, max_body: int = MAX_BODY) -> WebhookServer:
    """A bound, not yet serving receiver for POST /webhook/<source>; port 0 picks a free port
    (read it from `server.server_address`). `handle(source, body)` runs only for verified deliveries,
    one at a time, and returns (HTTP status, short text)."""
    return WebhookServer((host, port), secrets, handle, now, log, max_body)


def run(host: str, port: int, secrets: Secrets, handle: Handle, *, now: Callable[[], float] = time.time,
        log: Log = _stderr) -> None:
    """Serve until Ctrl-C or SIGTERM; blocking. Refuses to start when no source has a credential."""
    accepted = secrets.configured()
    if not accepted:
        raise InputError("environment", "INCIDENT_BOT_*", "no webhook credential is set; set at least one of "
                         + ", ".join(source.env[0] for source in SOURCES.values()))
    server = make_server(host, port, secrets, handle, now=now, log=log)
    bound_host, bound_port = server.server_address[:2]
    # A container runtime stops with SIGTERM: treat it like Ctrl-C so the socket closes cleanly.
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if on_main else None
    log(f"incident-bot serve: listening on {bound_host!s}:{bound_port}; accepting {', '.join(accepted)}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("incident-bot serve: stopping")
    finally:
        server.server_close()
        if on_main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt

"""`GitHubFake`: an in-process HTTP server that speaks (part of) GitHub's REST API, validated against
GitHub's own OpenAPI description.

Owns: the HTTP plumbing (standard-library `ThreadingHTTPServer` on 127.0.0.1, one thread per request,
clean shutdown), the request pipeline (match operation -> validate request -> injected fault ->
authenticate -> repository -> permission -> handler -> validate response), the request log, the
violation list, and the test-facing API for seeding and inspecting state.
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from . import handlers_checks, handlers_extra, handlers_git, handlers_pulls  # noqa: F401  (they register handlers)
from .auth import ALL_WRITE, BOT_PERMISSIONS, Denial, Grant, authorize
from .faults import Fault, default_body
from .render_repo import Urls
from .routing import HANDLERS, ApiError, Call, Reply
from .spec import OpenAPISpec, Operation
from .state import CheckRun, PullRequest, Repository, User

BOT_TOKEN = "ghs_fakeBotToken0000000000000000000000"
REVIEWER_TOKEN = "ghp_fakeReviewerToken00000000000000000"
READONLY_TOKEN = "ghs_fakeReadOnlyToken000000000000000"
READ_ONLY = {"metadata": "read", "contents": "read", "pull_requests": "read", "checks": "read"}


class RecordedRequest(NamedTuple):
    """One request as received: method, URL path (no query string), parsed JSON body (or None)."""

    method: str
    path: str
    body: Any


@dataclass
class Exchange:
    """A request and how it was answered (for assertions that need more than `requests`)."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    operation_id: str | None = None
    status: int | None = None
    injected: bool = False


class GitHubFake:
    """Start with `with GitHubFake() as server:` (or `.start()` / `.close()`)."""

    def __init__(self, spec: OpenAPISpec | None = None, default_tokens: bool = True) -> None:
        self.spec = spec or OpenAPISpec.load_default()
        self.grants: dict[str, Grant] = {}
        self.repos: dict[str, Repository] = {}
        self.exchanges: list[Exchange] = []
        self.violations: list[str] = []
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._rate_used = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        if default_tokens:
            self.add_token(BOT_TOKEN, "incident-bot[bot]", BOT_PERMISSIONS, user_type="Bot")
            self.add_token(REVIEWER_TOKEN, "alice", ALL_WRITE, user_type="User")
            self.add_token(READONLY_TOKEN, "auditor[bot]", READ_ONLY, user_type="Bot")

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> GitHubFake:
        self._httpd = _Server(("127.0.0.1", 0), _RequestHandler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="githubfake", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()  # joins the per-request threads
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> GitHubFake:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- configuration and seeding ---------------------------------------------------------------------

    def add_token(
        self, token: str, login: str, permissions: Mapping[str, str] | None = None, user_type: str = "Bot"
    ) -> Grant:
        """Accept `token`, authenticating as `login` with fine-grained `permissions` (name -> read/write/admin)."""
        account = next((g.account for g in self.grants.values() if g.account.login == login), None)
        grant = Grant(account or User(login, type=user_type), dict(permissions or BOT_PERMISSIONS))
        self.grants[token] = grant
        return grant

    def add_repo(self, full_name: str, files: Mapping[str, str | bytes], default_branch: str = "main") -> Repository:
        owner_login, name = full_name.split("/")
        repo = Repository(User(owner_login, type="Organization"), name, default_branch)
        repo.seed_branch(default_branch, dict(files))
        self.repos[full_name.lower()] = repo
        return repo

    def repo(self, full_name: str | None = None) -> Repository:
        return self.repos[full_name.lower()] if full_name else next(iter(self.repos.values()))

    def inject(
        self, method: str, path_regex: str, status: int, body: Any = None,
        headers: Mapping[str, str] | None = None, times: int = 1,
    ) -> Fault:
        """Answer the next `times` requests whose method and path match with this status/body/headers."""
        fault = Fault(method.upper(), re.compile(path_regex), status,
                      default_body(status) if body is None else body, dict(headers or {}), times)
        with self._lock:
            self._faults.append(fault)
        return fault

    # -- inspection ------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return [RecordedRequest(e.method, e.path, e.body) for e in self.exchanges]

    def count(self, operation_id: str) -> int:
        """How many requests were matched to `operation_id` (e.g. "pulls/create")."""
        return sum(1 for e in self.exchanges if e.operation_id == operation_id)

    def take_violations(self) -> list[str]:
        """Return and clear the violations (for tests that provoke them on purpose)."""
        with self._lock:
            found, self.violations = self.violations, []
        return found

    def file_at(self, ref: str, path: str, repo: str | None = None) -> str | None:
        return self.repo(repo).file_at(ref, path)

    def ref_sha(self, ref: str, repo: str | None = None) -> str | None:
        return self.repo(repo).resolve(ref)

    @property
    def pulls(self) -> list[PullRequest]:
        return list(self.repo().pulls.values())

    @property
    def check_runs(self) -> list[CheckRun]:
        return list(self.repo().check_runs)

    def push(self, branch: str, changes: Mapping[str, str | None], message: str = "Out-of-band change",
             repo: str | None = None) -> str:
        """Commit `changes` (path -> content, None deletes) on top of `branch`, as another user would."""
        with self._lock:
            return self._push(self.repo(repo), branch, changes, message)

    @staticmethod
    def _push(target: Repository, branch: str, changes: Mapping[str, str | None], message: str) -> str:
        tip = target.branch_sha(branch)
        entries: list[dict[str, object]] = [
            {"path": path, "mode": "100644", "type": "blob", **({"content": text} if text is not None else {"sha": None})}
            for path, text in changes.items()
        ]
        tree = target.git.apply(target.commit(tip).tree if tip else None, entries)
        who = target.owner.signature()
        sha = target.git.put_commit(tree, [tip] if tip else [], message, who, who)
        target.set_ref(f"refs/heads/{branch}", sha)
        return sha

    def protect(self, branch: str, required_checks: tuple[str, ...] = (), approvals: int = 0,
                repo: str | None = None) -> None:
        """Protect `branch` directly (no API call): required check names and approving review count."""
        with self._lock:
            self.repo(repo).protection[branch] = self._protection_body(required_checks, approvals)

    @staticmethod
    def _protection_body(required_checks: tuple[str, ...], approvals: int) -> dict[str, Any]:
        return {
            "required_status_checks": {"strict": False, "contexts": list(required_checks)} if required_checks else None,
            "enforce_admins": True,
            "required_pull_request_reviews": {"required_approving_review_count": approvals} if approvals else None,
            "restrictions": None,
        }

    # -- request pipeline ------------------------------------------------------------------------------

    def dispatch(self, method: str, target: str, authorization: str | None, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """Answer one request (method, request-target with query, Authorization header, raw body)."""
        url = urlsplit(target)
        query = parse_qs(url.query, keep_blank_values=True)
        with self._lock:
            exchange = Exchange(method, url.path, query, None)
            self.exchanges.append(exchange)
            try:
                exchange.body = json.loads(raw) if raw.strip() else None
            except ValueError:
                self._violate(exchange, "request body is not JSON")
                return self._send(exchange, None, Reply(400, {"message": "Problems parsing JSON"}))
            matched = self.spec.match(method, url.path)
            if matched is None:
                self._violate(exchange, "no operation in GitHub's OpenAPI description has this method and path")
                return self._send(exchange, None, Reply(404, default_body(404)))
            op, params = matched
            exchange.operation_id = op.operation_id
            reply = self._answer(exchange, op, params, authorization)
            return self._send(exchange, op, reply)

    def _answer(self, exchange: Exchange, op: Operation, params: dict[str, str], authorization: str | None) -> Reply:
        problems = self.spec.validate_request(op, exchange.query, exchange.body)
        for problem in problems:
            self._violate(exchange, problem)
        fault = next((f for f in self._faults if f.matches(exchange.method, exchange.path)), None)
        if fault is not None:
            fault.remaining, fault.hits = fault.remaining - 1, fault.hits + 1
            exchange.injected = True
            return Reply(fault.status, fault.body, dict(fault.headers))
        body_problems = [p for p in problems if p.startswith(("request body", "required request body"))]
        try:
            if body_problems:
                raise ApiError(422, "Invalid request.\n\n" + "\n".join(body_problems))
            return self._authorized(exchange, op, params, authorization)
        except ApiError as error:
            return Reply(error.status, error.body(op.documentation_url))

    def _authorized(self, exchange: Exchange, op: Operation, params: dict[str, str], authorization: str | None) -> Reply:
        outcome = authorize(self.grants, authorization, op.operation_id)
        repo = self.repos.get(f"{params.get('owner')}/{params.get('repo')}".lower())
        if isinstance(outcome, Denial) and outcome.status == 401:
            raise ApiError(401, outcome.message)
        if repo is None and op.template.startswith("/repos/"):  # GET /user has no repository
            raise ApiError(404, "Not Found")
        if isinstance(outcome, Denial):
            return Reply(outcome.status, ApiError(403, outcome.message).body(op.documentation_url), outcome.headers)
        users = {g.account.login: g.account for g in self.grants.values()} | ({repo.owner.login: repo.owner} if repo else {})
        urls = Urls(self.base_url)
        call = Call(op, params, exchange.query, exchange.body, outcome, urls, repo, users, exchange.path)
        handler = HANDLERS.get(op.operation_id)
        if handler is None:
            self._violate(exchange, f"the fake has no handler for {op.operation_id}")
            raise ApiError(501, f"{op.operation_id} is not implemented by the fake")
        try:
            return handler(call)
        except ApiError:
            raise
        except Exception:  # a bug in the fake: fail the test loudly, answer like GitHub would
            self._violate(exchange, "handler crashed:\n" + traceback.format_exc())
            raise ApiError(500, "Server Error") from None

    def _send(self, exchange: Exchange, op: Operation | None, reply: Reply) -> tuple[int, dict[str, str], bytes]:
        exchange.status = reply.status
        if op is not None and not exchange.injected:
            for problem in self.spec.validate_response(op, reply.status, reply.body):
                self._violate(exchange, problem)
        self._rate_used += 1
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Request-Id": f"FAKE:{len(self.exchanges):08X}",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(max(5000 - self._rate_used, 0)),
            "x-ratelimit-used": str(self._rate_used),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
        }
        headers.update(reply.headers)
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        return reply.status, headers, payload

    def _violate(self, exchange: Exchange, problem: str) -> None:
        where = f"{exchange.method} {exchange.path}"
        if exchange.operation_id:
            where += f" ({exchange.operation_id})"
        self.violations.append(f"{where}: {problem}")


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every request thread: nothing outlives the fixture
    block_on_close = True
    fake: GitHubFake

    def handle_error(self, request: Any, client_address: Any) -> None:  # client hung up: not our business
        pass


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "GitHub.com"
    sys_version = ""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.fake.dispatch(self.command, self.path, self.headers.get("Authorization"), raw)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

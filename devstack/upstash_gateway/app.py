"""The Upstash REST surface over HTTP: ``POST /``, ``/pipeline``, ``/multi-exec``, path-style commands, stats.

Every answer is JSON, whatever the status: the Python SDK ignores the status and calls ``r.json()``, and a
non-JSON body costs it a 3 s retry sleep (A4). One catch-all endpoint keeps the dispatch in plain code, so
``//pipeline``, trailing slashes and any HTTP method get Upstash's answer instead of Starlette's defaults.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from devstack.upstash_gateway.backend import REDIS_TIMEOUT_S, Backend
from devstack.upstash_gateway.commands import (
    Command,
    command_name,
    parse_batch,
    parse_single,
    path_command,
    split_path,
)
from devstack.upstash_gateway.encoding import to_json, wants_base64
from devstack.upstash_gateway.errors import (
    BackendUnavailable,
    BadRequest,
    ReplyError,
    RequestTooLarge,
    TransactionAborted,
)
from devstack.upstash_gateway.limits import MAX_REQUEST_BYTES, close_if_unread, read_body
from devstack.upstash_gateway.policy import check_allowed
from devstack.upstash_gateway.scripts import ScriptRewriter
from devstack.upstash_gateway.stats import CommandStats

__all__ = ["Gateway", "create_app"]

log = logging.getLogger(__name__)

WRONGPASS = (
    "WRONGPASS invalid or missing auth token. "
    "See https://docs.upstash.com/redis/troubleshooting/http_unauthorized for details."
)
ALLOWED_METHODS = frozenset({"GET", "POST", "PUT", "HEAD"})
_BATCH = {b"pipeline": False, b"multi-exec": True}  # path -> transaction?


def _json(content: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status)


def _error(message: str, status: int) -> JSONResponse:
    return _json({"error": message}, status)


class Gateway:
    """Per-app state (backend client, counters, script sha map) and the request handling."""

    def __init__(self, *, token: str, redis_url: str | None, max_request_bytes: int = MAX_REQUEST_BYTES,
                 redis_timeout_s: float = REDIS_TIMEOUT_S) -> None:
        self._token = token.encode()
        self._max_request_bytes = max_request_bytes
        self.backend = Backend(redis_url, timeout_s=redis_timeout_s)
        self.stats = CommandStats()
        self.scripts = ScriptRewriter()

    def _authorized(self, request: Request) -> bool:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), self._token):
            return True
        query_token = request.query_params.get("_token")
        return query_token is not None and hmac.compare_digest(query_token.encode(), self._token)

    async def handle(self, request: Request) -> Response:
        # Method and token come from the request head: a refused request's body is never read (A1, A2).
        if request.method not in ALLOWED_METHODS:
            message = f"ERR method {request.method} not allowed: use GET, POST, PUT or HEAD"
            return close_if_unread(request, _error(message, 405))
        if not self._authorized(request):
            return close_if_unread(request, _error(WRONGPASS, 401))
        try:
            body = await read_body(request, self._max_request_bytes)
        except RequestTooLarge as e:
            return close_if_unread(request, _error(str(e), e.status_code), partly_read=True)
        try:
            return await self._dispatch(request, _segments(request.scope), body)
        except (BadRequest, BackendUnavailable) as e:
            return _error(str(e), e.status_code)

    async def _dispatch(self, request: Request, segments: list[bytes], body: bytes) -> Response:
        if segments[:1] == [b"_local"]:
            return self._local(request.method, segments[1:])
        response_format = request.headers.get("upstash-response-format")
        if response_format is not None and response_format.lower() != "json":
            raise BadRequest(
                "ERR Upstash-Response-Format other than json is not supported by the local gateway"
            )
        b64 = wants_base64(request.headers.get("upstash-encoding"))
        writes = request.method in ("POST", "PUT")
        if not segments:
            if not writes:
                raise BadRequest('ERR no command given: POST a JSON array like ["PING"]')
            return await self._single(parse_single(body), b64)
        if len(segments) == 1 and segments[0] in _BATCH:
            if not writes:
                return _error(f"ERR use POST for /{segments[0].decode()}", 405)
            return await self._batch(parse_batch(body), b64, transaction=_BATCH[segments[0]])
        query = request.scope["query_string"].decode("utf-8", errors="replace")
        return await self._single(path_command(segments, body if writes else None, query), b64)

    async def _allowed(self, commands: list[Command]) -> None:
        """Refuse the whole request when one command is outside Upstash's REST set (policy)."""
        known = await self.backend.known_commands()
        for command in commands:
            check_allowed(command, known)

    async def _single(self, command: Command, b64: bool) -> Response:
        await self._allowed([command])
        reply = await self.backend.execute(self.scripts.rewrite(command))
        self.stats.record([command_name(command)])
        if isinstance(reply, ReplyError):
            return _error(reply.message, 400)
        return _json({"result": to_json(reply, b64=b64)})

    async def _batch(self, commands: list[Command], b64: bool, *, transaction: bool) -> Response:
        await self._allowed(commands)
        names = [command_name(c) for c in commands]
        rewritten = [self.scripts.rewrite(c) for c in commands]
        try:
            replies = await self.backend.pipeline(rewritten, transaction=transaction)
        except TransactionAborted as e:
            self.stats.record(names)  # Redis received (and billed) every queued command
            return _error(str(e), e.status_code)
        self.stats.record(names)
        return _json(
            [
                {"error": r.message} if isinstance(r, ReplyError) else {"result": to_json(r, b64=b64)}
                for r in replies
            ]
        )

    def _local(self, method: str, rest: list[bytes]) -> Response:
        """``GET /_local/stats`` and ``POST /_local/stats/reset``: the gateway's own, token-protected API."""
        if rest == [b"stats"]:
            return _json(self.stats.snapshot()) if method in ("GET", "HEAD") else _error("ERR use GET", 405)
        if rest == [b"stats", b"reset"]:
            if method != "POST":
                return _error("ERR use POST", 405)
            self.stats.reset()
            return _json({"result": "OK"})
        return _error("ERR not found", 404)


def _segments(scope: Scope) -> list[bytes]:
    """Path segments below the mount point, from the raw path so ``%2F`` inside a value stays one segment."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    raw = raw.split(b"?", 1)[0]
    root = scope.get("root_path", "").encode()
    if root and raw.startswith(root):
        raw = raw[len(root) :]
    return split_path(raw)


class _Endpoint:
    """A raw ASGI endpoint, so the catch-all endpoint accepts every method and we answer 405 in JSON."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.gateway.handle(request)
        except Exception as e:  # never let the SDK see a non-JSON 500
            log.exception("upstash gateway: unexpected error")
            response = _error(f"ERR internal gateway error: {type(e).__name__}: {e}", 500)
        await response(scope, receive, send)


def create_app(*, token: str, redis_url: str | None, max_request_bytes: int = MAX_REQUEST_BYTES,
               redis_timeout_s: float = REDIS_TIMEOUT_S) -> Starlette:
    """Build the gateway app; ``redis_url=None`` serves from an in-process fakeredis instead.

    ``max_request_bytes`` is Upstash's max request size (its free plan's by default); ``redis_timeout_s``
    bounds each wait on Redis, so a hung server costs a request seconds, not minutes.

    Example
    -------
    >>> app = create_app(token="local-token", redis_url="redis://127.0.0.1:6379/0")
    """
    gateway = Gateway(token=token, redis_url=redis_url, max_request_bytes=max_request_bytes,
                      redis_timeout_s=redis_timeout_s)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await gateway.backend.aclose()

    app = Starlette(lifespan=lifespan)
    # The router's default, not a "/{path:path}" route: that pattern misses paths holding a newline (%0A),
    # which then got Starlette's plain-text 404, a body the SDK cannot parse.
    app.router.default = _Endpoint(gateway)
    app.state.gateway = gateway
    return app

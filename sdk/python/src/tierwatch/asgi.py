"""Request tracking for ASGI apps (FastAPI, Starlette, ...): a pure ASGI middleware, no framework import.

>>> from fastapi import FastAPI
>>> from tierwatch.asgi import TierwatchMiddleware
>>> app = FastAPI()
>>> app.add_middleware(TierwatchMiddleware)            # or TierwatchMiddleware(app, client=..., function=...)

Per HTTP request it records one ``request`` event: ``function`` (the ``function`` given, else the
matched route's path template, ``/users/{id}`` sent as ``/users/[id]``, else the raw path), ``method``,
``route`` (the template, when a route matched), ``status`` (500 when the app raised, and the exception
then propagates unchanged), ``duration_ms`` (until the last byte of the response was handed to the
server), ``cold_start`` (the process's first request), ``init_ms`` on a cold start on Vercel or Lambda
(the time since the process started), ``memory_mb`` (the process's peak RSS), ``timed_out`` (always
false: a request the platform kills never reaches the end of this middleware), ``trace_id`` (from a W3C
``traceparent`` header) and the user set with ``tierwatch.set_user``. An exception also records an
``error`` event with its name, message and traceback. After the response is complete, the client's
flush policy decides whether to send (bounded by its ``timeout_s``). WebSocket and lifespan scopes pass
through untouched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from tierwatch import _events, _runtime
from tierwatch.client import Client, default_client, logger

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _on_serverless() -> bool:
    """Vercel and Lambda start a process for the request that finds none warm: its age is the init."""
    return bool(os.environ.get("VERCEL") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _template(scope: Scope) -> str | None:
    """The matched route's path template (Starlette and FastAPI put the route in the scope)."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else None


class _Response:
    """What the app sent, seen through the wrapped ``send``."""

    __slots__ = ("ended", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.ended: float | None = None


class TierwatchMiddleware:
    """Wrap an ASGI app so every HTTP request is reported to tierwatch.

    Parameters
    ----------
    app
        The ASGI app.
    client
        The ``tierwatch.Client`` to record with; default: one from the environment
        (``tierwatch.default_client()``), a no-op when ``TIERWATCH_URL`` or the token is unset.
    function
        The function name every request is reported under (e.g. the deployed function or app name);
        default: the route's path template, else the raw path.
    """

    def __init__(self, app: ASGIApp, client: Client | None = None, function: str | None = None) -> None:
        self.app = app
        self.client = client
        self.function = function

    def _function(self, scope: Scope) -> str:
        return self.function or _template(scope) or str(scope.get("path") or "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        client = self.client if self.client is not None else default_client()
        if not client.enabled:
            await self.app(scope, receive, send)
            return
        started, at_ms = time.perf_counter(), _events.now_ms()
        cold_start = _runtime.take_cold_start() and not _runtime.pre_initialized()
        init_ms = _runtime.init_ms(time.monotonic()) if cold_start and _on_serverless() else None
        invocation = _runtime.Invocation(function=lambda: self._function(scope),
                                         trace_id=_runtime.parse_traceparent(_header(scope, b"traceparent")))
        response = _Response()

        async def tracked_send(message: Message) -> None:
            if message.get("type") == "http.response.start":
                response.status = message.get("status")
            elif message.get("type") == "http.response.body" and not message.get("more_body", False):
                response.ended = time.perf_counter()
            await send(message)

        token = _runtime.enter(invocation)
        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:  # recorded, then re-raised unchanged (a cancellation is not recorded)
            self._record(client, scope, invocation, response, started, at_ms, cold_start, init_ms, exc)
            await client.amaybe_flush()
            raise
        else:
            self._record(client, scope, invocation, response, started, at_ms, cold_start, init_ms, None)
            await client.amaybe_flush()  # the response is complete: the end of the invocation
        finally:
            _runtime.leave(token)

    def _record(self, client: Client, scope: Scope, invocation: _runtime.Invocation, response: _Response,
                started: float, at_ms: int, cold_start: bool, init_ms: float | None,
                exc: Exception | None) -> None:
        try:
            ended = response.ended if response.ended is not None and exc is None else time.perf_counter()
            status = response.status if exc is None and isinstance(response.status, int) else 500
            function = invocation.function()
            method = scope.get("method")
            route = _template(scope)
            client.record_request(
                function, (ended - started) * 1000, status, method=method, route=route, cold_start=cold_start,
                init_ms=init_ms, timed_out=False, memory_mb=_runtime.peak_memory_mb(), user=invocation.user,
                trace_id=invocation.trace_id, timestamp=at_ms)
            if exc is not None:
                context = {k: v for k, v in (("method", method), ("route", route), ("trace_id", invocation.trace_id))
                           if isinstance(v, str)}
                client.capture_exception(exc, function=function, severity="high", context=context)
        except Exception as bug:  # noqa: BLE001 - tracking never raises into the app
            logger.debug("tierwatch: a request could not be recorded: %r", bug)

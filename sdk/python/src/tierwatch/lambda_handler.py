"""Invocation tracking for plain AWS Lambda handlers: ``@track()``.

>>> from tierwatch.lambda_handler import track
>>> @track()
... def handler(event, context):
...     return {"statusCode": 200, "body": "ok"}

Per invocation it records one ``request`` event:

- ``function``: the ``function`` given, else ``context.function_name``.
- ``status``: the result's ``statusCode`` when it is an API Gateway / function URL response, else 200;
  500 when the handler raises (the exception propagates unchanged, after an ``error`` event is recorded).
- ``method``, ``route`` and ``trace_id`` when the event is an API Gateway (v1 or v2) or function URL
  request: its method, its route key or resource (``/items/{id}``), its ``traceparent`` header; else
  the trace id of Lambda's X-Ray header (``_X_AMZN_TRACE_ID``), which is a W3C trace id in another form.
- ``cold_start``: the process's first invocation. ``init_ms`` then is the time from the process's start
  (read from ``/proc``; where that is unknown, from the import of tierwatch) to the invocation: a fair
  proxy for Lambda's Init Duration, which covers the runtime's start and the import of the handler's
  module. With provisioned concurrency or SnapStart the environment was initialized ahead of time, so
  the first invocation is neither a cold start nor waited for an init, and is reported as warm.
- ``timed_out``: the handler raised when less than ``margin_s`` (50 ms) was left of the invocation (it
  was most likely stopped by its own deadline), or returned with less than that left (the platform
  would have killed it a moment later). An invocation Lambda actually kills is never seen here.
- ``memory_mb``: the process's peak RSS.

Before returning (Lambda freezes the process right after), the client's flush policy decides whether to
send; a flush waits at most ``min(client.timeout_s, remaining time - margin_s)`` and is skipped when
nothing is left. Whatever is not sent stays buffered for the next invocation of this instance.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from tierwatch import _events, _runtime
from tierwatch.client import Client, default_client, logger

R = TypeVar("R")
Handler = Callable[[Any, Any], R]
TIMEOUT_MARGIN_S = 0.05


def _remaining_s(context: Any) -> float | None:
    try:
        remaining = context.get_remaining_time_in_millis()
    except Exception:  # noqa: BLE001 - no Lambda context (a test, a local call): no deadline known
        return None
    if isinstance(remaining, bool) or not isinstance(remaining, int | float):
        return None
    return float(remaining) / 1000.0


def _http(event: Any) -> tuple[str | None, str | None, str | None]:
    """``(method, route, traceparent)`` of an API Gateway v1/v2 or function URL event."""
    if not isinstance(event, Mapping):
        return None, None, None
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    method = http.get("method") if isinstance(http, Mapping) else event.get("httpMethod")
    route = event.get("resource")
    route_key = event.get("routeKey")
    if isinstance(route_key, str) and " " in route_key:  # "GET /items/{id}" (v2); "$default" is no route
        route = route_key.split(" ", 1)[1]
    headers = event.get("headers")
    traceparent = None
    if isinstance(headers, Mapping):
        traceparent = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == "traceparent"),
                           None)
    return (method if isinstance(method, str) else None, route if isinstance(route, str) else None,
            traceparent if isinstance(traceparent, str) else None)


def _status(result: Any) -> int:
    status = result.get("statusCode") if isinstance(result, Mapping) else None
    return status if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599 else 200


@overload
def track(client: Handler[R], /) -> Handler[R]: ...


@overload
def track(client: Client | None = None, function: str | None = None, *,
          margin_s: float = TIMEOUT_MARGIN_S) -> Callable[[Handler[R]], Handler[R]]: ...


def track(client: Client | Handler[R] | None = None, function: str | None = None, *,
          margin_s: float = TIMEOUT_MARGIN_S) -> Handler[R] | Callable[[Handler[R]], Handler[R]]:
    """Decorate a Lambda handler ``(event, context)`` so each invocation is reported to tierwatch.

    ``@track()`` uses the client configured from the environment (``tierwatch.default_client()``);
    ``@track(client, function="checkout")`` names both. Bare ``@track`` works too.
    """
    if callable(client) and not isinstance(client, Client):
        return track()(client)
    chosen = client if isinstance(client, Client) else None

    def decorate(handler: Handler[R]) -> Handler[R]:
        @functools.wraps(handler)
        def tracked(event: Any, context: Any) -> R:
            active = chosen if chosen is not None else default_client()
            if not active.enabled:
                return handler(event, context)
            return _invoke(active, handler, event, context, function, margin_s)

        return tracked

    return decorate


def _invoke(client: Client, handler: Handler[R], event: Any, context: Any, function: str | None,
            margin_s: float) -> R:
    started, at_ms = time.perf_counter(), _events.now_ms()
    cold_start = _runtime.take_cold_start() and not _runtime.pre_initialized()
    init_ms = _runtime.init_ms(time.monotonic()) if cold_start else None
    name = function or getattr(context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") \
        or getattr(handler, "__name__", "handler")
    method, route, traceparent = _http(event)
    trace_id = _runtime.parse_traceparent(traceparent) or _runtime.xray_trace_id(os.environ.get("_X_AMZN_TRACE_ID"))
    invocation = _runtime.Invocation(function=lambda: str(name), trace_id=trace_id)
    token = _runtime.enter(invocation)
    try:
        result = handler(event, context)
    except Exception as exc:
        remaining = _remaining_s(context)
        timed_out = remaining is not None and remaining < margin_s
        _record(client, invocation, started, at_ms, 504 if timed_out else 500, method, route, cold_start, init_ms,
                timed_out, exc)
        _flush(client, context, margin_s)
        raise
    finally:
        _runtime.leave(token)
    remaining = _remaining_s(context)
    _record(client, invocation, started, at_ms, _status(result), method, route, cold_start, init_ms,
            remaining is not None and remaining < margin_s, None)
    _flush(client, context, margin_s)
    return result


def _record(client: Client, invocation: _runtime.Invocation, started: float, at_ms: int, status: int,
            method: str | None, route: str | None, cold_start: bool, init_ms: float | None, timed_out: bool,
            exc: Exception | None) -> None:
    try:
        function = invocation.function()
        client.record_request(
            function, (time.perf_counter() - started) * 1000, status, method=method, route=route,
            cold_start=cold_start, init_ms=init_ms, timed_out=timed_out, memory_mb=_runtime.peak_memory_mb(),
            user=invocation.user, trace_id=invocation.trace_id, timestamp=at_ms)
        if exc is not None:
            context = {k: v for k, v in (("method", method), ("route", route), ("trace_id", invocation.trace_id))
                       if isinstance(v, str)}
            if timed_out:
                context["timed_out"] = "true"
            client.capture_exception(exc, function=function, severity="high", context=context)
    except Exception as bug:  # noqa: BLE001 - tracking never raises into the handler
        logger.debug("tierwatch: an invocation could not be recorded: %r", bug)


def _flush(client: Client, context: Any, margin_s: float) -> None:
    """The policy's flush, before Lambda freezes the process: never past the invocation's deadline."""
    remaining = _remaining_s(context)
    bound = client.timeout_s if remaining is None else min(client.timeout_s, remaining - margin_s)
    if bound > 0:
        client.maybe_flush(timeout_s=bound)

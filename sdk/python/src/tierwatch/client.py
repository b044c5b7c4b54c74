"""The client: an in-process buffer of events, sent to the bundle's ingest endpoint in few POSTs.

The flush policy is the bundle's own (``shared/tracking/buffer.py``): at the end of an invocation, the
buffer is sent when its oldest event is ``flush_interval_s`` old, when ``max_events`` are buffered, when
the last flush is more than ``flush_interval_s`` ago (a lone request after an idle time goes at once),
or always with ``per_invocation=True``. What a reclaimed idle instance can lose is therefore bounded by
``flush_interval_s`` seconds and ``max_events`` events.

A flush is one POST (more only when the buffer is over the endpoint's limits of 1000 events or 1 MiB,
or when a batch awaits its retry), made with ``urllib.request`` in a worker thread; the caller waits at
most ``timeout_s``. Each batch carries a fresh ``Idempotency-Key``; a batch whose POST fails (network,
timeout, 429, 5xx) is kept and sent once more, with the same key, at the next flush, then dropped. Every
loss is counted in ``client.stats`` and warned about once. Tracking never raises into the app.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tierwatch import _events, _runtime
from tierwatch._version import __version__

if TYPE_CHECKING:
    import urllib.request

INGEST_PATH = "/api/monitoring/ingest"
URL_VARIABLE = "TIERWATCH_URL"
TOKEN_VARIABLE = "TIERWATCH_INGEST_TOKEN"
MAX_RETRY_AFTER_S = 300.0  # a Retry-After longer than this is not waited out
_RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
_BATCH_SPECIFIC = {400, 413, 415, 422}  # refused for what this batch holds: the next one may pass
logger = logging.getLogger("tierwatch")


class Stats:
    """What the client did in this process (a snapshot: ``client.stats``)."""

    __slots__ = ("dropped", "failed_posts", "invalid", "posts", "recorded", "retried", "sent")
    _FIELDS = ("recorded", "invalid", "sent", "posts", "failed_posts", "retried", "dropped")

    def __init__(self) -> None:
        self.recorded = 0  # events accepted into the buffer
        self.invalid = 0  # events not recorded: not repairable into the ingest contract
        self.sent = 0  # events the bundle accepted
        self.posts = 0  # POSTs attempted
        self.failed_posts = 0  # POSTs that failed: network error, timeout or an error status
        self.retried = 0  # batches delivered on their retry, with the same Idempotency-Key
        self.dropped = 0  # events given up on: the retry failed too, the bundle refused them, or buffer full

    def copy(self) -> Stats:
        snapshot = Stats()
        for name in self._FIELDS:
            setattr(snapshot, name, getattr(self, name))
        return snapshot

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self._FIELDS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stats) and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return "Stats(" + ", ".join(f"{k}={v}" for k, v in self.as_dict().items()) + ")"


class _Batch:
    __slots__ = ("attempts", "events", "key")

    def __init__(self, key: str, events: list[bytes]) -> None:
        self.key = key
        self.events = events
        self.attempts = 0

    @property
    def body(self) -> bytes:
        return _events.body(self.events)


class _Outcome:
    """One POST's result. ``status`` is None when no answer came (network error, timeout)."""

    __slots__ = ("accepted", "error", "retry_after_s", "status")

    def __init__(self, status: int | None, *, accepted: int = 0, retry_after_s: float | None = None,
                 error: str = "") -> None:
        self.status = status
        self.accepted = accepted
        self.retry_after_s = retry_after_s
        self.error = error

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in _RETRYABLE or self.status >= 500


def _new_key() -> str:
    """A fresh Idempotency-Key: 32 hex characters (the contract allows 64 of ``[A-Za-z0-9_.:-]``)."""
    return os.urandom(16).hex()


def _chunks(events: list[bytes]) -> list[list[bytes]]:
    """``events`` in batches within the endpoint's limits on count and body size."""
    chunks: list[list[bytes]] = []
    current: list[bytes] = []
    size = _events.BODY_OVERHEAD
    for event in events:
        extra = len(event) + (1 if current else 0)
        if current and (len(current) >= _events.MAX_EVENTS or size + extra > _events.MAX_BODY_BYTES):
            chunks.append(current)
            current, size, extra = [], _events.BODY_OVERHEAD, len(event)
        current.append(event)
        size += extra
    if current:
        chunks.append(current)
    return chunks


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None  # an HTTP date: not worth parsing; the flush interval spaces the retry anyway
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S) if seconds is not None and math.isfinite(seconds) else None


def _where(endpoint: str) -> str:
    """The endpoint as logged: scheme, host and path, never a query string or user info."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _resolve_endpoint(endpoint: str | None) -> tuple[str | None, str | None]:
    """``(endpoint, problem)``: the ingest URL from ``endpoint`` or ``TIERWATCH_URL``."""
    source = "endpoint"
    if endpoint is None:
        endpoint, source = os.environ.get(URL_VARIABLE, "").strip() or None, URL_VARIABLE
        if endpoint is None:
            return None, f"{URL_VARIABLE} is not set"
        endpoint = endpoint.rstrip("/")
        if not endpoint.endswith(INGEST_PATH):
            endpoint += INGEST_PATH
    try:
        parts = urlsplit(endpoint)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in endpoint):
        return None, f"{source} is not an http(s) URL"
    if parts.path in ("", "/"):  # a bare base URL: the bundle's ingest path is implied
        endpoint = endpoint.rstrip("/") + INGEST_PATH
    return endpoint, None


def _resolve_token(token: str | None) -> tuple[str | None, str | None]:
    source = "token"
    if token is None:
        token, source = os.environ.get(TOKEN_VARIABLE, ""), TOKEN_VARIABLE
    token = token.strip()
    if not token:
        return None, f"{TOKEN_VARIABLE} is not set"
    if not token.isprintable() or not token.isascii():
        return None, f"{source} holds characters a header cannot carry"
    return token, None


class Client:
    """Records events in memory and sends them to the bundle in batches; never raises into the app.

    Parameters
    ----------
    endpoint
        The ingest URL; default ``$TIERWATCH_URL`` + ``/api/monitoring/ingest``. A bare base URL (no
        path) gets the ingest path too.
    token
        The ingest token (sent as ``Authorization: Bearer``); default ``$TIERWATCH_INGEST_TOKEN``.
    flush_interval_s, max_events, per_invocation
        The flush policy (see the module docstring).
    timeout_s
        The longest a flush may hold the caller.
    clock
        Monotonic seconds for the flush policy (tests inject a fake one).

    Without an endpoint or token the client is disabled: it says so once (a ``tierwatch`` logger
    warning) and every method does nothing.
    """

    def __init__(self, endpoint: str | None = None, token: str | None = None, *, flush_interval_s: float = 10.0,
                 max_events: int = 500, per_invocation: bool = False, timeout_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(flush_interval_s) and flush_interval_s >= 0):
            raise ValueError("flush_interval_s must be a finite number >= 0")
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
            raise ValueError("max_events must be an integer >= 1")
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError("timeout_s must be a finite number > 0")
        self.flush_interval_s = float(flush_interval_s)
        self.max_events = max_events
        self.per_invocation = per_invocation
        self.timeout_s = float(timeout_s)
        self.max_buffered = max(10 * max_events, _events.MAX_EVENTS)  # beyond: new events are dropped
        self._clock = clock
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when a flush ends
        self._buffer: list[bytes] = []
        self._buffered_since: float | None = None
        self._pending: list[_Batch] = []  # batches not delivered yet: never sent, or awaiting the retry
        self._last_flush = -math.inf
        self._not_before = -math.inf  # a Retry-After in force
        self._flushing = False
        self._stats = Stats()
        self._warned: set[str] = set()
        self._opener: urllib.request.OpenerDirector | None = None
        endpoint, url_problem = _resolve_endpoint(endpoint)
        token, token_problem = _resolve_token(token)
        self.endpoint = endpoint
        self._token = token
        problems = [p for p in (url_problem, token_problem) if p]
        if problems:
            self._warn("config", "tierwatch: tracking is off (%s); set %s and %s to report to the bundle",
                       "; ".join(problems), URL_VARIABLE, TOKEN_VARIABLE)

    def __repr__(self) -> str:
        where = _where(self.endpoint) if self.endpoint else None
        return f"tierwatch.Client(endpoint={where!r}, enabled={self.enabled})"

    @property
    def enabled(self) -> bool:
        """False when no endpoint or token is configured: every method then does nothing."""
        return self.endpoint is not None and self._token is not None

    @property
    def stats(self) -> Stats:
        with self._lock:
            return self._stats.copy()

    @property
    def buffered(self) -> int:
        """Events held in this process: buffered, or in batches not delivered yet."""
        with self._lock:
            return len(self._buffer) + sum(len(b.events) for b in self._pending)

    # -- recording -------------------------------------------------------------------------------------

    def record_request(self, function: str, duration_ms: float, status: int, *, method: str | None = None,
                       route: str | None = None, cold_start: bool | None = None, init_ms: float | None = None,
                       timed_out: bool | None = None, memory_mb: float | None = None, user: str | None = None,
                       trace_id: str | None = None, timestamp: Any = None) -> bool:
        """Buffer one served request or invocation. ``timestamp``: a datetime, ISO 8601 or epoch ms (default
        now). Returns whether the event was buffered."""
        return self._add(lambda: _events.request(
            function, duration_ms, status, method=method, route=route, cold_start=cold_start, init_ms=init_ms,
            timed_out=timed_out, memory_mb=memory_mb, user=user, trace=trace_id, at=timestamp))

    def record_error(self, name: str, message: str, *, function: str | None = None, severity: str | None = None,
                     stack: str | None = None, context: dict[str, Any] | None = None,
                     timestamp: Any = None) -> bool:
        """Buffer one error. ``function`` defaults to the current tracked request's function."""
        return self._add(lambda: _events.error(
            self._function(function), name, message, severity=severity, stack=stack, context=context,
            at=timestamp))

    def capture_exception(self, exc: BaseException, *, function: str | None = None, severity: str | None = None,
                          context: dict[str, Any] | None = None) -> bool:
        """Buffer an error event for ``exc``: its class name, message and formatted traceback."""
        return self._add(lambda: _events.error(
            self._function(function), type(exc).__name__, _message(exc), severity=severity, stack=_stack(exc),
            context=context))

    def log(self, level: str, message: str, *, function: str | None = None, metadata: dict[str, Any] | None = None,
            timestamp: Any = None) -> bool:
        """Buffer one log line (``DEBUG`` to ``CRITICAL``; ``WARN`` means ``WARNING``)."""
        return self._add(lambda: _events.log(level, message, function=function, metadata=metadata, at=timestamp))

    def metric(self, name: str, value: float, *, kind: str = "gauge", tags: dict[str, str] | None = None,
               timestamp: Any = None) -> bool:
        """Buffer one metric sample: a ``counter`` increment (>= 0), a ``gauge`` or a ``histogram`` value."""
        return self._add(lambda: _events.metric(name, value, kind=kind, tags=tags, at=timestamp))

    @staticmethod
    def _function(function: str | None) -> str:
        if function is not None:
            return function
        invocation = _runtime.current()
        if invocation is None:
            raise ValueError("function: not given, and no tracked request is in progress")
        return invocation.function()

    def _add(self, build: Callable[[], dict[str, Any]]) -> bool:
        if not self.enabled:
            return False
        try:
            data = _events.encode(build())
        except Exception as exc:  # noqa: BLE001 - tracking never raises into the app
            with self._lock:
                self._stats.invalid += 1
            self._warn("invalid", "tierwatch: an event could not be recorded and was skipped (%s)", _message(exc))
            return False
        with self._lock:
            held = len(self._buffer) + sum(len(b.events) for b in self._pending)
            if held >= self.max_buffered:
                self._stats.dropped += 1
                full = True
            else:
                if not self._buffer:
                    self._buffered_since = self._clock()
                self._buffer.append(data)
                self._stats.recorded += 1
                full = False
        if full:
            self._warn("full", "tierwatch: %d events are held and none could be sent; new events are dropped",
                       self.max_buffered)
        return not full

    # -- flushing --------------------------------------------------------------------------------------

    def due(self) -> bool:
        """Whether the policy wants a flush now (what the middleware and decorator ask after each request)."""
        with self._lock:
            return self._due(self._clock())

    def _due(self, now: float) -> bool:
        if not self.enabled or self._flushing or (not self._buffer and not self._pending) or now < self._not_before:
            return False
        return (self.per_invocation or len(self._buffer) >= self.max_events
                or (self._buffered_since is not None and now - self._buffered_since >= self.flush_interval_s)
                or now - self._last_flush > self.flush_interval_s)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Send everything held now, waiting at most ``timeout_s`` (default: the client's). For shutdown and
        tests; returns True when nothing is left to send."""
        return self._flush_waiting(force=True, timeout_s=timeout_s)

    def maybe_flush(self, timeout_s: float | None = None) -> bool:
        """Flush if the policy says so (the end of an invocation in sync code). True if a flush ran."""
        if not self.due():
            return False
        self._flush_waiting(force=False, timeout_s=timeout_s)
        return True

    async def aflush(self, timeout_s: float | None = None) -> bool:
        """``flush`` for async code: the POST runs in a thread (``asyncio.to_thread``)."""
        return await self._aflush(force=True, timeout_s=timeout_s)

    async def amaybe_flush(self, timeout_s: float | None = None) -> bool:
        """``maybe_flush`` for async code."""
        if not self.due():
            return False
        await self._aflush(force=False, timeout_s=timeout_s)
        return True

    def _bound(self, timeout_s: float | None) -> float:
        """How long the caller waits: the client's ``timeout_s`` unless the caller asked for another."""
        bound = self.timeout_s if timeout_s is None else timeout_s
        return bound if math.isfinite(bound) else self.timeout_s

    def _flush_waiting(self, *, force: bool, timeout_s: float | None) -> bool:
        if not self.enabled:
            return True
        bound = self._bound(timeout_s)
        if bound <= 0:
            return False
        deadline = time.monotonic() + bound
        # a daemon thread, so that even a hanging name lookup cannot hold the app past the bound
        worker = threading.Thread(target=self._flush_until, args=(deadline, force), name="tierwatch-flush",
                                  daemon=True)
        try:
            worker.start()
        except RuntimeError:  # no more threads (interpreter shutting down): send from here
            return self._flush_until(deadline, force)
        worker.join(bound)
        return not worker.is_alive() and self._empty()

    async def _aflush(self, *, force: bool, timeout_s: float | None) -> bool:
        if not self.enabled:
            return True
        bound = self._bound(timeout_s)
        if bound <= 0:
            return False
        deadline = time.monotonic() + bound
        import asyncio  # here: async code has it loaded already, and a plain Lambda handler never needs it

        try:
            return await asyncio.wait_for(asyncio.to_thread(self._flush_until, deadline, force), bound)
        except Exception:  # noqa: BLE001 - a timeout (the thread ends by itself) or no thread to run on
            return False

    def _empty(self) -> bool:
        with self._lock:
            return not self._buffer and not self._pending

    def _flush_until(self, deadline: float, force: bool) -> bool:
        """Claim the flush, cut the buffer into batches and POST them until ``deadline``; never raises."""
        try:
            batches = self._claim(deadline, force)
            if batches is None:
                return False
            try:
                self._send(batches, deadline, keep_going=force)
            finally:
                with self._idle:
                    self._flushing = False
                    self._last_flush = self._clock()
                    self._idle.notify_all()
            return self._empty()
        except Exception as exc:  # noqa: BLE001 - a bug here must not reach the app
            self._warn("bug", "tierwatch: flush failed unexpectedly (%s)", _message(exc))
            return False

    def _claim(self, deadline: float, force: bool) -> list[_Batch] | None:
        with self._idle:
            if force:  # shutdown: wait for a flush in flight, then send what is left
                while self._flushing and (left := deadline - time.monotonic()) > 0:
                    self._idle.wait(left)
            elif not self._due(self._clock()):
                return None  # another request flushed meanwhile
            if self._flushing:
                return None
            self._flushing = True
            if self._buffer:
                self._pending += [_Batch(_new_key(), chunk) for chunk in _chunks(self._buffer)]
                self._buffer, self._buffered_since = [], None
            return list(self._pending)

    def _send(self, batches: list[_Batch], deadline: float, *, keep_going: bool) -> None:
        """POST ``batches`` in order. After a failure that says the endpoint is down or limiting, the rest
        wait for the next flush (sparing the endpoint and the app's time), unless ``keep_going`` (an
        explicit flush, at shutdown: there may be no next one)."""
        for batch in batches:
            left = deadline - time.monotonic()
            if left <= 0.001:
                return  # out of time: the rest waits for the next flush, not counted as an attempt
            if not self._settle(batch, self._post(batch, left)) and not keep_going:
                return

    def _settle(self, batch: _Batch, outcome: _Outcome) -> bool:
        """Account for one POST; returns whether to go on with the next batch."""
        with self._lock:
            self._stats.posts += 1
            if outcome.ok:
                self._remove(batch)
                self._stats.sent += outcome.accepted if 0 <= outcome.accepted <= len(batch.events) else len(
                    batch.events)
                self._stats.retried += int(batch.attempts > 0)
                return True
            self._stats.failed_posts += 1
            if outcome.retry_after_s is not None:
                self._not_before = self._clock() + outcome.retry_after_s
            if outcome.retryable:
                batch.attempts += 1
                gave_up = batch.attempts >= 2
                if gave_up:
                    self._remove(batch)
                    self._stats.dropped += len(batch.events)
                go_on = False  # the endpoint is down or limiting: spare it, and the app's time
            elif outcome.status == 413 and len(batch.events) > 1:  # a proxy's smaller limit: halve
                half = len(batch.events) // 2
                index = self._pending.index(batch) if batch in self._pending else len(self._pending)
                self._pending[index:index + 1] = [_Batch(_new_key(), batch.events[:half]),
                                                  _Batch(_new_key(), batch.events[half:])]
                return True
            else:
                self._remove(batch)
                self._stats.dropped += len(batch.events)
                gave_up, go_on = True, outcome.status in _BATCH_SPECIFIC
        what = f"HTTP {outcome.status}" if outcome.status is not None else outcome.error
        detail = f": {outcome.error}" if outcome.status is not None and outcome.error else ""
        if outcome.retryable:
            self._warn("retry", "tierwatch: sending events to %s failed (%s); a failed batch is sent once more, "
                       "then dropped", _where(self.endpoint or ""), what)
        if gave_up:
            self._warn(f"dropped-{outcome.status}", "tierwatch: %d events dropped after %s from %s%s",
                       len(batch.events), what, _where(self.endpoint or ""), detail)
        return go_on

    def _remove(self, batch: _Batch) -> None:
        if batch in self._pending:
            self._pending.remove(batch)

    def _open(self) -> urllib.request.OpenerDirector:
        if self._opener is None:
            import urllib.request  # lazily: ~10 ms of imports a disabled client never pays

            class NoRedirect(urllib.request.HTTPRedirectHandler):
                """A redirect would carry the token to another URL (or turn the POST into a GET)."""

                def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                    return None

            self._opener = urllib.request.build_opener(NoRedirect())
        return self._opener

    def _post(self, batch: _Batch, timeout: float) -> _Outcome:
        import urllib.error
        import urllib.request

        assert self.endpoint is not None and self._token is not None
        request = urllib.request.Request(self.endpoint, data=batch.body, method="POST", headers={  # noqa: S310 - http(s) only, checked in __init__
            "Content-Type": "application/json", "Authorization": f"Bearer {self._token}",
            "Idempotency-Key": batch.key, "User-Agent": f"tierwatch-python/{__version__}"})
        try:
            with self._open().open(request, timeout=timeout) as response:
                status, payload = response.status, response.read(65536)
        except urllib.error.HTTPError as exc:
            with exc:
                detail = _error_detail(exc)
                return _Outcome(exc.code, retry_after_s=_retry_after(exc.headers.get("Retry-After")), error=detail)
        except Exception as exc:  # noqa: BLE001 - refused, reset, timed out, bad TLS, a malformed answer
            return _Outcome(None, error=f"{type(exc).__name__}: {_message(exc)}"[:300])
        return _Outcome(status, accepted=_accepted(payload, len(batch.events)))

    # -- warnings --------------------------------------------------------------------------------------

    def _warn(self, kind: str, message: str, *args: object) -> None:
        with self._lock:
            if kind in self._warned:
                return
            self._warned.add(kind)
        try:
            logger.warning(message, *args)
        except Exception:  # noqa: BLE001, S110 - a broken log handler must not break tracking
            pass


def _accepted(payload: bytes, default: int) -> int:
    try:
        accepted = json.loads(payload).get("accepted")
    except Exception:  # noqa: BLE001 - a 2xx without the documented body still delivered the batch
        return default
    return accepted if isinstance(accepted, int) and not isinstance(accepted, bool) else default


def _error_detail(exc: Any) -> str:
    """The ``error.message`` of an error answer (the bundle's envelope), short; never the request's data."""
    try:
        message = json.loads(exc.read(8192)).get("error", {}).get("message", "")
    except Exception:  # noqa: BLE001
        return ""
    return message[:300] if isinstance(message, str) else ""


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a __str__ that raises
        return f"<{type(exc).__name__}>"


def _stack(exc: BaseException) -> str | None:
    import traceback

    try:
        return "".join(traceback.format_exception(exc))
    except Exception:  # noqa: BLE001
        return None


_default: Client | None = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The process's client configured from the environment, shared by the middleware and the decorator
    when they are given none (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default

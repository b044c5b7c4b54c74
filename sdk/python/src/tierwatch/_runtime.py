"""What the process and the current invocation know: cold start, init time, peak memory, trace context.

Per-invocation state lives in a context variable, never a module global: concurrent requests (asyncio
tasks, threads) each see their own. The process-wide facts (has this process served an invocation yet,
when did it start) are the only globals, on purpose.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar, Token

try:
    import resource
except ImportError:  # Windows: no getrusage, no peak memory figure
    resource = None  # type: ignore[assignment]

_PROVISIONED = {"provisioned-concurrency", "snap-start"}
MAX_INIT_MS = 15 * 60 * 1000  # the contract's bound on init_ms (Lambda's longest timeout)


def _process_age_s() -> float | None:
    """Seconds since this process started (Linux ``/proc``), or ``None`` where that is not known."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22, starttime: clock ticks after boot
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return age if age >= 0 else None


# When the process started, on the monotonic clock: from /proc where it exists, else this import (an app
# imports tierwatch at the top of its module, so both sit close to the start of the platform's init).
PROCESS_STARTED_AT = time.monotonic() - (_process_age_s() or 0.0)

_warm = False
_warm_lock = threading.Lock()


def take_cold_start() -> bool:
    """True for the first invocation this process serves, False afterwards (thread-safe)."""
    global _warm
    with _warm_lock:
        cold, _warm = not _warm, True
    return cold


def reset_cold_start() -> None:
    """Make the next invocation a cold start again (tests)."""
    global _warm
    with _warm_lock:
        _warm = False


def pre_initialized() -> bool:
    """Lambda provisioned concurrency or SnapStart: the environment was initialized ahead of the
    invocation, which therefore neither waited for an init nor counts as a cold start."""
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "") in _PROVISIONED


def init_ms(started_at: float) -> float | None:
    """The time from process start to ``started_at`` (monotonic), the proxy for the platform's init;
    ``None`` past 15 minutes (longer than any platform's limit: a process that idled, not an init)."""
    elapsed = max(0.0, (started_at - PROCESS_STARTED_AT) * 1000)
    return elapsed if elapsed <= MAX_INIT_MS else None


def peak_memory_mb() -> float | None:
    """Peak resident memory of this process in MiB (what Lambda bills and kills on)."""
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def parse_traceparent(value: str | None) -> str | None:
    """The trace-id of a W3C ``traceparent`` header (``00-<32 hex>-<16 hex>-<2 hex>``), lowercased."""
    if not value:
        return None
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0].lower() == "ff" or (parts[0] == "00" and len(parts) != 4):
        return None
    version, trace, parent = parts[0], parts[1], parts[2]
    hexdigits = set("0123456789abcdefABCDEF")
    if (set(version) - hexdigits or len(trace) != 32 or set(trace) - hexdigits or not trace.strip("0")
            or len(parent) != 16 or set(parent) - hexdigits):
        return None
    return trace.lower()


def xray_trace_id(value: str | None) -> str | None:
    """The trace-id of an X-Ray header (``Root=1-<8 hex>-<24 hex>;...``) in W3C form (32 hex)."""
    for part in (value or "").split(";"):
        key, _, root = part.strip().partition("=")
        if key == "Root":
            pieces = root.split("-")
            if len(pieces) == 3 and pieces[0] == "1":
                candidate = (pieces[1] + pieces[2]).lower()
                if len(candidate) == 32 and not set(candidate) - set("0123456789abcdef") and candidate.strip("0"):
                    return candidate
    return None


class Invocation:
    """One request or invocation in flight: what the middleware or decorator will report for it.

    ``function`` is called when the name is needed (a route is known only once the app matched it)."""

    __slots__ = ("function", "trace_id", "user")

    def __init__(self, function: Callable[[], str], trace_id: str | None = None) -> None:
        self.function = function
        self.trace_id = trace_id
        self.user: str | None = None


_current: ContextVar[Invocation | None] = ContextVar("tierwatch_invocation", default=None)


def current() -> Invocation | None:
    """The invocation running in this context, if a middleware or decorator started one."""
    return _current.get()


def enter(invocation: Invocation) -> Token[Invocation | None]:
    """Make ``invocation`` current for this context (a task, a thread) until ``leave``."""
    return _current.set(invocation)


def leave(token: Token[Invocation | None]) -> None:
    try:
        _current.reset(token)
    except (RuntimeError, ValueError):  # reset elsewhere (an app juggling contexts): nothing to undo
        pass


def set_user(user: str | None) -> None:
    """Attach a user id to the current request's event (ignored outside a tracked request). The bundle
    stores only a keyed hash of it, to count distinct users."""
    invocation = _current.get()
    if invocation is not None:
        invocation.user = user

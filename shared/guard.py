"""Cold-start-aware timeout guard: every function knows when the platform will kill it.

The guard turns the platform's limit into a local deadline, keeps a safety margin (larger on a cold
start, whose first TLS handshakes and imports are slow and, on Vercel, already count against the
limit), bounds every network call by the time left, and lets a job stop early with a partial,
resumable result instead of being killed mid-write.

Example
-------
>>> guard = Guard.start(limit_s=10.0, cold_start=False, margin_s=0.5)
>>> async def check():
...     return await guard.run(redis.ping(), op="upstash.ping", cap_s=2.0)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from shared.errors import DeadlineExceeded

T = TypeVar("T")
Clock = Callable[[], float]

# When this process started serving: on a cold start the platform's clock is already running.
PROCESS_STARTED_AT = time.monotonic()
# Functions that have served an invocation in this process (the one deliberate global). Deployed, a
# process holds one function; `tierwatch dev` holds them all, and each still sees its own cold start.
_warm: set[str] = set()


def take_cold_start(function: str = "") -> bool:
    """True on the first invocation of ``function`` in this instance, False afterwards."""
    if function in _warm:
        return False
    _warm.add(function)
    return True


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass
class Guard:
    """The deadline of one invocation. All times are seconds on ``clock`` (monotonic)."""

    deadline: float
    margin_s: float
    cold_start: bool
    clock: Clock = time.monotonic

    @classmethod
    def start(
        cls,
        *,
        limit_s: float,
        cold_start: bool,
        margin_s: float,
        cold_margin_s: float | None = None,
        started_at: float | None = None,
        clock: Clock = time.monotonic,
    ) -> Guard:
        """A guard whose platform limit ``limit_s`` started at ``started_at`` (default: now)."""
        begin = clock() if started_at is None else started_at
        margin = max(margin_s, cold_margin_s or 0.0) if cold_start else margin_s
        return cls(deadline=begin + limit_s, margin_s=margin, cold_start=cold_start, clock=clock)

    @classmethod
    def for_lambda(
        cls, context: LambdaContext, *, cold_start: bool, margin_s: float, cold_margin_s: float,
        clock: Clock = time.monotonic,
    ) -> Guard:
        """Lambda tells us exactly how long is left."""
        remaining = context.get_remaining_time_in_millis() / 1000.0
        return cls.start(limit_s=remaining, cold_start=cold_start, margin_s=margin_s,
                         cold_margin_s=cold_margin_s, clock=clock)

    @classmethod
    def for_vercel(
        cls, max_duration_s: float, *, cold_start: bool, margin_s: float, cold_margin_s: float,
        request_started_at: float, clock: Clock = time.monotonic,
    ) -> Guard:
        """Vercel's limit is the configured ``maxDuration``; on a cold start it began before our imports.

        A process older than the limit cannot be this invocation's cold start (the platform would have
        killed it), so then the request's own start is the anchor.
        """
        began = request_started_at
        if cold_start and 0 <= request_started_at - PROCESS_STARTED_AT < max_duration_s:
            began = PROCESS_STARTED_AT
        return cls.start(limit_s=max_duration_s, cold_start=cold_start, margin_s=margin_s,
                         cold_margin_s=cold_margin_s, started_at=began, clock=clock)

    def remaining(self) -> float:
        """Seconds until the platform kills the invocation (no margin)."""
        return self.deadline - self.clock()

    def time_left(self) -> float:
        """Seconds we may still spend, margin kept aside; never negative."""
        return max(0.0, self.remaining() - self.margin_s)

    def timeout_for(self, cap_s: float | None = None) -> float:
        """The timeout to give the next call: the time left, capped by ``cap_s``."""
        left = self.time_left()
        return left if cap_s is None else min(cap_s, left)

    def has_time(self, needed_s: float = 0.0) -> bool:
        """Whether a step expected to take ``needed_s`` can still start and finish (job loops)."""
        return self.time_left() > needed_s

    def check(self, op: str, needed_s: float = 0.0) -> None:
        """Raise ``DeadlineExceeded`` if ``op`` cannot fit in the time left."""
        if not self.has_time(needed_s):
            raise DeadlineExceeded(f"{op}: not started, {self.time_left() * 1000:.0f} ms left")

    async def run(self, call: Awaitable[T] | Callable[[], Awaitable[T]], *, op: str,
                  cap_s: float | None = None) -> T:
        """Await ``call`` bounded by the time left (and ``cap_s``); ``DeadlineExceeded`` on timeout.

        The message says how long we waited ("timeout after 2000 ms"), never what was sent.
        """
        timeout = self.timeout_for(cap_s)
        awaitable = call() if callable(call) else call
        if timeout <= 0:
            _close(awaitable)
            raise DeadlineExceeded(f"{op}: not started, no time left")
        try:
            return await asyncio.wait_for(awaitable, timeout=timeout)
        except TimeoutError:
            raise DeadlineExceeded(f"{op}: timeout after {timeout * 1000:.0f} ms") from None


def _close(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()

"""The warm instance's tracking buffer: events aggregate here and leave in one call, rarely.

Concurrent requests (Fluid compute) add to the same per-instance ``Aggregate``: asyncio runs them on
one thread, and nothing here awaits between reading and writing the buffer, so no lock is needed for
adding; a flush swaps the buffer out before it awaits, and at most one flush is in flight.

When it flushes, at the end of an invocation: when the oldest buffered event is ``interval_s`` old,
when ``max_events`` are buffered, when the last flush is more than ``interval_s`` ago (a lone request
after an idle time goes at once), or always in ``per_invocation`` mode. What a reclaimed idle instance
can lose is therefore bounded: the events of less than ``interval_s`` seconds, and at most
``max_events``.

Failure never reaches the request: a flush is bounded by the guard; a failed batch is kept for one
retry (with the same field name, so it cannot land twice), then dropped, counted and logged once.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shared.guard import Guard
from shared.logs import get_logger
from shared.tracking.aggregate import Aggregate

Sink = Callable[[list[tuple[str, Aggregate]], list[str]], Awaitable[int]]
FLUSH_CAP_S = 2.0  # a flush never holds a request longer than this (nor past the guard's time)


@dataclass
class FlushPolicy:
    interval_s: float = 10.0
    max_events: int = 500
    per_invocation: bool = False


@dataclass
class Stats:
    """What the buffer did in this instance (reported by /metrics, read by tests)."""

    flushes: int = 0
    commands: int = 0
    failed_flushes: int = 0
    dropped_events: int = 0
    retried: int = 0


@dataclass
class _Pending:
    name: str
    aggregate: Aggregate
    users: list[str]


@dataclass
class Tracker:
    """One per warm instance (per sink). ``aggregate`` is what the next flush sends."""

    policy: FlushPolicy = field(default_factory=FlushPolicy)
    clock: Callable[[], float] = time.time
    instance: str = field(default_factory=lambda: secrets.token_hex(6))
    aggregate: Aggregate = field(default_factory=Aggregate)
    users: set[str] = field(default_factory=set)
    stats: Stats = field(default_factory=Stats)
    last_flush: float = float("-inf")
    _buffered_since: float | None = None
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _pending: _Pending | None = None
    _flushing: bool = False
    _warned: bool = False

    def note(self) -> Aggregate:
        """The aggregate to add an event to (and start the age clock of the buffer)."""
        if self._buffered_since is None:
            self._buffered_since = self.clock()
        return self.aggregate

    def add_user(self, user: str | None) -> None:
        if user:
            self.users.add(user)

    def due(self) -> bool:
        if not self.aggregate.events and self._pending is None:
            return False
        now = self.clock()
        return (self.policy.per_invocation or self.aggregate.events >= self.policy.max_events
                or (self._buffered_since is not None and now - self._buffered_since >= self.policy.interval_s)
                or now - self.last_flush > self.policy.interval_s)

    async def maybe_flush(self, sink: Sink, guard: Guard | None) -> None:
        if self.due():
            await self.flush(sink, guard)

    async def flush(self, sink: Sink, guard: Guard | None) -> None:
        """Send the buffer (and a batch awaiting its retry) in one call; never raises."""
        if self._flushing:
            return  # another request of this instance is flushing; these events go with the next one
        self._flushing = True
        current = _Pending(f"{self.instance}:{next(self._seq)}", self.aggregate, sorted(self.users))
        self.aggregate, self.users, self._buffered_since = Aggregate(), set(), None
        batches = [b for b in (self._pending, current) if b is not None and (b.aggregate.events or b.users)]
        try:
            call = sink([(b.name, b.aggregate) for b in batches], [u for b in batches for u in b.users])
            sent = await (guard.run(call, op="tracking flush", cap_s=FLUSH_CAP_S) if guard else call)
        except Exception as exc:  # tracking fails open: the host request must still succeed
            self._failed(current, exc)
        else:
            self.stats.flushes += 1
            self.stats.commands += sent
            self.stats.retried += int(self._pending is not None)
            self._pending = None
        finally:
            self.last_flush = self.clock()
            self._flushing = False

    def _failed(self, current: _Pending, exc: Exception) -> None:
        self.stats.failed_flushes += 1
        if self._pending is not None:  # its one retry failed too
            self.stats.dropped_events += self._pending.aggregate.events
        self._pending = current if current.aggregate.events or current.users else None
        if not self._warned:
            self._warned = True
            get_logger().warning(
                "tracking flush failed; the batch is kept for one retry, then dropped",
                extra={"error": f"{type(exc).__name__}: {str(exc)[:200]}"})

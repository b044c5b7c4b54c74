"""The instance's tracking plumbing: one buffer, a store per Upstash client, and self-monitoring.

tierwatch tracks its own functions with the same buffer and store it offers apps (``source="self"``),
so users see what the monitor itself costs. Self-monitoring needs Upstash; without it (or when the
settings do not parse) it does nothing: tracking never stands between a request and its answer.
"""

from __future__ import annotations

import resource
import sys
import weakref
from typing import TYPE_CHECKING

from shared import clients
from shared.guard import Guard
from shared.settings import Settings
from shared.tracking.aggregate import Aggregate
from shared.tracking.buffer import FlushPolicy, Tracker
from shared.tracking.store import TrackingStore

if TYPE_CHECKING:
    from upstash_redis.asyncio import Redis

# Deliberate per-instance state: the buffer concurrent requests share, and one store per client.
_tracker: Tracker | None = None
_stores: weakref.WeakKeyDictionary[Redis, TrackingStore] = weakref.WeakKeyDictionary()


def policy(settings: Settings) -> FlushPolicy:
    return FlushPolicy(interval_s=settings.flush_interval_s, max_events=settings.flush_max_events,
                       per_invocation=settings.flush_mode == "per_invocation")


def tracker(settings: Settings) -> Tracker:
    """This instance's buffer (its policy follows the settings of the moment)."""
    global _tracker
    if _tracker is None:
        _tracker = Tracker()
    _tracker.policy = policy(settings)
    return _tracker


def store(settings: Settings) -> TrackingStore:
    """The tracking store over this instance's Upstash client (``ConfigError`` if not configured)."""
    redis = clients.upstash(settings)
    found = _stores.get(redis)
    if found is None:
        found = _stores[redis] = TrackingStore(redis)
    return found


def peak_memory_mb() -> float:
    """Peak resident memory of this process (what Lambda bills and kills on)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def track_self(settings: Settings | None, function: str, *, duration_ms: float, status: int,
                     guard: Guard, at: float) -> None:
    """Record one invocation of a tierwatch function and flush when due; never raises."""
    if settings is None or not settings.tracking or settings.upstash_redis_rest_url is None:
        return
    buffer = tracker(settings)
    aggregate: Aggregate = buffer.note()
    aggregate.add_request(function, source="self", at=at, duration_ms=duration_ms, status=status,
                          cold_start=guard.cold_start, timed_out=status == 504, memory_mb=peak_memory_mb())
    try:
        sink = store(settings).flush
    except Exception:  # noqa: BLE001 - not configured: keep the event for when it is
        return
    await buffer.maybe_flush(sink, guard)

"""A per-instance cache that computes a value at most once per TTL, concurrent callers sharing it.

Public endpoints that touch a metered dependency (every Upstash command counts against the monthly
budget) must not cost one call per caller: uptime checkers poll every 30-60 s from several regions.
Concurrent callers await the one computation in flight instead of starting their own.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T
    age_s: float
    fresh: bool  # computed for this caller (or one in flight with it), not served from the cache


class Coalesced(Generic[T]):
    """``await cache.get(key, compute, ttl_s)``: the cached value if younger than ``ttl_s`` and computed
    for an equal ``key``, else one shared computation. ``ttl_s=0`` still coalesces concurrent callers,
    but caches nothing."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._value: tuple[object, float, T] | None = None
        # futures belong to a loop: one in-flight computation per loop
        self._inflight: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[object, asyncio.Task[T]]] = (
            weakref.WeakKeyDictionary()
        )

    async def get(self, key: object, compute: Callable[[], Awaitable[T]], ttl_s: float) -> Cached[T]:
        now = self._clock()
        if self._value is not None and self._value[0] == key and now - self._value[1] < ttl_s:
            return Cached(self._value[2], age_s=now - self._value[1], fresh=False)
        loop = asyncio.get_running_loop()
        inflight = self._inflight.get(loop)
        if inflight is None or inflight[0] != key:
            task = loop.create_task(self._compute(key, compute))
            self._inflight[loop] = inflight = (key, task)
        # shield: a caller that gives up (client gone, its own deadline) does not cancel the others' result
        value = await asyncio.shield(inflight[1])
        return Cached(value, age_s=0.0 if self._value is None else max(0.0, self._clock() - self._value[1]),
                      fresh=True)

    async def _compute(self, key: object, compute: Callable[[], Awaitable[T]]) -> T:
        try:
            started = self._clock()
            value = await compute()
            self._value = (key, started, value)
            return value
        finally:
            loop = asyncio.get_running_loop()
            if self._inflight.get(loop, (None,))[0] == key:
                self._inflight.pop(loop, None)

    def clear(self) -> None:
        self._value = None

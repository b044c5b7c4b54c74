"""Command counters per UTC day and per command name: tierwatch's ground truth for Upstash cost.

Upstash bills per command, and a pipeline or transaction costs one per command inside it, so the gateway
counts commands, not HTTP requests. Counters live in memory, one set per gateway app instance.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import TypedDict

__all__ = ["CommandStats", "StatsSnapshot"]


class StatsSnapshot(TypedDict):
    """The JSON body of ``GET /_local/stats``."""

    total: int
    by_day: dict[str, int]
    by_command: dict[str, int]


def _utc_today() -> date:
    return datetime.now(UTC).date()


class CommandStats:
    """Thread-safe counters (the app runs on one event loop, but tests may read from other threads)."""

    def __init__(self, today: Callable[[], date] = _utc_today) -> None:
        self._today = today
        self._lock = threading.Lock()
        self._by_day: Counter[str] = Counter()
        self._by_command: Counter[str] = Counter()

    def record(self, names: Iterable[str]) -> None:
        """Count one command per name (names are upper-cased, so ``incr`` and ``INCR`` add up)."""
        upper = [n.upper() for n in names]
        if not upper:
            return
        day = self._today().isoformat()
        with self._lock:
            self._by_day[day] += len(upper)
            self._by_command.update(upper)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return {
                "total": sum(self._by_day.values()),
                "by_day": dict(self._by_day),
                "by_command": dict(self._by_command),
            }

    def reset(self) -> None:
        with self._lock:
            self._by_day.clear()
            self._by_command.clear()

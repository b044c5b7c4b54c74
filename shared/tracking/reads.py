"""What every read endpoint shares: named windows, and one cached, coalesced read per window.

Dashboards poll; each instance reuses a window it read for ``TIERWATCH_READ_CACHE_S`` and concurrent
callers share one read, so polling costs a handful of Upstash commands a minute, not one read per poll.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.coalesce import Coalesced
from shared.errors import DependencyError, TierwatchError
from shared.guard import Guard
from shared.settings import Settings
from shared.tracking.runtime import store
from shared.tracking.store import Window

WINDOWS: dict[str, int] = {"5m": 300, "1h": 3600, "24h": 86400, "7d": 7 * 86400}
WindowName = Literal["5m", "1h", "24h", "7d"]


@dataclass(frozen=True)
class Read:
    window: Window
    read_at: float  # epoch seconds when it was read
    age_s: float  # how old it is for this caller

    def header(self, name: WindowName) -> dict[str, Any]:
        """The ``WindowReport`` fields of an answer built from this read."""
        return {"window": name, "since": datetime.fromtimestamp(self.window.since, UTC), "age_s": self.age_s}


class WindowReport(BaseModel):
    """What every read endpoint's answer starts with: which window, from when, and how fresh."""

    window: WindowName
    since: datetime = Field(description="Earliest time the figures may cover (slot- or hour-aligned).")
    age_s: float = Field(description="How old the data is (served from this instance's read cache).")


# Deliberate per-instance cache, shared by the read functions a Vercel group serves together.
_reads: Coalesced[tuple[Window, float]] = Coalesced()


async def read_window(settings: Settings, guard: Guard, name: WindowName) -> Read:
    """The tracking data of window ``name``, cached; ``DependencyError`` (502) naming Upstash if it fails."""
    tracking = store(settings)

    async def fetch() -> tuple[Window, float]:
        return await tracking.read(WINDOWS[name]), time.time()

    try:
        cached = await guard.run(_reads.get((settings, name), fetch, ttl_s=settings.read_cache_s),
                                 op="tracking read")
    except TierwatchError:
        raise
    except Exception as exc:  # the SDK's own errors (connection, HTTP): the dependency failed, not us
        raise DependencyError(settings.redact(f"Upstash read failed: {type(exc).__name__}: {exc}")[:300]) from exc
    window, read_at = cached.value
    return Read(window=window, read_at=read_at, age_s=round(cached.age_s, 3))


def clear_cache() -> None:
    """Forget cached reads (tests)."""
    _reads.clear()

"""GET /api/monitoring/performance: per function count, rps, avg/p50/p95/p99/max, success, error and
cold-start rates, timeouts, peak memory; recent error groups and a log summary by level.

Reads are cached per instance for ``TIERWATCH_READ_CACHE_S`` and shared by concurrent callers, so a
dashboard polling every few seconds costs a handful of Upstash commands a minute, not one per poll.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Query

from functions.performance.report import WINDOWS, Performance, WindowName, report
from functions.registry import get
from shared.coalesce import Coalesced
from shared.errors import DependencyError, TierwatchError
from shared.http import SettingsDep, TimeGuard, create_app, error_responses
from shared.tracking.runtime import store
from shared.tracking.store import Window

SPEC = get("performance")
app = create_app(SPEC)
# Deliberate per-instance cache: one read of each window serves every caller while it is fresh.
_windows: Coalesced[tuple[Window, float]] = Coalesced()


@app.handles("performance", response_model=Performance, summary="Performance over a window",
             responses=error_responses(422, 502, 504))
async def performance(
    settings: SettingsDep, guard: TimeGuard,
    window: Annotated[WindowName, Query(description="5m, 1h, 24h or 7d")] = "1h",
    function: Annotated[str | None, Query(max_length=200, description="Only this function")] = None,
) -> Performance:
    tracking = store(settings)

    async def read() -> tuple[Window, float]:
        return await tracking.read(WINDOWS[window]), time.time()

    try:
        cached = await guard.run(_windows.get((settings, window), read, ttl_s=settings.read_cache_s),
                                 op="tracking read")
    except TierwatchError:
        raise
    except Exception as exc:  # the SDK's own errors (connection, HTTP): the dependency failed, not us
        raise DependencyError(settings.redact(f"Upstash read failed: {type(exc).__name__}: {exc}")[:300]) from exc
    data, read_at = cached.value
    body = report(data, window, read_at, function)
    body.age_s = round(cached.age_s, 3)
    return body

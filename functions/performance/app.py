"""GET /api/monitoring/performance: per function count, rps, avg/p50/p95/p99/max, success, error and
cold-start rates, timeouts, peak memory; recent error groups, a log summary by level, active users.

Reads are cached per instance for ``TIERWATCH_READ_CACHE_S`` and shared by concurrent callers
(``shared.tracking.reads``), so a polling dashboard costs a few Upstash commands a minute.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from functions.performance.report import Performance, report
from functions.registry import get
from shared.http import SettingsDep, TimeGuard, create_app, error_responses
from shared.tracking.reads import WindowName, read_window

SPEC = get("performance")
app = create_app(SPEC)


@app.handles("performance", response_model=Performance, summary="Performance over a window",
             responses=error_responses(422, 502, 504))
async def performance(
    settings: SettingsDep, guard: TimeGuard,
    window: Annotated[WindowName, Query(description="5m, 1h, 24h or 7d")] = "1h",
    function: Annotated[str | None, Query(max_length=200, description="Only this function")] = None,
) -> Performance:
    read = await read_window(settings, guard, window)
    body = report(read.window, window, read.read_at, function)
    body.age_s = read.age_s
    return body

"""GET /api/monitoring/logs: the most recent log lines kept per level, and the count of every level."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel

from functions.registry import get
from shared.http import SettingsDep, TimeGuard, create_app, error_responses
from shared.tracking.reads import WindowName, WindowReport, read_window

SPEC = get("logs")
app = create_app(SPEC)
Level = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LEVELS: tuple[Level, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class LogLine(BaseModel):
    timestamp: datetime
    level: Level
    message: str
    function: str | None


class Logs(WindowReport):
    counts: dict[str, int]
    lines: list[LogLine]


@app.handles("logs", response_model=Logs, summary="Recent log lines and counts by level",
             responses=error_responses(422, 502, 504))
async def logs(
    settings: SettingsDep, guard: TimeGuard,
    window: Annotated[WindowName, Query()] = "1h",
    level: Annotated[Level | None, Query(description="This level and above")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Logs:
    read = await read_window(settings, guard, window)
    agg = read.window.aggregate
    shown = LEVELS[LEVELS.index(level):] if level else LEVELS
    lines = [LogLine(timestamp=datetime.fromtimestamp(line["at"], UTC), level=lvl, message=line["msg"],
                     function=line.get("fn"))
             for lvl in shown for line in agg.recent_logs.get(lvl, [])]
    lines.sort(key=lambda line: line.timestamp, reverse=True)
    return Logs(**read.header(window),
                counts={lvl: agg.log_counts[lvl] for lvl in LEVELS if lvl in agg.log_counts}, lines=lines[:limit])

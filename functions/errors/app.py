"""GET /api/monitoring/errors: error groups (name + normalised message + top frame) over a window, with
counts by severity, first/last seen and a sample stack; the error rate and the top error types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel

from functions.registry import get
from shared.http import SettingsDep, TimeGuard, create_app, error_responses
from shared.tracking.reads import WindowName, WindowReport, read_window

SPEC = get("errors")
app = create_app(SPEC)
Severity = Literal["low", "medium", "high", "critical"]


class ErrorGroupOut(BaseModel):
    fingerprint: str
    name: str
    message: str
    function: str
    severity: Severity
    count: int
    first_seen: datetime
    last_seen: datetime
    stack: str | None


class Errors(WindowReport):
    total: int
    by_severity: dict[str, int]
    error_rate: float | None  # failed requests / requests, over the functions shown
    top_types: dict[str, int]  # error name -> count, most frequent first
    groups: list[ErrorGroupOut]


@app.handles("errors", response_model=Errors, summary="Error groups over a window",
             responses=error_responses(422, 502, 504))
async def errors(
    settings: SettingsDep, guard: TimeGuard,
    window: Annotated[WindowName, Query()] = "24h",
    function: Annotated[str | None, Query(max_length=200)] = None,
    severity: Annotated[Severity | None, Query(description="Only this severity")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Errors:
    read = await read_window(settings, guard, window)
    agg = read.window.aggregate
    chosen = [(fp, g) for fp, g in agg.errors.items()
              if (function is None or g.function == function) and (severity is None or g.severity == severity)]
    chosen.sort(key=lambda item: (item[1].count, item[1].last), reverse=True)
    by_severity: dict[str, int] = {}
    types: dict[str, int] = {}
    for _, g in chosen:
        by_severity[g.severity] = by_severity.get(g.severity, 0) + g.count
        types[g.name] = types.get(g.name, 0) + g.count
    stats = [s for name, s in agg.functions.items() if function is None or name == function]
    requests = sum(s.count for s in stats)
    return Errors(
        **read.header(window),
        total=sum(g.count for _, g in chosen), by_severity=by_severity,
        error_rate=round(sum(s.errors for s in stats) / requests, 4) if requests else None,
        top_types=dict(sorted(types.items(), key=lambda kv: kv[1], reverse=True)[:10]),
        groups=[ErrorGroupOut(fingerprint=fp, name=g.name, message=g.message, function=g.function,
                              severity=g.severity,
                              count=g.count, first_seen=datetime.fromtimestamp(g.first, UTC),
                              last_seen=datetime.fromtimestamp(g.last, UTC), stack=g.stack)
                for fp, g in chosen[:limit]])

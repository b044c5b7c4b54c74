"""GET /api/monitoring/traces: the slowest recent requests of each function (exemplars), with the trace id
the app sent (W3C traceparent), so a user can jump from a slow p99 to their tracing backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

from functions.registry import get
from shared.http import SettingsDep, TimeGuard, create_app, error_responses
from shared.tracking.reads import WindowName, WindowReport, read_window

SPEC = get("traces")
app = create_app(SPEC)


class Exemplar(BaseModel):
    duration_ms: float
    status: int
    timestamp: datetime
    trace_id: str | None


class Traces(WindowReport):
    functions: dict[str, list[Exemplar]]


@app.handles("traces", response_model=Traces, summary="The slowest recent requests per function",
             responses=error_responses(422, 502, 504))
async def traces(
    settings: SettingsDep, guard: TimeGuard,
    window: Annotated[WindowName, Query()] = "1h",
    function: Annotated[str | None, Query(max_length=200)] = None,
) -> Traces:
    read = await read_window(settings, guard, window)
    agg = read.window.aggregate
    return Traces(
        **read.header(window),
        functions={name: [Exemplar(duration_ms=x["duration_ms"], status=x["status"],
                                   timestamp=datetime.fromtimestamp(x["at"], UTC), trace_id=x.get("trace_id"))
                          for x in stats.slowest]
                   for name, stats in sorted(agg.functions.items()) if function is None or name == function})

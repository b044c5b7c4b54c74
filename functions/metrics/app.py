"""GET /api/monitoring/metrics: per-function figures and custom metrics over a window, with the serving
instance's own CPU, memory and /tmp use; ``?format=prometheus`` for Prometheus text exposition."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel

from functions.metrics.exposition import exposition
from functions.metrics.instance import Instance, instance
from functions.registry import get
from shared.http import SettingsDep, TimeGuard, create_app, error_responses
from shared.tracking.reads import WindowName, WindowReport, read_window

SPEC = get("metrics")
app = create_app(SPEC)
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class FunctionMetrics(BaseModel):
    source: str
    requests: int
    errors: int
    cold_starts: int
    timeouts: int
    duration_sum_ms: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    peak_memory_mb: float


class CustomMetric(BaseModel):
    name: str
    kind: str
    tags: dict[str, str]
    value: float  # counter: the sum; gauge: the latest; histogram: the sum of observations
    count: int
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


class Metrics(WindowReport):
    functions: dict[str, FunctionMetrics]
    custom: list[CustomMetric]
    instance: Instance


def _q(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@app.handles("metrics", response_model=Metrics, summary="Tracked figures as JSON or Prometheus text",
             responses={**error_responses(422, 502, 504), 200: {"content": {PROMETHEUS: {}}}})
async def metrics(
    settings: SettingsDep, guard: TimeGuard,
    window: Annotated[WindowName, Query()] = "5m",
    format: Annotated[Literal["json", "prometheus"], Query()] = "json",  # noqa: A002 - the query's name
) -> Any:
    read = await read_window(settings, guard, window)
    agg = read.window.aggregate
    if format == "prometheus":
        return Response(exposition(agg, window, instance()), media_type=PROMETHEUS)
    return Metrics(
        **read.header(window),
        functions={name: FunctionMetrics(
            source=s.source, requests=s.count, errors=s.errors, cold_starts=s.cold_starts, timeouts=s.timeouts,
            duration_sum_ms=round(s.duration_sum, 3), p50_ms=_q(s.latency.quantile(0.5)),
            p95_ms=_q(s.latency.quantile(0.95)), p99_ms=_q(s.latency.quantile(0.99)),
            peak_memory_mb=s.memory_max_mb) for name, s in sorted(agg.functions.items())},
        custom=[CustomMetric(name=m.name, kind=m.kind, tags=m.tags, value=m.total, count=m.count,
                             p50=_q(m.sketch.quantile(0.5)) if m.kind == "histogram" else None,
                             p95=_q(m.sketch.quantile(0.95)) if m.kind == "histogram" else None,
                             p99=_q(m.sketch.quantile(0.99)) if m.kind == "histogram" else None)
                for m in sorted(agg.metrics.values(), key=lambda m: m.name)],
        instance=instance())

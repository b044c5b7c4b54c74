"""From a merged tracking window to the performance report (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.tracking.aggregate import FunctionStats
from shared.tracking.reads import WindowName
from shared.tracking.store import Window


class FunctionPerformance(BaseModel):
    source: Literal["app", "self"] = Field(description="'self': a tierwatch function (what the monitor costs)")
    count: int
    rps: float
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    success_rate: float | None
    error_rate: float | None
    cold_start_rate: float | None
    mean_init_ms: float | None
    timeouts: int
    max_memory_mb: float | None
    status: dict[str, int]


class ErrorSummary(BaseModel):
    fingerprint: str
    name: str
    message: str
    function: str
    severity: str
    count: int
    first_seen: datetime
    last_seen: datetime


class Performance(BaseModel):
    window: WindowName
    since: datetime = Field(description="Earliest time the figures may cover (hour-aligned for old hours).")
    timestamp: datetime
    age_s: float = Field(description="How old this report is (served from the instance's cache).")
    functions: dict[str, FunctionPerformance]
    errors: list[ErrorSummary]
    logs: dict[str, int]
    active_users: int
    read_commands: int = Field(description="Upstash commands the read that built this report cost.")


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def function_performance(stats: FunctionStats, seconds: float) -> FunctionPerformance:
    n = stats.count
    ok = sum(c for klass, c in stats.status.items() if klass in ("1xx", "2xx", "3xx"))
    return FunctionPerformance(
        source="self" if stats.source == "self" else "app", count=n, rps=round(n / seconds, 4) if seconds else 0.0,
        avg_ms=_r(stats.duration_sum / n) if n else None, p50_ms=_r(stats.latency.quantile(0.5)),
        p95_ms=_r(stats.latency.quantile(0.95)), p99_ms=_r(stats.latency.quantile(0.99)),
        max_ms=_r(stats.duration_max) if n else None,
        success_rate=round(ok / n, 4) if n else None, error_rate=round(stats.errors / n, 4) if n else None,
        cold_start_rate=round(stats.cold_starts / n, 4) if n else None,
        mean_init_ms=_r(stats.init_ms_sum / stats.init_count) if stats.init_count else None,
        timeouts=stats.timeouts, max_memory_mb=_r(stats.memory_max_mb, 1) if stats.memory_max_mb else None,
        status=dict(sorted(stats.status.items())))


def report(window: Window, name: WindowName, now: float, function: str | None, errors_limit: int = 20) -> Performance:
    agg = window.aggregate
    seconds = max(1.0, now - window.since)
    functions = {f: function_performance(s, seconds) for f, s in sorted(agg.functions.items())
                 if function is None or f == function}
    groups = sorted(agg.errors.items(), key=lambda item: item[1].last, reverse=True)
    errors = [ErrorSummary(fingerprint=fp, name=g.name, message=g.message, function=g.function, severity=g.severity,
                           count=g.count, first_seen=datetime.fromtimestamp(g.first, UTC),
                           last_seen=datetime.fromtimestamp(g.last, UTC))
              for fp, g in groups if function is None or g.function == function][:errors_limit]
    return Performance(window=name, since=datetime.fromtimestamp(window.since, UTC),
                       timestamp=datetime.fromtimestamp(now, UTC), age_s=0.0, functions=functions, errors=errors,
                       logs=dict(sorted(agg.log_counts.items())), active_users=window.users,
                       read_commands=window.commands)

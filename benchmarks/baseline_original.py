"""The original design's request tracking (brief 000), re-implemented in Python as a benchmark baseline.

Not tierwatch code: a faithful model of what brief 000 asks for, so the new design is measured against the
design it replaces rather than against a straw man. Same keys, TTLs, commands and order as the brief; every
command is its own awaited HTTP call through the official async SDK (the brief awaits each one in turn).
Line numbers below refer to ``/work/shared/reference/briefs/brief-000.md``.

One tracked API request is the brief's integration example (lines 868-875)::

    VercelMonitor.trackFunctionPerformance('mcp-query', async () => {
      await RedisMonitor.trackRequest('mcp_query')           // INCR, [EXPIRE], HINCRBY, EXPIRE
      await PerformanceLogger.log('INFO', 'MCP query initiated')   // LPUSH, EXPIRE, LTRIM
      ... the route's own work ...
    })                                                       // then LPUSH, EXPIRE, LTRIM, SETEX

and the stats read is ``GET /api/monitoring/performance`` (lines 671-694): LRANGE 0 -1 of the day's
performance list and of the day's log list (in parallel), every entry JSON-parsed, wrapped in
``trackFunctionPerformance('performance-stats')`` itself (4 more commands). Deliberate differences:

- the Supabase insert of every log line (lines 525-528, fire-and-forget) is left out: it is not an Upstash
  command and is not awaited;
- ``process.memoryUsage()`` becomes the process's peak RSS (same JSON shape and magnitude);
- the end-of-day TTL (lines 89-91) is computed in UTC, which is the local time of a Vercel function;
- ``percentiles_ms`` is not in the brief (it computes only a rounded average, line 472): it is what its
  stored entries allow, with the same rank rule as tierwatch's sketch, for the quantile comparison.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import resource
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from upstash_redis.asyncio import Redis

__all__ = [
    "BaselineStats",
    "BaselineTracker",
    "Clock",
    "log_entry",
    "performance_entry",
    "percentiles",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], float]  # wall-clock seconds since the epoch (the brief's Date.now() / 1000)

# RedisMonitor (lines 74-77, 99, 104, 183)
DAILY_LIMIT = 10_000
CLEANUP_THRESHOLD = 8_000
USAGE_KEY = "redis:daily_usage"
STATS_KEY = "redis:stats"
ALERT_KEY = "alert:redis_usage"
ALERT_TTL_S = 300
# VercelMonitor (lines 351-353, 411, 414, 434)
FUNCTION_TIMEOUT_MS = 10_000
PERFORMANCE_KEY = "vercel:performance"
MEMORY_KEY = "vercel:memory"
MAX_PERFORMANCE_ENTRIES = 1_000
MEMORY_TTL_S = 3_600
# PerformanceLogger (lines 497-506, 544)
LOG_LEVELS = {"DEBUG": 0, "INFO": 1, "WARN": 2, "ERROR": 3, "CRITICAL": 4}
LOG_KEY = "logs:performance"
MAX_LOGS_PER_DAY = 10_000
DAY_S = 86_400


def now_ms(clock: Clock) -> int:
    """``Date.now()``: whole milliseconds."""
    return math.floor(clock() * 1000)


def utc_day(ms: int) -> str:
    """``new Date().toISOString().split('T')[0]``."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date().isoformat()


def iso(ms: int) -> str:
    """``new Date().toISOString()``: millisecond precision, ``Z``."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def seconds_to_end_of_day(ms: int) -> int:
    """Lines 89-91: ``endOfDay.setHours(23, 59, 59, 999)``, floor of the seconds left."""
    day = dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date()
    end = dt.datetime.combine(day, dt.time(23, 59, 59, 999_000), dt.UTC)
    return math.floor((end.timestamp() * 1000 - ms) / 1000)


def stringify(value: Any) -> str:
    """``JSON.stringify``: compact, keys in insertion order."""
    return json.dumps(value, separators=(",", ":"))


def js_round(x: float) -> int:
    """``Math.round``: halves round up (Python's ``round`` rounds them to even)."""
    return math.floor(x + 0.5)


def memory_usage() -> dict[str, int]:
    """Stand-in for ``process.memoryUsage()``: the same three fields, a heap-sized number."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"heapUsed": rss, "heapTotal": rss, "external": 0}


def performance_entry(function: str, duration_ms: int, success: bool, start: dict[str, int],
                      end: dict[str, int], at_ms: int, error: str | None) -> dict[str, Any]:
    """``performanceData`` (lines 393-404)."""
    return {
        "functionName": function,
        "duration": duration_ms,
        "success": success,
        "memory": {
            "heapUsed": end["heapUsed"] - start["heapUsed"],
            "heapTotal": end["heapTotal"],
            "external": end["external"] - start["external"],
        },
        "timestamp": iso(at_ms),
        "error": error,
    }


def log_entry(level: str, message: str, metadata: dict[str, Any] | None, at_ms: int) -> dict[str, Any]:
    """``logEntry`` (lines 514-520); JSON.stringify drops ``metadata`` when it is undefined."""
    entry: dict[str, Any] = {"level": level, "message": message}
    if metadata is not None:
        entry["metadata"] = metadata
    entry["timestamp"] = iso(at_ms)
    entry["severity"] = LOG_LEVELS[level]
    return entry


def percentiles(durations: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 of ``durations``: sorted, rank ``floor(q * (n - 1))`` (NOT in brief 000, see module doc)."""
    ordered = sorted(durations)
    if not ordered:
        return {}
    return {f"p{round(q * 100)}": ordered[math.floor(q * (len(ordered) - 1))] for q in (0.5, 0.95, 0.99)}


class UsageMonitor:
    """``RedisMonitor.trackRequest`` (lines 79-110) with its helpers (138-148, 150-172, 174-185)."""

    def __init__(self, redis: Redis, clock: Clock) -> None:
        self._redis, self._clock = redis, clock

    async def track_request(self, operation: str) -> None:
        usage_key = f"{USAGE_KEY}:{utc_day(now_ms(self._clock))}"
        try:
            current = await self._redis.incr(usage_key)  # line 85
            if current == 1:  # lines 88-93: first request of the (UTC) day
                await self._redis.expire(usage_key, seconds_to_end_of_day(now_ms(self._clock)))
            await self._update_operation_stats(operation)  # line 96
            if current >= CLEANUP_THRESHOLD:  # lines 99-101: on every request past 8,000
                await self._auto_cleanup()
            if current >= DAILY_LIMIT * 0.9:  # lines 104-106: on every request past 9,000
                await self._send_usage_alert(current)
        except Exception:  # the brief logs and swallows every monitoring error (line 107)
            log.exception("Redis monitoring error")

    async def _update_operation_stats(self, operation: str) -> None:
        stats_key = f"{STATS_KEY}:{utc_day(now_ms(self._clock))}"
        try:
            await self._redis.hincrby(stats_key, operation, 1)  # line 143
            await self._redis.expire(stats_key, DAY_S)  # line 144
        except Exception:
            log.exception("Failed to update operation stats")

    async def _auto_cleanup(self) -> None:
        try:
            keys: list[str] = await self._redis.keys("cache:*")  # line 155
            old = [key for key in keys if await self._redis.ttl(key) < 3600]  # lines 158-163, one TTL per key
            if old:
                await self._redis.delete(*old)  # line 166
        except Exception:
            log.exception("Auto-cleanup failed")

    async def _send_usage_alert(self, current: int) -> None:
        at = now_ms(self._clock)
        alert = {
            "type": "redis_usage_high",
            "message": f"Redis usage is high: {current}/{DAILY_LIMIT} requests",
            "timestamp": iso(at),
            "severity": "critical" if current >= DAILY_LIMIT else "warning",
        }
        await self._redis.setex(ALERT_KEY, ALERT_TTL_S, stringify(alert))  # line 183


class PerformanceLogger:
    """``PerformanceLogger.log`` (lines 508-548) and ``getLogSummary`` (576-610)."""

    def __init__(self, redis: Redis, clock: Clock) -> None:
        self._redis, self._clock = redis, clock

    async def log(self, level: str, message: str, metadata: dict[str, Any] | None = None) -> None:
        at = now_ms(self._clock)
        key = f"{LOG_KEY}:{utc_day(at)}"
        try:
            await self._redis.lpush(key, stringify(log_entry(level, message, metadata, at)))  # line 543
            await self._redis.expire(key, DAY_S)  # line 544
            await self._redis.ltrim(key, 0, MAX_LOGS_PER_DAY - 1)  # line 547
        except Exception:
            log.exception("Logging failed")

    async def summary(self) -> tuple[int, dict[str, int], list[dict[str, Any]]]:
        """(totalLogs, logsByLevel, recentCritical): LRANGE 0 -1 of the whole day, every entry parsed."""
        key = f"{LOG_KEY}:{utc_day(now_ms(self._clock))}"
        logs = [json.loads(raw) for raw in await self._redis.lrange(key, 0, -1)]  # lines 585-586
        by_level = {level: sum(1 for e in logs if e["level"] == level) for level in LOG_LEVELS}
        critical = [e for e in logs if e["level"] == "CRITICAL"][:5]
        return len(logs), by_level, critical


@dataclass(frozen=True)
class PerformanceMetrics:
    """``getPerformanceMetrics`` (lines 440-486), plus the entry count and durations it computed from."""

    count: int
    average_ms: int
    success_rate: int
    memory: dict[str, int] | None
    recent_errors: list[dict[str, Any]]
    durations: list[float] = field(repr=False)


class FunctionMonitor:
    """``VercelMonitor``: ``trackFunctionPerformance`` (355-379), ``recordPerformance`` (381-438), metrics."""

    def __init__(self, redis: Redis, clock: Clock) -> None:
        self._redis, self._clock = redis, clock

    async def track(self, function: str, operation: Callable[[], Awaitable[T]]) -> T:
        start, start_memory = now_ms(self._clock), memory_usage()
        # Promise.race with a 9 s timer (lines 364-368): the operation is not cancelled, only abandoned.
        task = asyncio.ensure_future(operation())
        try:
            result = await asyncio.wait_for(asyncio.shield(task), (FUNCTION_TIMEOUT_MS - 1000) / 1000)
        except TimeoutError as e:
            await self._record(function, start, start_memory, False, "Function timeout")
            raise TimeoutError("Function timeout") from e
        except Exception as e:
            await self._record(function, start, start_memory, False, str(e))
            raise
        await self._record(function, start, start_memory, True, None)
        return result

    async def _record(self, function: str, start: int, start_memory: dict[str, int], success: bool,
                      error: str | None) -> None:
        try:
            end, end_memory = now_ms(self._clock), memory_usage()
            entry = performance_entry(function, end - start, success, start_memory, end_memory, end, error)
            key = f"{PERFORMANCE_KEY}:{utc_day(end)}"
            await self._redis.lpush(key, stringify(entry))  # line 410
            await self._redis.expire(key, DAY_S)  # line 411
            await self._redis.ltrim(key, 0, MAX_PERFORMANCE_ENTRIES - 1)  # line 414
            memory = {**end_memory, "timestamp": now_ms(self._clock)}  # lines 427-432
            await self._redis.setex(f"{MEMORY_KEY}:{function}", MEMORY_TTL_S, stringify(memory))  # line 434
        except Exception:
            log.exception("Performance monitoring error")

    async def metrics(self, function: str | None = None) -> PerformanceMetrics:
        key = f"{PERFORMANCE_KEY}:{utc_day(now_ms(self._clock))}"
        data = [json.loads(raw) for raw in await self._redis.lrange(key, 0, -1)]  # lines 450-451
        if function:
            data = [d for d in data if d["functionName"] == function]
        if not data:
            return PerformanceMetrics(0, 0, 100, None, [], [])
        durations = [float(d["duration"]) for d in data]
        successes = sum(1 for d in data if d["success"])
        return PerformanceMetrics(
            count=len(data),
            average_ms=js_round(sum(durations) / len(data)),
            success_rate=js_round(successes / len(data) * 100),
            memory=data[0]["memory"],
            recent_errors=[d for d in data if not d["success"]][:10],
            durations=durations,
        )


@dataclass(frozen=True)
class BaselineStats:
    """The body of ``GET /api/monitoring/performance`` (lines 682-686), flattened."""

    count: int  # entries the average was computed over: capped at 1,000 by LTRIM
    average_ms: int
    success_rate: int
    memory: dict[str, int] | None
    recent_errors: list[dict[str, Any]]
    total_logs: int  # capped at 10,000 by LTRIM
    logs_by_level: dict[str, int]
    recent_critical: list[dict[str, Any]]
    percentiles_ms: dict[str, float]  # not in the brief (see module doc)


class BaselineTracker:
    """One app instance wired as brief 000 says: tracked requests and the performance stats route.

    Parameters
    ----------
    redis:
        The async SDK client, created once per instance (the brief's ``@/lib/redis``).
    clock:
        Wall-clock seconds; a fake clock makes day keys and TTLs deterministic.
    middleware_log:
        Also run the global middleware of lines 884-901 (one more log line, 3 more commands per API
        request). Off by default: the three components of the integration example are the baseline.

    Example
    -------
    >>> tracker = BaselineTracker(Redis(url, token))           # doctest: +SKIP
    >>> await tracker.track("mcp-query", handler)               # doctest: +SKIP
    >>> (await tracker.read("mcp-query")).count                 # doctest: +SKIP
    """

    def __init__(self, redis: Redis, clock: Clock = time.time, *, middleware_log: bool = False) -> None:
        self.redis = redis
        self.clock = clock
        self.middleware_log = middleware_log
        self.usage = UsageMonitor(redis, clock)
        self.logger = PerformanceLogger(redis, clock)
        self.functions = FunctionMonitor(redis, clock)

    async def _middleware(self, path: str, method: str) -> None:
        if self.middleware_log:  # lines 885-898: duration measured before the route ran, so ~0
            start = now_ms(self.clock)
            await self.logger.log("INFO", "API request", {"path": path, "method": method,
                                                          "duration": now_ms(self.clock) - start, "status": 200})

    async def track(self, function: str, handler: Callable[[], Awaitable[T]]) -> T:
        """One tracked API request (lines 868-875): ``handler`` is the route's own work."""
        await self._middleware(f"/api/{function}", "POST")

        async def operation() -> T:
            await self.usage.track_request(function.replace("-", "_"))
            await self.logger.log("INFO", "MCP query initiated")
            return await handler()

        return await self.functions.track(function, operation)

    async def read(self, function: str | None = None) -> BaselineStats:
        """``GET /api/monitoring/performance[?function=]`` (lines 671-694), tracked like any route."""
        await self._middleware("/api/monitoring/performance", "GET")

        async def operation() -> BaselineStats:
            metrics, (total, by_level, critical) = await asyncio.gather(
                self.functions.metrics(function), self.logger.summary()
            )
            return BaselineStats(
                count=metrics.count, average_ms=metrics.average_ms, success_rate=metrics.success_rate,
                memory=metrics.memory, recent_errors=metrics.recent_errors, total_logs=total,
                logs_by_level=by_level, recent_critical=critical, percentiles_ms=percentiles(metrics.durations),
            )

        return await self.functions.track("performance-stats", operation)

    async def aclose(self) -> None:
        await self.redis.close()

"""The benchmark baseline (benchmarks/baseline_original.py) is faithful to brief 000: per tracked request the
gateway counts exactly the commands the brief's code sends, Redis runs them in the brief's order on its keys
with its TTLs, and the stats read counts what was tracked (until LTRIM caps it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any, cast

import redis
from upstash_redis.asyncio import Redis

from benchmarks import baseline_original as base
from tests.functional.conftest import gateway_stats

DAY = "2040-02-29"
NOON = dt.datetime(2040, 2, 29, 12, tzinfo=dt.UTC).timestamp()
# Brief 000, one tracked request (integration example, lines 868-875), in order: (command, key, line).
SEQUENCE = [
    ("INCR", "redis:daily_usage", 85),       # RedisMonitor.trackRequest
    ("EXPIRE", "redis:daily_usage", 92),     # only when INCR returned 1: the day's first request
    ("HINCRBY", "redis:stats", 143),         # updateOperationStats
    ("EXPIRE", "redis:stats", 144),
    ("LPUSH", "logs:performance", 543),      # PerformanceLogger.log -> storeInRedis
    ("EXPIRE", "logs:performance", 544),
    ("LTRIM", "logs:performance", 547),
    ("LPUSH", "vercel:performance", 410),    # trackFunctionPerformance -> recordPerformance, after the route
    ("EXPIRE", "vercel:performance", 411),
    ("LTRIM", "vercel:performance", 414),
    ("SETEX", "vercel:memory", 434),         # updateMemoryStats
]
FIRST_OF_DAY = [(c, k) for c, k, _ in SEQUENCE]
STEADY = [(c, k) for c, k, line in SEQUENCE if line != 92]
# GET /api/monitoring/performance (lines 671-694): two LRANGE 0 -1 in parallel, then its own recordPerformance.
READ = Counter({"LRANGE": 2, "LPUSH": 1, "EXPIRE": 1, "LTRIM": 1, "SETEX": 1})


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def redis_log(direct: redis.Redis) -> Iterator[list[tuple[str, str]]]:
    """(command, key family) of every command Redis ran inside the block, in order (SLOWLOG at 0 us)."""
    previous = str(direct.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"])
    direct.config_set("slowlog-log-slower-than", 0)
    direct.slowlog_reset()
    ran: list[tuple[str, str]] = []
    try:
        yield ran
    finally:
        entries = direct.slowlog_get(128)
        direct.config_set("slowlog-log-slower-than", previous)
    for entry in reversed(entries):
        command = entry["command"]
        text = command.decode() if isinstance(command, bytes) else str(command)
        name, key = (text.split() + [""])[:2]
        if name.upper() not in ("SLOWLOG", "CONFIG", "COMMAND"):  # ours, and the gateway's own introspection
            ran.append((name.upper(), key.rsplit(":", 1)[0] if key.count(":") >= 2 else key))


def commands(stack: Any) -> Counter[str]:
    stats = gateway_stats(stack.upstash.url, stack.services.secrets.upstash_token)
    return Counter(cast(dict[str, int], stats["by_command"]))


async def _route() -> None:
    return None


async def test_five_tracked_requests_cost_what_brief_000_sends(stack: Any) -> None:
    clock = Clock(NOON)
    tracker = base.BaselineTracker(Redis(stack.upstash.url, stack.services.secrets.upstash_token), clock)
    direct = redis.Redis.from_url(stack.services.redis.url, decode_responses=True)
    try:
        per_request, ran = [], []
        for _ in range(5):
            before = commands(stack)
            clock.now += 1
            with redis_log(direct) as in_redis:
                await tracker.track("mcp-query", _route)
            per_request.append(commands(stack) - before)
            ran.append(in_redis)
        # The gateway counted 11 commands for the day's first request and 10 for each next one ...
        assert per_request == [Counter(c for c, _ in FIRST_OF_DAY)] + [Counter(c for c, _ in STEADY)] * 4
        assert [sum(c.values()) for c in per_request] == [11, 10, 10, 10, 10]
        # ... and Redis ran them in the brief's order, on the brief's keys.
        assert ran == [FIRST_OF_DAY] + [STEADY] * 4

        # Keys and TTLs as the brief sets them (the usage key's TTL is computed on the fake clock).
        assert direct.get(f"redis:daily_usage:{DAY}") == "5"
        assert abs(direct.ttl(f"redis:daily_usage:{DAY}") - (12 * 3600 - 2)) <= 2
        assert direct.hgetall(f"redis:stats:{DAY}") == {"mcp_query": "5"}
        for key in (f"redis:stats:{DAY}", f"logs:performance:{DAY}", f"vercel:performance:{DAY}"):
            assert 86_400 - direct.ttl(key) <= 2
        assert 3_600 - direct.ttl("vercel:memory:mcp-query") <= 2
        newest = json.loads(direct.lindex(f"vercel:performance:{DAY}", 0) or "{}")
        assert list(newest) == ["functionName", "duration", "success", "memory", "timestamp", "error"]
        assert newest["timestamp"] == "2040-02-29T12:00:05.000Z" and newest["error"] is None
        line = json.loads(direct.lindex(f"logs:performance:{DAY}", 0) or "{}")
        assert line == {"level": "INFO", "message": "MCP query initiated",
                        "timestamp": "2040-02-29T12:00:05.000Z", "severity": 1}

        before = commands(stack)
        stats = await tracker.read("mcp-query")
        assert commands(stack) - before == READ
        assert (stats.count, stats.total_logs, stats.success_rate) == (5, 5, 100)

        # LTRIM caps the day's performance list at 1,000: past it the read's count is wrong.
        perf_key = f"vercel:performance:{DAY}"
        entry = base.stringify(base.performance_entry("mcp-query", 80, True, base.memory_usage(),
                                                      base.memory_usage(), 0, None))
        direct.lpush(perf_key, *[entry] * 1_500)
        await tracker.track("mcp-query", _route)
        assert direct.llen(perf_key) == 1_000
        assert (await tracker.read("mcp-query")).count == 1_000  # of 1,506 tracked
    finally:
        await tracker.aclose()
        direct.close()

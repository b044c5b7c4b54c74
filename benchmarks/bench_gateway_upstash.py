"""Upstash gateway overhead: the upstash-redis sync SDK through the local gateway vs redis-py straight to Redis.

Both clients talk to the same real Redis over loopback TCP with keep-alive. The gateway runs in its own
uvicorn process (in-thread it would share the GIL with the client and look slower than it is). Calls are
interleaved (one direct, one through the gateway) so machine noise hits both alike; each row is the latency
of one call (one SET, one GET, or one 10-command pipeline) and the ratio compares medians. The "HTTP floor"
row is a request that never reaches Redis: most of the gateway's cost is the Python HTTP stack itself.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import redis
import upstash_redis

from benchmarks._harness import served_process, time_us
from devstack.services.redis_server import RedisServer, start_redis

_TOKEN = "bench-token"
_SERVE = (
    "import os, uvicorn; from devstack.upstash_gateway import create_app; "
    "uvicorn.run(create_app(token=os.environ['GW_TOKEN'], redis_url=os.environ['GW_REDIS'] or None), "
    "host='127.0.0.1', port=int(os.environ['GW_PORT']), log_level='warning', access_log=False)"
)


def _gateway_process(redis_url: str | None) -> AbstractContextManager[str]:
    """The gateway under uvicorn in a child process."""
    return served_process(_SERVE, {"GW_TOKEN": _TOKEN, "GW_REDIS": redis_url or ""},
                          lambda url: httpx.post(url, json=["PING"], headers={"Authorization": f"Bearer {_TOKEN}"}).status_code == 200)


def _pipeline_direct(client: redis.Redis) -> Callable[[], object]:
    def call() -> object:
        pipe = client.pipeline(transaction=False)
        for i in range(5):
            pipe.set(f"bench:p{i}", i)
            pipe.get(f"bench:p{i}")
        return pipe.execute()

    return call


def _pipeline_sdk(sdk: upstash_redis.Redis) -> Callable[[], object]:
    def call() -> object:
        pipe = sdk.pipeline()
        for i in range(5):
            pipe.set(f"bench:p{i}", i)
            pipe.get(f"bench:p{i}")
        return pipe.exec()

    return call


def _rows(
    case: str, n: int, direct: list[float], gateway: list[float], server: RedisServer
) -> list[dict[str, Any]]:
    d_med, g_med = statistics.median(direct), statistics.median(gateway)
    backend = f"{server.kind} {server.version}"

    def row(path: str, samples: list[float], ratio: str) -> dict[str, Any]:
        return {
            "benchmark": "upstash gateway",
            "case": f"{case}: {path}",
            "n": n,
            "median_us": round(statistics.median(samples), 1),
            "p95_us": round(statistics.quantiles(samples, n=20)[-1], 1),
            "ratio": ratio,
            "note": backend,
        }

    return [
        row("redis-py direct", direct, "1.00x"),
        row("SDK via gateway", gateway, f"{g_med / d_med:.2f}x direct"),
    ]


def _http_floor(url: str, n: int, server: RedisServer) -> dict[str, Any]:
    """Raw httpx to ``/_local/stats`` (auth + JSON, no Redis): the part of the cost that is just HTTP."""
    with httpx.Client(headers={"Authorization": f"Bearer {_TOKEN}"}) as client:
        for _ in range(min(200, n)):
            client.get(f"{url}/_local/stats")
        samples = [time_us(lambda: client.get(f"{url}/_local/stats")) for _ in range(n)]
    return {
        "benchmark": "upstash gateway",
        "case": "HTTP floor: httpx GET /_local/stats (no Redis)",
        "n": n,
        "median_us": round(statistics.median(samples), 1),
        "p95_us": round(statistics.quantiles(samples, n=20)[-1], 1),
        "ratio": "",
        "note": "uvicorn (h11, asyncio loop) + Starlette + httpx",
    }


def run(n: int = 2000) -> list[dict[str, Any]]:
    """Time ``n`` SETs, ``n`` GETs and ``n`` 10-command pipelines each way; return one row per (case, path)."""
    with tempfile.TemporaryDirectory(prefix="bench-upstash-") as tmp:
        server = start_redis(Path(tmp))
        if server.url is None:
            raise RuntimeError("no redis-server binary: the benchmark needs a real Redis to compare against")
        try:
            with _gateway_process(server.url) as url, upstash_redis.Redis(url=url, token=_TOKEN) as sdk:
                direct = redis.Redis.from_url(server.url)
                cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
                    ("SET", lambda: direct.set("bench:k", "v" * 32), lambda: sdk.set("bench:k", "v" * 32)),
                    ("GET", lambda: direct.get("bench:k"), lambda: sdk.get("bench:k")),
                    ("pipeline of 10", _pipeline_direct(direct), _pipeline_sdk(sdk)),
                ]
                rows: list[dict[str, Any]] = []
                for case, via_redis, via_gateway in cases:
                    for _ in range(min(200, n)):  # warm-up: connections, caches, the gateway's lazy paths
                        via_redis()
                        via_gateway()
                    d_samples, g_samples = [], []
                    for _ in range(n):
                        d_samples.append(time_us(via_redis))
                        g_samples.append(time_us(via_gateway))
                    rows += _rows(case, n, d_samples, g_samples, server)
                direct.close()
                rows.append(_http_floor(url, n, server))
                return rows
        finally:
            server.stop()


if __name__ == "__main__":
    for result in run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000):
        print(result)

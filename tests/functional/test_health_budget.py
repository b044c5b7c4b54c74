"""The public readiness endpoint must not spend the Upstash budget it protects, nor leak internals."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest

from tests.functional.conftest import gateway_stats


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    from functions.health_detailed.app import _results

    _results.clear()
    yield
    _results.clear()


def client() -> httpx.AsyncClient:
    from functions.health_detailed.app import app

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def pings(stack: Any, env: dict[str, str]) -> int:
    stats = gateway_stats(stack.upstash.url, env["UPSTASH_REDIS_REST_TOKEN"])
    return int(stats["by_command"].get("PING", 0))  # type: ignore[union-attr]


async def test_polling_within_the_cache_costs_one_command(stack_env: dict[str, str], stack: Any) -> None:
    before = pings(stack, stack_env)
    async with client() as c:
        first = await c.get("/api/health/detailed")
        await asyncio.sleep(0.3)
        rest = [await c.get("/api/health/detailed") for _ in range(20)]
    assert pings(stack, stack_env) - before == 1
    assert first.status_code == 200 and first.json()["age_s"] < 0.3
    assert all(r.status_code == 200 for r in rest)
    assert rest[-1].json()["age_s"] >= 0.3 and rest[-1].headers["age"] == "0"
    assert rest[-1].headers["cache-control"] == "no-store"


async def test_concurrent_callers_share_one_run(stack_env: dict[str, str], stack: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWATCH_HEALTH_CACHE_S", "0")  # nothing cached: only coalescing saves commands
    before = pings(stack, stack_env)
    async with client() as c:
        responses = await asyncio.gather(*(c.get("/api/health/detailed") for _ in range(30)))
    assert {r.status_code for r in responses} == {200}
    assert pings(stack, stack_env) - before == 1
    async with client() as c:
        await c.get("/api/health/detailed")
    assert pings(stack, stack_env) - before == 2  # and a later call runs the checks again


async def test_expired_results_are_checked_again(stack_env: dict[str, str], stack: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWATCH_HEALTH_CACHE_S", "0.2")
    before = pings(stack, stack_env)
    async with client() as c:
        await c.get("/api/health/detailed")
        await asyncio.sleep(0.25)
        await c.get("/api/health/detailed")
    assert pings(stack, stack_env) - before == 2


async def test_public_callers_see_statuses_only(stack_env: dict[str, str], closed_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPABASE_URL", closed_url)  # an error text that names an internal host and port
    port = closed_url.rsplit(":", 1)[1]
    async with client() as c:
        public = await c.get("/api/health/detailed")
        detailed = await c.get("/api/health/detailed",
                               headers={"Authorization": f"Bearer {stack_env['TIERWATCH_READ_TOKEN']}"})
        admin = await c.get("/api/health/detailed",
                            headers={"Authorization": f"Bearer {stack_env['TIERWATCH_ADMIN_TOKEN']}"})
        wrong = await c.get("/api/health/detailed", headers={"Authorization": "Bearer not-the-token"})
    assert public.status_code == 503 and public.json()["detailed"] is False
    assert {c["error"] for c in public.json()["checks"].values()} == {None}
    assert {c["latency_ms"] for c in public.json()["checks"].values()} == {None}
    assert port not in public.text and "127.0.0.1" not in public.text
    assert detailed.json()["detailed"] is True and admin.json()["detailed"] is True
    assert "ConnectError" in detailed.json()["checks"]["supabase"]["error"]
    assert detailed.json()["checks"]["upstash"]["latency_ms"] > 0
    assert wrong.status_code == 401


@pytest.fixture
def endless_url() -> Iterator[str]:
    """A dependency that answers 200 and then streams a body that never ends."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
            chunk = b"x" * 65536
            while not stop.is_set():
                conn.sendall(chunk)
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


async def test_an_endless_body_is_never_read(stack_env: dict[str, str], endless_url: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWATCH_HEALTH_URLS", f"{endless_url}/stream")
    rss_before = psutil.Process(os.getpid()).memory_info().rss
    started = time.monotonic()
    async with client() as c:
        response = await c.get("/api/health/detailed",
                               headers={"Authorization": f"Bearer {stack_env['TIERWATCH_READ_TOKEN']}"})
    assert time.monotonic() - started < 1.5
    grown = psutil.Process(os.getpid()).memory_info().rss - rss_before
    assert grown < 30 * 1024 * 1024, f"grew by {grown / 1e6:.0f} MB"
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["127.0.0.1:" + endless_url.rsplit(":", 1)[1] + "/stream"]["status"] == "healthy"


async def test_urls_that_differ_only_by_port_keep_both_results(
    stack_env: dict[str, str], closed_url: str, endless_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERWATCH_HEALTH_URLS", f"{endless_url}/ping,{closed_url}/ping,{closed_url}/ping?a=1")
    async with client() as c:
        response = await c.get("/api/health/detailed",
                               headers={"Authorization": f"Bearer {stack_env['TIERWATCH_READ_TOKEN']}"})
    checks = response.json()["checks"]
    extra = {name: c["status"] for name, c in checks.items() if name not in ("upstash", "supabase")}
    closed_port, open_port = closed_url.rsplit(":", 1)[1], endless_url.rsplit(":", 1)[1]
    assert extra == {f"127.0.0.1:{open_port}/ping": "healthy", f"127.0.0.1:{closed_port}/ping": "unhealthy",
                     f"127.0.0.1:{closed_port}/ping#2": "unhealthy"}
    assert response.json()["status"] == "degraded"

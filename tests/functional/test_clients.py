"""The clients: one per warm instance, SDK retries off, finite timeouts, real calls through the gateways."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from shared import clients
from shared.errors import ConfigError
from shared.settings import get_settings


async def test_clients_are_reused_within_an_instance(stack_env: dict[str, str]) -> None:
    settings = get_settings()
    assert clients.upstash(settings) is clients.upstash(settings)
    assert clients.supabase(settings) is clients.supabase(settings)


async def test_sdk_retries_are_off_and_timeouts_finite(stack_env: dict[str, str]) -> None:
    """upstash-redis has no public timeout option: its calls are bounded by the guard (see test_health)."""
    redis = clients.upstash(get_settings())
    assert redis._http._retries == 0
    db = clients.supabase(get_settings())
    assert db.retry_enabled is False
    assert db.session.timeout.read is not None


async def test_real_calls_through_the_gateways(stack_env: dict[str, str]) -> None:
    settings = get_settings()
    redis = clients.upstash(settings)
    pipe = redis.pipeline()
    pipe.set("tw:test:clients", "v1")
    pipe.get("tw:test:clients")
    assert await pipe.exec() == [True, "v1"]
    result = await clients.supabase(settings).rpc("tierwatch_health", {}).execute()
    assert result.data["ok"] is True


async def test_a_dead_upstash_fails_fast_without_the_sdk_retry_sleep(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """upstash-redis would sleep 3 s and retry once by default."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    started = time.monotonic()
    with pytest.raises(httpx.ConnectError):
        await clients.upstash(get_settings()).ping()
    assert time.monotonic() - started < 1.0


async def test_unconfigured_client_names_the_variables() -> None:
    with pytest.raises(ConfigError) as info:
        clients.supabase(get_settings())
    assert set(info.value.problems) == {"SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY"}


def test_a_new_event_loop_never_gets_a_dead_loops_client(stack_env: dict[str, str]) -> None:
    """Closed loops' ids are reused by new loops: the cache must key on the loop itself."""
    seen: list[object] = []

    async def one_run() -> str:
        client = clients.upstash(get_settings())
        assert all(client is not old for old in seen)
        seen.append(client)
        return str(await client.ping())

    assert [asyncio.run(one_run()) for _ in range(30)] == ["PONG"] * 30


async def test_a_replaced_client_is_closed(stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    old_redis, old_db = clients.upstash(get_settings()), clients.supabase(get_settings())
    monkeypatch.setenv("TIERWATCH_CHECK_TIMEOUT_MS", "1500")  # new settings, same loop
    get_settings.cache_clear()
    new_redis, new_db = clients.upstash(get_settings()), clients.supabase(get_settings())
    assert new_redis is not old_redis and new_db is not old_db
    for _ in range(5):
        await asyncio.sleep(0)
    assert old_redis._http._client.is_closed and old_db.session.is_closed
    assert await new_redis.ping() == "PONG"

"""Upstash and Supabase clients, created once per warm instance and imported lazily.

The SDK defaults are unsafe inside a function: upstash-redis uses ``httpx.AsyncClient(timeout=None)``
and sleeps 3 s before one retry; postgrest retries GETs with 1/2/4 s sleeps. Here retries are off, the
HTTP client has finite timeouts, and callers bound every call with ``Guard.run``.

Supabase is reached through ``postgrest.AsyncPostgrestClient``: the PostgREST client that supabase-py
itself uses for ``.rpc()``/``.table()``, configured as supabase-py configures it, without importing
the auth, storage and realtime clients (half of ``import supabase``'s cold-start cost).

Clients are cached per event loop: an httpx pool is bound to the loop that opened it, and tests (or a
runtime that replaces its loop) must not reuse a dead one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from shared.settings import Settings

if TYPE_CHECKING:
    from postgrest import AsyncPostgrestClient
    from upstash_redis.asyncio import Redis

# Deliberate per-instance caches: (event loop, settings identity) -> client.
_redis: dict[tuple[int, int], Redis] = {}
_postgrest: dict[tuple[int, int], AsyncPostgrestClient] = {}


def _http_timeout(settings: Settings) -> Any:
    import httpx

    seconds = settings.check_timeout_ms / 1000.0
    return httpx.Timeout(connect=min(seconds, 3.0), read=seconds * 5, write=seconds, pool=seconds)


def _key(settings: Settings) -> tuple[int, int]:
    return id(asyncio.get_running_loop()), id(settings)


def upstash(settings: Settings) -> Redis:
    """The async Upstash client for this instance (``ConfigError`` if not configured)."""
    key = _key(settings)
    client = _redis.get(key)
    if client is None:
        import httpx
        from upstash_redis.asyncio import Redis

        url, token = settings.upstash()
        client = Redis(url=url, token=token, rest_retries=0, allow_telemetry=False, read_your_writes=True)
        client._http._client = httpx.AsyncClient(timeout=_http_timeout(settings))
        _redis.clear()
        _redis[key] = client
    return client


def supabase(settings: Settings) -> AsyncPostgrestClient:
    """The async PostgREST client for this instance, authenticated as service_role."""
    key = _key(settings)
    client = _postgrest.get(key)
    if client is None:
        import httpx
        from postgrest import AsyncPostgrestClient

        url, service_key = settings.supabase()
        headers = {"apikey": service_key, "Authorization": f"Bearer {service_key}"}
        rest_url = f"{url}/rest/v1"
        session = httpx.AsyncClient(base_url=rest_url, headers=headers, timeout=_http_timeout(settings))
        client = AsyncPostgrestClient(rest_url, headers=headers, http_client=session, retry_enabled=False)
        _postgrest.clear()
        _postgrest[key] = client
    return client

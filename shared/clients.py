"""Upstash and Supabase clients, created once per warm instance and imported lazily.

The SDK defaults are unsafe inside a function: upstash-redis retries once after sleeping 3 s, and
postgrest retries GETs with 1/2/4 s sleeps. Here retries are off, and every call is bounded by
``Guard.run`` (upstash-redis has no public timeout option, so the guard is its only bound; the
PostgREST session gets finite httpx timeouts as well).

Supabase is reached through ``postgrest.AsyncPostgrestClient``: the PostgREST client that supabase-py
itself uses for ``.rpc()``/``.table()``, configured as supabase-py configures it, without importing
the auth, storage and realtime clients (half of ``import supabase``'s cold-start cost).

An httpx pool belongs to the event loop that opened it, so clients are cached per loop, keyed by the
loop object itself (weakly: a closed loop's entry goes with it, and a new loop that reuses the old one's
``id()`` can never get its dead client). A client replaced because the settings changed is closed.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from shared.settings import Settings

if TYPE_CHECKING:
    from postgrest import AsyncPostgrestClient
    from upstash_redis.asyncio import Redis


C = TypeVar("C")


class _PerLoop(Generic[C]):
    """One client per (event loop, settings): the deliberate per-instance cache."""

    def __init__(self, build: Callable[[Settings], tuple[C, Any]]) -> None:
        self._build = build
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Settings, C, Any]] = (
            weakref.WeakKeyDictionary()
        )
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, settings: Settings) -> C:
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(loop)
        # identity, not id(): the entry holds its settings alive, so a new object cannot reuse the id
        if entry is not None and entry[0] is settings:
            return entry[1]
        if entry is not None:  # settings were rebuilt: close the old pool on this (live) loop
            task = loop.create_task(_close(entry[2]))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        client, closer = self._build(settings)
        self._by_loop[loop] = (settings, client, closer)
        return client

    async def close_all(self) -> None:
        """Close this loop's client (tests, and the local stack on shutdown)."""
        entry = self._by_loop.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await _close(entry[2])


async def _close(closer: Any) -> None:
    try:
        await closer()
    except Exception:  # noqa: S110 - closing a pool that already failed is not an error worth raising
        pass


def _http_timeout(settings: Settings) -> Any:
    import httpx

    seconds = settings.check_timeout_ms / 1000.0
    return httpx.Timeout(connect=min(seconds, 3.0), read=seconds * 5, write=seconds, pool=seconds)


def _build_upstash(settings: Settings) -> tuple[Redis, Any]:
    from upstash_redis.asyncio import Redis

    url, token = settings.upstash()
    client = Redis(url=url, token=token, rest_retries=0, allow_telemetry=False, read_your_writes=True)
    return client, client.close


def _build_supabase(settings: Settings) -> tuple[AsyncPostgrestClient, Any]:
    import httpx
    from postgrest import AsyncPostgrestClient

    url, service_key = settings.supabase()
    headers = {"apikey": service_key, "Authorization": f"Bearer {service_key}"}
    rest_url = f"{url}/rest/v1"
    session = httpx.AsyncClient(base_url=rest_url, headers=headers, timeout=_http_timeout(settings))
    client = AsyncPostgrestClient(rest_url, headers=headers, http_client=session, retry_enabled=False)
    return client, session.aclose


_upstash: _PerLoop[Redis] = _PerLoop(_build_upstash)
_supabase: _PerLoop[AsyncPostgrestClient] = _PerLoop(_build_supabase)


def upstash(settings: Settings) -> Redis:
    """The async Upstash client for this instance and loop (``ConfigError`` if not configured)."""
    return _upstash.get(settings)


def supabase(settings: Settings) -> AsyncPostgrestClient:
    """The async PostgREST client for this instance and loop, authenticated as service_role."""
    return _supabase.get(settings)


async def close_clients() -> None:
    """Close the clients bound to the running loop."""
    await _upstash.close_all()
    await _supabase.close_all()

"""The individual readiness checks: each is bounded by the guard and never raises.

A check that times out reports ``unhealthy`` with "timeout after N ms" well inside the function's
deadline; any other failure reports its exception class and message, with secrets redacted.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from shared import clients
from shared.errors import ConfigError, DeadlineExceeded
from shared.guard import Guard
from shared.settings import Settings

Status = Literal["healthy", "degraded", "unhealthy"]


class CheckResult(BaseModel):
    name: str
    status: Status
    latency_ms: float | None = None
    error: str | None = None
    critical: bool = True


async def _timed(name: str, probe: Callable[[], Awaitable[None]], guard: Guard, cap_s: float,
                 settings: Settings, critical: bool = True) -> CheckResult:
    started = time.perf_counter()
    try:
        await guard.run(probe, op=name, cap_s=cap_s)
    except DeadlineExceeded as exc:
        return CheckResult(name=name, status="unhealthy", error=exc.message.removeprefix(f"{name}: "),
                           critical=critical)
    except ConfigError as exc:
        return CheckResult(name=name, status="unhealthy", error=f"not configured: {exc.message}",
                           critical=critical)
    except Exception as exc:  # a health check reports every failure instead of raising
        return CheckResult(name=name, status="unhealthy", critical=critical,
                           error=settings.redact(f"{type(exc).__name__}: {exc}")[:300])
    latency = round((time.perf_counter() - started) * 1000, 2)
    return CheckResult(name=name, status="healthy", latency_ms=latency, critical=critical)


async def check_upstash(settings: Settings, guard: Guard, cap_s: float) -> CheckResult:
    """One PING through the Upstash REST API: one command of the monthly budget."""

    async def probe() -> None:
        reply = await clients.upstash(settings).ping()
        if reply != "PONG":
            raise RuntimeError(f"unexpected PING reply {reply!r}")

    return await _timed("upstash", probe, guard, cap_s, settings)


async def check_supabase(settings: Settings, guard: Guard, cap_s: float) -> CheckResult:
    """One call of the ``tierwatch_health`` RPC, which proves PostgREST, Postgres and our migrations."""

    async def probe() -> None:
        result = await clients.supabase(settings).rpc("tierwatch_health", {}).execute()
        if not isinstance(result.data, dict) or result.data.get("ok") is not True:
            raise RuntimeError("tierwatch_health did not answer ok: are the migrations applied?")

    return await _timed("supabase", probe, guard, cap_s, settings)


def dependency_name(url: str) -> str:
    """A label for an extra dependency that never shows its query string or credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}{parts.path.rstrip('/')}" or url


async def check_url(url: str, http: httpx.AsyncClient, settings: Settings, guard: Guard,
                    cap_s: float) -> CheckResult:
    """GET an extra dependency; any 2xx/3xx is healthy. Non-critical: it degrades, never fails."""

    async def probe() -> None:
        response = await http.get(url, timeout=cap_s)
        if response.status_code >= 400:
            raise RuntimeError(f"HTTP {response.status_code}")

    result = await _timed(dependency_name(url), probe, guard, cap_s, settings, critical=False)
    if result.error:
        result.error = result.error.replace(url, dependency_name(url))
    return result

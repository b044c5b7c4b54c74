"""The individual readiness checks: each is bounded by the guard and never raises.

A check that times out reports ``unhealthy`` with "timeout after N ms" well inside the function's
deadline; any other failure reports its exception class and message, with secrets redacted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel

from shared import clients
from shared.errors import ConfigError, DeadlineExceeded, DependencyError
from shared.guard import Guard
from shared.settings import Settings

if TYPE_CHECKING:
    import httpx

Status = Literal["healthy", "degraded", "unhealthy"]


class CheckResult(BaseModel):
    name: str
    status: Status
    latency_ms: float | None = None
    error: str | None = None
    critical: bool = True

    def public(self) -> CheckResult:
        """The status without latency or error text (which may name internal hosts and ports)."""
        return self.model_copy(update={"latency_ms": None, "error": None})


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
            raise DependencyError(f"unexpected PING reply {reply!r}")

    return await _timed("upstash", probe, guard, cap_s, settings)


async def check_supabase(settings: Settings, guard: Guard, cap_s: float) -> CheckResult:
    """One call of the ``tierwatch_health`` RPC, which proves PostgREST, Postgres and our migrations."""

    async def probe() -> None:
        result = await clients.supabase(settings).rpc("tierwatch_health", {}).execute()
        if not isinstance(result.data, dict) or result.data.get("ok") is not True:
            raise DependencyError("tierwatch_health did not answer ok: are the migrations applied?")

    return await _timed("supabase", probe, guard, cap_s, settings)


def dependency_names(urls: list[str]) -> list[str]:
    """One unique label per extra dependency, never showing a query string or credentials.

    ``host[:port]/path``; URLs that still collide (same place, other query) get ``#2``, ``#3``...
    """
    names: list[str] = []
    for url in urls:
        parts = urlsplit(url)
        host = parts.hostname or ""
        base = f"{host}:{parts.port}" if parts.port else host
        name = f"{base}{parts.path.rstrip('/')}" or "url"
        candidate, n = name, 1
        while candidate in names or candidate in ("upstash", "supabase", "settings"):
            n += 1
            candidate = f"{name}#{n}"
        names.append(candidate)
    return names


async def check_url(url: str, name: str, http: httpx.AsyncClient, settings: Settings, guard: Guard,
                    cap_s: float) -> CheckResult:
    """GET an extra dependency; any 2xx/3xx is healthy. Non-critical: it degrades, never fails.

    Only the status line and headers are read, never the body: an endpoint that streams an endless
    body must not fill the function's memory.
    """

    async def probe() -> None:
        async with http.stream("GET", url, timeout=cap_s) as response:
            if response.status_code >= 400:
                raise DependencyError(f"HTTP {response.status_code}")

    result = await _timed(name, probe, guard, cap_s, settings, critical=False)
    if result.error:
        result.error = result.error.replace(url, name)
    return result


async def run_checks(settings: Settings, guard: Guard) -> list[CheckResult]:
    """Every check, concurrently, each capped by ``TIERWATCH_CHECK_TIMEOUT_MS`` and the guard."""
    import httpx  # here, not at import: a cold start that is served from the cache never needs it

    cap = settings.check_timeout_ms / 1000.0
    urls = [str(u) for u in settings.health_urls]
    async with httpx.AsyncClient(follow_redirects=False) as http:
        return list(await asyncio.gather(
            check_upstash(settings, guard, cap),
            check_supabase(settings, guard, cap),
            *(check_url(u, n, http, settings, guard, cap) for u, n in zip(urls, dependency_names(urls),
                                                                        strict=True)),
        ))

"""GET /api/health/detailed: Upstash, Supabase and extra dependencies, checked concurrently.

200 when every check is healthy, 503 otherwise. ``unhealthy`` when Upstash or Supabase fails,
``degraded`` when only an extra dependency (``TIERWATCH_HEALTH_URLS``) does.

The endpoint is public (uptime checkers poll it), so it must not spend the Upstash budget it exists to
protect: results are cached per instance for ``TIERWATCH_HEALTH_CACHE_S`` (the body says how old they
are), concurrent callers share one run of the checks, and only callers with the read token see the
details (latencies, error texts, which can name internal hosts).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from functions.health_detailed.checks import CheckResult, run_checks
from functions.registry import get
from shared.coalesce import Coalesced
from shared.guard import Guard
from shared.http import InvocationDep, caller_has, create_app, error_responses
from shared.logs import get_logger
from shared.settings import Settings

SPEC = get("health_detailed")
app = create_app(SPEC)
# Deliberate per-instance cache: one run of the checks serves every caller for the cache's lifetime.
_results: Coalesced[list[CheckResult]] = Coalesced()

Status = Literal["healthy", "degraded", "unhealthy"]


class Readiness(BaseModel):
    status: Status
    timestamp: datetime
    version: str
    function: str
    cold_start: bool
    age_s: float = Field(description="How old the check results are (served from this instance's cache).")
    detailed: bool = Field(description="Whether latencies and errors are shown (read token presented).")
    checks: dict[str, CheckResult]


def overall(results: list[CheckResult]) -> Status:
    if any(r.status != "healthy" and r.critical for r in results):
        return "unhealthy"
    if any(r.status != "healthy" for r in results):
        return "degraded"
    return "healthy"


async def _checks(settings: Settings, guard: Guard) -> tuple[list[CheckResult], float]:
    """The cached or shared run of the checks. The run bounds each check by its starter's guard; a caller
    that joined it waits at most until half its own margin is left (so the starter's own check timeouts,
    which keep the whole margin, always report first)."""
    shared_run = _results.get(settings, lambda: run_checks(settings, guard), ttl_s=settings.health_cache_s)
    try:
        cached = await asyncio.wait_for(shared_run, timeout=max(0.0, guard.remaining() - guard.margin_s / 2))
    except TimeoutError:
        return [CheckResult(name="checks", status="unhealthy",
                            error="no result within this invocation's deadline")], 0.0
    return cached.value, cached.age_s


@app.handles("readiness", response_model=Readiness, summary="Readiness of every dependency",
             responses={503: {"model": Readiness, "description": "degraded or unhealthy"},
                        **error_responses(401, 500)})
async def health_detailed(invocation: InvocationDep,
                          detailed: Annotated[bool, Depends(caller_has("read"))]) -> JSONResponse:
    settings, guard = invocation.settings, invocation.guard
    if settings is None:
        message = invocation.config_error.message if invocation.config_error else "settings not loaded"
        get_logger().warning("invalid settings", extra={"error": message})  # names variables, never values
        results = [CheckResult(name="settings", status="unhealthy", error=message)]
        age, version = 0.0, "unknown"
    else:
        results, age = await _checks(settings, guard)
        version = settings.app_version
    shown = results if detailed else [r.public() for r in results]
    body = Readiness(status=overall(results), timestamp=datetime.now(UTC), version=version,
                     function=SPEC.name, cold_start=guard.cold_start, age_s=round(age, 3), detailed=detailed,
                     checks={r.name: r for r in shown})
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if body.status == "healthy" else 503,
                        headers={"Age": str(int(age)), "Cache-Control": "no-store"})

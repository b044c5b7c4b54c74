"""GET /api/health/detailed: Upstash, Supabase and extra dependencies, checked concurrently.

200 when every check is healthy, 503 otherwise. ``unhealthy`` when Upstash or Supabase fails,
``degraded`` when only an extra dependency (``TIERWATCH_HEALTH_URLS``) does.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from functions.health_detailed.checks import CheckResult, check_supabase, check_upstash, check_url
from functions.registry import get
from shared.guard import Guard
from shared.http import Budget, create_app, error_responses
from shared.settings import Settings

SPEC = get("health_detailed")
app = create_app(SPEC)


class Readiness(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    timestamp: datetime
    version: str
    function: str
    cold_start: bool
    checks: dict[str, CheckResult]


def overall(results: list[CheckResult]) -> Literal["healthy", "degraded", "unhealthy"]:
    if any(r.status != "healthy" and r.critical for r in results):
        return "unhealthy"
    if any(r.status != "healthy" for r in results):
        return "degraded"
    return "healthy"


async def run_checks(settings: Settings, budget: Guard) -> list[CheckResult]:
    cap = settings.check_timeout_ms / 1000.0
    async with httpx.AsyncClient(follow_redirects=False) as http:
        return list(await asyncio.gather(
            check_upstash(settings, budget, cap),
            check_supabase(settings, budget, cap),
            *(check_url(str(u), http, settings, budget, cap) for u in settings.health_urls),
        ))


@app.get(SPEC.routes[0].path, response_model=Readiness, summary="Readiness of every dependency",
         responses={503: {"model": Readiness, "description": "degraded or unhealthy"},
                    **error_responses(500)})
async def health_detailed(request: Request, budget: Budget) -> JSONResponse:
    settings: Settings | None = request.state.settings
    if settings is None:
        error = request.state.config_error
        results = [CheckResult(name="settings", status="unhealthy", error=error.message)]
        version = "unknown"
    else:
        results = await run_checks(settings, budget)
        version = settings.app_version
    body = Readiness(status=overall(results), timestamp=datetime.now(UTC), version=version,
                     function=SPEC.name, cold_start=budget.cold_start,
                     checks={r.name: r for r in results})
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if body.status == "healthy" else 503)

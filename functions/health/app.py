"""GET /api/health: liveness. No I/O and no configuration needed, so it answers even when misconfigured."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import Request
from pydantic import BaseModel

from functions.registry import get
from shared.http import Budget, create_app

SPEC = get("health")
app = create_app(SPEC)


class Liveness(BaseModel):
    status: Literal["ok"]
    function: str
    version: str
    cold_start: bool
    timestamp: datetime


@app.get(SPEC.routes[0].path, response_model=Liveness, summary="Liveness probe")
async def health(request: Request, budget: Budget) -> Liveness:
    settings = request.state.settings
    return Liveness(status="ok", function=SPEC.name, version=settings.app_version if settings else "unknown",
                    cold_start=budget.cold_start, timestamp=datetime.now(UTC))

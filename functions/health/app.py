"""GET /api/health: liveness. No I/O and no configuration needed, so it answers even when misconfigured."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel

from functions.registry import get
from shared.http import InvocationDep, create_app

SPEC = get("health")
app = create_app(SPEC)


class Liveness(BaseModel):
    status: Literal["ok"]
    function: str
    version: str
    cold_start: bool
    timestamp: datetime


@app.handles("liveness", response_model=Liveness, summary="Liveness probe")
async def health(invocation: InvocationDep) -> Liveness:
    version = invocation.settings.app_version if invocation.settings else "unknown"
    return Liveness(status="ok", function=SPEC.name, version=version, cold_start=invocation.guard.cold_start,
                    timestamp=datetime.now(UTC))

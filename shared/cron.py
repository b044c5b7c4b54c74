"""Cron jobs on both platforms, sharing one job function.

- Vercel calls the cron path with ``GET`` and ``Authorization: Bearer $CRON_SECRET``
  (``cron_routes``; ``POST`` with the admin token runs it by hand).
- Lambda receives an EventBridge scheduled event (``cron_handler``): IAM already authorised the
  caller, so no secret is checked, and FastAPI is not even imported on that path (~0.3 s of cold start).
  Any other event (a function URL call) is handed to the function's FastAPI app.

A job gets the settings and the guard, must be idempotent (crons are at-least-once and may overlap),
and returns a ``JobResult`` that says whether it finished or where to resume.
"""

# No `from __future__ import annotations`: FastAPI must resolve `run`'s lazily imported types.

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from pydantic import BaseModel, Field

from functions.registry import FunctionSpec
from shared.auth import is_scheduled_event
from shared.guard import Guard, LambdaContext, take_cold_start
from shared.logs import get_logger
from shared.settings import Settings, get_settings


class JobResult(BaseModel):
    """What one run did. ``complete=False`` means the guard stopped it early; ``resume`` says where."""

    job: str
    complete: bool
    processed: int = 0
    resume: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


Job = Callable[[Settings, Guard], Awaitable[JobResult]]


_loop: asyncio.AbstractEventLoop | None = None


def instance_loop() -> asyncio.AbstractEventLoop:
    """One event loop per warm instance (the one Mangum uses too), so pooled connections survive."""
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop


def cron_handler(spec: FunctionSpec, job: Job, *,
                 load_app: Callable[[], Any] | None = None) -> Callable[[dict[str, Any], Any], Any]:
    """The Lambda handler of a cron function: scheduled events run ``job``, HTTP goes to the app.

    ``load_app`` defaults to importing ``functions.<name>.app``; it runs only for HTTP events.
    """
    http_handler: Any = None

    def handler(event: dict[str, Any], context: Any) -> Any:
        nonlocal http_handler
        if not is_scheduled_event(event):
            if http_handler is None:
                from shared.lambda_handler import lambda_handler

                app = load_app() if load_app else importlib.import_module(f"{spec.module}.app").app
                instance_loop()
                http_handler = lambda_handler(app)
            return http_handler(event, context)
        return instance_loop().run_until_complete(_run_scheduled(spec, job, context))

    return handler


async def _run_scheduled(spec: FunctionSpec, job: Job, context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    logger = get_logger()
    margin, cold_margin = settings.margins_s
    guard = Guard.for_lambda(context, cold_start=take_cold_start(spec.name), margin_s=margin,
                             cold_margin_s=cold_margin)
    logger.append_keys(function_name=spec.name, request_id=getattr(context, "aws_request_id", None),
                       cold_start=guard.cold_start)
    result = await job(settings, guard)
    logger.info("cron run", extra={"trigger": "schedule", **result.model_dump(exclude={"detail"})})
    return result.model_dump(mode="json")


def cron_routes(app: Any, spec: FunctionSpec, job: Job) -> None:
    """``GET`` for Vercel Cron (CRON_SECRET or admin token) and ``POST`` for a manual run (same auth)."""
    from fastapi import Depends, Request

    from shared.http import Budget, error_responses, require, settings

    path = spec.routes[0].path

    async def run(request: Request, budget: Budget, _: Annotated[None, Depends(require("cron"))]) -> JobResult:
        result = await job(settings(request), budget)
        get_logger().info("cron run", extra={"trigger": request.method, **result.model_dump(exclude={"detail"})})
        return result

    for method in ("GET", "POST"):
        app.add_api_route(path, run, methods=[method], response_model=JobResult, name=f"{spec.name}_{method}",
                          summary=f"Run the {spec.name} job", responses=error_responses(401, 503, 504))

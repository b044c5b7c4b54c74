"""Cron jobs on both platforms, sharing one job function.

- Vercel calls the cron path with ``GET`` and ``Authorization: Bearer $CRON_SECRET`` (``cron_routes``
  serves the job on every route the registry declares, e.g. also ``POST`` for a manual run).
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
from typing import Any

from pydantic import BaseModel, Field

from shared import invocation, secrets
from shared.auth import is_scheduled_event
from shared.guard import Guard, LambdaContext, take_cold_start
from shared.logs import get_logger
from shared.settings import Settings, get_settings
from shared.spec import FunctionSpec


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
    settings = await secrets.resolve(settings, guard, spec.setting_fields)
    current = invocation.Invocation(function=spec.name, request_id=str(getattr(context, "aws_request_id", "")),
                                    guard=guard, settings=settings)
    with invocation.bind(current):
        result = await job(settings, guard)
        logger.info("cron run", extra={"trigger": "schedule", **result.model_dump(exclude={"detail"})})
    return result.model_dump(mode="json")


def cron_routes(app: Any, job: Job) -> None:
    """Serve ``job`` on every route of the app's spec (auth: the spec's, enforced by the app)."""
    from shared.http import SettingsDep, TimeGuard, error_responses

    spec: FunctionSpec = app.spec

    async def run(settings: SettingsDep, guard: TimeGuard) -> JobResult:
        result = await job(settings, guard)
        get_logger().info("cron run", extra={"trigger": "http", **result.model_dump(exclude={"detail"})})
        return result

    for route in spec.routes:
        app.handles(route.name, response_model=JobResult, summary=f"Run the {spec.name} job",
                    responses=error_responses(504))(run)

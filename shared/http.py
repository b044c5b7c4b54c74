"""The FastAPI side of every HTTP function: app factory, per-request guard, errors, auth dependency.

One place maps ``TierwatchError`` to ``{"error": {"code", "message"}}``; unexpected exceptions are
logged with their stack and answered with a generic 500 that leaks nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from functions.registry import FunctionSpec
from shared.auth import Scope, authorize
from shared.errors import ConfigError, TierwatchError
from shared.guard import Guard, take_cold_start
from shared.logs import get_logger
from shared.settings import Settings, get_settings


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error tierwatch itself raises."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may return (kept honest by schemathesis)."""
    return {status: {"model": ErrorBody} for status in statuses}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _settings_or_none() -> tuple[Settings | None, ConfigError | None]:
    try:
        return get_settings(), None
    except ConfigError as exc:
        return None, exc


def _guard_for(request: Request, spec: FunctionSpec, settings: Settings | None, started: float) -> Guard:
    cold = take_cold_start(spec.name)
    # Bad settings still get a guard, with the default margins.
    margin, cold_margin = (settings or Settings.model_construct()).margins_s
    context = request.scope.get("aws.context")
    if context is not None:
        return Guard.for_lambda(context, cold_start=cold, margin_s=margin, cold_margin_s=cold_margin)
    if settings is not None and settings.resolved_platform == "local":
        # `tierwatch dev` and tests: the registry's limit, counted from the request (the process is old).
        return Guard.start(limit_s=spec.max_duration, cold_start=cold, margin_s=margin,
                           cold_margin_s=cold_margin, started_at=started)
    return Guard.for_vercel(spec.max_duration, cold_start=cold, margin_s=margin, cold_margin_s=cold_margin,
                            request_started_at=started)


def _request_id(request: Request) -> str:
    context = request.scope.get("aws.context")
    if context is not None and getattr(context, "aws_request_id", None):
        return str(context.aws_request_id)
    return request.headers.get("x-vercel-id") or uuid.uuid4().hex


def create_app(spec: FunctionSpec) -> FastAPI:
    """A FastAPI app for one function, with the guard, logging and error mapping wired in."""
    app = FastAPI(title=f"tierwatch {spec.name}", description=spec.description, version="0.1.0",
                  docs_url=None, redoc_url=None, openapi_url=None)
    logger = get_logger()

    @app.middleware("http")
    async def _per_request(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.monotonic()
        settings, config_error = _settings_or_none()
        guard = _guard_for(request, spec, settings, started)
        request.state.guard = guard
        request.state.settings = settings
        request.state.config_error = config_error
        logger.append_keys(function_name=spec.name, request_id=_request_id(request),
                           cold_start=guard.cold_start)
        try:
            response = await call_next(request)
        except Exception:
            logger.exception("unhandled error", extra={"path": request.url.path})
            response = error_response(500, "internal_error", "internal error; see the function logs")
        logger.info("request", extra={"method": request.method, "path": request.url.path,
                                      "status": response.status_code,
                                      "duration_ms": round((time.monotonic() - started) * 1000, 1)})
        return response

    @app.exception_handler(TierwatchError)
    async def _tierwatch_error(request: Request, exc: TierwatchError) -> JSONResponse:
        if exc.status >= 500:
            logger.warning("request failed", extra={"code": exc.code, "error": exc.message})
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        fields = ["/".join(str(p) for p in e.get("loc", ())) for e in errors]
        message = "; ".join(f"{f}: {e.get('msg', 'invalid')}" for f, e in zip(fields, errors, strict=True))
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in errors]
        return JSONResponse({"detail": detail, "error": {"code": "invalid_request", "message": message}},
                            status_code=422)

    return app


def guard(request: Request) -> Guard:
    """Dependency: this invocation's time budget."""
    return request.state.guard  # type: ignore[no-any-return]


Budget = Annotated[Guard, Depends(guard)]
"""A route parameter typed ``Budget`` receives the invocation's guard."""


def settings(request: Request) -> Settings:
    """Dependency: the settings, or the ``ConfigError`` naming every bad variable (503)."""
    if request.state.config_error is not None:
        raise request.state.config_error
    return request.state.settings  # type: ignore[no-any-return]


def require(scope: Scope) -> Callable[[Request], None]:
    """Dependency factory: the caller must present a bearer token for ``scope``."""

    def _check(request: Request) -> None:
        authorize(settings(request), scope, request.headers.get("authorization"))

    return _check

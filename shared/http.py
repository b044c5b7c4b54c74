"""The FastAPI side of every HTTP function: app factory, per-invocation state, auth, errors.

``create_app(spec)`` returns a ``FunctionApp`` whose routes are registered by name from the spec
(``@app.handles("readiness")``), and whose middleware, not each route, enforces the spec's auth: a
function cannot forget it. One place maps ``TierwatchError`` to ``{"error": {"code", "message"}}``;
unexpected exceptions are logged with their stack and answered with a generic 500 that leaks nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import invocation, secrets
from shared.auth import authorize, presented_scope
from shared.errors import ConfigError, TierwatchError
from shared.guard import Guard, take_cold_start
from shared.invocation import Invocation
from shared.logs import get_logger
from shared.settings import Settings, get_settings
from shared.spec import Auth, FunctionSpec, Route, path_pattern

F = TypeVar("F", bound=Callable[..., Any])


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


# ------------------------------------------------------------------------------------------ the invocation

def _settings_or_error() -> tuple[Settings | None, ConfigError | None]:
    try:
        return get_settings(), None
    except ConfigError as exc:
        return None, exc


def _guard_for(scope: Scope, spec: FunctionSpec, settings: Settings | None, started: float) -> Guard:
    cold = take_cold_start(spec.name)
    # Bad settings still get a guard, with the default margins.
    margin, cold_margin = (settings or Settings.model_construct()).margins_s
    context = scope.get("aws.context")
    if context is not None:
        return Guard.for_lambda(context, cold_start=cold, margin_s=margin, cold_margin_s=cold_margin)
    if settings is not None and settings.resolved_platform == "local":
        # `tierwatch dev` and tests: the registry's limit, counted from the request (the process is old).
        return Guard.start(limit_s=spec.max_duration, cold_start=cold, margin_s=margin,
                           cold_margin_s=cold_margin, started_at=started)
    return Guard.for_vercel(spec.max_duration, cold_start=cold, margin_s=margin, cold_margin_s=cold_margin,
                            request_started_at=started)


def _request_id(scope: Scope, headers: Headers) -> str:
    context = scope.get("aws.context")
    if context is not None and getattr(context, "aws_request_id", None):
        return str(context.aws_request_id)
    return headers.get("x-vercel-id") or uuid.uuid4().hex


class _InvocationMiddleware:
    """Binds each request's ``Invocation``, enforces its route's auth, logs it, and maps crashes to 500."""

    def __init__(self, app: ASGIApp, spec: FunctionSpec) -> None:
        self.app = app
        self.spec = spec
        self.routes = [(path_pattern(r.path), r) for r in spec.routes]

    def _route(self, method: str, path: str) -> Route | None:
        return next((r for pattern, r in self.routes if r.method == method and pattern.match(path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        headers = Headers(scope=scope)
        settings, config_error = _settings_or_error()
        guard = _guard_for(scope, self.spec, settings, started)
        settings, config_error = await secrets.resolve_or_error(settings, config_error, guard,
                                                                self.spec.setting_fields)
        current = Invocation(function=self.spec.name, request_id=_request_id(scope, headers),
                             guard=guard, settings=settings, config_error=config_error)
        status = 500
        response_started = False

        async def tracked_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
            await send(message)

        logger = get_logger()
        with invocation.bind(current):
            try:
                route = self._route(scope["method"], scope["path"])
                denied = self._deny(route, current, headers)
                await (denied or self.app)(scope, receive, tracked_send)
            except Exception:
                logger.exception("unhandled error", extra={"path": scope["path"]})
                if response_started:
                    raise
                await error_response(500, "internal_error", "internal error; see the function logs")(
                    scope, receive, tracked_send)
            duration_ms = (time.monotonic() - started) * 1000
            logger.info("request", extra={"method": scope["method"], "path": scope["path"], "status": status,
                                          "duration_ms": round(duration_ms, 1)})
            if self.spec.tracked:
                from shared.tracking.runtime import track_self

                await track_self(current.settings, self.spec.name, duration_ms=duration_ms, status=status,
                                 guard=current.guard, at=time.time())

    def _deny(self, route: Route | None, current: Invocation, headers: Headers) -> ASGIApp | None:
        if route is None:
            return None  # the app answers 404/405
        scope: Auth = self.spec.auth_of(route)
        if scope == "public":
            return None
        try:
            authorize(current.require_settings(), scope, headers.get("authorization"))
        except TierwatchError as exc:
            return error_response(exc.status, exc.code, exc.message)
        return None


# ------------------------------------------------------------------------------------------ the app

class FunctionApp(FastAPI):
    """The app of one function: its routes come from its spec, by name."""

    spec: FunctionSpec

    def handles(self, route_name: str, **kwargs: Any) -> Callable[[F], F]:
        """Register the decorated endpoint for the spec's route ``route_name`` (method and path from the
        spec; the auth errors it may answer are documented here, as the middleware enforces them)."""
        route = self.spec.route(route_name)
        statuses = (401, 503) if self.spec.auth_of(route) != "public" else (503,)
        responses = {**error_responses(*statuses), **kwargs.pop("responses", {})}

        def decorator(endpoint: F) -> F:
            self.add_api_route(route.path, endpoint, methods=[route.method], name=f"{self.spec.name}.{route.name}",
                               responses=responses, **kwargs)
            return endpoint

        return decorator


def create_app(spec: FunctionSpec) -> FunctionApp:
    """A FastAPI app for one function, with its invocation, auth, logging and error mapping wired in."""
    app = FunctionApp(title=f"tierwatch {spec.name}", description=spec.description, version="0.1.0",
                      docs_url=None, redoc_url=None, openapi_url=None)
    app.spec = spec
    app.add_middleware(_InvocationMiddleware, spec=spec)
    logger = get_logger()

    @app.exception_handler(TierwatchError)
    async def _tierwatch_error(request: Request, exc: TierwatchError) -> JSONResponse:
        if exc.status >= 500:
            logger.warning("request failed", extra={"code": exc.code, "error": exc.message})
        response = error_response(exc.status, exc.code, exc.message)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

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


# ------------------------------------------------------------------------------------------ dependencies

async def current_invocation() -> Invocation:
    return invocation.current()


async def current_guard() -> Guard:
    return invocation.current().guard


async def current_settings() -> Settings:
    """The settings, or the ``ConfigError`` naming every bad variable (503)."""
    return invocation.current().require_settings()


def caller_has(scope: Auth) -> Callable[[Request], Any]:
    """Dependency factory: whether the caller presented a valid token for ``scope`` (False when it sent
    none; 401 when it sent a wrong one). For public routes that show more to authenticated callers."""

    async def _check(request: Request) -> bool:
        return presented_scope(invocation.current().settings, scope, request.headers.get("authorization"))

    return _check


InvocationDep = Annotated[Invocation, Depends(current_invocation)]
"""The current invocation: function, request id, guard, settings (or why they failed)."""
TimeGuard = Annotated[Guard, Depends(current_guard)]
"""The invocation's deadline guard."""
SettingsDep = Annotated[Settings, Depends(current_settings)]
"""Valid settings, or 503 naming every bad variable."""

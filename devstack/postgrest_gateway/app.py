"""The Starlette app: Kong-style key check, then PostgREST routing under ``/rest/v1``.

Why one catch-all handler: PostgREST answers every path and method itself (404 PGRST125, 405 PGRST101/117),
always with a JSON body; Starlette's own 404/405 pages would not be PostgREST-shaped.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import request_response

from .auth import KongRejected, authenticate
from .db import Database
from .errors import ApiError, pgrst
from .request import parse_request
from .rpc import call_rpc
from .tables import table_op

__all__ = ["create_app"]

_PREFIX = "/rest/v1"
_METHODS = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"]
_log = logging.getLogger(__name__)


def create_app(*, dsn: str, jwt_secret: str, schemas: tuple[str, ...] = ("public",),
               anon_role: str = "anon") -> Starlette:
    """A PostgREST-compatible gateway (as Supabase fronts it) for the PostgreSQL at ``dsn``.

    Parameters
    ----------
    dsn: where the database is; the gateway logs in as ``authenticator`` when that role exists.
    jwt_secret: the HS256 secret API keys and user tokens are signed with (see ``devstack.keys``).
    schemas: the exposed schemas; the first is the default profile.
    anon_role: the role whose 42501 errors are 401 instead of 403.

    Example
    -------
    >>> app = create_app(dsn="postgresql://postgres@127.0.0.1:5432/postgres", jwt_secret="s")  # doctest: +SKIP
    >>> served = devstack.serve.serve_in_thread(app)                                           # doctest: +SKIP
    >>> supabase.create_client(served.url, make_key("service_role", "s")).rpc("fn").execute()   # doctest: +SKIP
    """
    db = Database(dsn)

    async def handle(request: Request) -> Response:
        head = request.method == "HEAD"
        path = request.url.path
        try:
            caller = authenticate(request.headers, request.query_params, secret=jwt_secret, anon_role=anon_role)
            if request.method not in _METHODS:
                raise pgrst(405, "PGRST117", f"Unsupported HTTP method: {request.method}")
            if not (path == _PREFIX or path.startswith(_PREFIX + "/")):
                raise pgrst(404, "PGRST125", "Invalid path specified in request URL")
            req = await parse_request(request, path[len(_PREFIX):], caller, schemas)
            return await (call_rpc(db, req) if req.is_rpc else table_op(db, req))
        except KongRejected as e:
            return e.response
        except ApiError as e:
            return e.response(head=head)
        except psycopg.OperationalError as e:  # pool or connection trouble outside a statement
            _log.warning("database unavailable: %s", e)
            return pgrst(503, "PGRST000", "Database connection error. Retrying the connection.", str(e)).response(
                head=head)
        except Exception:  # a gateway bug: logged with its stack, answered in PostgREST's shape
            _log.exception("unexpected error on %s %s", request.method, path)
            return pgrst(500, "PGRSTX00", "Internal gateway error", "See the gateway log.").response(head=head)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            await db.open()
        except psycopg.OperationalError as e:  # serve anyway: requests answer 503 until the database is up
            _log.warning("database unavailable at startup: %s", e)
        try:
            yield
        finally:
            await db.close()

    app = Starlette(lifespan=lifespan)
    # The router's default, not a "/{path:path}" route: that pattern misses paths holding a newline (%0A)
    # and unlisted methods, which then got Starlette's plain-text 404/405 instead of PostgREST's JSON.
    app.router.default = request_response(handle)
    app.state.database = db
    return app

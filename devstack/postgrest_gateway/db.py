"""The connection pool and the per-request transaction, with PostgREST's GUCs (B8).

Why log in as ``authenticator``: as on Supabase, the pool's login role can only become the roles granted to
it, so a key claiming ``role: postgres`` fails the way it fails in production. A database without the
Supabase roles (bootstrap not run) falls back to the DSN's own user.

Why one message per request: on an asyncio loop each round trip to PostgreSQL costs more than the SQL it
carries, so BEGIN, the GUCs, the statement and COMMIT are sent together (simple query protocol, values
inlined by psycopg as quoted literals, which PostgreSQL types exactly like PostgREST's untyped parameters).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import zoneinfo
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import AsyncClientCursor, AsyncConnection, sql
from psycopg.conninfo import make_conninfo
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from .catalog import Catalog
from .errors import from_pg
from .request import ApiRequest

__all__ = ["Database", "Row"]

Row = tuple[Any, ...] | None
_LOGIN_ROLE = "authenticator"
_EXTRA_SEARCH_PATH = ("public", "extensions")  # Supabase's db-extra-search-path


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Database:
    """Owns the pool (opened lazily on the serving event loop) and the schema cache."""

    def __init__(self, dsn: str, *, max_size: int = 10) -> None:
        self.dsn, self._max_size = dsn, max_size
        self._pool: AsyncConnectionPool[Any] | None = None
        self._catalog: Catalog | None = None
        self._lock = asyncio.Lock()

    async def _login_conninfo(self) -> str:
        candidate = make_conninfo(self.dsn, user=_LOGIN_ROLE)
        try:
            conn = await AsyncConnection.connect(candidate, connect_timeout=5)
        except psycopg.OperationalError:
            return self.dsn
        await conn.close()
        return candidate

    async def open(self) -> None:
        async with self._lock:
            if self._pool is not None:
                return
            pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                await self._login_conninfo(), min_size=1, max_size=self._max_size, open=False,
                kwargs={"autocommit": True}, name="postgrest-gateway")
            await pool.open(wait=True, timeout=30)
            self._catalog = Catalog(pool)
            self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def catalog(self) -> Catalog:
        if self._catalog is None:
            await self.open()
        assert self._catalog is not None
        return self._catalog

    async def execute(self, req: ApiRequest, statement: sql.Composed, params: list[Any], *,
                      check: Callable[[Row], object] | None = None) -> Row:
        """Run ``statement`` in the request's transaction and return its first row (None if it has none).

        The transaction (``BEGIN [READ ONLY]``, role and request GUCs, the statement, ``COMMIT``) travels as
        one simple-protocol message with every value inlined as a quoted, untyped literal: one round trip.
        ``check`` runs on the row before ``COMMIT`` when the request writes (``.single()`` must roll back
        a mutation of the wrong number of rows). PostgreSQL errors become PostgREST-shaped ``ApiError``s.
        """
        catalog = await self.catalog()
        settings = await catalog.role_settings(req.caller.role)
        assert self._pool is not None
        guc = {
            **dict(settings),  # first, so that the request's own values below win
            "role": req.caller.role,
            "request.jwt.claims": json.dumps(req.caller.claims),
            "search_path": ", ".join(_quote_ident(s) for s in (req.schema, *_EXTRA_SEARCH_PATH)),
            "request.method": req.method,
            "request.path": req.path,
            "request.headers": json.dumps(req.headers),
            "request.cookies": json.dumps(req.cookies),
        }
        if req.prefer.get("timezone") in _timezones():  # PostgREST ignores an unknown zone (lenient)
            guc["timezone"] = req.prefer["timezone"]
        begin = sql.SQL("BEGIN{}; SELECT {}").format(
            sql.SQL(" READ ONLY") if req.read_only else sql.SQL(""),
            sql.SQL(", ").join(sql.SQL("set_config(%s, %s, true)") for _ in guc))
        deferred = check is not None and not req.read_only
        try:
            async with self._pool.connection() as conn:
                cur = AsyncClientCursor(conn)
                script = "; ".join([cur.mogrify(begin, [x for kv in guc.items() for x in kv]),
                                    cur.mogrify(statement, params), *([] if deferred else ["COMMIT"])])
                try:
                    await cur.execute(script.encode())
                    cur.nextset()  # past BEGIN
                    cur.nextset()  # past the GUCs
                    row = await cur.fetchone() if cur.description else None
                    if deferred and check is not None:
                        check(row)
                        await conn.execute(b"COMMIT")
                except BaseException:
                    if conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
                        with contextlib.suppress(psycopg.OperationalError):  # a dead link: the pool drops it
                            await conn.execute(b"ROLLBACK")
                    raise
        except psycopg.Error as e:
            if e.sqlstate in ("42883", "42P01", "42703", "42804"):
                catalog.invalidate()  # the cache may describe an object that changed
            raise from_pg(e, anon=req.caller.anon) from e
        return row

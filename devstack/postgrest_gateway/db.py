"""The per-request transaction, with PostgREST's GUCs (B8), over the gateway's ``Pool``.

Why one message per request: on an asyncio loop each round trip to PostgreSQL costs more than the SQL it
carries, so BEGIN, the GUCs, the statement and COMMIT are sent together (simple query protocol, values
inlined by psycopg as quoted literals, which PostgreSQL types exactly like PostgREST's untyped parameters).
"""

from __future__ import annotations

import contextlib
import functools
import json
import zoneinfo
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import AsyncClientCursor, sql
from psycopg.pq import TransactionStatus

from .catalog import Catalog
from .errors import from_pg
from .pool import Pool
from .request import ApiRequest

__all__ = ["Database", "Row"]

Row = tuple[Any, ...] | None
_EXTRA_SEARCH_PATH = ("public", "extensions")  # Supabase's db-extra-search-path


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Database:
    """Owns the pool (opened lazily on the serving event loop) and the schema cache."""

    def __init__(self, dsn: str, *, max_size: int = 10) -> None:
        self.dsn = dsn
        self._pool = Pool(dsn, max_size=max_size)
        self._catalog = Catalog(self._pool.connection)

    async def open(self) -> None:
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()

    async def catalog(self) -> Catalog:
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

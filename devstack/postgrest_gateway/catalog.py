"""PostgREST's "schema cache", reduced: functions, tables and per-role settings read from pg_catalog.

Why a cache with a short life: argument matching (B4) and column checks (B7) need the catalog on every
request, but a lookup costs a round trip. Entries live ``ttl`` seconds, a miss is looked up again (so objects
a migration just created are found at once), and ``invalidate()`` drops everything when PostgreSQL reports an
object the cache believed in as missing. Lookups run with ``search_path = pg_catalog`` so every type name
comes back schema-qualified and can be pasted into SQL as is.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

__all__ = ["Catalog", "Column", "Param", "Routine", "Table", "closest"]

_ROUTINES = """
SELECT p.proname, coalesce(p.proargnames, '{}'), coalesce(p.proargmodes::text[], '{}'),
       ARRAY(SELECT format_type(t.oid, NULL)
             FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS t(oid, ord)
             ORDER BY t.ord),
       p.pronargdefaults, p.proretset, p.prorettype = 'void'::regtype,
       (rt.typtype = 'c' OR p.prorettype = 'record'::regtype), p.provolatile
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_type rt ON rt.oid = p.prorettype
WHERE n.nspname = %s AND p.proname = %s AND p.prokind = 'f'
"""
_TABLE = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef,
       a.attgenerated <> '' OR a.attidentity = 'a',
       ARRAY(SELECT pa.attname FROM pg_index i
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute pa ON pa.attrelid = i.indrelid AND pa.attnum = k.attnum
             WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY k.ord)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
ORDER BY a.attnum
"""
_ROLE_SETTINGS = """
SELECT split_part(cfg, '=', 1), substr(cfg, strpos(cfg, '=') + 1)
FROM pg_db_role_setting s
JOIN pg_roles r ON r.oid = s.setrole
CROSS JOIN LATERAL unnest(s.setconfig) AS cfg
WHERE r.rolname = %s
  AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
  AND (strpos(split_part(cfg, '=', 1), '.') > 0
       OR EXISTS (SELECT FROM pg_settings ps WHERE ps.name = lower(split_part(cfg, '=', 1))
                  AND ps.context = 'user'))
ORDER BY s.setdatabase
"""
_NAMES = {
    "routines": "SELECT DISTINCT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = %s AND p.prokind = 'f'",
    "tables": "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
              " WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'f', 'p')",
}


@dataclass(frozen=True)
class Param:
    name: str  # "" when unnamed
    type: str
    variadic: bool = False


@dataclass(frozen=True)
class Routine:
    schema: str
    name: str
    params: tuple[Param, ...]  # IN, INOUT and VARIADIC only
    n_defaults: int
    returns_set: bool
    returns_void: bool
    returns_composite: bool
    volatility: str  # i / s / v

    @property
    def required(self) -> tuple[Param, ...]:
        return self.params[: len(self.params) - self.n_defaults]

    @property
    def optional(self) -> tuple[Param, ...]:
        return self.params[len(self.params) - self.n_defaults:]


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    has_default: bool
    generated: bool


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: dict[str, Column]  # in attnum order
    primary_key: tuple[str, ...]


def closest(word: str, candidates: list[str], cutoff: float = 0.75) -> str | None:
    """Best fuzzy match for a "Perhaps you meant" hint (PostgREST uses a fuzzy set with the same cut-offs)."""
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)
    return found[0] if found else None


def _routine(schema: str, row: tuple[Any, ...]) -> Routine:
    name, names, modes, types, n_defaults, retset, void, composite, volatility = row
    modes = modes or ["i"] * len(types)
    params = tuple(
        Param(names[i] if i < len(names) else "", types[i], mode == "v")
        for i, mode in enumerate(modes) if mode in ("i", "b", "v")
    )
    return Routine(schema, name, params, n_defaults, retset, void, composite, volatility)


class Catalog:
    """Cached catalog lookups on the gateway's connections (each lookup in its own short transaction)."""

    def __init__(self, connect: Callable[[], AbstractAsyncContextManager[AsyncConnection[Any]]],
                 ttl: float = 5.0) -> None:
        self._connect, self._ttl = connect, ttl
        self._cache: dict[tuple[str, str, str], tuple[float, Any]] = {}

    def invalidate(self) -> None:
        self._cache.clear()

    async def _query(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        async with self._connect() as conn:
            return await _fetch(conn, sql, params)

    async def _cached(self, kind: str, a: str, b: str, sql: str) -> list[tuple[Any, ...]]:
        key = (kind, a, b)
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return list(hit[1])
        rows = await self._query(sql, [a, b] if b else [a])
        if rows:  # misses are never cached: a new object must be found on the next request
            self._cache[key] = (time.monotonic(), rows)
        return rows

    async def routines(self, schema: str, name: str) -> list[Routine]:
        return [_routine(schema, row) for row in await self._cached("fn", schema, name, _ROUTINES)]

    async def table(self, schema: str, name: str) -> Table | None:
        rows = await self._cached("table", schema, name, _TABLE)
        if not rows:
            return None
        columns = {r[0]: Column(r[0], r[1], r[2], r[3], r[4]) for r in rows}
        return Table(schema, name, columns, tuple(rows[0][5]))

    async def role_settings(self, role: str) -> list[tuple[str, str]]:
        key = ("role", role, "")
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return list(hit[1])
        rows = [(str(r[0]), str(r[1])) for r in await self._query(_ROLE_SETTINGS, [role])]
        self._cache[key] = (time.monotonic(), rows)
        return rows

    async def names(self, kind: str, schema: str) -> list[str]:
        """All routine or table names of a schema, for hints (error path only, never cached)."""
        return [str(r[0]) for r in await self._query(_NAMES[kind], [schema])]


async def _fetch(conn: AsyncConnection[Any], sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    async with conn.transaction():
        await conn.execute("SET LOCAL search_path TO pg_catalog")
        cur = await conn.execute(sql.encode(), params)
        return await cur.fetchall()

"""SQL shared by table reads, RPC results and mutations: filters, order, select, and the JSON envelope.

Why one statement per request: like PostgREST, the body is built by PostgreSQL (``json_agg``) and the exact
count comes from the same snapshot, so the gateway never decodes and re-encodes rows. Filter values end up
as untyped quoted literals (``'7'``), so PostgreSQL casts them to the column type exactly as it casts
PostgREST's untyped parameters; ``in.(...)`` becomes ``= ANY('{...}')`` for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql

from .errors import pgrst
from .filters import BINARY_OPS, Filter, OrderTerm, QueryParams, SelectItem

__all__ = ["Envelope", "Result", "array_literal", "envelope_sql", "result_of", "where_sql"]


def array_literal(items: tuple[str, ...]) -> str:
    """A PostgreSQL array literal with every element quoted, for ``= ANY(...)``."""
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"


def _column(name: str, qual: str | None) -> sql.Identifier:
    """A column, qualified like PostgREST's so that errors read ``column t.nope does not exist``."""
    return sql.Identifier(qual, name) if qual else sql.Identifier(name)


def _filter_sql(f: Filter, params: list[Any], qual: str | None) -> sql.Composable:
    column = _column(f.column, qual)
    if f.op == "is":
        expr: sql.Composable = sql.SQL("{} IS {}").format(column, sql.SQL(str(f.value)))
    elif f.op == "in":
        params.append(array_literal(f.value if isinstance(f.value, tuple) else (f.value,)))
        expr = sql.SQL("{} = ANY(%s)").format(column)
    else:
        params.append(f.value)
        expr = sql.SQL("{} {} %s").format(column, sql.SQL(BINARY_OPS[f.op]))
    return sql.SQL("NOT ({})").format(expr) if f.negate else expr


def where_sql(filters: list[Filter], params: list[Any], qual: str | None = None) -> sql.Composable:
    if not filters:
        return sql.SQL("")
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(_filter_sql(f, params, qual) for f in filters)


def _order_sql(order: list[OrderTerm], qual: str | None) -> sql.Composable:
    if not order:
        return sql.SQL("")
    terms = [
        sql.SQL("{} {}{}").format(
            _column(t.column, qual), sql.SQL("DESC" if t.desc else "ASC"),
            sql.SQL(f" NULLS {t.nulls.upper()}" if t.nulls else ""))
        for t in order
    ]
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(terms)


def select_sql(items: list[SelectItem], star: list[str] | None = None, qual: str | None = None) -> sql.Composable:
    """The projection; ``star`` expands ``*`` to named columns (hides helper columns of mutations)."""
    parts: list[sql.Composable] = []
    for item in items:
        if item.column == "*":
            parts.extend([_column(c, qual) for c in star] if star is not None else [sql.SQL("*")])
        else:
            alias = sql.Identifier(item.alias or item.column)
            parts.append(sql.SQL("{} AS {}").format(_column(item.column, qual), alias))
    return sql.SQL(", ").join(parts) if parts else sql.SQL("")


@dataclass(frozen=True)
class Envelope:
    """How rows become the response: one object or an array, nulls stripped, a scalar column."""

    single: bool = False
    strip_nulls: bool = False
    scalar_column: str | None = None  # SETOF scalar: aggregate this column, not the row


def _body_sql(env: Envelope) -> sql.Composable:
    value = sql.SQL("_t.{}").format(sql.Identifier(env.scalar_column)) if env.scalar_column else sql.SQL("_t")
    agg = sql.SQL("json_agg({})").format(value)
    doc = sql.SQL("({} -> 0)").format(agg) if env.single else sql.SQL("coalesce({}, '[]')").format(agg)
    if env.strip_nulls:
        doc = sql.SQL("json_strip_nulls({})").format(doc)
    return sql.SQL("{}::text").format(doc)


def envelope_sql(source: sql.Composable, source_params: list[Any], q: QueryParams, env: Envelope, *,
                 count: bool, max_rows: int | None, star: list[str] | None = None, filtered: bool = True,
                 ctes: sql.Composable | None = None, flag: str | None = None,
                 qual: str | None = None) -> tuple[sql.Composed, list[Any]]:
    """``WITH pgrst_source AS (source)``: total (if counted), page size, JSON body and ``flag`` in one row.

    ``filtered`` applies the query-string filters to the source (reads; mutations filter inside). ``ctes``
    go first (data-modifying CTEs must be top-level); ``flag`` names a boolean column to ``bool_or``;
    ``qual`` is the name the source goes by (the table's, as in PostgREST's SQL and error messages).
    """
    alias = sql.SQL(" AS {}").format(sql.Identifier(qual)) if qual else sql.SQL("")
    params = list(source_params)
    limit = q.limit if max_rows is None else min(q.limit if q.limit is not None else max_rows, max_rows)
    total: sql.Composable = sql.SQL("NULL::bigint")
    if count:
        total = sql.SQL("(SELECT count(*) FROM pgrst_source{}{})").format(
            alias, where_sql(q.filters if filtered else [], params, qual))
    page = sql.SQL("SELECT {} FROM pgrst_source{}{}{}{}{}").format(
        select_sql(q.select, star, qual),
        alias,
        where_sql(q.filters if filtered else [], params, qual),
        _order_sql(q.order, qual),
        sql.SQL(" LIMIT {}").format(sql.Literal(limit)) if limit is not None else sql.SQL(""),
        sql.SQL(" OFFSET {}").format(sql.Literal(q.offset)) if q.offset else sql.SQL(""),
    )
    flag_sql = (sql.SQL("(SELECT bool_or({}) FROM pgrst_source)").format(sql.Identifier(flag)) if flag
                else sql.SQL("NULL::boolean"))
    statement = sql.SQL(
        "WITH {ctes}pgrst_source AS ({source}) SELECT {total} AS total, count(*) AS page_total, {body} AS body, "
        "{flag} AS flag FROM ({page}) _t"
    ).format(ctes=sql.SQL("{}, ").format(ctes) if ctes is not None else sql.SQL(""), source=source,
             total=total, body=_body_sql(env), flag=flag_sql, page=page)
    return statement, params


@dataclass(frozen=True)
class Result:
    total: int | None
    page_total: int
    body: str | None
    offset: int = 0
    flag: bool | None = None


def result_of(row: tuple[Any, ...] | None, *, single: bool, offset: int = 0) -> Result:
    """The envelope row as a ``Result``; ``.single()`` with 0 or several rows is 406 PGRST116."""
    total, page_total, body, flag = row if row is not None else (None, 0, None, None)
    if single and page_total != 1:
        raise pgrst(406, "PGRST116", "Cannot coerce the result to a single JSON object",
                    f"The result contains {page_total} rows")
    return Result(total, int(page_total), body, offset, flag)

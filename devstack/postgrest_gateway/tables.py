"""``/<table>``: the table operations supabase-py sends (B7): select, insert/upsert, update, delete.

Why rows go through ``json_to_recordset``: PostgreSQL converts JSON to the column types (ISO strings into
``timestamptz``, objects into ``jsonb``), as PostgREST does. With ``?columns=`` a missing key is NULL, not
the column default, unless ``Prefer: missing=default`` — a real difference supabase-py's bulk insert hits.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import sql
from starlette.responses import Response

from .catalog import Table, closest
from .db import Database
from .errors import ApiError, pgrst
from .filters import QueryParams, parse_query
from .query import Envelope, envelope_sql, result_of, where_sql
from .request import ApiRequest, parse_body
from .responses import content_range, read_response, respond

__all__ = ["table_op"]

_MAX_ROWS = 1000


def _unknown_column(table: Table, column: str) -> ApiError:
    return pgrst(400, "PGRST204", f"Could not find the '{column}' column of '{table.name}' in the schema cache")


def _check_columns(table: Table, columns: list[str]) -> list[str]:
    for column in columns:
        if column not in table.columns:
            raise _unknown_column(table, column)
    return columns


def _recordset(table: Table, columns: list[str]) -> sql.Composable:
    defs = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(table.columns[c].type))
                              for c in columns)
    return sql.SQL("json_to_recordset(%s::json) AS _({})").format(defs)


def _payload_rows(req: ApiRequest, table: Table, q: QueryParams) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows to insert and the target columns (``?columns=`` or the keys, identical across rows)."""
    body = parse_body(req.body)
    rows = [body] if isinstance(body, dict) else body
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise pgrst(400, "PGRST102", "Empty or invalid json")
    if q.columns is not None:
        return rows, _check_columns(table, q.columns)
    keys = list(rows[0]) if rows else []
    if any(set(r) != set(keys) for r in rows[1:]):
        raise pgrst(400, "PGRST102", "All object keys must match")
    return rows, _check_columns(table, keys)


def _as_array(raw: bytes) -> str:
    """The body as a JSON array text, untouched (no float round trip through Python)."""
    text = raw.decode().strip()
    return text if text.startswith("[") else f"[{text}]"


def _insert_ctes(req: ApiRequest, table: Table, q: QueryParams, rows: list[dict[str, Any]],
                 columns: list[str], params: list[Any]) -> tuple[sql.Composable, sql.Composable, str | None]:
    """One ``INSERT ... RETURNING`` CTE per distinct key set (only ``missing=default`` needs several)."""
    if req.prefer.get("missing") == "default" and any(set(columns) - set(row) for row in rows):
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(c for c in columns if c in row), []).append(row)
    else:
        groups = {tuple(columns): rows}
    resolution = req.prefer.get("resolution")
    conflict = q.on_conflict or list(table.primary_key)
    upsert = resolution in ("merge-duplicates", "ignore-duplicates") and bool(conflict)
    returning = sql.SQL("RETURNING {}.*{}").format(
        sql.Identifier(table.schema, table.name), sql.SQL(", (xmax = 0) AS pgrst_inserted" if upsert else ""))
    ctes, names = [], []
    for i, (cols, group) in enumerate(groups.items()):
        target = sql.Identifier(table.schema, table.name)
        if cols:
            params.append(_as_array(req.body) if len(groups) == 1 else json.dumps(group))
            idents = sql.SQL(", ").join(map(sql.Identifier, cols))
            insert = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
                target, idents, idents, _recordset(table, list(cols)))
        else:
            params.append(len(group))
            insert = sql.SQL("INSERT INTO {} SELECT FROM generate_series(1, %s)").format(target)
        if upsert:
            on = sql.SQL(", ").join(map(sql.Identifier, _check_columns(table, conflict)))
            action: sql.Composable = sql.SQL("DO NOTHING")
            if resolution == "merge-duplicates" and cols:
                action = sql.SQL("DO UPDATE SET ") + sql.SQL(", ").join(
                    sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in cols)
            insert = sql.SQL("{} ON CONFLICT ({}) {}").format(insert, on, action)
        name = f"pgrst_ins{i}"
        names.append(sql.SQL("SELECT * FROM {}").format(sql.Identifier(name)))
        ctes.append(sql.SQL("{} AS ({} {})").format(sql.Identifier(name), insert, returning))
    source = sql.SQL(" UNION ALL ").join(names) if names else sql.SQL("SELECT * FROM {} WHERE false").format(
        sql.Identifier(table.schema, table.name))
    return sql.SQL(", ").join(ctes), source, "pgrst_inserted" if upsert and names else None


def _single_check(row: tuple[Any, ...] | None) -> None:
    """Before COMMIT: a mutation through ``.single()`` touching 0 or several rows is rolled back (406)."""
    result_of(row, single=True)


def _preference_applied(req: ApiRequest) -> dict[str, str]:
    applied = [f"{k}={req.prefer[k]}" for k in ("return", "resolution", "missing", "count") if k in req.prefer]
    return {"Preference-Applied": ", ".join(applied)} if applied else {}


async def _mutate(db: Database, req: ApiRequest, table: Table, q: QueryParams) -> Response:
    params: list[Any] = []
    target = sql.Identifier(table.schema, table.name)
    ctes, flag = None, None
    if req.method == "POST":
        rows, columns = _payload_rows(req, table, q)
        ctes, source, flag = _insert_ctes(req, table, q, rows, columns, params)
    else:
        if not q.filters:  # Supabase loads pg-safeupdate for PostgREST's sessions
            raise ApiError(400, "21000", f"{'UPDATE' if req.method == 'PATCH' else 'DELETE'} requires a WHERE clause")
        if req.method == "PATCH":
            body = parse_body(req.body)
            if not isinstance(body, dict):
                raise pgrst(400, "PGRST102", "Empty or invalid json")
            cols = _check_columns(table, [c for c in body if q.columns is None or c in q.columns])
            if not cols:
                return _mutation_response(req, 200, 0, "[]")
            params.append(_as_array(req.body))
            idents = sql.SQL(", ").join(map(sql.Identifier, cols))
            head = sql.SQL("UPDATE {} SET ({}) = (SELECT {} FROM {})").format(
                target, idents, idents, _recordset(table, cols))
        else:
            head = sql.SQL("DELETE FROM {}").format(target)
        source = sql.SQL("{}{} RETURNING {}.*").format(head, where_sql(q.filters, params, table.name), target)
    env = Envelope(single=req.single, strip_nulls=req.strip_nulls)
    statement, all_params = envelope_sql(source, params, q, env, count=False, max_rows=None,
                                         star=list(table.columns), filtered=False, ctes=ctes, flag=flag,
                                         qual=table.name)
    row = await db.execute(req, statement, all_params, check=_single_check if req.single else None)
    result = result_of(row, single=req.single)
    status = 201 if req.method == "POST" and result.flag is not False else 200
    return _mutation_response(req, status, result.page_total, result.body or "[]")


def _mutation_response(req: ApiRequest, status: int, affected: int, body: str) -> Response:
    total = affected if req.count else None
    lower = 0 if req.method == "PATCH" else 1
    headers = {"Content-Range": content_range(lower, affected if req.method == "PATCH" else 0, total),
               **_preference_applied(req)}
    if req.prefer.get("return") != "representation":
        return respond(status if req.method == "POST" else 204, None, headers=headers)
    return respond(status, body, headers=headers, single=req.single)


async def table_op(db: Database, req: ApiRequest) -> Response:
    catalog = await db.catalog()
    table = await catalog.table(req.schema, req.target)
    if table is None:
        best = closest(req.target, await catalog.names("tables", req.schema))
        raise pgrst(404, "PGRST205", f"Could not find the table '{req.schema}.{req.target}' in the schema cache",
                    hint=f"Perhaps you meant the table '{req.schema}.{best}'" if best else None)
    q = parse_query(req.pairs)
    if req.method in ("POST", "PATCH", "DELETE"):
        return await _mutate(db, req, table, q)
    if req.method not in ("GET", "HEAD"):
        raise pgrst(405, "PGRST117", f"Unsupported HTTP method: {req.method}")
    source = sql.SQL("SELECT * FROM {}").format(sql.Identifier(table.schema, table.name))
    env = Envelope(single=req.single, strip_nulls=req.strip_nulls)
    statement, params = envelope_sql(source, [], q, env, count=req.count, max_rows=_MAX_ROWS, qual=table.name)
    row = await db.execute(req, statement, params)
    result = result_of(row, single=req.single, offset=q.offset)
    return read_response(result, single=req.single, head=req.method == "HEAD")

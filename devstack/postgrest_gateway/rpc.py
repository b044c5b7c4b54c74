"""``/rpc/<fn>``: pick the function from the body's keys (B4), call it, shape the result by return type (B5).

Why ``json_to_record``: PostgREST converts arguments with PostgreSQL's own JSON coercion, so ``"7"`` into
an ``integer`` is 7 and ``"x"`` is 22P02; reproducing that in Python would drift. Only the supplied keys are
passed, in named notation, so the function's defaults apply to the rest. GET/HEAD arguments are query
strings, cast with the parameter's type (``'{1,2}'::int[]``, ``'{"k":1}'::jsonb``), as PostgREST does.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from starlette.responses import Response

from .catalog import Catalog, Routine, closest
from .db import Database
from .errors import pgrst
from .filters import QueryParams, parse_query
from .query import Envelope, envelope_sql, result_of
from .request import ApiRequest, parse_body, text_body
from .responses import read_response, respond

__all__ = ["call_rpc"]

_MAX_ROWS = 1000
_RAW_BODY_TYPES = {"text/plain": "text", "text/xml": "xml", "application/octet-stream": "bytea"}


def _matches(fn: Routine, keys: set[str]) -> bool:
    required = {p.name for p in fn.required}
    optional = {p.name for p in fn.optional}
    if not fn.params:
        return not keys
    if not optional:
        return keys == required
    if not required:
        return keys <= optional
    return keys - optional == required


def _fallback_type(fn: Routine, req: ApiRequest) -> str | None:
    """The single unnamed parameter that takes the whole POST body, if ``fn`` has one for this body type."""
    if req.method != "POST" or len(fn.params) != 1 or fn.params[0].name:
        return None
    wanted = _RAW_BODY_TYPES.get(req.content_type, "json")
    kind = fn.params[0].type
    return kind if kind == wanted or (wanted == "json" and kind == "jsonb") else None


def _describe(fn: Routine) -> str:
    params = ", ".join(f"{p.name} => {p.type}" for p in fn.params)
    return f"{fn.schema}.{fn.name}({params})"


async def _not_found(req: ApiRequest, catalog: Catalog, routines: list[Routine], keys: list[str]) -> Exception:
    func = f"{req.schema}.{req.target}"
    raw_body = req.method == "POST" and req.content_type in _RAW_BODY_TYPES
    listed = ", ".join(keys)
    with_params = (f" with parameter{'s' if len(keys) > 1 else ''} {listed}" if keys else " without parameters")
    if raw_body:
        message = f"Could not find the function {func} in the schema cache"
        searched = f" with a single unnamed {_RAW_BODY_TYPES[req.content_type]} parameter"
        hint = None
    else:
        message = f"Could not find the function {func}{f'({listed})' if keys else ' without parameters'} in the schema cache"
        searched = with_params + (" or with a single unnamed json/jsonb parameter" if req.method == "POST" else "")
        if routines:
            shapes = ["(" + ", ".join(sorted(p.name for p in fn.params)) + ")" for fn in routines]
            best = closest("(" + listed + ")", shapes, cutoff=0.33)
            hint = f"Perhaps you meant to call the function {func}{best}" if best else None
        else:
            best = closest(req.target, await catalog.names("routines", req.schema))
            hint = f"Perhaps you meant to call the function {req.schema}.{best}" if best else None
    details = f"Searched for the function {func}{searched}, but no matches were found in the schema cache."
    return pgrst(404, "PGRST202", message, details, hint)


async def _resolve(req: ApiRequest, catalog: Catalog, keys: set[str]) -> tuple[Routine, str | None]:
    """The function to call, and the fallback parameter type when the whole body is its one argument."""
    routines = await catalog.routines(req.schema, req.target)
    raw_body = req.method == "POST" and req.content_type in _RAW_BODY_TYPES
    matches = [] if raw_body else [fn for fn in routines if _matches(fn, keys)]
    if not matches:
        fallbacks = [(fn, kind) for fn in routines if (kind := _fallback_type(fn, req))]
        if len(fallbacks) == 1:
            return fallbacks[0]
        matches = [fn for fn, _ in fallbacks]
    if len(matches) == 1:
        return matches[0], None
    if matches:
        raise pgrst(300, "PGRST203", "Could not choose the best candidate function between: "
                    + ", ".join(_describe(fn) for fn in matches),
                    hint="Try renaming the parameters or the function itself in the database so function "
                         "overloading can be resolved")
    raise await _not_found(req, catalog, routines, sorted(keys))


def _call(fn: Routine, keys: set[str], args: dict[str, str] | None, body: Any, fallback: str | None,
          params: list[Any]) -> tuple[sql.Composable, sql.Composable | None]:
    """(the call expression, the FROM item feeding it its arguments), appending their parameters."""
    name = sql.Identifier(fn.schema, fn.name)
    if fallback is not None:
        params.append(body)
        return sql.SQL("{}(%s::{})").format(name, sql.SQL(fallback)), None
    supplied = [p for p in fn.params if p.name in keys]
    if not supplied:
        return sql.SQL("{}()").format(name), None
    variadic = [sql.SQL("VARIADIC " if p.variadic else "") for p in supplied]
    if args is not None:  # GET/HEAD: query-string text cast to the parameter type
        params.extend(args[p.name] for p in supplied)
        values = [sql.SQL("{}{} := %s::{}").format(v, sql.Identifier(p.name), sql.SQL(p.type))
                  for v, p in zip(variadic, supplied, strict=True)]
        return sql.SQL("{}({})").format(name, sql.SQL(", ").join(values)), None
    params.append(body)
    values = [sql.SQL("{}{} := pgrst_body.{}").format(v, sql.Identifier(p.name), sql.Identifier(p.name))
              for v, p in zip(variadic, supplied, strict=True)]
    columns = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(p.name), sql.SQL(p.type)) for p in supplied)
    feed = sql.SQL("json_to_record(%s::json) AS pgrst_body({})").format(columns)
    return sql.SQL("{}({})").format(name, sql.SQL(", ").join(values)), feed


def _arguments(req: ApiRequest, q: QueryParams) -> tuple[set[str], dict[str, str] | None, Any]:
    """(keys, GET arguments, POST body parameter) of the request."""
    if req.method != "POST":
        return set(q.args), q.args, None
    if req.content_type in _RAW_BODY_TYPES:
        return set(), None, req.body if req.content_type == "application/octet-stream" else text_body(req.body)
    parsed = parse_body(req.body)
    return (set(parsed) if isinstance(parsed, dict) else set()), None, req.body.decode() if parsed != {} else "{}"


async def call_rpc(db: Database, req: ApiRequest) -> Response:
    if req.method not in ("GET", "HEAD", "POST"):
        raise pgrst(405, "PGRST101", f"Cannot use the {req.method} method on RPC")
    q = parse_query(req.pairs, rpc=True)
    keys, args, body = _arguments(req, q)
    fn, fallback = await _resolve(req, await db.catalog(), keys)
    params: list[Any] = []
    call, feed = _call(fn, keys, args, body, fallback, params)
    head = req.method == "HEAD"
    one_row = {"Content-Range": "0-0/1" if req.count else "0-0/*"}
    from_feed = sql.SQL(" FROM {}").format(feed) if feed is not None else sql.SQL("")
    if fn.returns_void:
        await db.execute(req, sql.SQL("SELECT {}{}").format(call, from_feed), params)
        return respond(204, None, headers=one_row)
    if not fn.returns_set and not fn.returns_composite:
        doc = sql.SQL("to_json({})").format(call)
        if req.strip_nulls:
            doc = sql.SQL("json_strip_nulls({})").format(doc)
        row = await db.execute(req, sql.SQL("SELECT coalesce({}::text, 'null'){}").format(doc, from_feed), params)
        return respond(200, row[0] if row else "null", headers=one_row, single=req.single, head=head)
    alias = sql.SQL("pgrst_call") if fn.returns_composite else sql.SQL("pgrst_call({})").format(
        sql.Identifier(fn.name))
    items = [sql.SQL("{} AS {}").format(call, alias)] if feed is None else [feed, sql.SQL("{} AS {}").format(call, alias)]
    source = sql.SQL("SELECT pgrst_call.* FROM {}").format(sql.SQL(", ").join(items))
    if not fn.returns_composite:
        q.select = QueryParams().select
    env = Envelope(single=req.single or not fn.returns_set, strip_nulls=req.strip_nulls,
                   scalar_column=None if fn.returns_composite else fn.name)
    statement, all_params = envelope_sql(source, params, q, env, count=req.count,
                                         max_rows=_MAX_ROWS if fn.returns_set else None)
    row = await db.execute(req, statement, all_params, check=_single_check if req.single else None)
    result = result_of(row, single=req.single, offset=q.offset)
    if not fn.returns_set:
        return respond(200, result.body or "null", headers=one_row, single=req.single, head=head)
    return read_response(result, single=req.single, head=head)


def _single_check(row: tuple[Any, ...] | None) -> None:
    """Before COMMIT: a volatile function's effects are rolled back when ``.single()`` fails."""
    result_of(row, single=True)

"""Parse PostgREST's query string (B7): select, filters, order, limit/offset, columns, on_conflict.

Why it fails loudly: anything this gateway does not implement (``or=``, full-text search, embedding, JSON
paths, casts in filters) answers 400 ``PGRST100`` rather than being ignored, so a test never passes locally
on a query that real PostgREST would have filtered differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ApiError, pgrst

__all__ = ["BINARY_OPS", "Filter", "OrderTerm", "QueryParams", "SelectItem", "looks_like_filter",
           "parse_query", "split_fields"]

# PostgREST operator -> SQL operator; the value is sent as an untyped literal so PostgreSQL casts it.
BINARY_OPS = {
    "eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "like": "LIKE", "ilike": "ILIKE",
    "match": "~", "imatch": "~*", "cs": "@>", "cd": "<@", "ov": "&&", "sl": "<<", "sr": ">>", "nxr": "&<",
    "nxl": "&>", "adj": "-|-",
}
_FTS_OPS = {"fts", "plfts", "phfts", "wfts"}
_IS_VALUES = {"null": "NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}
_RESERVED = {"select", "columns", "on_conflict", "order", "limit", "offset", "apikey"}
_UNSUPPORTED = "not supported by the local PostgREST gateway"


@dataclass(frozen=True)
class Filter:
    column: str
    op: str  # a BINARY_OPS key, "in" or "is"
    value: str | tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class OrderTerm:
    column: str
    desc: bool = False
    nulls: str | None = None  # "first" | "last"


@dataclass(frozen=True)
class SelectItem:
    column: str  # "*" or a column name
    alias: str | None = None


@dataclass
class QueryParams:
    select: list[SelectItem] = field(default_factory=lambda: [SelectItem("*")])
    filters: list[Filter] = field(default_factory=list)
    order: list[OrderTerm] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    columns: list[str] | None = None
    on_conflict: list[str] | None = None
    args: dict[str, str] = field(default_factory=dict)  # non-filter params: RPC arguments on GET/HEAD


def _parse_error(what: str, text: str, details: str) -> ApiError:
    return pgrst(400, "PGRST100", f'"failed to parse {what} ({text})" (line 1, column 1)', details)


def split_fields(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside double quotes and parentheses; strip whitespace outside quotes."""
    parts, buf, quoted, depth = [], [], False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted and ch == "\\" and i + 1 < len(text):
            buf.append(ch + text[i + 1])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        if ch == sep and not quoted and depth == 0:
            parts.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf).strip())
    return parts


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return name


def _field_name(name: str, what: str, text: str) -> str:
    if not name:
        raise _parse_error(what, text, "expecting field name (* or [a..z0..9_$])")
    if not name.startswith('"') and any(tok in name for tok in ("->", "::", "(", ")", "!", ".", ":")):
        raise _parse_error(what, text, f"JSON paths, casts and embedded resources are {_UNSUPPORTED}")
    return _unquote(name)


def _parse_select(text: str) -> list[SelectItem]:
    items = []
    for raw in split_fields(text):
        if raw == "*":
            items.append(SelectItem("*"))
            continue
        alias = None
        if not raw.startswith('"') and ":" in raw and "::" not in raw:
            alias_text, raw = (part.strip() for part in raw.split(":", 1))
            alias = _field_name(alias_text, "select parameter", text)
        items.append(SelectItem(_field_name(raw, "select parameter", text), alias))
    return items


def _split_dotted(raw: str) -> tuple[str, list[str]]:
    """``"a.b".desc`` -> ('"a.b"', ['desc']); ``a.asc.nullslast`` -> ('a', ['asc', 'nullslast'])."""
    if raw.startswith('"'):
        end = raw.find('"', 1)
        while end > 0 and raw[end - 1] == "\\":
            end = raw.find('"', end + 1)
        if end < 0:
            return raw, []
        rest = raw[end + 1:]
        return raw[: end + 1], rest[1:].split(".") if rest.startswith(".") else ([rest] if rest else [])
    name, *mods = raw.split(".")
    return name, mods


def _parse_order(text: str) -> list[OrderTerm]:
    terms = []
    for raw in split_fields(text):
        column, modifiers = _split_dotted(raw)
        desc, nulls = False, None
        for i, mod in enumerate(modifiers):
            if mod in ("asc", "desc") and i == 0:
                desc = mod == "desc"
            elif mod in ("nullsfirst", "nullslast") and nulls is None and i == len(modifiers) - 1:
                nulls = mod[5:]
            else:
                raise _parse_error("order", text, 'expecting "asc", "desc", "nullsfirst" or "nullslast"')
        terms.append(OrderTerm(_field_name(column, "order", text), desc, nulls))
    return terms


def _parse_list(text: str, value: str) -> tuple[str, ...]:
    inner = text.strip()
    if not (inner.startswith("(") and inner.endswith(")")):
        raise _parse_error("filter", value, 'expecting "("')
    if not inner[1:-1].strip():
        return ()
    return tuple(_unquote(item) for item in split_fields(inner[1:-1]))


def _parse_filter(column: str, value: str) -> Filter:
    negate = value.startswith("not.")
    body = value[4:] if negate else value
    op, dot, rest = body.partition(".")
    if op in BINARY_OPS and dot:
        if op in ("like", "ilike"):
            rest = rest.replace("*", "%")
        return Filter(column, op, rest, negate)
    if op == "in" and dot:
        return Filter(column, "in", _parse_list(rest, value), negate)
    if op == "is" and dot:
        if rest.lower() not in _IS_VALUES:
            raise _parse_error("filter", value, "expecting null or trilean value (unknown, true, false)")
        return Filter(column, "is", _IS_VALUES[rest.lower()], negate)
    if op.split("(")[0] in _FTS_OPS:
        raise _parse_error("filter", value, f"full-text search operators are {_UNSUPPORTED}")
    raise _parse_error("filter", value, f"unknown single value operator {op}")


def looks_like_filter(key: str, value: str) -> bool:
    """PostgREST's split between filters and RPC arguments: a dotted key or an operator-shaped value."""
    if "." in key:
        return True
    head = value.split(".")
    if (head[0] == "not" and len(head) > 1) or head[0] in ("is", "in"):
        return True
    return head[0] in BINARY_OPS or head[0].split("(")[0] in _FTS_OPS


def _int_param(name: str, text: str) -> int:
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()):  # str.isdigit() alone accepts "²", which int() refuses
        raise _parse_error(name, text, "expecting a non-negative integer")
    return int(digits)


def parse_query(pairs: list[tuple[str, str]], *, rpc: bool = False) -> QueryParams:
    """Parse decoded query pairs; for RPC, params that are not filters become ``args`` (used on GET/HEAD)."""
    q = QueryParams()
    for key, value in pairs:
        if key == "select":
            q.select = _parse_select(value)
        elif key == "order":
            q.order = _parse_order(value)
        elif key == "limit":
            q.limit = _int_param("limit", value)
        elif key == "offset":
            q.offset = _int_param("offset", value)
        elif key == "columns":
            q.columns = [_field_name(c, "columns parameter", value) for c in split_fields(value)]
        elif key == "on_conflict":
            q.on_conflict = [_field_name(c, "on_conflict parameter", value) for c in split_fields(value)]
        elif key in ("or", "and", "not.or", "not.and") or key.endswith((".or", ".and")):
            raise _parse_error("logic tree", value, f"or/and logic trees are {_UNSUPPORTED}")
        elif key in _RESERVED:
            continue
        elif "." in key and not key.startswith('"'):
            raise _parse_error("tree path", key, f"filters on embedded resources are {_UNSUPPORTED}")
        elif looks_like_filter(key, value) or not rpc:
            q.filters.append(_parse_filter(_field_name(key, "filter", key), value))
        else:
            q.args[key] = value
    return q

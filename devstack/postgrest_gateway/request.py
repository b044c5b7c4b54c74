"""One PostgREST request, parsed: target, schema (profile headers), Prefer, Accept, query pairs, body.

Why parse up front: every route needs the same facts, and every malformed piece must become the PostgREST
error (PGRST106 schema, PGRST107 media type, PGRST102 body) before a transaction is opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from .auth import Caller
from .errors import ApiError, pgrst

__all__ = ["ApiRequest", "parse_body", "parse_request", "text_body"]

_OBJECT_TYPES = ("application/vnd.pgrst.object+json", "application/vnd.pgrst.object")
_ARRAY_TYPES = ("*/*", "application/*", "application/json", "application/vnd.pgrst.array+json",
                "application/vnd.pgrst.array")


@dataclass
class ApiRequest:
    method: str
    path: str  # below /rest/v1, as PostgREST sees it: "/rpc/fn" or "/table"
    target: str
    is_rpc: bool
    schema: str
    pairs: list[tuple[str, str]]
    headers: dict[str, str]
    cookies: dict[str, str]
    prefer: dict[str, str]
    single: bool  # Accept: application/vnd.pgrst.object+json (.single())
    strip_nulls: bool
    content_type: str
    body: bytes
    caller: Caller

    @property
    def read_only(self) -> bool:
        return self.method in ("GET", "HEAD")

    @property
    def count(self) -> bool:
        return self.prefer.get("count") in ("exact", "planned", "estimated")


def _prefer(values: list[str]) -> dict[str, str]:
    prefs: dict[str, str] = {}
    for item in ",".join(values).split(","):
        key, _, value = item.strip().partition("=")
        if key:
            prefs.setdefault(key.strip().lower(), value.strip())
    return prefs


def _accept(value: str | None) -> tuple[bool, bool]:
    """(single object?, strip nulls?) from Accept; 406 PGRST107 when nothing JSON is acceptable."""
    if not value or not value.strip():
        return False, False
    offered = []
    for item in value.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        media = media.lower()
        strip = any(p.replace(" ", "").lower() == "nulls=stripped" for p in params)
        if media in _OBJECT_TYPES:
            return True, strip
        if media in _ARRAY_TYPES:
            return False, strip
        offered.append(media)
    raise pgrst(406, "PGRST107", "None of these media types are available: " + ", ".join(offered))


def _schema(request: Request, method: str, schemas: tuple[str, ...]) -> str:
    header = "accept-profile" if method in ("GET", "HEAD") else "content-profile"
    wanted = (request.headers.get(header) or "").strip() or schemas[0]
    if wanted not in schemas:
        raise pgrst(406, "PGRST106", f"Invalid schema: {wanted}",
                    hint="Only the following schemas are exposed: " + ", ".join(schemas))
    return wanted


def _headers(request: Request) -> dict[str, str]:
    """Lower-cased headers for ``request.headers``; the first of duplicated names wins."""
    out: dict[str, str] = {}
    for key, value in request.headers.raw:
        out.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def parse_body(raw: bytes) -> Any:
    """The JSON body (an empty body is ``{}``); 400 PGRST102 when it is not JSON, strict UTF-8 included."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError; RecursionError: "[[[[..."
        raise pgrst(400, "PGRST102", "Empty or invalid json") from e


def _bad_encoding(raw: bytes) -> ApiError:
    """PostgreSQL's own refusal of text that is not UTF-8 (a NUL byte included): 400 ``22021``."""
    shown = " ".join(f"0x{b:02x}" for b in raw[:3])
    return ApiError(400, "22021", f'invalid byte sequence for encoding "UTF8": {shown}')


def text_body(raw: bytes) -> str:
    """A ``text/plain`` or ``text/xml`` body as PostgreSQL would take it, or its 22021 refusal."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _bad_encoding(raw[e.start:e.end]) from e
    if "\x00" in text:
        raise _bad_encoding(b"\x00")
    return text


def _check_no_nul(rest_path: str, pairs: list[tuple[str, str]]) -> None:
    """PostgreSQL text cannot hold NUL: refuse it in the path or a query value as PostgreSQL does (22021).

    Left to psycopg, it fails while building the statement with an error that has no SQLSTATE, which read
    as a lost connection (503).
    """
    if "\x00" in rest_path or any("\x00" in key or "\x00" in value for key, value in pairs):
        raise _bad_encoding(b"\x00")


async def parse_request(request: Request, rest_path: str, caller: Caller, schemas: tuple[str, ...]) -> ApiRequest:
    method = request.method.upper()
    segments = rest_path.strip("/").split("/")
    is_rpc = len(segments) == 2 and segments[0] == "rpc" and bool(segments[1])
    if not (is_rpc or (len(segments) == 1 and segments[0])):
        raise pgrst(404, "PGRST125", "Invalid path specified in request URL")
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    _check_no_nul(rest_path, pairs)
    single, strip_nulls = _accept(request.headers.get("accept"))
    return ApiRequest(
        method=method,
        path="/" + "/".join(segments),
        target=segments[-1],
        is_rpc=is_rpc,
        schema=_schema(request, method, schemas),
        pairs=pairs,
        headers=_headers(request),
        cookies=dict(request.cookies),
        prefer=_prefer(request.headers.getlist("prefer")),
        single=single,
        strip_nulls=strip_nulls,
        content_type=(request.headers.get("content-type") or "application/json").split(";")[0].strip().lower(),
        body=b"" if method in ("GET", "HEAD") else await request.body(),
        caller=caller,
    )

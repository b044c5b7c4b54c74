"""Errors shaped like PostgREST's (B6): ``{"code","details","hint","message"}``, ``Proxy-Status``, the status.

Why one module: supabase-py turns any non-2xx JSON into ``APIError`` fields, so the body keys, the string
``code`` and the SQLSTATE→HTTP mapping must be right in exactly one place. Kong's 401s (no API key) are the
one exception: Kong, not PostgREST, answers them, without ``code``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import psycopg
from starlette.responses import Response

__all__ = ["JSON_TYPE", "ApiError", "from_pg", "kong_unauthorized", "pgrst", "sqlstate_status"]

JSON_TYPE = "application/json; charset=utf-8"


class ApiError(Exception):
    """An error response: HTTP ``status``, the four PostgREST body keys, and extra ``headers``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None, hint: Any = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.details, self.hint = details, hint
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "hint": self.hint, "message": self.message}

    def response(self, *, head: bool = False) -> Response:
        headers = {"Proxy-Status": f"PostgREST; error={self.code}", **self.headers}
        content = b"" if head else _json_bytes(self.body())
        return Response(content, status_code=self.status, headers=headers, media_type=JSON_TYPE)


def _json_bytes(body: dict[str, Any]) -> bytes:
    """UTF-8 JSON; escaped ASCII when the body echoes a lone surrogate (a JSON ``"\\ud800"`` key, say)."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(body, separators=(",", ":")).encode()


def pgrst(status: int, code: str, message: str, details: Any = None, hint: Any = None) -> ApiError:
    """A PostgREST-own error (``PGRSTxxx``)."""
    return ApiError(status, code, message, details, hint)


def kong_unauthorized(message: str, hint: str) -> Response:
    """Supabase's API gateway (Kong) refusing a request before PostgREST sees it: no ``code`` key."""
    body = json.dumps({"message": message, "hint": hint}, separators=(",", ":")).encode()
    return Response(body, status_code=401, media_type=JSON_TYPE)


_PREFIX_STATUS = (
    ("08", 503), ("09", 500), ("0L", 403), ("0P", 403),
)
_LATE_PREFIX_STATUS = (
    ("25", 500), ("28", 403), ("2D", 500), ("38", 500), ("39", 500), ("3B", 500), ("40", 500),
)
_EXACT_STATUS = {"23503": 409, "23505": 409, "25006": 405, "53400": 500, "57P01": 503, "P0001": 400,
                 "42P01": 404, "42P17": 500}
_TAIL_PREFIX_STATUS = (
    ("53", 503), ("54", 500), ("55", 500), ("57", 500), ("58", 500), ("F0", 500), ("HV", 500),
    ("P0", 500), ("XX", 500),
)


def sqlstate_status(sqlstate: str, message: str, *, anon: bool) -> int:
    """PostgREST's ``mapSQLtoHTTP``, in its order of checks."""
    for prefix, status in _PREFIX_STATUS:
        if sqlstate.startswith(prefix):
            return status
    if sqlstate in ("23503", "23505", "25006"):
        return _EXACT_STATUS[sqlstate]
    if sqlstate == "21000":
        return 400 if message.endswith("requires a WHERE clause") else 500
    if sqlstate == "22023":
        return 401 if message.startswith("role") and message.endswith("does not exist") else 400
    for prefix, status in _LATE_PREFIX_STATUS:
        if sqlstate.startswith(prefix):
            return status
    if sqlstate in _EXACT_STATUS:
        return _EXACT_STATUS[sqlstate]
    if sqlstate == "42883":
        return 406 if message.startswith("function xmlagg(") else 404
    if sqlstate == "42501":
        return 401 if anon else 403
    if sqlstate.startswith("PT"):
        return int(sqlstate[2:]) if sqlstate[2:].isdigit() else 500
    for prefix, status in _TAIL_PREFIX_STATUS:
        if sqlstate.startswith(prefix):
            return status
    return 400


def _raised_pgrst(message: str, detail: str | None) -> ApiError:
    """``RAISE SQLSTATE 'PGRST' USING message = '{json}', detail = '{json}'``: full response control."""
    try:
        body = json.loads(message)
        if not isinstance(body, dict) or "code" not in body or "message" not in body:
            raise ValueError(message)
    except ValueError:
        return pgrst(500, "PGRST121", 'Could not parse JSON in the "RAISE SQLSTATE \'PGRST\'" error',
                     f"Invalid JSON value for MESSAGE: '{message}'",
                     "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys:"
                     " 'details', 'hint'.")
    try:
        meta = json.loads(detail or "")
        if not isinstance(meta, dict) or "status" not in meta or "headers" not in meta:
            raise ValueError(detail)
    except ValueError:
        why = "DETAIL is missing in the RAISE statement" if not detail else f"Invalid JSON value for DETAIL: '{detail}'"
        return pgrst(500, "PGRST121", 'Could not parse JSON in the "RAISE SQLSTATE \'PGRST\'" error', why,
                     "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key:"
                     " 'status_text'.")
    headers = {str(k): str(v) for k, v in dict(meta["headers"]).items()}
    return ApiError(int(meta["status"]), str(body["code"]), str(body["message"]), body.get("details"),
                    body.get("hint"), headers)


def from_pg(error: psycopg.Error, *, anon: bool) -> ApiError:
    """A PostgreSQL error as PostgREST reports it; a lost connection is 503 ``PGRST000`` like PostgREST's."""
    diag = error.diag
    sqlstate = diag.sqlstate
    if sqlstate is None:
        return pgrst(503, "PGRST000", "Database connection error. Retrying the connection.", str(error))
    message = diag.message_primary or str(error)
    if sqlstate == "PGRST":
        return _raised_pgrst(message, diag.message_detail)
    status = sqlstate_status(sqlstate, message, anon=anon)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return ApiError(status, sqlstate, message, diag.message_detail, diag.message_hint, headers)

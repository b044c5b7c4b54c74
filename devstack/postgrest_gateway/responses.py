"""Success responses: status from the range, ``Content-Range``, content type, and HEAD/204 bodies.

Why exact headers matter: supabase-py reads ``count`` from ``Content-Range`` only, and falls back to
``data == []`` only when the body is empty (void RPC, ``return=minimal``).
"""

from __future__ import annotations

from starlette.responses import Response

from .errors import JSON_TYPE, pgrst
from .query import Result

__all__ = ["OBJECT_TYPE", "content_range", "read_response", "respond"]

OBJECT_TYPE = "application/vnd.pgrst.object+json; charset=utf-8"


def content_range(lower: int, page_total: int, total: int | None) -> str:
    """``0-2/3``; ``*/N`` for an empty page; ``*`` as the total when it was not counted."""
    total_text = "*" if total is None else str(total)
    if page_total == 0 or total == 0:
        return f"*/{total_text}"
    return f"{lower}-{lower + page_total - 1}/{total_text}"


def _range_status(lower: int, page_total: int, total: int | None) -> int:
    if total is None:
        return 200
    if lower > total:
        raise pgrst(416, "PGRST103", "Requested range not satisfiable",
                    f"An offset of {lower} was requested, but there are only {total} rows.")
    return 206 if page_total < total else 200


def respond(status: int, body: str | None, *, headers: dict[str, str], single: bool = False,
            head: bool = False) -> Response:
    """A JSON response, or an empty one without Content-Type when there is no body (204, minimal)."""
    if body is None:
        return Response(b"", status_code=status, headers=headers)
    content = b"" if head else body.encode()
    return Response(content, status_code=status, headers=headers, media_type=OBJECT_TYPE if single else JSON_TYPE)


def read_response(result: Result, *, single: bool, head: bool) -> Response:
    """GET/HEAD of a table or a set-returning function."""
    status = _range_status(result.offset, result.page_total, result.total)
    headers = {"Content-Range": content_range(result.offset, result.page_total, result.total)}
    return respond(status, result.body if result.body is not None else "[]", headers=headers, single=single,
                   head=head)

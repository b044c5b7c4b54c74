"""The request body, read only after authentication and never past Upstash's max request size.

Why stream with a cap: the gateway used to buffer whole bodies before checking the token, so one
unauthenticated 500 MB POST took it to 1 GB. Upstash refuses a request over 10 MB on its "Free" and
"Pay as you go" plans with ``ERR max request size exceeded`` (upstash/docs
``redis/troubleshooting/max_request_size_exceeded.mdx``; the text as seen in production is
``ERR max request size exceeded. Limit: 10485760 bytes, Actual: 12009587 bytes``), a 400 like every error
reply (``redis/features/restapi.mdx``, "HTTP Codes").
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from devstack.upstash_gateway.errors import RequestTooLarge

__all__ = ["MAX_REQUEST_BYTES", "close_if_unread", "read_body"]

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # Upstash "Free" plan (also "Pay as you go")
# uvicorn reads up to 64 KiB of a body ahead and discards what the app leaves unread, keeping the
# connection; past that, reading on would mean taking in whatever the client sends, so we hang up instead.
_DISCARD_MAX = 64 * 1024


def _declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length", "")
    return int(value) if value.isascii() and value.isdigit() else None


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or RequestTooLarge as soon as it is known to exceed ``limit`` bytes."""
    declared = _declared_length(request.headers)
    if declared is not None and declared > limit:
        raise RequestTooLarge(limit, declared)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(limit, declared)
        chunks.append(chunk)
    return b"".join(chunks)


def close_if_unread(request: Request, response: Response, *, partly_read: bool = False) -> Response:
    """Mark an answer given before the body was read: ``Connection: close`` unless what is left is small."""
    declared = _declared_length(request.headers)
    unknown = declared is None and "transfer-encoding" in request.headers
    if partly_read or unknown or (declared or 0) > _DISCARD_MAX:
        response.headers["Connection"] = "close"
    return response

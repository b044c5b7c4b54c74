"""The gateway's error values and exceptions, each tied to the HTTP answer Upstash gives for it (A4)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BackendUnavailable", "BadRequest", "ReplyError", "RequestTooLarge", "TransactionAborted"]


@dataclass(frozen=True)
class ReplyError:
    """A Redis error reply kept as a value, so a pipeline slot can hold it next to ordinary results.

    ``message`` is the full line with its prefix (``"WRONGTYPE Operation ..."``), exactly as Redis sent it.
    """

    message: str


class BadRequest(Exception):
    """The request itself is unusable (bad JSON, unsupported command): 400 ``{"error": "ERR ..."}``."""

    status_code = 400


class RequestTooLarge(BadRequest):
    """The body is over the max request size: Upstash's 400 ``ERR max request size exceeded``."""

    def __init__(self, limit: int, actual: int | None) -> None:
        size = f", Actual: {actual} bytes" if actual is not None else ""
        super().__init__(f"ERR max request size exceeded. Limit: {limit} bytes{size}")


class TransactionAborted(Exception):
    """Redis discarded a MULTI because a command failed to queue: 400 with the EXECABORT line."""

    status_code = 400


class BackendUnavailable(Exception):
    """Redis could not be reached or dropped the connection: 500, still with a JSON body for the SDK."""

    status_code = 500

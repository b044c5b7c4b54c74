"""RESP2 replies to the JSON values Upstash sends, with or without ``Upstash-Encoding: base64`` (A5).

The SDK decodes every string leaf with strict base64 + UTF-8 (except the literal ``"OK"``), so with the
header on, every string at every depth must be base64; integers and nulls never are, nor are error texts.
"""

from __future__ import annotations

import base64
from typing import Any

from devstack.upstash_gateway.errors import ReplyError

__all__ = ["Reply", "to_json", "wants_base64"]

# What the backend hands us: redis-py RESP2 replies (callbacks cleared), errors turned into ReplyError.
Reply = bytes | int | None | list[Any] | ReplyError


def wants_base64(header_value: str | None) -> bool:
    """True when the request asked for base64 strings (``Upstash-Encoding: base64``)."""
    return header_value is not None and header_value.strip().lower() == "base64"


def _string(raw: bytes, b64: bool) -> str:
    if not b64:
        # Upstash documents U+FFFD replacement for bytes that are not UTF-8.
        return raw.decode("utf-8", errors="replace")
    # redis-py cannot tell +OK from a bulk "OK"; real Upstash sends "OK" bare and every SDK special-cases it,
    # so a bulk "OK" decodes to the same "OK" either way.
    if raw == b"OK":
        return "OK"
    return base64.b64encode(raw).decode("ascii")


def to_json(value: Reply, *, b64: bool) -> Any:
    """Map a reply (at any depth) to its JSON value; a nested error becomes its message string (A5.5)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, bytes):
        return _string(value, b64)
    if isinstance(value, list):
        return [to_json(item, b64=b64) for item in value]
    if isinstance(value, ReplyError):
        return value.message
    raise TypeError(f"unexpected reply type from the backend: {type(value).__name__}")

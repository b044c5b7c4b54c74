"""Turn request bodies and paths into Redis commands (lists of bytes), as Upstash reads them (A3).

JSON numbers keep their exact text (``1.50`` stays ``"1.50"``, ``60`` never becomes ``"60.0"``), booleans
become ``"true"``/``"false"``, and anything else that is not a string is a 400 rather than a silent guess.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn
from urllib.parse import parse_qsl, unquote_to_bytes

from devstack.upstash_gateway.errors import BadRequest

__all__ = ["Command", "command_name", "parse_batch", "parse_single", "path_command", "split_path"]

Command = list[bytes]


def _reject_constant(text: str) -> NoReturn:
    raise BadRequest(f"ERR invalid JSON number {text}")


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_int=str, parse_float=str, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:  # RecursionError: absurdly deep nesting such as "[[[[..."
        raise BadRequest("ERR failed to parse request body as JSON") from e


def command_name(command: Command) -> str:
    """Upper-case name used for counting."""
    return command[0].decode("utf-8", errors="replace").upper()


def _arg(value: Any) -> bytes:
    if isinstance(value, bool):  # before str: bool is not a str, but keep the JSON spelling
        return b"true" if value else b"false"
    if isinstance(value, str):  # strings, and numbers kept as their JSON text
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise BadRequest("ERR argument is not valid unicode") from e
    kind = "null" if value is None else type(value).__name__
    raise BadRequest(f"ERR unsupported argument type {kind}: only strings, numbers and booleans are allowed")


def _command(value: Any) -> Command:
    if not isinstance(value, list) or not value:
        raise BadRequest('ERR a command must be a non-empty JSON array, like ["GET","key"]')
    return [_arg(v) for v in value]


def parse_single(body: bytes) -> Command:
    """``POST /`` body ``["CMD", "arg", ...]``."""
    return _command(_load_json(body))


def parse_batch(body: bytes) -> list[Command]:
    """``/pipeline`` and ``/multi-exec`` body ``[["CMD", ...], ...]``; ``[]`` is a valid empty batch."""
    data = _load_json(body)
    if not isinstance(data, list) or not all(isinstance(c, list) and c for c in data):
        raise BadRequest("ERR Invalid command array. Expected an array of string arrays at root.")
    return [_command(c) for c in data]


def path_command(segments: list[bytes], body: bytes | None, query: str) -> Command:
    """``/set/foo?EX=100`` with body ``v`` gives ``SET foo v EX 100`` (body last, then query pairs)."""
    command = list(segments)
    if body:
        command.append(body)
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "_token":
            continue
        command.append(key.encode())
        if value:
            command.append(value.encode())
    return command


def split_path(raw_path: bytes) -> list[bytes]:
    """Percent-decode each segment of the raw path; repeated and trailing slashes vanish (``//pipeline``)."""
    return [unquote_to_bytes(s) for s in raw_path.split(b"/") if s]

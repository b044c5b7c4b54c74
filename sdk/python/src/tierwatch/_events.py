"""Events as the bundle's ingest endpoint accepts them: limits mirrored, values repaired before sending.

The endpoint refuses a whole batch when one event breaks the contract (422), so nothing leaves this
process unchecked: what can be repaired is (long text truncated, odd characters in a name replaced,
numbers clamped into range, a malformed optional field left out); what cannot (a status of 42, a NaN
metric value) raises ``ValueError`` here, and the client counts the event as invalid instead of
sending it. The limits are the ones ``shared/events/limits.py`` enforces on the server; a unit test
checks both stay equal and that every event built here parses there.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

# The server's limits (shared/events/limits.py), copied: this package may not import the bundle.
MAX_BODY_BYTES = 1024 * 1024
MAX_EVENTS = 1000
MAX_NAME_LENGTH = 200
MAX_MESSAGE_LENGTH = 4096
MAX_STACK_LENGTH = 16384
MAX_TAGS = 20
MAX_TAG_KEY_LENGTH = 64
MAX_TAG_VALUE_LENGTH = 200
MAX_OBJECT_BYTES = 4096
MAX_OBJECT_DEPTH = 5
MAX_DURATION_MS = 15 * 60 * 1000
MAX_MEMORY_MB = 10240
MAX_TIMESTAMP_AHEAD = timedelta(minutes=5)
MAX_TIMESTAMP_AGE = timedelta(days=7)
FUNCTION_NAME_PATTERN = r"^[A-Za-z0-9_.:/@\[\]-]+$"
METRIC_NAME_PATTERN = r"^[A-Za-z_:][A-Za-z0-9_:.]*$"
TAG_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
TRACE_ID_PATTERN = r"^[0-9a-fA-F]{32}$"
METHOD_PATTERN = r"^[A-Za-z]{1,16}$"

SEVERITIES = ("low", "medium", "high", "critical")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
METRIC_KINDS = ("counter", "gauge", "histogram")
# The body around the events: {"events":[ ... ]}
BODY_OVERHEAD = len(b'{"events":[]}')

_NOT_IN_FUNCTION = re.compile(r"[^A-Za-z0-9_.:/@\[\]-]")
_PATH_PARAM = re.compile(r"\{([^{}:]*)(?::[^{}]*)?\}")  # Starlette's /users/{id:int} -> /users/[id]
_NOT_IN_METRIC = re.compile(r"[^A-Za-z0-9_:.]")
_NOT_IN_TAG_KEY = re.compile(r"[^A-Za-z0-9_.-]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and unpaired surrogates: no database stores them
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_TRACE_ID = re.compile(r"[0-9a-fA-F]{32}")
_METHOD = re.compile(r"[A-Za-z]{1,16}")
_TRUNCATED = "…"


def now_ms() -> int:
    """The wall clock as epoch milliseconds: each event carries the moment it happened."""
    return round(time.time() * 1000)


def _text(value: object, limit: int) -> str:
    text = _UNSTORABLE.sub("\ufffd", value if isinstance(value, str) else _safe_str(value))
    return text if len(text) <= limit else text[: limit - 1] + _TRUNCATED


def _label(value: object) -> str:
    """One line of at most ``MAX_NAME_LENGTH`` characters (control characters become spaces)."""
    return _text(_CONTROL.sub(" ", value if isinstance(value, str) else _safe_str(value)), MAX_NAME_LENGTH).strip()


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a __str__ that raises must not break tracking
        return f"<{type(value).__name__}>"


def function_name(value: object) -> str:
    """A function name the server accepts: path templates as Vercel writes them (``/users/[id]``), any
    other character outside ``FUNCTION_NAME_PATTERN`` replaced by ``_``; ``ValueError`` when empty."""
    name = _PATH_PARAM.sub(r"[\1]", value if isinstance(value, str) else _safe_str(value)).strip()
    name = _NOT_IN_FUNCTION.sub("_", name)[:MAX_NAME_LENGTH]
    if not name:
        raise ValueError("function: must not be empty")
    return name


def _finite(value: object, field: str) -> float:
    """``value`` as a finite float; ``ValueError`` for anything else (bools, NaN, an int too large)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field}: must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{field}: must be finite") from None
    if not math.isfinite(number):
        raise ValueError(f"{field}: must be finite")
    return number


def _milliseconds(value: object, field: str) -> float:
    return min(max(_finite(value, field), 0.0), float(MAX_DURATION_MS))


def _optional_ms(value: object, field: str) -> float | None:
    try:
        return None if value is None else _milliseconds(value, field)
    except ValueError:
        return None


def trace_id(value: object) -> str | None:
    """A W3C trace-id (32 hex, not all zeros), lowercased; ``None`` for anything else."""
    if not isinstance(value, str) or not _TRACE_ID.fullmatch(value) or not value.strip("0"):
        return None
    return value.lower()


def _utc(moment: datetime) -> datetime:
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("timestamp: outside the accepted window") from None


def timestamp(value: object) -> int | str:
    """Epoch milliseconds (``None`` means now) or an ISO 8601 string, inside the server's window."""
    now = datetime.now(UTC)
    if value is None:
        return now_ms()
    if isinstance(value, datetime):
        moment = _utc(value)
        stamp: int | str = moment.isoformat()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        milliseconds = _finite(value, "timestamp")
        try:
            moment = datetime.fromtimestamp(milliseconds / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("timestamp: outside the accepted window") from None
        stamp = round(milliseconds)
    elif isinstance(value, str) and len(value) <= 64:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("timestamp: must be ISO 8601 or epoch milliseconds") from None
        moment = _utc(parsed)
        stamp = moment.isoformat()
    else:
        raise ValueError("timestamp: must be a datetime, ISO 8601 or epoch milliseconds")
    # a minute of slack inside the server's window: the batch reaches it a little later
    if not now - MAX_TIMESTAMP_AGE + timedelta(minutes=1) <= moment <= now + MAX_TIMESTAMP_AHEAD:
        raise ValueError("timestamp: outside the accepted window (7 days old to 5 minutes ahead)")
    return stamp


def _json_value(value: object, depth: int) -> object:
    """``value`` as storable JSON: strings cleaned, non-finite numbers null, unknown objects as text,
    containers nested deeper than ``MAX_OBJECT_DEPTH`` replaced by their (short) text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):  # a literal of more than 4300 digits is refused by Python's JSON parser
        return value if -(10**4000) < value < 10**4000 else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, Mapping | list | tuple):
        if depth > MAX_OBJECT_DEPTH:
            return _text(value, 200)
        if isinstance(value, Mapping):
            return {_UNSTORABLE.sub("\ufffd", k if isinstance(k, str) else _safe_str(k)): _json_value(v, depth + 1)
                    for k, v in value.items()}
        return [_json_value(item, depth + 1) for item in value]
    return _text(value, 200)


def json_object(value: object) -> dict[str, Any] | None:
    """A context or metadata object within the server's limits, or ``None`` (left out) when it is not an
    object or is too large once encoded."""
    if not isinstance(value, Mapping):
        return None
    cleaned = _json_value(value, 1)
    if not isinstance(cleaned, dict):
        return None
    if len(json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode()) > MAX_OBJECT_BYTES:
        return None
    return cleaned


def stack_text(value: object) -> str | None:
    """A stack within ``MAX_STACK_LENGTH``; a long Python traceback keeps its header and its innermost
    frames (the ones that say where it failed, and what the bundle groups errors by)."""
    if value is None:
        return None
    stack = _text(value, len(value) if isinstance(value, str) else MAX_STACK_LENGTH)
    if len(stack) <= MAX_STACK_LENGTH:
        return stack
    head = "Traceback (most recent call last):\n" if stack.startswith("Traceback") else ""
    marker = f"  {_TRUNCATED}\n"
    return head + marker + stack[len(stack) - (MAX_STACK_LENGTH - len(head) - len(marker)):]


def request(function: object, duration_ms: object, status: object, *, method: object = None,
            route: object = None, cold_start: bool | None = None, init_ms: object = None,
            timed_out: bool | None = None, memory_mb: object = None, user: object = None,
            trace: object = None, at: object = None) -> dict[str, Any]:
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("status: must be an HTTP status, 100 to 599")
    event: dict[str, Any] = {"type": "request", "function": function_name(function),
                             "duration_ms": _milliseconds(duration_ms, "duration_ms"), "status": status,
                             "timestamp": timestamp(at)}
    if isinstance(method, str) and _METHOD.fullmatch(method):
        event["method"] = method.upper()
    if route is not None and (label := _label(route)):
        event["route"] = label
    if cold_start is not None:
        event["cold_start"] = bool(cold_start)
    if (init := _optional_ms(init_ms, "init_ms")) is not None:
        event["init_ms"] = init
    if timed_out is not None:
        event["timed_out"] = bool(timed_out)
    if memory_mb is not None:
        try:
            event["memory_mb"] = min(max(_finite(memory_mb, "memory_mb"), 0.0), float(MAX_MEMORY_MB))
        except ValueError:
            pass  # an optional figure: left out rather than losing the event
    if user is not None and (label := _label(user)):
        event["user"] = label
    if (found := trace_id(trace)) is not None:
        event["trace_id"] = found
    return event


def error(function: object, name: object, message: object, *, severity: object = None, stack: object = None,
          context: object = None, at: object = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "error", "function": function_name(function),
                             "name": _label(name) or "Error", "message": _text(message, MAX_MESSAGE_LENGTH),
                             "timestamp": timestamp(at)}
    if isinstance(severity, str) and severity.lower() in SEVERITIES:
        event["severity"] = severity.lower()
    if (text := stack_text(stack)) is not None:
        event["stack"] = text
    if (found := json_object(context)) is not None:
        event["context"] = found
    return event


def log(level: object, message: object, *, function: object = None, metadata: object = None,
        at: object = None) -> dict[str, Any]:
    name = level.upper() if isinstance(level, str) else ""
    name = "WARNING" if name == "WARN" else name
    if name not in LEVELS:
        raise ValueError(f"level: must be one of {', '.join(LEVELS)}")
    event: dict[str, Any] = {"type": "log", "level": name, "message": _text(message, MAX_MESSAGE_LENGTH),
                             "timestamp": timestamp(at)}
    if function is not None:
        event["function"] = function_name(function)
    if (found := json_object(metadata)) is not None:
        event["metadata"] = found
    return event


def _metric_name(value: object) -> str:
    name = _NOT_IN_METRIC.sub("_", value if isinstance(value, str) else _safe_str(value))[:MAX_NAME_LENGTH]
    if not name:
        raise ValueError("name: must not be empty")
    return name if name[0].isalpha() or name[0] in "_:" else ("_" + name)[:MAX_NAME_LENGTH]


def _tag_key(value: object) -> str | None:
    key = _NOT_IN_TAG_KEY.sub("_", value if isinstance(value, str) else _safe_str(value))
    if not key:
        return None
    return (key if key[0].isalpha() or key[0] == "_" else "_" + key)[:MAX_TAG_KEY_LENGTH]


def metric(name: object, value: object, *, kind: object = "gauge", tags: object = None,
           at: object = None) -> dict[str, Any]:
    sort = kind.lower() if isinstance(kind, str) else ""
    if sort not in METRIC_KINDS:
        raise ValueError(f"kind: must be one of {', '.join(METRIC_KINDS)}")
    number = _finite(value, "value")
    if sort == "counter" and number < 0:
        raise ValueError("value: must be >= 0 for a counter")
    event: dict[str, Any] = {"type": "metric", "name": _metric_name(name), "kind": sort, "value": number,
                             "timestamp": timestamp(at)}
    if isinstance(tags, Mapping):
        clean: dict[str, str] = {}
        for raw_key, raw_value in tags.items():
            key = _tag_key(raw_key)
            if key is not None and key not in clean and len(clean) < MAX_TAGS:
                clean[key] = _text(_CONTROL.sub(" ", _safe_str(raw_value)), MAX_TAG_VALUE_LENGTH)
        if clean:
            event["tags"] = clean
    return event


def encode(event: Mapping[str, Any]) -> bytes:
    """One event as compact UTF-8 JSON (what a batch body is made of)."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def body(events: list[bytes]) -> bytes:
    return b'{"events":[' + b",".join(events) + b"]}"

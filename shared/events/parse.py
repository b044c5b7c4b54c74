"""Request body -> ``Batch``: the checks before pydantic (media type, size, JSON) and the error messages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import NoReturn

from pydantic import ValidationError

from shared.errors import InvalidPayload, MalformedBody, PayloadTooLarge, UnsupportedMediaType
from shared.events.limits import MAX_BODY_BYTES, MAX_EVENTS, MAX_REPORTED_PROBLEMS
from shared.events.models import MODELS, Batch, Event

_UTF8 = {"charset=utf-8", "charset=utf8", 'charset="utf-8"'}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SHOWN_KEY_LENGTH = 32
_MESSAGES = {
    "missing": "is required",
    "finite_number": "must be a finite number",
    "float_type": "must be a finite number",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "string_unicode": "must not contain unpaired surrogates",
    "dict_type": "must be an object",
    "greater_than_equal": "must be >= {ge}",
    "less_than_equal": "must be <= {le}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "string_pattern_mismatch": "must match {pattern}",
    "literal_error": "must be one of {expected}",
    "too_long": "must have at most {max_length} entries",
}


def _path(where: str, loc: tuple[int | str, ...]) -> str:
    """``events[3]`` + ``("tags", "env")`` -> ``events[3].tags.env``. Keys are names a developer chose,
    shown when short (odd ones quoted and escaped); a long one may be data, so only its length is."""
    for part in loc:
        if isinstance(part, int):
            where += f"[{part}]"
        elif len(part) > _SHOWN_KEY_LENGTH:
            where += f"[<key of {len(part)} characters>]"
        elif _IDENTIFIER.fullmatch(part):
            where += f".{part}"
        else:
            where += f"[{json.dumps(part)}]"
    return where


def _problems(where: str, exc: ValidationError) -> list[str]:
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        loc, ctx = tuple(error["loc"]), error.get("ctx", {})
        is_key = loc[-1:] == ("[key]",)
        if error["type"] == "value_error":  # raised by our validators, with our words
            why = str(ctx.get("error", error["msg"]))
        elif error["type"] in _MESSAGES:  # 0 rather than 0.0 for a float field's bound
            why = _MESSAGES[error["type"]].format_map(
                {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in ctx.items()})
        else:
            why = error["msg"][:1].lower() + error["msg"][1:]
        found.append(f"{_path(where, loc[:-1] if is_key else loc)}: {'key ' if is_key else ''}{why}")
    return found


def _event(index: int, raw: object, context: dict[str, datetime]) -> Event | list[str]:
    where = f"events[{index}]"
    if not isinstance(raw, dict):
        return [f"{where}: must be an object"]
    kind = raw.get("type")
    model = MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        why = "is required" if kind is None else f"must be one of {', '.join(MODELS)}"
        return [f"{where}.type: {why}"]
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as exc:
        return _problems(where, exc)


def _refuse_constant(name: str) -> NoReturn:
    raise MalformedBody(f"body: {name} is not JSON (numbers must be finite)")


def _load(body: bytes) -> object:
    if not body.strip():
        raise MalformedBody("body: empty; expected a JSON object")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"body: not valid UTF-8 (at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"body: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise MalformedBody("body: nested too deeply") from None
    except ValueError:  # an integer literal of more than 4300 digits
        raise MalformedBody("body: a number is too long") from None


def _check_content_type(content_type: str | None) -> None:
    media, *params = (content_type or "").split(";")
    charsets = {p.strip().lower() for p in params if p.strip().lower().startswith("charset=")}
    if media.strip().lower() != "application/json" or not charsets <= _UTF8:
        raise UnsupportedMediaType("Content-Type must be application/json (UTF-8)")


def parse_batch(body: bytes, content_type: str | None, *, now: datetime | None = None) -> Batch:
    """Validate an ingest request body into a ``Batch``, whole or not at all.

    Parameters
    ----------
    body, content_type
        The raw request body and its ``Content-Type`` header (``None`` when absent).
    now
        The clock timestamps are checked against and default to (naive means UTC); tests pin it.

    Raises
    ------
    UnsupportedMediaType
        415: not ``application/json`` (a charset other than UTF-8 included).
    PayloadTooLarge
        413: over ``MAX_BODY_BYTES`` (checked before parsing) or ``MAX_EVENTS``.
    MalformedBody
        400: empty, not UTF-8, not JSON, ``NaN``/``Infinity``.
    InvalidPayload
        422: the first ``MAX_REPORTED_PROBLEMS`` problems, each naming its path (``events[3].status``).

    Example
    -------
    >>> parse_batch(b'{"events": [{"type": "log", "level": "warn", "message": "hi"}]}',
    ...             "application/json").logs[0].level
    'WARNING'
    """
    _check_content_type(content_type)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body: {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted")
    document = _load(body)
    if not isinstance(document, dict):
        raise InvalidPayload('body: must be a JSON object: {"events": [...]}')
    events = document.get("events")
    if not isinstance(events, list):
        raise InvalidPayload("events: is required" if events is None else "events: must be a list")
    if len(events) > MAX_EVENTS:
        raise PayloadTooLarge(f"events: {len(events)} in one batch; at most {MAX_EVENTS} are accepted")
    now = datetime.now(UTC) if now is None else (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC)
    context = {"now": now}
    parsed: list[Event] = []
    problems: list[str] = []
    for index, raw in enumerate(events):
        result = _event(index, raw, context)
        if isinstance(result, list):
            problems += result
        else:
            parsed.append(result)
    if problems:
        raise InvalidPayload(*problems[:MAX_REPORTED_PROBLEMS], total=len(problems))
    return Batch(events=parsed, received_at=now)

"""The ingest events: one pydantic model per ``type``, strict, frozen, timestamps aware UTC."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from shared.events.limits import (
    FUNCTION_NAME_PATTERN,
    MAX_DURATION_MS,
    MAX_MEMORY_MB,
    MAX_MESSAGE_LENGTH,
    MAX_NAME_LENGTH,
    MAX_OBJECT_BYTES,
    MAX_OBJECT_DEPTH,
    MAX_STACK_LENGTH,
    MAX_TAG_KEY_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    MAX_TAGS,
    MAX_TIMESTAMP_AGE,
    MAX_TIMESTAMP_AHEAD,
    METHOD_PATTERN,
    METRIC_NAME_PATTERN,
    TAG_KEY_PATTERN,
    TRACE_ID_PATTERN,
)

EventType = Literal["request", "error", "log", "metric"]
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_TIMESTAMP_FORMAT = "must be an ISO 8601 date-time or epoch milliseconds"


def _storable(value: str) -> str:
    if _UNSTORABLE.search(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


def _single_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _json_value(value: object, depth: int) -> None:
    """Raise ``ValueError`` unless ``value`` is finite, storable JSON nested at most ``MAX_OBJECT_DEPTH``."""
    if isinstance(value, dict | list):
        if depth > MAX_OBJECT_DEPTH:
            raise ValueError(f"must be nested at most {MAX_OBJECT_DEPTH} levels deep")
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if isinstance(key, str):
                _storable(key)
            _json_value(item, depth + 1)
    elif isinstance(value, str):
        _storable(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    elif value is not None and not isinstance(value, bool | int | float):
        raise ValueError("must hold only JSON values")


def _bounded_object(value: dict[str, Any]) -> dict[str, Any]:
    _json_value(value, 1)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_OBJECT_BYTES:
        raise ValueError(f"must be at most {MAX_OBJECT_BYTES} bytes as JSON")
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _level(value: object) -> object:
    value = _upper(value)
    return "WARNING" if value == "WARN" else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _trace_id(value: str) -> str:
    if value.strip("0") == "":
        raise ValueError("must not be all zeros (W3C: invalid trace-id)")
    return value.lower()


FunctionName = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH, pattern=FUNCTION_NAME_PATTERN)]
MetricName = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH, pattern=METRIC_NAME_PATTERN)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_single_line)]
Message = Annotated[str, StringConstraints(max_length=MAX_MESSAGE_LENGTH), AfterValidator(_storable)]
Stack = Annotated[str, StringConstraints(max_length=MAX_STACK_LENGTH), AfterValidator(_storable)]
TagKey = Annotated[str, StringConstraints(max_length=MAX_TAG_KEY_LENGTH, pattern=TAG_KEY_PATTERN)]
TagValue = Annotated[str, StringConstraints(max_length=MAX_TAG_VALUE_LENGTH), AfterValidator(_single_line)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_bounded_object)]
Milliseconds = Annotated[float, Field(ge=0, le=MAX_DURATION_MS, allow_inf_nan=False)]
TraceId = Annotated[str, StringConstraints(pattern=TRACE_ID_PATTERN), AfterValidator(_trace_id)]
Method = Annotated[str, StringConstraints(pattern=METHOD_PATTERN, to_upper=True)]
Severity = Annotated[Literal["low", "medium", "high", "critical"], BeforeValidator(_lower)]
Level = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_level)]
MetricKind = Annotated[Literal["counter", "gauge", "histogram"], BeforeValidator(_lower)]


def _now(info: ValidationInfo) -> datetime:
    now = (info.context or {}).get("now")
    return now if isinstance(now, datetime) else datetime.now(UTC)


def _normalize_timestamp(value: object, now: datetime) -> datetime:
    """Epoch milliseconds or ISO 8601 (naive means UTC) -> aware UTC, within the accepted window."""
    earliest, latest = now - MAX_TIMESTAMP_AGE, now + MAX_TIMESTAMP_AHEAD
    too_late = f"must not be more than {MAX_TIMESTAMP_AHEAD.total_seconds() / 60:g} minutes in the future"
    too_early = f"must not be more than {MAX_TIMESTAMP_AGE.days} days in the past"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        # compared before converting: an int of any size compares exactly with a float, never overflows
        if value > latest.timestamp() * 1000:
            raise ValueError(too_late + " (epoch timestamps are milliseconds)")
        if value < earliest.timestamp() * 1000:
            raise ValueError(too_early + " (epoch timestamps are milliseconds)")
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and len(value) <= 64:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(_TIMESTAMP_FORMAT) from None
    if not isinstance(value, datetime):
        raise ValueError(_TIMESTAMP_FORMAT)
    try:
        moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError(too_early if value.year < 2 else too_late) from None
    if moment > latest:
        raise ValueError(too_late)
    if moment < earliest:
        raise ValueError(too_early)
    return moment


class _Event(BaseModel):
    """Fields every event has. Strict: no string-to-number coercion; unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    timestamp: datetime = Field(default=None, validate_default=True,
                                description="Aware UTC; absent or null means when the batch arrived.")

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp(cls, value: object, info: ValidationInfo) -> datetime:
        now = _now(info)
        return now if value is None else _normalize_timestamp(value, now)


class RequestEvent(_Event):
    """One served request or invocation: the slow-function, timeout and cold-start figures."""

    type: Literal["request"] = "request"
    function: FunctionName
    duration_ms: Milliseconds
    status: Annotated[int, Field(ge=100, le=599)]
    method: Method | None = None
    route: Label | None = Field(None, description="The route template (``/users/[id]``), not the URL.")
    cold_start: bool | None = None
    init_ms: Milliseconds | None = None
    timed_out: bool | None = None
    memory_mb: Annotated[float, Field(ge=0, le=MAX_MEMORY_MB, allow_inf_nan=False)] | None = None
    user: Label | None = Field(None, exclude=True, repr=False,
                               description="Opaque; never stored raw: see ``user_hash``.")
    trace_id: TraceId | None = None

    def user_hash(self, key: bytes) -> str | None:
        """The user as storage may keep it: HMAC-SHA256 under a per-deployment ``key`` (a plain hash of
        an email is reversed by a dictionary), 128 bits in hex, enough to count distinct users."""
        if not key:
            raise ValueError("user_hash needs a secret key: an unkeyed hash of a user is reversible")
        if self.user is None:
            return None
        return hmac.new(key, self.user.encode(), hashlib.sha256).hexdigest()[:32]


class ErrorEvent(_Event):
    """One error an app caught or crashed with."""

    type: Literal["error"] = "error"
    function: FunctionName
    name: Label = Field(description="The exception class, e.g. ``TypeError``.")
    message: Message
    severity: Severity = "medium"
    stack: Stack | None = None
    context: JsonObject | None = None


class LogEvent(_Event):
    """One structured log line. Levels are case-insensitive; ``WARN`` means ``WARNING``."""

    type: Literal["log"] = "log"
    level: Level
    message: Message
    function: FunctionName | None = None
    metadata: JsonObject | None = None


class MetricEvent(_Event):
    """One metric sample: a counter increment (>= 0), a gauge reading or a histogram observation."""

    type: Literal["metric"] = "metric"
    name: MetricName
    kind: MetricKind
    value: Annotated[float, Field(allow_inf_nan=False)]
    tags: Annotated[dict[TagKey, TagValue], Field(max_length=MAX_TAGS)] = Field(default_factory=dict)

    @field_validator("value")
    @classmethod
    def _counter_increments(cls, value: float, info: ValidationInfo) -> float:
        if info.data.get("kind") == "counter" and value < 0:
            raise ValueError("must be >= 0 for a counter")
        return value


Event = Annotated[RequestEvent | ErrorEvent | LogEvent | MetricEvent, Field(discriminator="type")]
MODELS: dict[str, type[RequestEvent | ErrorEvent | LogEvent | MetricEvent]] = {
    "request": RequestEvent, "error": ErrorEvent, "log": LogEvent, "metric": MetricEvent}


class Batch(BaseModel):
    """A validated batch: events in the order sent, every timestamp aware UTC."""

    model_config = ConfigDict(frozen=True)

    events: list[Event]
    received_at: datetime = Field(description="The ``now`` the batch was validated against.")

    @property
    def requests(self) -> list[RequestEvent]:
        return [e for e in self.events if isinstance(e, RequestEvent)]

    @property
    def errors(self) -> list[ErrorEvent]:
        return [e for e in self.events if isinstance(e, ErrorEvent)]

    @property
    def logs(self) -> list[LogEvent]:
        return [e for e in self.events if isinstance(e, LogEvent)]

    @property
    def metrics(self) -> list[MetricEvent]:
        return [e for e in self.events if isinstance(e, MetricEvent)]

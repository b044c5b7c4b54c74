"""The ingest schema: every malformed shape is refused whole with its status and field path, never a 500."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import InvalidPayload, MalformedBody, PayloadTooLarge, TierwatchError, UnsupportedMediaType
from shared.events import Batch, ErrorEvent, LogEvent, MetricEvent, RequestEvent, parse_batch
from shared.events.limits import (
    MAX_BODY_BYTES,
    MAX_DURATION_MS,
    MAX_EVENTS,
    MAX_MESSAGE_LENGTH,
    MAX_NAME_LENGTH,
    MAX_OBJECT_BYTES,
    MAX_REPORTED_PROBLEMS,
    MAX_STACK_LENGTH,
    MAX_TAGS,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
JSON = "application/json"
REQUEST: dict[str, Any] = {"type": "request", "function": "api/users/[id]", "duration_ms": 12.5, "status": 200}
ERROR: dict[str, Any] = {"type": "error", "function": "checkout", "name": "TypeError", "message": "x is undefined"}
LOG: dict[str, Any] = {"type": "log", "level": "INFO", "message": "started"}
METRIC: dict[str, Any] = {"type": "metric", "name": "OrdersPlaced", "kind": "counter", "value": 1}


def encode(*events: Any) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def parse(*events: Any) -> Batch:
    return parse_batch(encode(*events), JSON, now=NOW)


def refused(body: bytes, error: type[TierwatchError] = InvalidPayload, content_type: str | None = JSON) -> str:
    with pytest.raises(error) as caught:
        parse_batch(body, content_type, now=NOW)
    assert type(caught.value) is error
    return caught.value.message


def problem(event: dict[str, Any]) -> str:
    """The one problem of a batch holding ``event`` after a valid one."""
    with pytest.raises(InvalidPayload) as caught:
        parse(LOG, event)
    assert type(caught.value) is InvalidPayload and caught.value.status == 422
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value.problems[0]


# ------------------------------------------------------------------------------------------ good batches

def test_each_type_parses_with_its_defaults() -> None:
    batch = parse(REQUEST, ERROR, LOG, METRIC)
    assert [type(e) for e in batch.events] == [RequestEvent, ErrorEvent, LogEvent, MetricEvent]
    assert (len(batch.requests), len(batch.errors), len(batch.logs), len(batch.metrics)) == (1, 1, 1, 1)
    request, error, metric = batch.requests[0], batch.errors[0], batch.metrics[0]
    assert request.duration_ms == 12.5 and request.status == 200 and request.cold_start is None
    assert error.severity == "medium" and error.context is None
    assert metric.value == 1.0 and isinstance(metric.value, float) and metric.tags == {}
    assert all(e.timestamp == NOW for e in batch.events) and batch.received_at == NOW


def test_full_events_are_normalized() -> None:
    batch = parse(
        {**REQUEST, "method": "get", "route": "/users/[id]", "cold_start": True, "init_ms": 250, "timed_out": False,
         "memory_mb": 1024, "trace_id": "4BF92F3577B34DA6A3CE929D0E0E4736", "timestamp": "2026-03-01T13:00:00+02:00"},
        {**ERROR, "severity": "HIGH", "stack": "Traceback...\n  line 1", "context": {"order": {"id": 7, "ok": None}},
         "timestamp": NOW_MS - 1500},
        {**LOG, "level": "warn", "function": "checkout", "metadata": {"k": [1, 2.5, "x"]}, "timestamp": "2026-03-01T11:59:00"},
        {**LOG, "level": "Warning", "timestamp": None},
        {**METRIC, "kind": "Gauge", "value": -3.5, "tags": {"env": "prod", "service.name": "api", "aws-region": "eu"},
         "timestamp": NOW_MS - 0.5},
    )
    request, error, log, log2, metric = batch.events
    assert isinstance(request, RequestEvent) and request.method == "GET" and request.init_ms == 250.0
    assert request.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert request.timestamp == datetime(2026, 3, 1, 11, 0, tzinfo=UTC) and request.timestamp.tzinfo is UTC
    assert isinstance(error, ErrorEvent) and error.severity == "high" and error.context == {"order": {"id": 7, "ok": None}}
    assert error.timestamp == NOW - timedelta(seconds=1.5)
    assert isinstance(log, LogEvent) and log.level == "WARNING" and log.timestamp == NOW - timedelta(minutes=1)
    assert isinstance(log2, LogEvent) and log2.level == "WARNING" and log2.timestamp == NOW
    assert isinstance(metric, MetricEvent) and metric.kind == "gauge" and metric.tags["service.name"] == "api"
    assert metric.timestamp == NOW - timedelta(microseconds=500)
    assert json.loads(batch.model_dump_json())["events"][0]["timestamp"] == "2026-03-01T11:00:00Z"


def test_every_level_and_kind_and_severity() -> None:
    levels = ["debug", "INFO", "warn", "WARN", "warning", "error", "Critical"]
    assert [e.level for e in parse(*({**LOG, "level": lv} for lv in levels)).logs] == [
        "DEBUG", "INFO", "WARNING", "WARNING", "WARNING", "ERROR", "CRITICAL"]
    assert [e.kind for e in parse(*({**METRIC, "kind": k} for k in ("counter", "gauge", "histogram"))).metrics] == [
        "counter", "gauge", "histogram"]
    assert [e.severity for e in parse(*({**ERROR, "severity": s} for s in ("low", "medium", "high", "critical"))).errors] == [
        "low", "medium", "high", "critical"]


def test_timestamps_at_the_edges_of_the_window_are_accepted() -> None:
    batch = parse({**LOG, "timestamp": (NOW + timedelta(minutes=5)).isoformat()},
                  {**LOG, "timestamp": NOW_MS - 7 * 86_400_000}, {**LOG, "timestamp": "2026-03-01T12:00:00Z"})
    assert [e.timestamp for e in batch.events] == [NOW + timedelta(minutes=5), NOW - timedelta(days=7), NOW]


def test_empty_batch_is_accepted_and_unknown_fields_are_ignored() -> None:
    assert parse().events == []
    batch = parse_batch(json.dumps({"events": [{**REQUEST, "region": "eu", "future": {"a": [1]}}], "v": 2}).encode(),
                        JSON, now=NOW)
    assert "region" not in batch.requests[0].model_dump()


def test_the_user_is_never_dumped_nor_shown_only_its_keyed_hash() -> None:
    event = parse({**REQUEST, "user": "alice@example.com"}).requests[0]
    assert "alice" not in repr(event) and "alice" not in event.model_dump_json() and "user" not in event.model_dump()
    digest = event.user_hash(b"deployment-key")
    assert digest is not None and len(digest) == 32 and digest == event.user_hash(b"deployment-key")
    assert digest != event.user_hash(b"another-key")
    assert parse(REQUEST).requests[0].user_hash(b"k") is None
    with pytest.raises(ValueError, match="secret key"):
        event.user_hash(b"")


def test_default_now_is_the_current_time() -> None:
    batch = parse_batch(encode(LOG), JSON)
    assert abs(batch.events[0].timestamp - datetime.now(UTC)) < timedelta(seconds=5)
    naive = parse_batch(encode(LOG), JSON, now=datetime(2026, 3, 1, 12))
    assert naive.received_at == NOW


# ------------------------------------------------------------------------------------------ the body

@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON;charset=UTF-8", 'application/json; charset="utf-8"'])
def test_json_content_types_are_accepted(content_type: str) -> None:
    assert len(parse_batch(encode(LOG), content_type, now=NOW).events) == 1


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/x-www-form-urlencoded",
                                          "application/json; charset=latin-1", "application/jsonx",
                                          "multipart/form-data; boundary=x"])
def test_other_content_types_are_refused(content_type: str | None) -> None:
    assert "application/json" in refused(encode(LOG), UnsupportedMediaType, content_type)
    assert UnsupportedMediaType.status == 415 and UnsupportedMediaType.code == "unsupported_media_type"


def test_a_too_large_body_is_refused_before_parsing() -> None:
    message = refused(b"\xff" * (MAX_BODY_BYTES + 1), PayloadTooLarge)  # not UTF-8: never decoded
    assert message.startswith("body:") and PayloadTooLarge.status == 413


def test_too_many_events_is_413_and_fast() -> None:
    refused(json.dumps({"events": [LOG] * (MAX_EVENTS + 1)}).encode(), PayloadTooLarge)
    started = time.perf_counter()
    assert refused(json.dumps({"events": [{}] * 10_000}).encode(), PayloadTooLarge).startswith("events:")
    assert time.perf_counter() - started < 0.5
    assert len(parse(*[LOG] * MAX_EVENTS).events) == MAX_EVENTS


@pytest.mark.parametrize(("body", "says"), [
    (b"", "empty"), (b"  \n", "empty"), (b"\xff\xfe{}", "UTF-8"), (b'{"events": ["\xc3\x28"]}', "UTF-8"),
    (b"{", "not valid JSON"), (b"nope", "not valid JSON"), (b'{"events": []} trailing', "not valid JSON"),
    (b"\xef\xbb\xbf{}", "not valid JSON"),  # a BOM
    (b'{"events": [NaN]}', "NaN"), (b'{"events": [{"value": Infinity}]}', "Infinity"),
    (b'{"x": -Infinity}', "Infinity"), (b"[" * 100_000, "nested too deeply"),
    (b'{"events": [' + b"1" * 5000 + b"]}", "too long"),
])
def test_a_body_that_is_not_json_is_400(body: bytes, says: str) -> None:
    message = refused(body, MalformedBody)
    assert message.startswith("body:") and says in message and MalformedBody.status == 400
    assert issubclass(MalformedBody, InvalidPayload)


@pytest.mark.parametrize(("document", "says"), [
    ([], "body: must be a JSON object"), ("events", "body: must be a JSON object"), (3, "body: must"),
    (None, "body: must"), ({}, "events: is required"), ({"events": None}, "events: is required"),
    ({"events": {}}, "events: must be a list"), ({"events": "x"}, "events: must be a list"),
    ({"events": 3}, "events: must be a list"),
])
def test_a_document_of_the_wrong_shape_is_422(document: Any, says: str) -> None:
    assert refused(json.dumps(document).encode()).startswith(says)


# ------------------------------------------------------------------------------------------ events

@pytest.mark.parametrize(("event", "says"), [
    ({"function": "f"}, "events[1].type: is required"),
    ({**LOG, "type": "trace"}, "events[1].type: must be one of request, error, log, metric"),
    ({**LOG, "type": 3}, "events[1].type: must be one of"),
    ({k: v for k, v in REQUEST.items() if k != "function"}, "events[1].function: is required"),
    ({k: v for k, v in REQUEST.items() if k != "duration_ms"}, "events[1].duration_ms: is required"),
    ({k: v for k, v in LOG.items() if k != "message"}, "events[1].message: is required"),
    ({**REQUEST, "duration_ms": -1}, "events[1].duration_ms: must be >= 0"),
    ({**REQUEST, "duration_ms": "12"}, "events[1].duration_ms: must be a finite number"),
    ({**REQUEST, "duration_ms": None}, "events[1].duration_ms: must be a finite number"),
    ({**REQUEST, "duration_ms": MAX_DURATION_MS + 1}, f"events[1].duration_ms: must be <= {MAX_DURATION_MS}"),
    ({**REQUEST, "duration_ms": 10**400}, "events[1].duration_ms: must be a finite number"),
    ({**REQUEST, "init_ms": -0.1}, "events[1].init_ms: must be >= 0"),
    ({**REQUEST, "memory_mb": 20_000}, "events[1].memory_mb: must be <= 10240"),
    ({**REQUEST, "status": "200"}, "events[1].status: must be an integer"),
    ({**REQUEST, "status": 200.0}, "events[1].status: must be an integer"),
    ({**REQUEST, "status": True}, "events[1].status: must be an integer"),
    ({**REQUEST, "status": 99}, "events[1].status: must be >= 100"),
    ({**REQUEST, "status": 600}, "events[1].status: must be <= 599"),
    ({**REQUEST, "cold_start": "yes"}, "events[1].cold_start: must be true or false"),
    ({**REQUEST, "timed_out": 1}, "events[1].timed_out: must be true or false"),
    ({**REQUEST, "trace_id": "abc"}, "events[1].trace_id: must match"),
    ({**REQUEST, "trace_id": "g" * 32}, "events[1].trace_id: must match"),
    ({**REQUEST, "trace_id": "0" * 32}, "events[1].trace_id: must not be all zeros"),
    ({**REQUEST, "method": "GET /"}, "events[1].method: must match"),
    ({**REQUEST, "function": "my function"}, "events[1].function: must match"),
    ({**REQUEST, "function": ""}, "events[1].function: must match"),
    ({**REQUEST, "function": 7}, "events[1].function: must be a string"),
    ({**REQUEST, "function": "f" * (MAX_NAME_LENGTH + 1)}, "events[1].function: must be at most 200 characters"),
    ({**REQUEST, "route": "/a\nb"}, "events[1].route: must not contain control characters"),
    ({**REQUEST, "user": "u" * 201}, "events[1].user: must be at most 200 characters"),
    ({**REQUEST, "user": ""}, "events[1].user: must not be empty"),
    ({**ERROR, "severity": "urgent"}, "events[1].severity: must be one of 'low', 'medium', 'high' or 'critical'"),
    ({**ERROR, "message": "m" * (MAX_MESSAGE_LENGTH + 1)}, "events[1].message: must be at most 4096 characters"),
    ({**ERROR, "message": "a\x00b"}, "events[1].message: must not contain NUL characters"),
    ({**ERROR, "name": "\ud800"}, "events[1].name: must not contain unpaired surrogates"),
    ({**ERROR, "context": {"k": "\udfff"}}, "events[1].context: must not contain NUL characters or unpaired surrogates"),
    ({**ERROR, "stack": "s" * (MAX_STACK_LENGTH + 1)}, "events[1].stack: must be at most 16384 characters"),
    ({**ERROR, "context": [1]}, "events[1].context: must be an object"),
    ({**ERROR, "context": {"blob": "x" * MAX_OBJECT_BYTES}}, "events[1].context: must be at most 4096 bytes as JSON"),
    ({**ERROR, "context": {"a": {"b": {"c": {"d": {"e": {}}}}}}}, "events[1].context: must be nested at most 5 levels"),
    ({**ERROR, "context": {"a": [[[[[1]]]]]}}, "events[1].context: must be nested at most 5 levels"),
    ({**ERROR, "context": {"k\x00": 1}}, "events[1].context: must not contain NUL"),
    ({**LOG, "level": "verbose"}, "events[1].level: must be one of 'DEBUG'"),
    ({**LOG, "level": 20}, "events[1].level: must be one of"),
    ({**LOG, "metadata": "x"}, "events[1].metadata: must be an object"),
    ({**LOG, "function": "a b"}, "events[1].function: must match"),
    ({**METRIC, "name": "9lives"}, "events[1].name: must match ^[A-Za-z_:][A-Za-z0-9_:.]*$"),
    ({**METRIC, "name": "orders placed"}, "events[1].name: must match"),
    ({**METRIC, "kind": "timer"}, "events[1].kind: must be one of 'counter', 'gauge' or 'histogram'"),
    ({**METRIC, "value": "1"}, "events[1].value: must be a finite number"),
    ({**METRIC, "value": -1}, "events[1].value: must be >= 0 for a counter"),
    ({**METRIC, "tags": ["env"]}, "events[1].tags: must be an object"),
    ({**METRIC, "tags": {"env": 3}}, "events[1].tags.env: must be a string"),
    ({**METRIC, "tags": {"env": "a\tb"}}, "events[1].tags.env: must not contain control characters"),
    ({**METRIC, "tags": {"env": "v" * 201}}, "events[1].tags.env: must be at most 200 characters"),
    ({**METRIC, "tags": {"bad key": "v"}}, 'events[1].tags["bad key"]: key must match'),
    ({**METRIC, "tags": {"k" * 65: "v"}}, "events[1].tags[<key of 65 characters>]: key must be at most 64"),
    ({**METRIC, "tags": {"k\u2028": "v"}}, 'events[1].tags["k\\u2028"]: key must match'),
    ({**METRIC, "tags": {f"t{i}": "v" for i in range(MAX_TAGS + 1)}}, "events[1].tags: must have at most 20 entries"),
])
def test_a_bad_field_is_named_by_its_path(event: dict[str, Any], says: str) -> None:
    assert problem(event).startswith(says)


@pytest.mark.parametrize(("event", "says"), [
    (b'{"type": "metric", "name": "n", "kind": "gauge", "value": 1e400}', "events[0].value: must be a finite number"),
    (b'{"type": "metric", "name": "n", "kind": "gauge", "value": -1e400}', "events[0].value: must be a finite number"),
    (b'{"type": "log", "level": "INFO", "message": "m", "timestamp": 1e400}', "events[0].timestamp: must be a finite"),
    (b'{"type": "log", "level": "INFO", "message": "m", "metadata": {"a": [1e400]}}',
     "events[0].metadata: numbers must be finite"),
])
def test_a_number_that_overflows_to_infinity_is_named_by_its_path(event: bytes, says: str) -> None:
    assert refused(b'{"events": [' + event + b"]}").startswith(says)
    parse_batch(b'{"events": [], "ignored": 1e400}', JSON, now=NOW)  # in an unknown field: ignored like any value


@pytest.mark.parametrize(("timestamp", "says"), [
    ((NOW + timedelta(minutes=5, seconds=1)).isoformat(), "must not be more than 5 minutes in the future"),
    ((NOW - timedelta(days=7, seconds=1)).isoformat(), "must not be more than 7 days in the past"),
    ("2026-03-01T12:06:00+00:00", "in the future"), ("2026-03-01T12:06:00", "in the future"),
    ("2026-03-01T19:00:00+06:00", "in the future"),
    (NOW_MS + 301_000, "in the future (epoch timestamps are milliseconds)"),
    (NOW_MS // 1000, "in the past (epoch timestamps are milliseconds)"),  # seconds, not milliseconds
    (10**30, "in the future"), (-(10**30), "in the past"), (1e308, "in the future"),
    ("0001-01-01T00:00:00+01:00", "in the past"), ("9999-12-31T23:59:59-01:00", "in the future"),
    ("yesterday", "must be an ISO 8601 date-time or epoch milliseconds"), ("", "must be an ISO 8601"),
    ("2026-03-01T12:00:00" + " " * 100, "must be an ISO 8601"), ("2026-13-01T00:00:00Z", "must be an ISO 8601"),
    (True, "must be an ISO 8601"), ([NOW_MS], "must be an ISO 8601"), ({"ms": NOW_MS}, "must be an ISO 8601"),
])
def test_a_bad_timestamp_is_refused_naming_the_field(timestamp: Any, says: str) -> None:
    found = problem({**LOG, "timestamp": timestamp})
    assert found.startswith("events[1].timestamp: ") and says in found


def test_an_event_that_is_not_an_object_is_named_by_its_index() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse(LOG, 3, [LOG], None, "log")
    assert caught.value.problems == ("events[1]: must be an object", "events[2]: must be an object",
                                     "events[3]: must be an object", "events[4]: must be an object")


def test_one_bad_event_refuses_the_whole_batch_and_every_problem_of_it_is_named() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse(REQUEST, ERROR, {**REQUEST, "duration_ms": -5, "status": 0}, LOG)
    assert caught.value.problems == ("events[2].duration_ms: must be >= 0", "events[2].status: must be >= 100")
    assert caught.value.total == 2 and caught.value.message == "; ".join(caught.value.problems)


def test_a_batch_of_bad_events_reports_only_the_first_few() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse(*[{**REQUEST, "duration_ms": -1, "status": 0}] * MAX_EVENTS)
    error = caught.value
    assert len(error.problems) == MAX_REPORTED_PROBLEMS and error.total == 2 * MAX_EVENTS
    assert error.problems[-1] == "events[4].status: must be >= 100"
    assert error.message.endswith(f"(and {2 * MAX_EVENTS - MAX_REPORTED_PROBLEMS} more)") and len(error.message) < 1000


def test_messages_never_echo_values() -> None:
    secret = "sk_live_" + "S3cr3t" * 2000  # a leaked key, a huge value
    bad = [{**REQUEST, "function": secret, "route": secret + "\n", "user": secret, "method": secret,
            "trace_id": secret, "status": secret, "timestamp": secret},
           {**METRIC, "name": secret, "kind": secret, "tags": {secret: secret, "ok": secret}},
           {**ERROR, "message": secret, "context": {"k": secret}}, {**LOG, "type": secret, "level": secret}]
    with pytest.raises(InvalidPayload) as caught:
        parse_batch(encode(*bad), JSON, now=NOW)
    assert "S3cr3t" not in caught.value.message and "tags[<key of 12008 characters>]: key" in caught.value.message
    assert len(caught.value.message) < 2000


# ------------------------------------------------------------------------------------------ properties

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
_FIELDS = sorted({*REQUEST, *ERROR, *LOG, *METRIC, "timestamp", "tags", "context", "metadata", "trace_id",
                  "user", "cold_start", "init_ms", "severity", "stack", "method", "route"})
_event = st.one_of(
    _json,
    st.fixed_dictionaries({"type": st.sampled_from(["request", "error", "log", "metric", "x"])},
                          optional={f: _json for f in _FIELDS if f != "type"}),
    st.sampled_from([REQUEST, ERROR, LOG, METRIC]).flatmap(
        lambda good: st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=3).map(lambda bad: {**good, **bad})),
)


def _only_our_errors(body: bytes) -> None:
    try:
        batch = parse_batch(body, JSON, now=NOW)
    except TierwatchError as exc:
        assert exc.status in (400, 413, 415, 422) and len(exc.message) < 4000
    else:
        assert all(e.timestamp.tzinfo is UTC for e in batch.events)
        batch.model_dump_json()  # what storage does with it cannot fail either


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_json, st.fixed_dictionaries({"events": st.lists(_event, max_size=5)}),
                 st.fixed_dictionaries({"events": _json})))
def test_random_json_raises_only_the_modules_errors(document: Any) -> None:
    _only_our_errors(json.dumps(document).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_the_modules_errors(body: bytes) -> None:
    _only_our_errors(body)
    _only_our_errors(b'{"events": [' + body + b"]}")


# ------------------------------------------------------------------------------------------ cost

def test_a_full_valid_batch_parses_well_within_budget() -> None:
    events = [{**REQUEST, "method": "POST", "cold_start": True, "trace_id": "ab" * 16, "timestamp": NOW_MS - i}
              if i % 2 else {**METRIC, "tags": {"env": "prod", "region": "eu"}} for i in range(MAX_EVENTS)]
    body = encode(*events)
    started = time.perf_counter()
    batch = parse_batch(body, JSON, now=NOW)
    assert time.perf_counter() - started < 0.5  # a sanity bound, not a benchmark
    assert len(batch.requests) == len(batch.metrics) == MAX_EVENTS // 2


def test_importing_the_schema_loads_no_web_framework() -> None:
    code = "import json, sys, shared.events; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert not {m for m in json.loads(out.stdout) if m.split(".")[0] in ("fastapi", "starlette", "httpx")}


def test_direct_construction_keeps_the_rules() -> None:
    aware = datetime(2026, 3, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    event = LogEvent.model_validate({**LOG, "timestamp": aware}, context={"now": NOW})
    assert event.timestamp == NOW and event.timestamp.tzinfo is UTC
    assert abs(LogEvent(level="INFO", message="m").timestamp - datetime.now(UTC)) < timedelta(seconds=5)

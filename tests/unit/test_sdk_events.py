"""The app package builds only events the bundle accepts: same limits, and any input either repaired into
a valid event or refused before it could poison a batch (the endpoint refuses a batch whole)."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events import limits, parse_batch

SDK = Path(__file__).resolve().parents[2] / "sdk" / "python" / "src"
if str(SDK) not in sys.path:  # the app package is not installed into the bundle's venv
    sys.path.insert(0, str(SDK))

from tierwatch import _events, _runtime  # noqa: E402
from tierwatch.client import _chunks, _resolve_endpoint, _resolve_token, _retry_after  # noqa: E402

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)
NUMBERS = st.one_of(st.floats(), st.integers(min_value=-(10**30), max_value=10**30), st.none())
JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(), st.integers(), ANY_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT, inner, max_size=4)),
    max_leaves=30)


def accepted(*events: dict[str, Any]) -> None:
    """The bundle's own parser takes the batch whole (raises otherwise)."""
    body = _events.body([_events.encode(e) for e in events])
    batch = parse_batch(body, "application/json")
    assert len(batch.events) == len(events)


def test_the_limits_are_the_servers() -> None:
    for name in dir(limits):
        if name.isupper() and name != "MAX_REPORTED_PROBLEMS":
            assert getattr(_events, name) == getattr(limits, name), name


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(function=ANY_TEXT, duration=NUMBERS, status=st.integers(100, 599), method=st.one_of(ANY_TEXT, st.none()),
       route=st.one_of(ANY_TEXT, st.none()), init=NUMBERS, memory=NUMBERS, user=st.one_of(ANY_TEXT, st.none()),
       trace=st.one_of(ANY_TEXT, st.none(), st.just("0" * 32), st.just("AB" * 16)))
def test_request_events_are_repaired_or_refused(function: str, duration: Any, status: int, method: str | None,
                                                route: str | None, init: Any, memory: Any, user: str | None,
                                                trace: str | None) -> None:
    try:
        event = _events.request(function, duration, status, method=method, route=route, cold_start=True,
                                init_ms=init, timed_out=False, memory_mb=memory, user=user, trace=trace)
    except ValueError:
        assert not function.strip() or not isinstance(duration, float | int) or (
            isinstance(duration, float) and not math.isfinite(duration))
        return
    accepted(event)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(function=ANY_TEXT.filter(str.strip), name=ANY_TEXT, message=st.text(max_size=5000) | ANY_TEXT,
       severity=st.one_of(st.sampled_from(["LOW", "critical", "urgent"]), st.none()),
       stack=st.one_of(ANY_TEXT, st.none(), st.just("Traceback (most recent call last):\n" + "y" * 20000)),
       context=st.one_of(JSONISH, st.dictionaries(ANY_TEXT, JSONISH, max_size=6)))
def test_error_events_are_repaired(function: str, name: str, message: str, severity: str | None, stack: str | None,
                                   context: Any) -> None:
    accepted(_events.error(function, name, message, severity=severity, stack=stack, context=context))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=ANY_TEXT.filter(bool), value=NUMBERS, kind=st.sampled_from(["counter", "GAUGE", "histogram"]),
       tags=st.dictionaries(ANY_TEXT, st.one_of(ANY_TEXT, st.integers()), max_size=30),
       level=st.sampled_from(["debug", "warn", "ERROR"]), metadata=JSONISH)
def test_metric_and_log_events_are_repaired_or_refused(name: str, value: Any, kind: str, tags: dict[str, Any],
                                                       level: str, metadata: Any) -> None:
    accepted(_events.log(level, name, function=name if name.strip() else None, metadata=metadata))
    try:
        event = _events.metric(name, value, kind=kind, tags=tags)
    except ValueError:
        assert value is None or not math.isfinite(value) or (kind == "counter" and value < 0)
        return
    accepted(event)


def test_hopeless_events_are_refused_here() -> None:
    for build in (lambda: _events.request("f", 1.0, 42), lambda: _events.request("", 1.0, 200),
                  lambda: _events.request("f", float("nan"), 200), lambda: _events.request("f", 10**400, 200),
                  lambda: _events.log("LOUD", "x"),
                  lambda: _events.metric("m", -1, kind="counter"), lambda: _events.metric("m", 1, kind="meter"),
                  lambda: _events.request("f", 1.0, 200, at=datetime.now(UTC) + timedelta(hours=1)),
                  lambda: _events.request("f", 1.0, 200, at="yesterday")):
        with pytest.raises(ValueError):
            build()


def test_names_and_fields_are_repaired_as_the_server_spells_them() -> None:
    event = _events.request("/users/{user_id:int}/files/{path:path}", 10**9, 200, method="get", memory_mb=1e9,
                            trace="4BF92F3577B34DA6A3CE929D0E0E4736", user="bob\nsmith")
    assert event["function"] == "/users/[user_id]/files/[path]"
    assert event["duration_ms"] == limits.MAX_DURATION_MS  # clamped into range
    assert event["method"] == "GET" and event["memory_mb"] == limits.MAX_MEMORY_MB
    assert event["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and event["user"] == "bob smith"
    assert _events.metric("9 lives!", 1)["name"] == "_9_lives_"
    naive = datetime.now(UTC).replace(tzinfo=None)
    for stamp in (naive, naive.isoformat(), datetime.now(UTC).timestamp() * 1000):
        accepted(_events.request("f", 1.0, 200, at=stamp))


def test_a_long_traceback_keeps_its_header_and_innermost_frames() -> None:
    frames = "".join(f'  File "app.py", line {i}, in f{i}\n    call()\n' for i in range(2000))
    stack = _events.stack_text("Traceback (most recent call last):\n" + frames + "ValueError: last\n")
    assert stack is not None and len(stack) == limits.MAX_STACK_LENGTH
    assert stack.startswith("Traceback (most recent call last):\n  …\n") and stack.endswith("ValueError: last\n")


def test_batches_stay_within_the_endpoint_limits() -> None:
    small = [_events.encode(_events.request("f", float(i), 200)) for i in range(2500)]
    chunks = _chunks(small)
    assert [len(c) for c in chunks] == [1000, 1000, 500] and [e for c in chunks for e in c] == small
    big = [_events.encode(_events.error("f", "E", "m", stack="x" * 16000)) for _ in range(200)]
    chunks = _chunks(big)
    assert len(chunks) >= 4 and all(len(_events.body(c)) <= limits.MAX_BODY_BYTES for c in chunks)
    assert [e for c in chunks for e in c] == big
    assert json.loads(_events.body(chunks[0]))["events"][0]["name"] == "E"


@pytest.mark.parametrize(("header", "trace"), [
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"),
    (" 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-00 ", "4bf92f3577b34da6a3ce929d0e0e4736"),
    ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", "4bf92f3577b34da6a3ce929d0e0e4736"),
    ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
    ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", None),
    ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", None),
    ("00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01", None),
    ("garbage", None), ("", None), (None, None),
])
def test_traceparent(header: str | None, trace: str | None) -> None:
    assert _runtime.parse_traceparent(header) == trace


def test_xray_trace_ids_are_w3c_trace_ids() -> None:
    assert _runtime.xray_trace_id("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1") == \
        "5759e988bd862e3fe1be46a994272793"
    assert _runtime.xray_trace_id("Parent=53995c3f42cd8ad8") is None and _runtime.xray_trace_id(None) is None


def test_endpoint_and_token_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    path = "/api/monitoring/ingest"
    monkeypatch.setenv("TIERWATCH_URL", "https://monitor.example/")
    assert _resolve_endpoint(None) == ("https://monitor.example" + path, None)
    monkeypatch.setenv("TIERWATCH_URL", "https://monitor.example/prefix" + path)
    assert _resolve_endpoint(None) == ("https://monitor.example/prefix" + path, None)
    monkeypatch.setenv("TIERWATCH_URL", "monitor.example")
    assert _resolve_endpoint(None)[0] is None
    monkeypatch.delenv("TIERWATCH_URL")
    assert _resolve_endpoint(None) == (None, "TIERWATCH_URL is not set")
    assert _resolve_endpoint("http://127.0.0.1:8000") == ("http://127.0.0.1:8000" + path, None)
    assert _resolve_endpoint("http://127.0.0.1:8000/custom") == ("http://127.0.0.1:8000/custom", None)
    assert _resolve_endpoint("ftp://host/x")[0] is None and _resolve_endpoint("http://host:99999/")[0] is None
    assert _resolve_token(" secret ") == ("secret", None)
    assert _resolve_token("bad\r\ninjected")[0] is None and _resolve_token("")[0] is None


def test_retry_after_is_bounded() -> None:
    assert _retry_after("2") == 2.0 and _retry_after("100000") == 300.0 and _retry_after("-5") == 0.0
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None and _retry_after(None) is None
    assert _retry_after("nan") is None

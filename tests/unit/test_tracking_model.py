"""The tracking model without I/O: sketch accuracy and merging, aggregates, error grouping, flush policy."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.tracking.aggregate import Aggregate, fingerprint
from shared.tracking.buffer import FlushPolicy, Tracker
from shared.tracking.sketch import RELATIVE_ACCURACY, Sketch


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=600_000, allow_nan=False), min_size=1, max_size=400),
       st.sampled_from([0.0, 0.5, 0.9, 0.95, 0.99, 1.0]))
def test_every_quantile_is_within_the_relative_accuracy(values: list[float], q: float) -> None:
    sketch = Sketch()
    for v in values:
        sketch.add(v)
    estimate, truth = sketch.quantile(q), exact(values, q)
    assert estimate is not None
    assert abs(estimate - truth) <= RELATIVE_ACCURACY * truth + 1e-9


def test_merging_sketches_equals_sketching_everything() -> None:
    rng = random.Random(7)
    values = [rng.paretovariate(1.5) * 20 for _ in range(20_000)]  # heavy tail
    whole, parts = Sketch(), [Sketch() for _ in range(7)]
    for i, v in enumerate(values):
        whole.add(v)
        parts[i % 7].add(v)
    merged = Sketch()
    for part in parts:
        merged.merge(Sketch.from_json(json.loads(json.dumps(part.to_json()))))
    assert merged.buckets == whole.buckets
    for q in (0.5, 0.95, 0.99, 0.999):
        assert math.isclose(merged.quantile(q) or 0, exact(values, q), rel_tol=0.02)


def test_aggregates_merge_and_round_trip() -> None:
    a, b = Aggregate(), Aggregate()
    for i in range(10):
        a.add_request("api/users", at=100 + i, duration_ms=10 + i, status=200, cold_start=i == 0, init_ms=250.0)
        b.add_request("api/users", at=200 + i, duration_ms=100, status=500 if i < 3 else 200, timed_out=i == 9,
                      trace_id=f"{i:032x}")
    b.add_log("ERROR", "boom", at=205, function="api/users")
    merged = Aggregate.from_json(a.to_json())
    merged.merge(Aggregate.from_json(b.to_json()))
    stats = merged.functions["api/users"]
    assert (merged.events, stats.count, stats.errors, stats.cold_starts, stats.timeouts) == (21, 20, 4, 1, 1)
    assert stats.status == {"2xx": 17, "5xx": 3} and merged.start == 100 and merged.end == 209
    assert [x["duration_ms"] for x in stats.slowest] == [100.0] * 5 and "trace_id" in stats.slowest[0]
    assert merged.log_counts == {"ERROR": 1}


def test_errors_group_by_name_normalised_message_and_top_frame() -> None:
    stack = 'Traceback (most recent call last):\n  File "/var/task/app.py", line 12, in handler\nKeyError'
    other_line = stack.replace("line 12", "line 99")
    assert fingerprint("KeyError", "user 123 not found", stack) == fingerprint("KeyError", "user 456 not found",
                                                                              other_line)
    assert fingerprint("KeyError", "user 1 not found", stack) != fingerprint("ValueError", "user 1 not found", stack)
    agg = Aggregate()
    for n in range(5):
        agg.add_error("f", "KeyError", f"user {n} not found", at=float(n), stack=stack,
                      severity="critical" if n == 3 else "low")
    (group,) = agg.errors.values()
    assert (group.count, group.first, group.last, group.severity) == (5, 0.0, 4.0, "critical")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("gap_s", "flushes_per_100"), [(1.0, 10), (0.1, 1), (30.0, 100)])
def test_flush_policy(gap_s: float, flushes_per_100: int) -> None:
    """Batched: ~one flush per interval whatever the rate, and a lone request after idle time at once."""
    clock = Clock()
    tracker = Tracker(policy=FlushPolicy(interval_s=10.0, max_events=10_000), clock=clock)
    tracker.last_flush = clock.now  # a warm instance that just flushed
    flushes = 0
    for _ in range(100):
        clock.now += gap_s
        tracker.note().add_request("f", at=clock.now, duration_ms=1, status=200)
        if tracker.due():
            flushes += 1
            tracker.aggregate, tracker.last_flush, tracker._buffered_since = Aggregate(), clock.now, None
    assert abs(flushes - flushes_per_100) <= 1


def test_per_invocation_mode_and_size_bound() -> None:
    clock = Clock()
    exact_mode = Tracker(policy=FlushPolicy(per_invocation=True), clock=clock)
    exact_mode.last_flush = clock.now
    exact_mode.note().add_request("f", at=clock.now, duration_ms=1, status=200)
    assert exact_mode.due()
    bounded = Tracker(policy=FlushPolicy(interval_s=3600, max_events=3), clock=clock)
    bounded.last_flush = clock.now
    for _ in range(2):
        bounded.note().add_request("f", at=clock.now, duration_ms=1, status=200)
    assert not bounded.due()
    bounded.note().add_request("f", at=clock.now, duration_ms=1, status=200)
    assert bounded.due()

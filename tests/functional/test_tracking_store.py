"""Tracking through the real gateway and Redis: exact counts, quantiles within 2%, commands per flush."""

from __future__ import annotations

import random
from typing import Any

import pytest

from shared import clients
from shared.settings import get_settings
from shared.tracking.aggregate import Aggregate
from shared.tracking.buffer import FlushPolicy, Tracker
from shared.tracking.store import HOUR, TrackingStore, aggregate_key, hour_of
from tests.functional.conftest import gateway_stats


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def commands(stack: Any, env: dict[str, str]) -> tuple[int, dict[str, int]]:
    stats = gateway_stats(stack.upstash.url, env["UPSTASH_REDIS_REST_TOKEN"])
    return int(stats["total"]), dict(stats["by_command"])  # type: ignore[call-overload, arg-type]


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


@pytest.fixture
def fresh_keys(clean_tracking: dict[str, str]) -> None:
    """Each test starts from an empty tracking keyspace."""


async def test_a_warm_instance_at_1_rps_costs_under_a_tenth_of_a_command_per_request(
    stack_env: dict[str, str], stack: Any, fresh_keys: None,
) -> None:
    rng = random.Random(42)
    clock = Clock(1_800_000_000.0 + 600)  # ten minutes into an hour
    store = TrackingStore(clients.upstash(get_settings()), clock=clock)
    tracker = Tracker(policy=FlushPolicy(interval_s=10.0), clock=clock)
    durations: list[float] = []
    before, _ = commands(stack, stack_env)
    for _ in range(600):  # ten minutes at 1 request/s
        clock.now += 1.0
        duration = rng.lognormvariate(3.5, 1.0)
        durations.append(duration)
        tracker.note().add_request("api/orders", at=clock.now, duration_ms=duration, status=200)
        await tracker.maybe_flush(store.flush, None)
    after, _ = commands(stack, stack_env)
    spent = after - before
    assert tracker.stats.failed_flushes == 0
    assert spent == tracker.stats.commands
    assert spent / 600 <= 0.1, f"{spent} commands for 600 requests"
    await tracker.flush(store.flush, None)  # what is still buffered

    window = await store.read(3600)
    stats = window.aggregate.functions["api/orders"]
    assert stats.count == 600  # no event lost across flushes
    for q in (0.5, 0.95, 0.99):
        truth = exact(durations, q)
        assert abs((stats.latency.quantile(q) or 0) - truth) <= 0.02 * truth


async def test_a_flush_is_a_fixed_number_of_commands_whatever_it_holds(
    stack_env: dict[str, str], stack: Any, fresh_keys: None,
) -> None:
    clock = Clock(1_800_000_000.0)
    store = TrackingStore(clients.upstash(get_settings()), clock=clock)
    sizes = []
    for events in (1, 100, 5_000):
        agg = Aggregate()
        for i in range(events):
            agg.add_request(f"f{i % 7}", at=clock.now, duration_ms=float(i % 500), status=200)
        before, _ = commands(stack, stack_env)
        await store.flush([(f"i:{events}", agg)], users=[f"u{i}" for i in range(events)])
        after, by_command = commands(stack, stack_env)
        sizes.append(after - before)
    assert sizes[0] == 4  # HSET, PFADD and, first time this hour, their two EXPIREs
    assert sizes[1:] == [2, 2]  # then HSET + PFADD, whatever the batch holds
    window = await store.read(600)
    assert sum(s.count for s in window.aggregate.functions.values()) == 5_101
    assert window.users == pytest.approx(5_000, rel=0.02)  # HyperLogLog of hashed ids


async def test_retried_flushes_land_once(stack_env: dict[str, str], fresh_keys: None) -> None:
    clock = Clock(1_800_000_000.0)
    store = TrackingStore(clients.upstash(get_settings()), clock=clock)
    agg = Aggregate()
    agg.add_request("f", at=clock.now, duration_ms=5, status=200)
    await store.flush([("inst:0", agg)])
    await store.flush([("inst:0", agg)])  # the same batch again: the answer to the first was lost
    assert (await store.read(600)).aggregate.functions["f"].count == 1


async def test_old_hours_are_compacted_once_and_then_read_from_the_instance(
    stack_env: dict[str, str], stack: Any, fresh_keys: None,
) -> None:
    start = 1_800_000_000.0 - 1_800_000_000.0 % HOUR
    clock = Clock(start + 60)
    writers = [TrackingStore(clients.upstash(get_settings()), clock=clock) for _ in range(3)]
    for i in range(30):  # three instances flushing through one hour
        clock.now = start + 60 + i * 100
        agg = Aggregate()
        agg.add_request("f", at=clock.now, duration_ms=10.0 + i, status=200)
        await writers[i % 3].flush([(f"inst{i % 3}:{i}", agg)])
    clock.now = start + 4 * HOUR  # that hour is now complete
    reader, other = (TrackingStore(clients.upstash(get_settings()), clock=clock) for _ in range(2))
    first = await reader.read(24 * HOUR)
    assert first.aggregate.functions["f"].count == 30
    redis = clients.upstash(get_settings())
    fields = await redis.hkeys(aggregate_key(hour_of(start)))
    assert len(fields) == 1 and fields[0].startswith("m:")  # compacted into one field
    assert (await other.read(24 * HOUR)).aggregate.functions["f"].count == 30  # still exactly once
    before, by_before = commands(stack, stack_env)
    again = await reader.read(24 * HOUR)
    after, by_after = commands(stack, stack_env)
    assert again.aggregate.functions["f"].count == 30
    assert by_after.get("HGETALL", 0) - by_before.get("HGETALL", 0) == 3  # only the last three hours, of 25


async def test_a_dead_upstash_never_fails_the_request_and_the_batch_gets_one_retry(
    stack_env: dict[str, str], closed_url: str, monkeypatch: pytest.MonkeyPatch, fresh_keys: None,
) -> None:
    clock = Clock(1_800_000_000.0)
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", closed_url)
    get_settings.cache_clear()
    dead = TrackingStore(clients.upstash(get_settings()), clock=clock)
    tracker = Tracker(policy=FlushPolicy(per_invocation=True), clock=clock)
    for _ in range(3):
        tracker.note().add_request("f", at=clock.now, duration_ms=1, status=200)
        await tracker.flush(dead.flush, None)  # must not raise
    assert tracker.stats.failed_flushes == 3
    assert tracker.stats.dropped_events == 2  # the first two batches, each after its one retry
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", stack_env["UPSTASH_REDIS_REST_URL"])
    get_settings.cache_clear()
    alive = TrackingStore(clients.upstash(get_settings()), clock=clock)
    tracker.note().add_request("f", at=clock.now, duration_ms=1, status=200)
    await tracker.flush(alive.flush, None)
    assert tracker.stats.retried == 1
    assert (await alive.read(600)).aggregate.functions["f"].count == 2  # the kept batch and the new one


async def test_settled_records_merge_per_slot_and_overlapping_compactions_never_double_count(
    stack_env: dict[str, str], stack: Any, fresh_keys: None,
) -> None:
    hour_start = 1_800_000_000.0 - 1_800_000_000.0 % HOUR
    clock = Clock(hour_start)
    writer = TrackingStore(clients.upstash(get_settings()), clock=clock)
    for i in range(60):  # one flush a minute for the first hour
        clock.now = hour_start + i * 60 + 30
        agg = Aggregate()
        agg.add_request("f", at=clock.now, duration_ms=1.0 + i, status=200)
        await writer.flush([(f"w:{i}", agg)])
    clock.now = hour_start + HOUR - 1  # still the same hour: nothing is complete, most is settled
    redis = clients.upstash(get_settings())
    key = aggregate_key(hour_of(hour_start))
    first = await TrackingStore(redis, clock=clock).read(HOUR)
    assert first.aggregate.functions["f"].count == 60
    fields = await redis.hkeys(key)
    assert len(fields) <= 6 + 10  # ~6 merged slots of 10 min, and the last, unsettled minutes as they were
    assert (await TrackingStore(redis, clock=clock).read(HOUR)).aggregate.functions["f"].count == 60

    # Two readers compacting overlapping sets: the one whose parts are gone is refused.
    parts = {name: Aggregate.from_json(v) for name, v in (await redis.hgetall(key)).items()}
    stale = TrackingStore(redis, clock=clock)
    late = Aggregate()
    late.add_request("f", at=clock.now - 3000, duration_ms=5, status=200)  # a late record in an old slot
    await writer.flush([("w:late", late)])
    fresh = TrackingStore(redis, clock=clock)
    assert (await fresh.read(HOUR)).aggregate.functions["f"].count == 61
    whole = Aggregate()
    for record in parts.values():
        whole.merge(record)
    await stale._compact([(hour_of(hour_start), parts, whole)])  # parts read before the late record
    assert (await TrackingStore(redis, clock=clock).read(HOUR)).aggregate.functions["f"].count == 61

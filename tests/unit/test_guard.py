"""The timeout guard, driven by a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from shared.errors import DeadlineExceeded
from shared.guard import Guard


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeContext:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_warm_guard_keeps_the_warm_margin() -> None:
    clock = FakeClock()
    guard = Guard.start(limit_s=10, cold_start=False, margin_s=0.5, cold_margin_s=2.0, clock=clock)
    assert guard.time_left() == pytest.approx(9.5)
    clock.advance(4)
    assert guard.time_left() == pytest.approx(5.5)
    assert guard.remaining() == pytest.approx(6.0)


def test_cold_start_keeps_a_larger_margin() -> None:
    clock = FakeClock()
    warm = Guard.start(limit_s=10, cold_start=False, margin_s=0.5, cold_margin_s=2.0, clock=clock)
    cold = Guard.start(limit_s=10, cold_start=True, margin_s=0.5, cold_margin_s=2.0, clock=clock)
    assert cold.time_left() == pytest.approx(8.0)
    assert cold.time_left() < warm.time_left()


def test_vercel_cold_start_counts_from_process_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a cold start Vercel's clock began before our imports: the deadline is anchored there."""
    import shared.guard as guard_module

    clock = FakeClock(now=1003.0)
    monkeypatch.setattr(guard_module, "PROCESS_STARTED_AT", 1000.0)
    cold = Guard.for_vercel(10, cold_start=True, margin_s=0.5, cold_margin_s=1.5,
                            request_started_at=1003.0, clock=clock)
    warm = Guard.for_vercel(10, cold_start=False, margin_s=0.5, cold_margin_s=1.5,
                            request_started_at=1003.0, clock=clock)
    assert cold.time_left() == pytest.approx(10 - 3 - 1.5)
    assert warm.time_left() == pytest.approx(10 - 0.5)


def test_lambda_guard_reads_the_context() -> None:
    clock = FakeClock()
    guard = Guard.for_lambda(FakeContext(3000), cold_start=False, margin_s=0.25, cold_margin_s=1.0, clock=clock)
    assert guard.time_left() == pytest.approx(2.75)


def test_time_left_never_negative_and_timeouts_are_capped() -> None:
    clock = FakeClock()
    guard = Guard.start(limit_s=2, cold_start=False, margin_s=0.5, clock=clock)
    assert guard.timeout_for(cap_s=0.3) == pytest.approx(0.3)
    assert guard.timeout_for(cap_s=5) == pytest.approx(1.5)
    clock.advance(1.8)
    assert guard.time_left() == 0.0
    assert not guard.has_time()
    with pytest.raises(DeadlineExceeded, match="not started"):
        guard.check("archive.batch")


def test_job_loop_stops_with_a_partial_result() -> None:
    """A job checks has_time() before each batch and returns where it stopped."""
    clock = FakeClock()
    guard = Guard.start(limit_s=10, cold_start=False, margin_s=1.0, clock=clock)
    done = []
    for batch in range(100):
        if not guard.has_time(needed_s=2.0):
            break
        clock.advance(2.0)  # each batch takes 2 s
        done.append(batch)
    assert done == [0, 1, 2, 3]  # 8 s used; a 5th batch would end at 10 s, inside the margin
    assert guard.time_left() == pytest.approx(1.0)


async def test_run_bounds_a_hung_call() -> None:
    guard = Guard.start(limit_s=10, cold_start=False, margin_s=0.5)
    with pytest.raises(DeadlineExceeded, match=r"upstash.ping: timeout after 50 ms"):
        await guard.run(asyncio.sleep(5), op="upstash.ping", cap_s=0.05)


async def test_run_returns_the_result_in_time() -> None:
    guard = Guard.start(limit_s=10, cold_start=False, margin_s=0.5)

    async def answer() -> int:
        return 42

    assert await guard.run(answer, op="x", cap_s=1) == 42


async def test_run_refuses_to_start_without_time() -> None:
    clock = FakeClock()
    guard = Guard.start(limit_s=1, cold_start=False, margin_s=1.0, clock=clock)
    coro = asyncio.sleep(0)
    with pytest.raises(DeadlineExceeded, match="no time left"):
        await guard.run(coro, op="late")


def test_cold_start_is_per_function_and_once() -> None:
    from shared.guard import take_cold_start

    assert take_cold_start("unit-a") is True
    assert take_cold_start("unit-a") is False
    assert take_cold_start("unit-b") is True


def test_vercel_anchor_ignores_a_process_older_than_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.guard as guard_module

    clock = FakeClock(now=1100.0)
    monkeypatch.setattr(guard_module, "PROCESS_STARTED_AT", 1000.0)
    cold = Guard.for_vercel(10, cold_start=True, margin_s=0.5, cold_margin_s=1.5,
                            request_started_at=1100.0, clock=clock)
    assert cold.time_left() == pytest.approx(10 - 1.5)

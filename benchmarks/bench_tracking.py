"""Request tracking: what one tracked request costs in Upstash commands, HTTP round trips and latency, what
one stats read costs, and how exact its quantiles are; the new design (``shared/tracking``) side by side
with the original design (brief 000) as the baseline, in one run, through the same gateway.

The baseline is ``benchmarks/baseline_original.py``: brief 000's tracking, one awaited HTTP call per command
through the official async SDK. The new design is ``shared.tracking`` wired as ``track_self`` wires it: each
request goes into the warm instance's buffer (``Tracker``, default ``FlushPolicy``: flush when the oldest
buffered event is 10 s old, or the last flush is over 10 s ago, or 500 events are buffered), which flushes
through ``TrackingStore.flush`` (one pipelined HTTP call); reads are ``TrackingStore.read`` + the report.
Everything runs against the local stack (``devstack.stack.start_services``: a real redis-server) and the
Upstash gateway in its own uvicorn process, behind ``GatewayProbe``, a small ASGI wrapper that counts HTTP
round trips and body bytes and can add a delay to every call; Redis commands come from the gateway's own
``/_local/stats`` counters. Commands, round trips and bytes are before/after deltas of those counters. Time
of day is a fake clock (day keys, TTLs, request spacing, flush policy); HTTP calls and timings are real.
``ratio`` compares each new-design row with the baseline row of the same case; ``target`` is the goal.

- commands per request: a warm instance tracks n requests at 0.1, 1 and 10 req/s of simulated time (an
  instance life of n / rate s), from the start of a UTC day; counts include the instance's whole life, for
  the new design its final flush of what is still buffered at the end (the note gives the counts without it).
- added latency: 20 ms injected per HTTP call; per request, the mean time added to a no-op route (for the
  new design: its flushes, amortized) and the worst single request (the one that flushes), over one round
  trip (an SDK PING under the same delay); the new design at 0.1, 1 and 10 req/s, n = ~10 flushes.
- read cost: one stats read with N tracked requests; baseline: N in the day, its state written with redis-py
  in its exact format; new design: N in a 1 h window (``read(3600)``), the flushes of steady traffic (one
  instance up to 100 req/s, more instances above) produced by the real buffer and store and written with
  redis-py; then a 24 h read, cold (first reader: compacts the complete hours) and warm (compacted hours
  cached in the instance). value = the count the read reports, ratio = reported / true N.
- quantile error: p50/p95/p99 from what the design stores vs exact, on the same seeded heavy-tailed samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
import redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from upstash_redis.asyncio import Redis

from benchmarks import baseline_original as base
from benchmarks._harness import served_process
from functions.performance.report import function_performance, report
from shared.guard import Guard
from shared.tracking.aggregate import Aggregate
from shared.tracking.buffer import FlushPolicy
from shared.tracking.buffer import Tracker as InstanceBuffer
from shared.tracking.runtime import peak_memory_mb
from shared.tracking.store import HOUR, TrackingStore

RATES = (0.1, 1.0, 10.0)
READ_SIZES = (10**3, 10**4, 10**5, 10**6)
Row = dict[str, Any]
Clock = Callable[[], float]


# --- the gateway under test -------------------------------------------------------------------------------

class GatewayProbe:
    """ASGI wrapper in front of the Upstash gateway: a delay per HTTP call, and counters of calls and bytes.

    ``GET /_bench/counters`` returns the counters; ``POST /_bench/delay?ms=20`` sets the delay. Both need the
    gateway's token; ``/_local/*`` and ``/_bench/*`` calls are neither delayed nor counted.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token
        self.delay_s = 0.0
        self.round_trips = self.bytes_in = self.bytes_out = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_local/"):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/_bench/"):
            await self._control(scope, send)
            return
        self.round_trips += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)

        async def counted_receive() -> Message:
            message = await receive()
            self.bytes_in += len(message.get("body", b""))
            return message

        async def counted_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                self.bytes_out += len(message.get("body", b""))
            await send(message)

        await self.app(scope, counted_receive, counted_send)

    async def _control(self, scope: Scope, send: Send) -> None:
        headers = dict(scope["headers"])
        status = 200
        if headers.get(b"authorization", b"") != f"Bearer {self.token}".encode():
            status = 401
        elif scope["path"] == "/_bench/delay" and scope["method"] == "POST":
            query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
            self.delay_s = float(query.get("ms", "0")) / 1000
        elif scope["path"] != "/_bench/counters":
            status = 404
        body = {"round_trips": self.round_trips, "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
                "delay_ms": self.delay_s * 1000}
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})


# The same app gateway_apps() builds, in its own process (in a thread it would share the client's GIL).
_SERVE = (
    "import os, uvicorn; from devstack.upstash_gateway import create_app; "
    "from benchmarks.bench_tracking import GatewayProbe; "
    "token = os.environ['GW_TOKEN']; "
    "uvicorn.run(GatewayProbe(create_app(token=token, redis_url=os.environ['GW_REDIS']), token), "
    "host='127.0.0.1', port=int(os.environ['GW_PORT']), log_level='warning', access_log=False)"
)


@dataclass(frozen=True)
class Counts:
    """Gateway counters at one moment (or the difference of two)."""

    commands: int
    by_command: dict[str, int]
    round_trips: int
    bytes_in: int
    bytes_out: int

    def __sub__(self, other: Counts) -> Counts:
        names = set(self.by_command) | set(other.by_command)
        by_command = {n: self.by_command.get(n, 0) - other.by_command.get(n, 0) for n in sorted(names)}
        return Counts(self.commands - other.commands, {n: c for n, c in by_command.items() if c},
                      self.round_trips - other.round_trips, self.bytes_in - other.bytes_in,
                      self.bytes_out - other.bytes_out)


@dataclass
class BenchGateway:
    """The running gateway: where it is, and its counters."""

    url: str
    token: str
    redis_url: str
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"},
                                  timeout=10)

    def counts(self) -> Counts:
        stats = self._http.get("/_local/stats").raise_for_status().json()
        probe = self._http.get("/_bench/counters").raise_for_status().json()
        return Counts(stats["total"], stats["by_command"], probe["round_trips"], probe["bytes_in"],
                      probe["bytes_out"])

    def set_delay(self, ms: float) -> None:
        self._http.post("/_bench/delay", params={"ms": ms}).raise_for_status()

    def sdk(self) -> Redis:
        """A fresh async SDK client (create it inside the event loop that uses it)."""
        return Redis(url=self.url, token=self.token)

    def direct(self) -> redis.Redis:
        """redis-py straight to Redis, for writing stored state fast (not counted by the gateway)."""
        return redis.Redis.from_url(self.redis_url)

    def close(self) -> None:
        self._http.close()


@contextlib.contextmanager
def local_gateway() -> Iterator[BenchGateway]:
    """The local stack's Redis (as the ``stack`` test fixture starts it) behind a probed gateway process."""
    from devstack.stack import start_services

    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        services = start_services(Path(tmp))
        try:
            if services.redis.url is None:
                raise RuntimeError("no redis-server binary: the benchmark needs a real Redis")
            token = services.secrets.upstash_token
            env = {"GW_TOKEN": token, "GW_REDIS": services.redis.url}

            def ready(url: str) -> bool:
                return httpx.get(f"{url}/_bench/counters", headers={"Authorization": f"Bearer {token}"}).status_code == 200

            with served_process(_SERVE, env, ready) as url:
                gateway = BenchGateway(url, token, services.redis.url)
                try:
                    yield gateway
                finally:
                    gateway.close()
        finally:
            services.stop()


# --- what a design under test provides --------------------------------------------------------------------

class FakeClock:
    """Wall-clock seconds that move only when told to."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_days = itertools.count()


def fresh_day() -> float:
    """00:00:00 UTC of a day no earlier case used (2031 onward): fresh day keys for every case."""
    return dt.datetime(2031, 1, 1, tzinfo=dt.UTC).timestamp() + next(_days) * base.DAY_S


class Tracker(Protocol):
    """One warm instance's tracking. ``handler`` is the route's own work; ``aclose`` ends the instance
    (flush whatever is buffered, close clients)."""

    async def track(self, function: str, handler: Callable[[], Awaitable[None]]) -> None: ...

    async def aclose(self) -> None: ...


class ReadSide(Protocol):
    """Stats reads. ``populate`` writes the stored state that ``n_requests`` tracked requests leave (directly,
    fast); ``read`` is one stats read through the gateway and returns at least ``count``: the number of
    requests it reports."""

    def populate(self, n_requests: int) -> None: ...

    async def read(self) -> Mapping[str, int]: ...

    async def aclose(self) -> None: ...


TrackerFactory = Callable[[BenchGateway, Clock], Tracker]
ReaderFactory = Callable[[BenchGateway, FakeClock], ReadSide]
QuantileEstimator = Callable[[Sequence[float]], Mapping[str, float]]


def _row(benchmark: str, case: str, n: int | str, *, commands: float | str = "", round_trips: float | str = "",
         bytes_: float | str = "", time_ms: float | str = "", value: object = "", ratio: str = "",
         target: str = "", note: str = "") -> Row:
    """One table row; every row has the same columns so the whole module reads as one table."""
    return {"benchmark": benchmark, "case": case, "n": n, "commands": commands, "round_trips": round_trips,
            "bytes": bytes_, "time_ms": time_ms, "value": value, "ratio": ratio, "target": target, "note": note}


def _per(total: float, n: float) -> float:
    """A per-request figure: 2 decimals from 1 up, 4 below (the new design's figures are fractions)."""
    x = total / n
    return round(x, 2) if abs(x) >= 1 else round(x, 4)


async def _noop_route() -> None:
    return None


# --- 1. commands and round trips per tracked request -------------------------------------------------------

def commands_per_request(tracker_factory: TrackerFactory, rate_per_s: float, duration_s: float,
                         gateway: BenchGateway, *, label: str = "baseline",
                         prepare: Callable[[float], None] | None = None, note: str = "") -> Row:
    """A warm instance tracks ``rate_per_s * duration_s`` requests, evenly spaced in simulated time from the
    start of a fresh UTC day; returns commands, round trips and body bytes per request (gateway deltas).

    ``prepare(day_start)`` may seed stored state first (written directly, not counted).
    """
    n = max(1, round(rate_per_s * duration_s))
    day = fresh_day()
    clock = FakeClock(day)
    if prepare is not None:
        prepare(day)

    async def go() -> tuple[float, Counts]:
        tracker = tracker_factory(gateway, clock)
        start = time.perf_counter()
        try:
            for _ in range(n):
                clock.advance(1 / rate_per_s)
                await tracker.track("mcp-query", _noop_route)
            before_end = gateway.counts()
        finally:
            await tracker.aclose()
        return time.perf_counter() - start, before_end

    before = gateway.counts()
    elapsed, before_end = asyncio.run(go())
    d = gateway.counts() - before
    live = before_end - before  # without the instance's end (its final flush, if it has one)
    per = {name: _per(count, n) for name, count in d.by_command.items()}
    end_note = ""
    if live.commands != d.commands or live.round_trips != d.round_trips:
        end_note = (f"counts include the final flush at the instance's end (aclose): {d.commands - live.commands} "
                    f"command(s) in {d.round_trips - live.round_trips} round trip(s); without it "
                    f"{_per(live.commands, n)} commands, {_per(live.round_trips, n)} round trips per request")
    return _row("tracking: commands per request", f"{label} @ {rate_per_s:g} req/s", n,
                commands=_per(d.commands, n), round_trips=_per(d.round_trips, n),
                bytes_=round((d.bytes_in + d.bytes_out) / n), time_ms=round(elapsed * 1000 / n, 3),
                value=json.dumps(per, separators=(",", ":")),
                note="; ".join(filter(None, [
                    note or f"{duration_s:g} s simulated from 00:00 UTC; loopback wall time per request", end_note])))


def baseline_full_day(gateway: BenchGateway, n: int = 5) -> list[Row]:
    """The baseline past its thresholds (brief 000 lines 99-106), measured, then per-rate full-day averages.

    Past 8,000 tracked requests in a UTC day every request also runs auto-cleanup (KEYS cache:*, one TTL per
    matching key, a DEL), past 9,000 also an alert SETEX. No ``cache:*`` keys exist here: each one would add
    a TTL command to every request.
    """

    def preset(count: int) -> Callable[[float], None]:
        def seed(day_start: float) -> None:
            key = f"{base.USAGE_KEY}:{base.utc_day(math.floor(day_start * 1000))}"
            with gateway.direct() as r:
                r.set(key, count)

        return seed

    phases = {
        "steady (2nd..7,999th of the day)": preset(1),
        "past 8,000 of the day": preset(8_000),
        "past 9,000 of the day": preset(9_000),
    }
    rows = [commands_per_request(baseline_tracker, 1.0, n, gateway, label=f"baseline, {name}", prepare=seed,
                                 note="usage counter preset with redis-py")
            for name, seed in phases.items()]
    steady, past_8k, past_9k = (float(r["commands"]) for r in rows)
    for rate in RATES:
        total = 86_400 * rate
        a = min(total, 7_999)
        b = min(max(total - 7_999, 0), 1_000)
        c = max(total - 8_999, 0)
        avg = (1 + a * steady + b * past_8k + c * past_9k) / total
        rows.append(_row("tracking: commands per request", f"baseline, whole UTC day @ {rate:g} req/s (derived)",
                         f"{total:,.0f}", commands=round(avg, 2), round_trips=round(avg, 2),
                         note="from the three measured phases + 1 EXPIRE on the day's first request; "
                              f"{total * avg:,.0f} commands/day vs usage counter {total:,.0f}"))
    return rows


# --- 2. added latency ---------------------------------------------------------------------------------------

def added_latency(tracker_factory: TrackerFactory, *, gateway: BenchGateway, injected_ms: float = 20,
                  n: int = 10, label: str = "baseline", rate_per_s: float | None = None,
                  worst_target: float | None = None) -> Row:
    """Wall time a tracked no-op route takes beyond the bare route, with ``injected_ms`` added to every HTTP
    call at the gateway; ratio to one SDK round trip (PING) under the same delay.

    Per request: the mean added (a design that flushes now and then pays its flushes here, amortized over
    the requests) and the worst single request (the one that flushes), both over one round trip. Timings
    are real; the design's clock is real (``rate_per_s=None``) or fake, moved ``1 / rate_per_s`` seconds
    before each request so a time-based flush policy sees that rate. The instance's end (``aclose``: a
    final flush) is timed separately, in the note. ``worst_target``: the most round trips the worst request
    may add."""
    fake = None if rate_per_s is None else FakeClock(fresh_day() + base.DAY_S / 2)
    clock: Clock = fake or time.time

    async def go() -> tuple[list[float], list[float], list[float], float, Counts]:
        sdk = gateway.sdk()
        tracker = tracker_factory(gateway, clock)
        try:
            await sdk.ping()
            await tracker.track("mcp-query", _noop_route)  # warm: connections, the day's first request
            rtt, bare, tracked = [], [], []
            for _ in range(10):
                t0 = time.perf_counter()
                await sdk.ping()
                rtt.append(time.perf_counter() - t0)
            for _ in range(n):
                t0 = time.perf_counter()
                await _noop_route()
                bare.append(time.perf_counter() - t0)
            before = gateway.counts()
            for _ in range(n):
                if fake is not None and rate_per_s:
                    fake.advance(1 / rate_per_s)
                t0 = time.perf_counter()
                await tracker.track("mcp-query", _noop_route)
                tracked.append(time.perf_counter() - t0)
            counted = gateway.counts() - before
        finally:
            t0 = time.perf_counter()
            await tracker.aclose()
            closing = time.perf_counter() - t0
            await sdk.close()
        return rtt, bare, tracked, closing, counted

    gateway.set_delay(injected_ms)
    try:
        rtt, bare, tracked, closing, d = asyncio.run(go())
    finally:
        gateway.set_delay(0)
    one_rtt = statistics.median(rtt) * 1000
    bare_ms = statistics.median(bare) * 1000
    added = (statistics.fmean(tracked) - statistics.fmean(bare)) * 1000
    median_added = statistics.median(tracked) * 1000 - bare_ms
    worst = max(tracked) * 1000 - bare_ms
    slow = [t * 1000 - bare_ms for t in tracked if t * 1000 - bare_ms > one_rtt / 2]  # the flushing ones
    slow_note = (f"the {len(slow)} of {n} requests that took over half a round trip: median +"
                 f"{statistics.median(slow):.1f} ms ({statistics.median(slow) / one_rtt:.2f}x)") if slow else \
        f"no request of {n} took over half a round trip"
    rate = "real clock" if rate_per_s is None else f"@ {rate_per_s:g} req/s"
    return _row("tracking: added latency", f"{label} {rate}, {injected_ms:g} ms injected per HTTP call", n,
                commands=_per(d.commands, n), round_trips=_per(d.round_trips, n),
                time_ms=round(added, 2), value=f"one round trip {one_rtt:.1f} ms; worst request +{worst:.1f} ms",
                ratio=f"mean {added / one_rtt:.2f}x, worst {worst / one_rtt:.2f}x one round trip",
                target="" if worst_target is None else
                f"worst <= {worst_target:g}x: {'met' if worst / one_rtt <= worst_target else 'MISSED'}",
                note=f"median added {median_added:.2f} ms; {slow_note}; instance end (aclose) {closing * 1000:.1f} ms")


# --- 3. read cost ------------------------------------------------------------------------------------------

def read_cost(reader_factory: ReaderFactory, gateway: BenchGateway, *,
              n_requests: Sequence[int] = READ_SIZES, label: str = "baseline", max_n: int | None = None,
              repeats: int = 3, note: str = "", next_read: bool = False) -> list[Row]:
    """One stats read with N tracked requests in the day, for each N: commands, round trips, bytes (request
    and response bodies) and time of the first read (time: median of ``repeats``), then of the next read;
    value = the count the read reports, ratio = reported / N. N above ``max_n`` is not measured."""
    clock = FakeClock(fresh_day() + base.DAY_S / 2)
    rows: list[Row] = []

    async def read_now(reader: ReadSide) -> tuple[Mapping[str, int], Counts, float]:
        before = gateway.counts()
        t0 = time.perf_counter()
        result = await reader.read()
        elapsed = time.perf_counter() - t0
        return result, gateway.counts() - before, elapsed

    async def go() -> None:
        reader = reader_factory(gateway, clock)
        try:
            await reader.read()  # warm-up on an empty day: connections, lazy imports
            per_entry_bytes = 0.0
            for n in n_requests:
                clock.now = fresh_day() + base.DAY_S / 2
                if max_n is not None and n > max_n:
                    estimate = f"; ~{per_entry_bytes * n / 1e6:,.0f} MB per read extrapolated" if per_entry_bytes else ""
                    rows.append(_row("tracking: read cost", f"{label}: one stats read", f"{n:,}",
                                     note=f"not measured: over the {max_n:,} feasible in a few seconds here{estimate}"))
                    continue
                t0 = time.perf_counter()
                reader.populate(n)
                populate_s = time.perf_counter() - t0
                result, d, first = await read_now(reader)
                again, d_next, next_time = await read_now(reader)  # what a polling dashboard pays from then on
                times = [first, next_time] + [(await read_now(reader))[2] for _ in range(repeats - 2)]
                size = d.bytes_in + d.bytes_out
                per_entry_bytes = size / n
                extra = ", ".join(f"{k}={v:,}" for k, v in result.items() if k != "count")
                rows.append(_row("tracking: read cost", f"{label}: one stats read", f"{n:,}",
                                 commands=d.commands, round_trips=d.round_trips, bytes_=size,
                                 time_ms=round(statistics.median(times) * 1000, 1), value=result["count"],
                                 ratio=f"{result['count'] / n:.3f} of true N",
                                 note="; ".join(filter(None, [extra, note, f"state written in {populate_s:.1f} s"]))))
                if next_read:
                    rows.append(_row("tracking: read cost", f"{label}: the next read", f"{n:,}",
                                     commands=d_next.commands, round_trips=d_next.round_trips,
                                     bytes_=d_next.bytes_in + d_next.bytes_out, time_ms=round(next_time * 1000, 1),
                                     value=again["count"], ratio=f"{again['count'] / n:.3f} of true N",
                                     note="the same read again, as a polling dashboard repeats it (no read cache "
                                          "here): what the first read compacted stays compacted"))
        finally:
            await reader.aclose()

    asyncio.run(go())
    return rows


# --- 4. quantile error -------------------------------------------------------------------------------------

def heavy_tailed(kind: str, n: int, seed: int = 20311) -> list[float]:
    """Seeded latencies in ms: ``lognormal`` (median 80 ms, sigma 1) or ``pareto`` (alpha 1.5, from 20 ms)."""
    rng = random.Random(f"{seed}:{kind}")
    if kind == "lognormal":
        return [rng.lognormvariate(math.log(80), 1.0) for _ in range(n)]
    return [20 * rng.paretovariate(1.5) for _ in range(n)]


def quantile_error(estimator: QuantileEstimator, *, sizes: Sequence[int] = (1_000, 100_000),
                   label: str = "baseline", note: str = "") -> list[Row]:
    """Relative error of the estimator's p50/p95/p99 vs the exact sample quantiles (same rank rule:
    sorted, ``floor(q * (n - 1))``), on samples in arrival order; one seeded draw per row."""
    rows: list[Row] = []
    for kind in ("lognormal", "pareto"):
        for n in sizes:
            samples = heavy_tailed(kind, n)
            exact = base.percentiles(samples)
            estimate = estimator(samples)
            errors = {q: (estimate[q] - exact[q]) / exact[q] for q in exact}
            rows.append(_row("tracking: quantile error", f"{label}, {kind}", f"{n:,}",
                             value=" / ".join(f"{q} {e:+.1%}" for q, e in errors.items()),
                             ratio=f"max abs error {max(abs(e) for e in errors.values()):.1%}",
                             note="; ".join(filter(None, [
                                 "exact " + ", ".join(f"{q} {v:.1f}" for q, v in exact.items()) + " ms", note]))))
    return rows


# --- the baseline's side -----------------------------------------------------------------------------------

def baseline_tracker(gateway: BenchGateway, clock: Clock) -> base.BaselineTracker:
    return base.BaselineTracker(gateway.sdk(), clock)


@dataclass
class BaselineReadSide:
    """Stats reads of the baseline. ``trimmed=False`` is a counterfactual: no LTRIM, the only way its
    counts would be right, to show what its whole-list LRANGE then costs."""

    gateway: BenchGateway
    clock: FakeClock
    trimmed: bool = True
    tracker: base.BaselineTracker = field(init=False)

    def __post_init__(self) -> None:
        self.tracker = base.BaselineTracker(self.gateway.sdk(), self.clock)

    def populate(self, n_requests: int) -> None:
        """What ``n_requests`` 'mcp-query' requests up to now leave in the day's keys, in the baseline's
        format: the usage counter, the stats hash, the newest 1,000 performance entries (10,000 log lines)
        in LPUSH order, the memory key. Requests are spread over the hours before ``clock``."""
        now = base.now_ms(self.clock)
        day = base.utc_day(now)
        gap_ms = min(1_000.0, (now % (base.DAY_S * 1000)) / n_requests)
        rng = random.Random(n_requests)
        memory = base.memory_usage()
        perf_keep = min(n_requests, base.MAX_PERFORMANCE_ENTRIES) if self.trimmed else n_requests
        logs_keep = min(n_requests, base.MAX_LOGS_PER_DAY) if self.trimmed else n_requests

        def at(i: int) -> int:  # request i of n (0-based), oldest first
            return now - math.floor((n_requests - i) * gap_ms)

        def perf(i: int) -> str:
            ok = rng.random() < 0.99
            duration = math.floor(rng.lognormvariate(math.log(80), 1.0))
            start = {**memory, "heapUsed": memory["heapUsed"] - rng.randrange(1 << 20)}
            return base.stringify(base.performance_entry("mcp-query", duration, ok, start, memory, at(i),
                                                         None if ok else "upstream failed"))

        def log_line(i: int) -> str:
            return base.stringify(base.log_entry("INFO", "MCP query initiated", None, at(i)))

        with self.gateway.direct() as r:
            pipe = r.pipeline(transaction=False)
            pipe.set(f"{base.USAGE_KEY}:{day}", n_requests, ex=base.seconds_to_end_of_day(now))
            pipe.hset(f"{base.STATS_KEY}:{day}", "mcp_query", n_requests)
            pipe.expire(f"{base.STATS_KEY}:{day}", base.DAY_S)
            for key, keep, make in ((f"{base.PERFORMANCE_KEY}:{day}", perf_keep, perf),
                                    (f"{base.LOG_KEY}:{day}", logs_keep, log_line)):
                first = n_requests - keep
                for chunk in range(first, n_requests, 2_000):  # LPUSH oldest first: newest ends at the head
                    pipe.lpush(key, *(make(i) for i in range(chunk, min(chunk + 2_000, n_requests))))
                    if len(pipe) >= 10:
                        pipe.execute()
                pipe.expire(key, base.DAY_S)
            pipe.setex(f"{base.MEMORY_KEY}:mcp-query", base.MEMORY_TTL_S,
                       base.stringify({**memory, "timestamp": now}))
            pipe.execute()

    async def read(self) -> Mapping[str, int]:
        stats = await self.tracker.read("mcp-query")
        return {"count": stats.count, "total_logs": stats.total_logs}

    async def aclose(self) -> None:
        await self.tracker.aclose()


def baseline_quantiles(samples: Sequence[float], seed: int = 7) -> Mapping[str, float]:
    """What the baseline can answer: the newest 1,000 durations (LPUSH + LTRIM 0 999), each in whole ms
    (a difference of two ``Date.now()`` readings: ``floor(d + u)``, u the uniform phase), ranked exactly."""
    rng = random.Random(seed)
    kept = samples[-base.MAX_PERFORMANCE_ENTRIES:]
    return base.percentiles([math.floor(d + rng.random()) for d in kept])


# --- the new design's side (shared/tracking) ---------------------------------------------------------------

NEW = "new design"
COMMANDS_TARGET = 0.1  # commands per tracked request, amortized, at >= 1 req/s
LATENCY_TARGET = 1.2  # the worst single request's added time, in round trips
FUNCTION_LIMIT_S = 10.0  # the guard of one tracked invocation (Vercel Hobby's default maxDuration)
MAX_INSTANCE_RPS = 100.0  # read-cost traffic: at most this rate per instance; more traffic, more instances
T = TypeVar("T")


class NewDesignTracker:
    """One warm instance of the new design, wired as ``shared.tracking.runtime.track_self`` wires tierwatch's
    own functions: each request is added to the instance's buffer (``shared.tracking.buffer.Tracker``, default
    ``FlushPolicy``), then flushed if due through a ``TrackingStore`` over the async SDK, bounded by the
    invocation's guard. ``aclose`` is the instance's end: one final flush of what is still buffered.
    A failed flush would fail open (the request never sees it), so it fails the benchmark instead."""

    def __init__(self, gateway: BenchGateway, clock: Clock, policy: FlushPolicy | None = None) -> None:
        self.clock = clock
        self.redis = gateway.sdk()
        self.store = TrackingStore(self.redis, clock=clock)
        self.buffer = InstanceBuffer(policy=policy or FlushPolicy(), clock=clock)
        self._cold = True

    async def track(self, function: str, handler: Callable[[], Awaitable[None]]) -> None:
        started = time.monotonic()
        cold, self._cold = self._cold, False
        guard = Guard.start(limit_s=FUNCTION_LIMIT_S, cold_start=cold, margin_s=0.5, started_at=started)
        status = 500
        try:
            await handler()
            status = 200
        finally:
            duration_ms = (time.monotonic() - started) * 1000
            self.buffer.note().add_request(function, at=self.clock(), duration_ms=duration_ms, status=status,
                                           cold_start=cold, memory_mb=peak_memory_mb())
            await self.buffer.maybe_flush(self.store.flush, guard)

    async def aclose(self) -> None:
        try:
            await self.buffer.flush(self.store.flush, None)
        finally:
            await self.redis.close()
        if self.buffer.stats.failed_flushes:
            raise RuntimeError(f"{self.buffer.stats.failed_flushes} tracking flush(es) failed")


class _RecordingRedis:
    """Stands in for the SDK under a ``TrackingStore`` that only writes: its pipeline records the commands."""

    def __init__(self) -> None:
        self.commands: list[list[Any]] = []

    def pipeline(self) -> _RecordingRedis:
        return self

    def execute(self, command: list[Any]) -> None:
        self.commands.append(command)

    async def exec(self) -> list[Any]:
        return []


def _drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (a flush into a recording store) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("the coroutine suspended")


@dataclass(frozen=True)
class Traffic:
    """What ``simulate_traffic`` produced: the flushes' commands and what they hold."""

    commands: list[list[Any]]
    instances: int
    requests: int
    in_window: int
    records: int


def simulate_traffic(start: float, end: float, per_hour: float, *, window_start: float, seed: int) -> Traffic:
    """``per_hour`` requests an hour, evenly spaced from ``start`` to ``end``, through the new design's real
    buffer and store (flush policy, record names, hour keys, TTLs): every flush's commands are recorded instead
    of sent. Durations are the baseline's (lognormal, median 80 ms, sigma 1), 1% of requests fail with a 500.
    One instance takes up to ``MAX_INSTANCE_RPS``; each ends with a final flush at ``end`` (so a read at
    ``end`` sees every request, not all but the last < 10 s that a live instance would still hold)."""
    rate = per_hour / HOUR
    instances = max(1, math.ceil(rate / MAX_INSTANCE_RPS))
    each = rate / instances
    rng = random.Random(seed)
    memory = peak_memory_mb()
    recorder = _RecordingRedis()
    requests = in_window = 0
    for _ in range(instances):
        clock = FakeClock(start)
        store = TrackingStore(recorder, clock=clock)  # type: ignore[arg-type]
        buffer = InstanceBuffer(policy=FlushPolicy(), clock=clock, instance=f"{rng.getrandbits(48):012x}")
        phase = start + rng.random() / each
        for k in itertools.count():
            at = phase + k / each
            if at >= end:
                break
            clock.now = at
            ok = rng.random() < 0.99
            buffer.note().add_request("mcp-query", at=at, duration_ms=rng.lognormvariate(math.log(80), 1.0),
                                      status=200 if ok else 500, memory_mb=memory)
            _drive(buffer.maybe_flush(store.flush, None))
            requests += 1
            in_window += at >= window_start
        clock.now = end
        _drive(buffer.flush(store.flush, None))
    records = sum((len(c) - 2) // 2 for c in recorder.commands if c[0] == "HSET")
    return Traffic(recorder.commands, instances, requests, in_window, records)


def write_commands(gateway: BenchGateway, commands: Sequence[list[Any]]) -> None:
    """Send recorded commands straight to Redis with redis-py (not counted by the gateway)."""
    with gateway.direct() as r:
        pipe = r.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
            if len(pipe) >= 500:
                pipe.execute()
        pipe.execute()


@dataclass
class NewDesignReadSide:
    """1 h reads of the new design as ``GET /api/monitoring/performance?window=1h`` builds them (without its
    per-instance cache): ``TrackingStore.read(3600)`` then ``report``. ``populate(n)`` moves the clock to
    HH:30 and writes steady traffic of ``n`` requests an hour since (HH-1):00, flushed as real instances would
    flush it: the read fetches both hour keys, 1.5 h of flush records, and keeps the 1 h in its window."""

    gateway: BenchGateway
    clock: FakeClock
    window_s: float = HOUR
    expected: int = 0
    fetched: int = 0
    instances: int = 0

    def __post_init__(self) -> None:
        self.redis = self.gateway.sdk()
        self.store = TrackingStore(self.redis, clock=self.clock)

    def populate(self, n_requests: int) -> None:
        self.clock.now += HOUR / 2
        now = self.clock.now
        first_hour = (now // HOUR - 1) * HOUR
        traffic = simulate_traffic(first_hour, now, n_requests * HOUR / self.window_s,
                                   window_start=now - self.window_s, seed=n_requests)
        write_commands(self.gateway, traffic.commands)
        self.expected, self.fetched, self.instances = traffic.in_window, traffic.records, traffic.instances

    async def read(self) -> Mapping[str, int]:
        now = self.clock()
        window = await self.store.read(self.window_s)
        stats = report(window, "1h", now, None).functions.get("mcp-query")
        return {"count": stats.count if stats else 0, "true_count": self.expected,
                "flush_records_fetched": self.fetched, "instances": self.instances}

    async def aclose(self) -> None:
        await self.redis.close()


def read_24h(gateway: BenchGateway, per_hour: int = 10_000) -> list[Row]:
    """24 h reads of the new design (``TrackingStore.read(86400)`` + ``report``) over 24.5 h of steady traffic
    at ``per_hour`` requests an hour, read at HH:30: a cold reader (the first: it fetches all 25 hour keys and
    compacts every complete hour, one MULTI round trip each), the same reader again (warm: compacted hours
    come from its cache, only the last 3 hour keys are fetched), and another cold reader after compaction."""
    day = fresh_day()
    fresh_day()  # the window spans midnight: both days are this case's
    now = day + base.DAY_S + 12.5 * HOUR
    t0 = time.perf_counter()
    traffic = simulate_traffic((now - 86_400) // HOUR * HOUR, now, per_hour, window_start=now - 86_400, seed=24)
    write_commands(gateway, traffic.commands)
    populate_s = time.perf_counter() - t0
    clock = FakeClock(now)
    rows: list[Row] = []

    async def read_once(store: TrackingStore) -> tuple[int, Counts, float]:
        before = gateway.counts()
        t0 = time.perf_counter()
        window = await store.read(86_400)
        body = report(window, "24h", now, None)
        elapsed = time.perf_counter() - t0
        if body.since.timestamp() != (now - 86_400) // HOUR * HOUR:
            raise RuntimeError(f"unexpected since {body.since}")
        stats = body.functions.get("mcp-query")
        return (stats.count if stats else 0), gateway.counts() - before, elapsed

    def row(case: str, count: int, d: Counts, times: list[float], note: str) -> Row:
        ops = ", ".join(f"{k} {v}" for k, v in d.by_command.items())
        return _row("tracking: read cost", f"{NEW}: one 24 h read, {case}", f"{traffic.in_window:,}",
                    commands=d.commands, round_trips=d.round_trips, bytes_=d.bytes_in + d.bytes_out,
                    time_ms=round(statistics.median(times) * 1000, 1), value=count,
                    ratio=f"{count / traffic.requests:.4f} of true N since the report's since",
                    note=f"{ops}; {note}; compacted hours count whole, so the report's since is the first "
                         f"hour's start (24.5 h: {traffic.requests:,} requests)")

    async def go() -> None:
        first_sdk, other_sdk = gateway.sdk(), gateway.sdk()
        try:
            first = TrackingStore(first_sdk, clock=clock)
            count, d, elapsed = await read_once(first)
            rows.append(row("cold reader (first read: compacts)", count, d, [elapsed],
                            f"{traffic.records:,} flush records in 25 hour keys, {per_hour:,} req/h; "
                            f"state written in {populate_s:.1f} s"))
            warm = [await read_once(first) for _ in range(3)]
            rows.append(row("warm reader (compacted hours cached)", warm[0][0], warm[0][1],
                            [w[2] for w in warm], "median of 3 reads"))
            count, d, elapsed = await read_once(TrackingStore(other_sdk, clock=clock))
            rows.append(row("another cold reader, hours already compacted", count, d, [elapsed],
                            "one merged field per complete hour"))
        finally:
            await first_sdk.close()
            await other_sdk.close()

    asyncio.run(go())
    return rows


def new_design_quantiles(samples: Sequence[float], per_record: int = 500) -> Mapping[str, float]:
    """What a new-design read answers: the samples in arrival order, flushed in records of ``per_record``
    (``FlushPolicy.max_events``), each serialised as stored and merged as a read merges them, quantiles as
    the report rounds them."""
    merged = Aggregate()
    for i in range(0, len(samples), per_record):
        record = Aggregate()
        for j, value in enumerate(samples[i:i + per_record]):
            record.add_request("q", at=float(i + j), duration_ms=value, status=200)
        merged.merge(Aggregate.from_json(record.to_json()))
    perf = function_performance(merged.functions["q"], 1.0)
    return {"p50": perf.p50_ms or 0.0, "p95": perf.p95_ms or 0.0, "p99": perf.p99_ms or 0.0}


# --- both, side by side -------------------------------------------------------------------------------------



def _times(new: float, old: float) -> str:
    return f"{new / old:.3g}x baseline" if old else ""


def _latency_n(rate: float) -> int:
    """Enough requests for ~10 flushes under the default policy (a flush per ~10 s of requests)."""
    return max(20, 10 * (math.floor(FlushPolicy().interval_s * rate) + 1))


def _interleave(*groups: list[Row]) -> list[Row]:
    """Rows of several designs for the same cases, one case after the other."""
    return [row for rows in zip(*groups, strict=True) for row in rows]


def run(n: int = 600) -> list[Row]:
    """Both designs, case by case; ``n`` is the number of tracked requests per rate case (instance life
    ``n / rate`` simulated seconds) and caps the baseline's latency samples."""
    rows: list[Row] = []
    with local_gateway() as gateway:
        # 1. commands and round trips per tracked request
        for rate in RATES:
            old = commands_per_request(baseline_tracker, rate, n / rate, gateway)
            new = commands_per_request(NewDesignTracker, rate, n / rate, gateway,
                                       label=f"{NEW} (default FlushPolicy: 10 s)")
            new["ratio"] = f"commands {_times(new['commands'], old['commands'])}, " \
                           f"round trips {_times(new['round_trips'], old['round_trips'])}"
            if rate >= 1:
                met = new["commands"] <= COMMANDS_TARGET
                new["target"] = f"<= {COMMANDS_TARGET} commands: {'met' if met else 'MISSED'}"
            rows += [old, new]
        rows += baseline_full_day(gateway, n=min(n, 10))

        # 2. added latency, 20 ms per HTTP call (and 0 ms: loopback only)
        for injected in (20, 0):
            old = added_latency(baseline_tracker, gateway=gateway, injected_ms=injected, n=min(n, 10),
                                rate_per_s=1.0)
            rows.append(old)
            for rate in RATES if injected else (1.0,):
                new = added_latency(NewDesignTracker, gateway=gateway, injected_ms=injected, n=_latency_n(rate),
                                    label=NEW, rate_per_s=rate, worst_target=LATENCY_TARGET if injected else None)
                new["ratio"] += f"; mean {_times(new['time_ms'], old['time_ms'])}"
                rows.append(new)

        # 3. cost of one stats read
        old = read_cost(BaselineReadSide, gateway, note="the day so far; perf list LTRIM 0 999, log list LTRIM 0 9999")
        whole = read_cost(lambda g, c: BaselineReadSide(g, c, trimmed=False), gateway,
                          n_requests=READ_SIZES, label="baseline without LTRIM (counterfactual)",
                          max_n=10**5, repeats=1, note="whole-day lists")
        both = read_cost(NewDesignReadSide, gateway, label=f"{NEW} (1 h window)", next_read=True,
                         note="read at HH:30, steady traffic since (HH-1):00, flush records that straddle the "
                              "window's start count whole; TrackingStore.read(3600) + report")
        new_rows, next_rows = both[::2], both[1::2]
        for o, r in zip(old, new_rows, strict=True):
            if r["bytes"] != "" and o["bytes"] != "":
                r["ratio"] += f"; bytes {_times(r['bytes'], o['bytes'])}, time {_times(r['time_ms'], o['time_ms'])}"
        for group in (new_rows, next_rows):
            measured = [r for r in group if r["bytes"] != ""]
            flat = len({r["commands"] for r in measured}) == 1
            growth = max(r["bytes"] for r in measured) / min(r["bytes"] for r in measured)
            slower = max(r["time_ms"] for r in measured) / min(r["time_ms"] for r in measured)
            span = f"from {measured[0]['n']} to {measured[-1]['n']}"
            for r in measured:  # flat: within 2x over the whole range of N
                r["target"] = (f"flat: commands {'met' if flat else 'MISSED'} ({r['commands']} at every N); "
                               f"bytes {'met' if growth <= 2 else 'MISSED'} (x{growth:.1f} {span}); "
                               f"time {'met' if slower <= 2 else 'MISSED'} (x{slower:.1f})")
        rows += _interleave(old, whole, new_rows, next_rows)
        day = read_24h(gateway)
        reference = next(r for r in old if r["n"] == f"{10**5:,}")
        for r in day:
            r["ratio"] += (f"; bytes {_times(r['bytes'], reference['bytes'])}, "
                           f"time {_times(r['time_ms'], reference['time_ms'])} (baseline's day read, trimmed)")
        rows += day

    # 4. quantile error
    rows += _interleave(
        quantile_error(baseline_quantiles,
                       note="baseline: newest 1,000 entries, whole ms; brief 000 itself computes only the mean"),
        quantile_error(new_design_quantiles, label=NEW,
                       note="new design: every sample, in flush records of 500 merged by the read; sketch accuracy 1%"),
    )
    return rows


if __name__ == "__main__":
    for result in run(int(sys.argv[1]) if len(sys.argv) > 1 else 600):
        print(result)

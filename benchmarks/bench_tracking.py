"""Request tracking: what one tracked request costs in Upstash commands, HTTP round trips and latency, what
one stats read costs, and how exact its quantiles are; the original design (brief 000) as the baseline.

The baseline is ``benchmarks/baseline_original.py``: brief 000's tracking, one awaited HTTP call per command
through the official async SDK. Everything runs against the local stack (``devstack.stack.start_services``:
a real redis-server) and the Upstash gateway in its own uvicorn process, behind ``GatewayProbe``, a small
ASGI wrapper that counts HTTP round trips and body bytes and can add a delay to every call; Redis commands
come from the gateway's own ``/_local/stats`` counters. Commands, round trips and bytes are before/after
deltas of those counters. Time of day is a fake clock (day keys, TTLs, request spacing); HTTP calls are real.

- commands per request: a warm instance tracks requests at 0.1, 1 and 10 req/s of simulated time, from
  the start of a UTC day; counts include the instance's whole life (its final flush or close too).
- added latency: 20 ms injected per HTTP call; mean time added to a no-op route, over one round trip.
- read cost: one stats read with N tracked requests in the day; the stored state is written directly
  with redis-py in the baseline's exact format; ratio = reported count / true N.
- quantile error: p50/p95/p99 from what the design stores vs exact, on seeded heavy-tailed samples.
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
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from upstash_redis.asyncio import Redis

from benchmarks import baseline_original as base
from benchmarks._harness import served_process

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
         note: str = "") -> Row:
    """One table row; every row has the same columns so the whole module reads as one table."""
    return {"benchmark": benchmark, "case": case, "n": n, "commands": commands, "round_trips": round_trips,
            "bytes": bytes_, "time_ms": time_ms, "value": value, "ratio": ratio, "note": note}


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

    async def go() -> float:
        tracker = tracker_factory(gateway, clock)
        start = time.perf_counter()
        try:
            for _ in range(n):
                clock.advance(1 / rate_per_s)
                await tracker.track("mcp-query", _noop_route)
        finally:
            await tracker.aclose()
        return time.perf_counter() - start

    before = gateway.counts()
    elapsed = asyncio.run(go())
    d = gateway.counts() - before
    per = {name: round(count / n, 2) for name, count in d.by_command.items()}
    return _row("tracking: commands per request", f"{label} @ {rate_per_s:g} req/s", n,
                commands=round(d.commands / n, 2), round_trips=round(d.round_trips / n, 2),
                bytes_=round((d.bytes_in + d.bytes_out) / n), time_ms=round(elapsed * 1000 / n, 2),
                value=json.dumps(per, separators=(",", ":")),
                note=note or f"{duration_s:g} s simulated from 00:00 UTC; loopback wall time per request")


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
                  n: int = 10, label: str = "baseline") -> Row:
    """Mean wall time a tracked no-op route takes beyond the bare route, with ``injected_ms`` added to
    every HTTP call at the gateway; ratio to one SDK round trip (PING) under the same delay. Real clock.
    The instance's end (``aclose``: a final flush) is timed separately, in the note."""

    async def go() -> tuple[list[float], list[float], list[float], float, Counts]:
        sdk = gateway.sdk()
        tracker = tracker_factory(gateway, time.time)
        try:
            await sdk.ping()
            await tracker.track("mcp-query", _noop_route)  # warm: connections, the day's first request
            rtt, bare, tracked = [], [], []
            for _ in range(n):
                t0 = time.perf_counter()
                await sdk.ping()
                rtt.append(time.perf_counter() - t0)
            for _ in range(n):
                t0 = time.perf_counter()
                await _noop_route()
                bare.append(time.perf_counter() - t0)
            before = gateway.counts()
            for _ in range(n):
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
    added = (statistics.fmean(tracked) - statistics.fmean(bare)) * 1000
    median_added = (statistics.median(tracked) - statistics.median(bare)) * 1000
    return _row("tracking: added latency", f"{label}, {injected_ms:g} ms injected per HTTP call", n,
                commands=round(d.commands / n, 2), round_trips=round(d.round_trips / n, 2),
                time_ms=round(added, 1), value=f"one round trip {one_rtt:.1f} ms",
                ratio=f"{added / one_rtt:.1f}x one round trip",
                note=f"median added {median_added:.1f} ms; instance end (aclose) {closing * 1000:.1f} ms")


# --- 3. read cost ------------------------------------------------------------------------------------------

def read_cost(reader_factory: ReaderFactory, gateway: BenchGateway, *,
              n_requests: Sequence[int] = READ_SIZES, label: str = "baseline", max_n: int | None = None,
              repeats: int = 3, note: str = "") -> list[Row]:
    """One stats read with N tracked requests in the day, for each N: commands, round trips, bytes (request
    and response bodies) and time of the first read (time: median of ``repeats``); value = the count the read
    reports, ratio = reported / N. N above ``max_n`` is not measured (a row says so)."""
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
                times = [first] + [(await read_now(reader))[2] for _ in range(repeats - 1)]
                size = d.bytes_in + d.bytes_out
                per_entry_bytes = size / n
                extra = ", ".join(f"{k}={v:,}" for k, v in result.items() if k != "count")
                rows.append(_row("tracking: read cost", f"{label}: one stats read", f"{n:,}",
                                 commands=d.commands, round_trips=d.round_trips, bytes_=size,
                                 time_ms=round(statistics.median(times) * 1000, 1), value=result["count"],
                                 ratio=f"{result['count'] / n:.3f} of true N",
                                 note="; ".join(filter(None, [extra, note, f"state written in {populate_s:.1f} s"]))))
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


def run(n: int = 50) -> list[Row]:
    """The baseline's rows; ``n`` is the number of tracked requests per rate case (and caps latency samples)."""
    rows: list[Row] = []
    with local_gateway() as gateway:
        for rate in RATES:
            rows.append(commands_per_request(baseline_tracker, rate, n / rate, gateway))
        rows += baseline_full_day(gateway, n=min(n, 10))
        for injected in (0, 20):
            rows.append(added_latency(baseline_tracker, gateway=gateway, injected_ms=injected, n=min(n, 10)))
        rows += read_cost(BaselineReadSide, gateway,
                          note="perf list LTRIM 0 999, log list LTRIM 0 9999")
        rows += read_cost(lambda g, c: BaselineReadSide(g, c, trimmed=False), gateway,
                          n_requests=READ_SIZES, label="baseline without LTRIM (counterfactual)",
                          max_n=10**5, repeats=1, note="whole-day lists")
    rows += quantile_error(baseline_quantiles,
                           note="baseline: newest 1,000 entries, whole ms; brief 000 itself computes only the mean")
    return rows


if __name__ == "__main__":
    for result in run(int(sys.argv[1]) if len(sys.argv) > 1 else 50):
        print(result)

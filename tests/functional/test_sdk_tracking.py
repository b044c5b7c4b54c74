"""The app package (sdk/python) end to end: a real HTTP receiver in place of the bundle's ingest endpoint.

The receiver speaks the ingest contract: it checks the bearer token, validates every body with the
bundle's own ``shared.events.parse_batch`` (so an event the SDK sends and the server would refuse fails
here), stores a batch once per ``Idempotency-Key``, and answers 202 ``{"accepted": N}``, or whatever
status a test queues. Apps are FastAPI apps driven through ``httpx.ASGITransport``; the flush policy
runs on an injected clock.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from shared.errors import TierwatchError
from shared.events import parse_batch

SDK = Path(__file__).resolve().parents[2] / "sdk" / "python" / "src"
if str(SDK) not in sys.path:  # the app package is not installed into the bundle's venv
    sys.path.insert(0, str(SDK))

import tierwatch  # noqa: E402
from tierwatch import _runtime  # noqa: E402
from tierwatch.asgi import TierwatchMiddleware  # noqa: E402
from tierwatch.lambda_handler import track  # noqa: E402

TOKEN = "ingest-token-for-the-sdk-tests"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@dataclass
class Post:
    headers: dict[str, str]
    events: list[dict[str, Any]]
    status: int


@dataclass
class Receiver:
    """Records every POST; ``statuses`` queues the answers of the next POSTs (202 once it is empty)."""

    url: str = ""
    posts: list[Post] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    store_failed: bool = False  # store a batch even when answering an error (the answer got lost)
    stored: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # Idempotency-Key -> events
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def keys(self) -> list[str]:
        return [p.headers["idempotency-key"] for p in self.posts]

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every event stored (once per key), in arrival order."""
        with self.lock:
            found = [e for events in self.stored.values() for e in events]
        return [e for e in found if kind is None or e["type"] == kind]

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {"error": {"code": "unauthorized", "message": "bad token"}}
        try:
            batch = parse_batch(body, headers.get("content-type"))
        except TierwatchError as exc:
            with self.lock:
                self.problems.append(exc.message)
            return exc.status, {"error": {"code": exc.code, "message": exc.message}}
        events = json.loads(body)["events"]
        key = headers.get("idempotency-key", "")
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else 202
            self.posts.append(Post(headers, events, status))
            if status == 202 or self.store_failed:
                self.stored.setdefault(key, events)  # a key seen before is stored once
        if status != 202:
            return status, {"error": {"code": "unavailable", "message": "storage is down"}}
        return 202, {"accepted": len(batch.events)}


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = receiver.answer(headers, body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if status in (429, 503):
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield found
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    assert not found.problems, found.problems  # every body the SDK sent met the contract


@pytest.fixture(autouse=True)
def _cold_process() -> Iterator[None]:
    """Each test starts as a fresh process would: its first invocation is a cold start."""
    _runtime.reset_cold_start()
    yield
    _runtime.reset_cold_start()


class Clock:
    """The flush policy's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_app(client: tierwatch.Client, function: str | None = None) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        tierwatch.set_user(f"user-{item_id % 3}")
        return {"id": item_id}

    @app.get("/sync/{name}")
    def sync_route(name: str) -> dict[str, str]:  # run in a worker thread by FastAPI
        tierwatch.set_user(name)
        return {"name": name}

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(status_code=404, detail="nope")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the database is on fire")

    app.add_middleware(TierwatchMiddleware, client=client, function=function)
    return app


def http(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


def settle(client: tierwatch.Client, within_s: float = 2.0) -> None:
    """Wait until no flush is in flight (one the app stopped waiting for may still be ending)."""
    deadline = time.monotonic() + within_s
    while client._flushing and time.monotonic() < deadline:
        time.sleep(0.01)


def client_for(receiver: Receiver, **options: Any) -> tierwatch.Client:
    return tierwatch.Client(receiver.url, TOKEN, **options)


# -- requests through the middleware -----------------------------------------------------------------


async def test_every_request_becomes_one_event_with_its_fields(receiver: Receiver) -> None:
    client = client_for(receiver, clock=Clock())
    n = 25
    async with http(make_app(client)) as app:
        for i in range(n):
            response = await app.get(f"/items/{i}", headers={"traceparent": TRACEPARENT} if i == 3 else {})
            assert response.status_code == 200 and response.json() == {"id": i}
        assert (await app.get("/sync/x")).status_code == 200
        assert (await app.get("/missing")).status_code == 404
        assert (await app.get("/nowhere/7")).status_code == 404
    assert await client.aflush()

    requests = receiver.events("request")
    assert len(requests) == n + 3
    items = [e for e in requests if e.get("route") == "/items/{item_id}"]
    assert len(items) == n
    for i, event in enumerate(items):
        assert event["function"] == "/items/[item_id]"  # Starlette's {item_id} as the contract spells it
        assert event["method"] == "GET" and event["status"] == 200 and event["timed_out"] is False
        assert 0 < event["duration_ms"] < 5000
        assert event["cold_start"] is (i == 0)
        assert 0 < event["memory_mb"] <= 10240
        assert event["user"] == f"user-{i % 3}"
        assert abs(event["timestamp"] - time.time() * 1000) < 60_000
        assert "init_ms" not in event  # not on a serverless platform
    assert items[3]["trace_id"] == TRACE and all("trace_id" not in e for e in items[:3])
    by_route = {e.get("route"): e for e in requests[n:]}
    assert by_route["/sync/{name}"]["function"] == "/sync/[name]" and by_route["/sync/{name}"]["status"] == 200
    assert by_route["/sync/{name}"]["user"] == "x"  # set from the worker thread, seen by the middleware
    assert by_route["/missing"]["status"] == 404
    assert by_route[None]["function"] == "/nowhere/7" and by_route[None]["status"] == 404  # no route: raw path
    post = receiver.posts[0]
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert post.headers["content-type"] == "application/json"
    assert len(set(receiver.keys)) == len(receiver.keys)  # a fresh Idempotency-Key per batch
    assert all(len(k) <= 64 and k.replace("-", "").isalnum() for k in receiver.keys)
    stats = client.stats
    assert stats.recorded == stats.sent == n + 3 and stats.dropped == stats.invalid == stats.failed_posts == 0


async def test_a_plain_asgi_app_without_any_framework(receiver: Receiver) -> None:
    client = client_for(receiver, per_invocation=True)
    seen: list[str] = []

    async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            await send({"type": "http.response.body", "body": b""})

    app = TierwatchMiddleware(raw_app, client=client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as web:
        assert (await web.post("/hooks/stripe?x=1")).status_code == 204
    await app({"type": "lifespan"}, None, None)  # type: ignore[arg-type]  # lifespan passes through
    assert seen == ["http", "lifespan"]
    (event,) = receiver.events("request")
    assert event["function"] == "/hooks/stripe" and event["method"] == "POST" and event["status"] == 204
    assert "route" not in event and event["cold_start"] is True


async def test_the_function_name_given_wins(receiver: Receiver) -> None:
    client = client_for(receiver, per_invocation=True)
    async with http(make_app(client, function="api/index")) as app:
        await app.get("/items/1")
    (event,) = receiver.events("request")
    assert event["function"] == "api/index" and event["route"] == "/items/{item_id}"


async def test_many_requests_go_in_few_posts(receiver: Receiver) -> None:
    """400 requests at a simulated 20 per second, flush interval 10 s: a handful of POSTs, none lost."""
    clock = Clock()
    client = client_for(receiver, clock=clock, flush_interval_s=10.0)
    async with http(make_app(client)) as app:
        for i in range(400):
            await app.get(f"/items/{i}")
            clock.advance(0.05)
    posts_while_serving = len(receiver.posts)
    assert 2 <= posts_while_serving <= 3  # the first request (after idle), then about every 10 s
    assert await client.aflush()
    assert len(receiver.events("request")) == 400
    assert len(receiver.posts) <= 4


async def test_max_events_flushes_before_the_interval(receiver: Receiver) -> None:
    clock = Clock()  # frozen: only the count can trigger a flush after the first
    client = client_for(receiver, clock=clock, max_events=50)
    async with http(make_app(client)) as app:
        for i in range(120):
            await app.get(f"/items/{i}")
    assert [len(p.events) for p in receiver.posts] == [1, 50, 50]
    assert client.buffered == 19


async def test_per_invocation_mode_sends_each_request(receiver: Receiver) -> None:
    client = client_for(receiver, clock=Clock(), per_invocation=True)
    async with http(make_app(client)) as app:
        for i in range(5):
            await app.get(f"/items/{i}")
            assert len(receiver.events("request")) == i + 1  # sent before the request completed
    assert len(receiver.posts) == 5


async def test_concurrent_requests_and_threads_lose_nothing(receiver: Receiver) -> None:
    import asyncio

    client = client_for(receiver, clock=time.monotonic, flush_interval_s=0.01, max_events=40)

    def record_from_thread(worker: int) -> None:
        for i in range(200):
            client.record_request(f"worker-{worker}", float(i), 200)
            if i % 50 == 0:
                client.maybe_flush()

    threads = [threading.Thread(target=record_from_thread, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    async with http(make_app(client)) as app:
        responses = await asyncio.gather(*(app.get(f"/items/{i}") for i in range(100)))
    for thread in threads:
        thread.join()
    assert all(r.status_code == 200 for r in responses)
    assert client.flush(timeout_s=2.0)
    requests = receiver.events("request")
    assert len(requests) == 4 * 200 + 100
    assert sum(1 for e in requests if e.get("cold_start")) == 1
    assert client.stats.dropped == 0


async def test_an_app_exception_is_a_500_and_an_error_and_still_propagates(receiver: Receiver) -> None:
    client = client_for(receiver, per_invocation=True)
    async with http(make_app(client)) as app:
        with pytest.raises(RuntimeError, match="on fire"):
            await app.get("/boom", headers={"traceparent": TRACEPARENT})
    (request,) = receiver.events("request")
    assert request["status"] == 500 and request["function"] == "/boom" and request["trace_id"] == TRACE
    (error,) = receiver.events("error")
    assert error["function"] == "/boom" and error["name"] == "RuntimeError"
    assert error["message"] == "the database is on fire" and error["severity"] == "high"
    assert error["stack"].startswith("Traceback (most recent call last):") and "in boom" in error["stack"]
    assert error["context"] == {"method": "GET", "route": "/boom", "trace_id": TRACE}


async def test_capture_exception_inside_a_request_uses_its_function(receiver: Receiver) -> None:
    client = client_for(receiver, per_invocation=True)
    app = FastAPI()

    @app.get("/orders/{order_id}")
    async def order(order_id: str) -> dict[str, bool]:
        try:
            raise KeyError(order_id)
        except KeyError as exc:
            assert client.capture_exception(exc, severity="low", context={"order": order_id})
        return {"ok": True}

    app.add_middleware(TierwatchMiddleware, client=client)
    async with http(app) as web:
        assert (await web.get("/orders/a1")).status_code == 200
    (error,) = receiver.events("error")
    assert error["function"] == "/orders/[order_id]" and error["name"] == "KeyError"
    assert error["severity"] == "low" and error["context"] == {"order": "a1"}


# -- failure: a dead or refusing endpoint --------------------------------------------------------------


@pytest.mark.parametrize("dead", ["closed_url", "hanging_url"])
async def test_a_dead_receiver_leaves_responses_alone_and_bounded(dead: str, request: pytest.FixtureRequest,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    url = request.getfixturevalue(dead)
    client = tierwatch.Client(url, TOKEN, per_invocation=True, timeout_s=0.3)
    slowest = 0.0
    with caplog.at_level(logging.WARNING, logger="tierwatch"):
        async with http(make_app(client)) as app:
            for i in range(4):
                started = time.perf_counter()
                response = await app.get(f"/items/{i}")
                slowest = max(slowest, time.perf_counter() - started)
                assert response.status_code == 200 and response.json() == {"id": i}
            with pytest.raises(RuntimeError):
                await app.get("/boom")
        settle(client)
    assert slowest < 0.3 + 0.4  # the flush's bound, plus the app's own time
    stats = client.stats
    assert stats.sent == 0 and stats.failed_posts >= 1
    assert stats.recorded == 6  # 5 requests and 1 error, held or dropped, never raised
    assert stats.dropped + client.buffered == 6
    warnings = [r for r in caplog.records if r.name == "tierwatch" and "sending events" in r.getMessage()]
    assert len(warnings) == 1  # warned once, however many flushes failed
    assert TOKEN not in caplog.text


async def test_a_failed_batch_is_retried_once_with_the_same_key(receiver: Receiver) -> None:
    clock = Clock()
    client = client_for(receiver, clock=clock)
    receiver.statuses = [503]
    async with http(make_app(client)) as app:
        await app.get("/items/1")  # first request after idle: flushed, refused with 503
        assert client.stats.failed_posts == 1 and client.buffered == 1
        clock.advance(2.0)
        await app.get("/items/2")  # not due yet: buffered
        clock.advance(10.0)
        await app.get("/items/3")  # due: the retry (same key), then the new batch (a fresh key)
    first, retry, second = receiver.keys
    assert retry == first and second != first
    assert [len(p.events) for p in receiver.posts] == [1, 1, 2]
    assert len(receiver.events("request")) == 3
    stats = client.stats
    assert stats.retried == 1 and stats.sent == 3 and stats.dropped == 0 and client.buffered == 0


async def test_a_retry_after_a_lost_answer_is_stored_once(receiver: Receiver) -> None:
    """The endpoint stored the batch but its answer was lost: the retry carries the same key, so the
    events are stored once."""
    clock = Clock()
    client = client_for(receiver, clock=clock)
    receiver.statuses, receiver.store_failed = [500], True
    async with http(make_app(client)) as app:
        await app.get("/items/1")
        clock.advance(11.0)
        await app.get("/items/2")
    assert receiver.keys[0] == receiver.keys[1]
    assert sorted(e["route"] for e in receiver.events("request")) == ["/items/{item_id}"] * 2  # not 3


async def test_a_batch_failing_twice_is_dropped_counted_and_warned_once(
        receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    client = client_for(receiver, clock=clock)
    receiver.statuses = [503] * 10
    with caplog.at_level(logging.WARNING, logger="tierwatch"):
        async with http(make_app(client)) as app:
            await app.get("/items/1")
            clock.advance(11.0)
            await app.get("/items/2")  # the retry of the first batch fails: dropped
    assert receiver.keys[0] == receiver.keys[1]
    stats = client.stats
    assert stats.dropped == 1 and stats.failed_posts == 2 and client.buffered == 1
    dropped = [r for r in caplog.records if "events dropped" in r.getMessage()]
    assert len(dropped) == 1


async def test_retry_after_is_honoured(receiver: Receiver) -> None:
    clock = Clock()
    client = client_for(receiver, clock=clock, per_invocation=True)
    receiver.statuses = [429]  # answered with Retry-After: 1
    async with http(make_app(client)) as app:
        await app.get("/items/1")
        await app.get("/items/2")  # within the Retry-After: not sent
        assert len(receiver.posts) == 1
        clock.advance(1.5)
        await app.get("/items/3")
    assert len(receiver.events("request")) == 3 and receiver.keys[1] == receiver.keys[0]


async def test_a_refused_batch_is_dropped_at_once(receiver: Receiver) -> None:
    client = tierwatch.Client(receiver.url, "a-wrong-token-of-some-length", per_invocation=True)
    async with http(make_app(client)) as app:
        await app.get("/items/1")
    assert [p.status for p in receiver.posts] == [] and client.stats.dropped == 1 and client.buffered == 0


def test_large_buffers_are_split_within_the_endpoint_limits(receiver: Receiver) -> None:
    client = client_for(receiver, max_events=5000)
    for i in range(2500):
        client.record_request("bulk", float(i), 200)
    stack = "Traceback (most recent call last):\n" + "x" * 16000
    for _ in range(100):  # ~1.6 MB of stacks: over the 1 MiB body limit
        client.record_error("BigError", "big", function="bulk", stack=stack)
    assert client.flush(timeout_s=2.0)
    sizes = [len(p.events) for p in receiver.posts]
    assert sum(sizes) == 2600 and max(sizes) <= 1000 and len(sizes) >= 4
    assert len(receiver.events()) == 2600


async def test_an_unconfigured_client_is_a_no_op_that_says_so_once(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIERWATCH_URL", raising=False)
    monkeypatch.delenv("TIERWATCH_INGEST_TOKEN", raising=False)
    monkeypatch.setattr(tierwatch.client, "_default", None)
    with caplog.at_level(logging.WARNING, logger="tierwatch"):
        app = FastAPI()

        @app.get("/")
        async def root() -> dict[str, bool]:
            return {"ok": True}

        app.add_middleware(TierwatchMiddleware)  # the default client, from the (empty) environment
        async with http(app) as web:
            for _ in range(3):
                assert (await web.get("/")).json() == {"ok": True}
        client = tierwatch.default_client()
        assert not client.enabled and not client.record_request("f", 1.0, 200) and client.flush()
    warnings = [r for r in caplog.records if r.name == "tierwatch"]
    assert len(warnings) == 1 and "TIERWATCH_URL" in warnings[0].getMessage()


def test_the_environment_configures_the_client(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWATCH_URL", receiver.url + "/")
    monkeypatch.setenv("TIERWATCH_INGEST_TOKEN", TOKEN)
    client = tierwatch.Client()
    assert client.endpoint == receiver.url + "/api/monitoring/ingest"
    assert client.record_request("env", 1.0, 200) and client.flush()
    assert receiver.events("request")[0]["function"] == "env"
    assert TOKEN not in repr(client)


# -- Lambda ------------------------------------------------------------------------------------------


class FakeContext:
    """A Lambda context whose remaining time counts down from ``budget_ms`` in real time."""

    def __init__(self, budget_ms: float, function_name: str = "orders-fn") -> None:
        self.function_name = function_name
        self.aws_request_id = "req-1"
        self.memory_limit_in_mb = 512
        self._deadline = time.monotonic() + budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


API_EVENT = {"version": "2.0", "routeKey": "POST /orders/{id}", "rawPath": "/orders/7",
             "headers": {"traceparent": TRACEPARENT}, "requestContext": {"http": {"method": "POST"}}}


def test_the_lambda_decorator_records_and_flushes_before_returning(receiver: Receiver) -> None:
    client = client_for(receiver, per_invocation=True)

    @track(client)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        tierwatch.set_user("alice")
        return {"statusCode": 201, "body": "created"}

    assert handler(API_EVENT, FakeContext(3000)) == {"statusCode": 201, "body": "created"}
    (first,) = receiver.events("request")  # already received: Lambda may freeze us right after return
    assert first["function"] == "orders-fn" and first["status"] == 201
    assert first["method"] == "POST" and first["route"] == "/orders/{id}" and first["trace_id"] == TRACE
    assert first["cold_start"] is True and 0 < first["init_ms"] <= 15 * 60 * 1000
    assert first["timed_out"] is False and first["memory_mb"] > 0 and first["user"] == "alice"
    assert handler.__name__ == "handler"

    assert handler({"plain": True}, FakeContext(3000)) == {"statusCode": 201, "body": "created"}
    second = receiver.events("request")[1]
    assert second["cold_start"] is False and "init_ms" not in second and "method" not in second


def test_the_lambda_decorator_reports_errors_and_timeouts(receiver: Receiver,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    client = client_for(receiver, per_invocation=True)

    @track(client, function="billing")
    def failing(event: Any, context: FakeContext) -> None:
        raise ValueError("card declined")

    with pytest.raises(ValueError, match="card declined"):
        failing({}, FakeContext(3000))
    request, error = receiver.events()
    assert request["function"] == "billing" and request["status"] == 500 and request["timed_out"] is False
    assert request["trace_id"] == "5759e988bd862e3fe1be46a994272793"  # the X-Ray root, as a W3C trace id
    assert error["name"] == "ValueError" and error["message"] == "card declined"

    @track(client, function="billing")
    def out_of_time(event: Any, context: FakeContext) -> None:
        time.sleep(0.06)
        raise TimeoutError("gave up at the deadline")

    with pytest.raises(TimeoutError):
        out_of_time({}, FakeContext(80))  # raised with < 50 ms left: timed out, and no time to flush
    assert len(receiver.events()) == 2 and client.buffered == 2

    @track(client, function="billing")
    def just_in_time(event: Any, context: FakeContext) -> str:
        time.sleep(0.06)
        return "late"

    assert just_in_time({}, FakeContext(80)) == "late"
    assert client.buffered == 3  # still no time left to flush

    @track(client, function="billing")
    def fine(event: Any, context: FakeContext) -> str:
        return "ok"

    assert fine({}, FakeContext(3000)) == "ok"  # the next invocation sends what was held
    timed_out = [e for e in receiver.events("request") if e.get("timed_out")]
    assert [e["status"] for e in timed_out] == [504, 200]
    assert [e["context"] for e in receiver.events("error")][1] == {"timed_out": "true", "trace_id":
                                                                  "5759e988bd862e3fe1be46a994272793"}
    assert client.buffered == 0


def test_the_lambda_flush_never_outlasts_the_invocation(hanging_url: str) -> None:
    client = tierwatch.Client(hanging_url, TOKEN, per_invocation=True, timeout_s=2.0)

    @track(client)
    def handler(event: Any, context: FakeContext) -> str:
        return "ok"

    started = time.perf_counter()
    assert handler({}, FakeContext(400)) == "ok"
    assert time.perf_counter() - started < 1.0  # min(timeout 2 s, 400 ms - 50 ms margin) = 0.35 s, not 2 s
    settle(client)
    assert client.stats.sent == 0 and client.buffered == 1


def test_bare_track_uses_the_environment_and_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tierwatch.client, "_default", None)

    @track
    def handler(event: Any, context: Any) -> str:
        return f"hello {event['name']}"

    assert handler({"name": "you"}, None) == "hello you"
    assert not tierwatch.default_client().enabled

"""POST /api/monitoring/ingest through both entrypoints: stored whole or not at all, read back exactly."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.lambda_local import LambdaContext, http_event
from shared import clients
from shared.settings import get_settings
from shared.tracking.store import TrackingStore
from tests.functional.conftest import gateway_stats


@pytest.fixture
def clean(clean_tracking: dict[str, str]) -> dict[str, str]:
    return clean_tracking


@pytest.fixture(autouse=True)
def _no_self_tracking(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Counts of Upstash commands here are the ingest's own, not its self-monitoring's."""
    monkeypatch.setenv("TIERWATCH_TRACKING", "false")
    yield


def client() -> httpx.AsyncClient:
    from functions.ingest.app import app

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def headers(env: dict[str, str], **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env['TIERWATCH_INGEST_TOKEN']}", "Content-Type": "application/json", **extra}


def request_event(i: int, duration: float) -> dict[str, Any]:
    return {"type": "request", "function": "api/checkout", "duration_ms": duration, "status": 200 if i % 10 else 500,
            "method": "POST", "cold_start": i == 0, "user": f"user-{i % 7}", "trace_id": f"{i + 1:032x}"}


async def stored(function: str = "api/checkout") -> int:
    window = await TrackingStore(clients.upstash(get_settings())).read(600)
    stats = window.aggregate.functions.get(function)
    return stats.count if stats else 0


async def test_a_batch_is_stored_whole_in_one_call_and_read_back_exactly(clean: dict[str, str], stack: Any) -> None:
    rng = random.Random(5)
    events: list[dict[str, Any]] = [request_event(i, rng.lognormvariate(4, 0.8)) for i in range(500)]
    events += [{"type": "error", "function": "api/checkout", "name": "TypeError", "message": f"x is {i}",
                "severity": "high"} for i in range(3)]
    events += [{"type": "log", "level": "warn", "message": "slow upstream"},
               {"type": "metric", "name": "orders_total", "kind": "counter", "value": 3, "tags": {"env": "prod"}}]
    before = gateway_stats(stack.upstash.url, clean["UPSTASH_REDIS_REST_TOKEN"])
    async with client() as c:
        response = await c.post("/api/monitoring/ingest", content=json.dumps({"events": events}),
                                headers=headers(clean))
    after = gateway_stats(stack.upstash.url, clean["UPSTASH_REDIS_REST_TOKEN"])
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 505}
    spent = int(after["total"]) - int(before["total"])  # type: ignore[call-overload]
    assert spent <= 5  # rate limit (1) + HSET + PFADD (+ their first EXPIREs), whatever the batch holds
    window = await TrackingStore(clients.upstash(get_settings())).read(600)
    stats = window.aggregate.functions["api/checkout"]
    assert (stats.count, stats.errors, stats.cold_starts) == (500, 50, 1)
    assert sum(g.count for g in window.aggregate.errors.values()) == 3 and len(window.aggregate.errors) == 1
    assert window.aggregate.log_counts == {"WARNING": 1}
    assert window.aggregate.metrics["orders_total{env=prod}"].total == 3
    assert window.users == 7  # hashed, never stored as sent
    raw = json.dumps(await clients.upstash(get_settings()).hgetall(
        next(iter(await clients.upstash(get_settings()).keys("tw:v1:agg:*")))))
    assert "user-3" not in raw


@pytest.mark.parametrize(("body", "content_type", "status", "names"), [
    (b"{not json", "application/json", 400, "body"),
    (json.dumps({"events": [{"type": "request", "function": "f", "duration_ms": -1, "status": 200}]}).encode(),
     "application/json", 422, "events[0].duration_ms"),
    (json.dumps({"events": [{"type": "request", "function": "f", "duration_ms": 1, "status": 200}]}).encode(),
     "text/plain", 415, "application/json"),
    (json.dumps({"events": [{"type": "log", "level": "INFO", "message": "x"}] * 1001}).encode(),
     "application/json", 413, "1000"),
    (b'{"events": [{"type": "metric", "name": "m", "kind": "gauge", "value": NaN}]}', "application/json", 400, "body"),
])
async def test_bad_batches_are_refused_whole_with_the_field_named(
    clean: dict[str, str], body: bytes, content_type: str, status: int, names: str,
) -> None:
    good = request_event(1, 5.0)
    async with client() as c:
        mixed = await c.post("/api/monitoring/ingest", content=body, headers={
            **headers(clean), "Content-Type": content_type})
        half_bad = await c.post("/api/monitoring/ingest", headers=headers(clean), content=json.dumps(
            {"events": [good, {**good, "status": "ok"}]}))
    assert mixed.status_code == status, mixed.text
    assert names in mixed.json()["error"]["message"]
    assert half_bad.status_code == 422 and "events[1].status" in half_bad.json()["error"]["message"]
    assert await stored() == 0  # nothing of either batch


async def test_a_body_over_the_limit_is_refused_before_it_is_read(clean: dict[str, str]) -> None:
    async with client() as c:
        response = await c.post("/api/monitoring/ingest", content=b"x" * (1024 * 1024 + 1), headers=headers(clean))
    assert response.status_code == 413


async def test_wrong_or_missing_token(clean: dict[str, str]) -> None:
    async with client() as c:
        missing = await c.post("/api/monitoring/ingest", content=b'{"events": []}',
                               headers={"Content-Type": "application/json"})
        read_token = await c.post("/api/monitoring/ingest", content=b'{"events": []}', headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {clean['TIERWATCH_READ_TOKEN']}"})
    assert missing.status_code == 401 and read_token.status_code == 401


async def test_an_idempotency_key_stores_a_retried_batch_once(clean: dict[str, str]) -> None:
    body = json.dumps({"events": [request_event(i, 10.0) for i in range(1, 11)]})
    async with client() as c:
        for _ in range(3):
            r = await c.post("/api/monitoring/ingest", content=body, headers=headers(clean, **{
                "Idempotency-Key": "batch-0001"}))
            assert r.status_code == 202
        bad_key = await c.post("/api/monitoring/ingest", content=body, headers=headers(clean, **{
            "Idempotency-Key": "no spaces allowed"}))
    assert await stored() == 10
    assert bad_key.status_code == 422 and "Idempotency-Key" in bad_key.json()["error"]["message"]


async def test_the_rate_limit_answers_429_with_retry_after(clean: dict[str, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWATCH_INGEST_RATE_PER_MIN", "3")
    get_settings.cache_clear()
    body = json.dumps({"events": [request_event(1, 1.0)]})
    async with client() as c:
        answers = [await c.post("/api/monitoring/ingest", content=body, headers=headers(clean)) for _ in range(5)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 61
    assert await stored() == 3


async def test_storage_down_is_a_503_with_retry_after_and_nothing_half_stored(
    clean: dict[str, str], hanging_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", hanging_url)
    monkeypatch.setenv("TIERWATCH_INGEST_RATE_PER_MIN", "0")
    get_settings.cache_clear()
    started = time.monotonic()
    async with client() as c:
        response = await c.post("/api/monitoring/ingest", content=json.dumps({"events": [request_event(1, 1.0)]}),
                                headers=headers(clean))
    assert time.monotonic() - started < 5
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert "send the batch again" in response.json()["error"]["message"]


def test_ingest_on_lambda(clean: dict[str, str]) -> None:
    from functions.ingest import handler

    event = http_event("POST", "/api/monitoring/ingest", headers=headers(clean),
                       body=json.dumps({"events": [request_event(i, 3.0) for i in range(1, 4)]}))
    response = handler.handler(event, LambdaContext(function_name="ingest", timeout_s=10))
    assert response["statusCode"] == 202 and json.loads(response["body"]) == {"accepted": 3}

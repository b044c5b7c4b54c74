"""GET /api/monitoring/performance through both entrypoints, on data tracked through the real gateway."""

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
from shared.tracking.aggregate import Aggregate
from shared.tracking.store import TrackingStore
from tests.functional.conftest import gateway_stats


@pytest.fixture(autouse=True)
def _fresh_read_cache() -> Iterator[None]:
    from shared.tracking.reads import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def clean(clean_tracking: dict[str, str]) -> dict[str, str]:
    return clean_tracking


def auth(env: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {env['TIERWATCH_READ_TOKEN']}"}


def client() -> httpx.AsyncClient:
    from functions.performance.app import app

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


async def test_counts_are_exact_and_quantiles_within_two_percent(clean: dict[str, str]) -> None:
    rng = random.Random(3)
    store = TrackingStore(clients.upstash(get_settings()))
    durations: list[float] = []
    now = time.time()
    for batch in range(20):
        agg = Aggregate()
        for i in range(250):
            d = rng.paretovariate(1.8) * 15
            durations.append(d)
            agg.add_request("checkout", at=now - 1, duration_ms=d, status=500 if i % 50 == 0 else 200,
                            cold_start=i % 100 == 0, init_ms=300.0 if i % 100 == 0 else None)
        agg.add_error("checkout", "TimeoutError", f"upstream {batch} timed out", at=now - 1, severity="high")
        agg.add_log("WARNING", "slow", at=now - 1)
        await store.flush([(f"test:{batch}", agg)], users=[f"user-{batch % 4}"])
    async with client() as c:
        response = await c.get("/api/monitoring/performance?window=5m", headers=auth(clean))
        narrowed = await c.get("/api/monitoring/performance?window=5m&function=nope", headers=auth(clean))
    assert response.status_code == 200, response.text
    body = response.json()
    stats = body["functions"]["checkout"]
    assert stats["count"] == 5000 and stats["source"] == "app"
    for q, key in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        truth = exact(durations, q)
        assert abs(stats[key] - truth) <= 0.02 * truth, (key, stats[key], truth)
    assert stats["max_ms"] == pytest.approx(max(durations), rel=1e-3)
    assert stats["error_rate"] == 0.02 and stats["success_rate"] == 0.98
    assert stats["cold_start_rate"] == 0.012 and stats["mean_init_ms"] == 300.0
    (group,) = body["errors"]  # "upstream N timed out" is one group
    assert group["count"] == 20 and group["severity"] == "high"
    assert body["logs"] == {"WARNING": 20} and body["active_users"] == 4
    assert narrowed.json()["functions"] == {} and narrowed.json()["errors"] == []


async def test_reads_need_the_read_token_and_a_known_window(clean: dict[str, str]) -> None:
    async with client() as c:
        assert (await c.get("/api/monitoring/performance")).status_code == 401
        bad = await c.get("/api/monitoring/performance?window=2d", headers=auth(clean))
        admin = await c.get("/api/monitoring/performance",
                            headers={"Authorization": f"Bearer {clean['TIERWATCH_ADMIN_TOKEN']}"})
    assert bad.status_code == 422 and "window" in bad.json()["error"]["message"]
    assert admin.status_code == 200 and admin.json()["window"] == "1h"


async def test_a_polling_dashboard_costs_one_read_per_cache_period(clean: dict[str, str], stack: Any) -> None:
    token = clean["UPSTASH_REDIS_REST_TOKEN"]
    before = gateway_stats(stack.upstash.url, token)["by_command"]
    async with client() as c:
        bodies = [(await c.get("/api/monitoring/performance?window=24h", headers=auth(clean))).json()
                  for _ in range(20)]
    after = gateway_stats(stack.upstash.url, token)["by_command"]
    assert after.get("HGETALL", 0) - before.get("HGETALL", 0) <= 25  # one read of the 24 h window
    assert bodies[-1]["age_s"] > 0 and bodies[0]["read_commands"] <= 26


def test_tierwatch_tracks_itself_and_says_so(clean: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWATCH_FLUSH_MODE", "per_invocation")
    monkeypatch.setenv("TIERWATCH_READ_CACHE_S", "0")
    get_settings.cache_clear()
    from functions.performance import handler

    def call() -> dict[str, Any]:
        event = http_event("GET", "/api/monitoring/performance", query={"window": "5m"}, headers=auth(clean))
        response = handler.handler(event, LambdaContext(function_name="performance", timeout_s=10))
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])  # type: ignore[no-any-return]

    for _ in range(3):
        call()
    own = call()["functions"]["performance"]
    assert own["source"] == "self" and own["count"] >= 3


async def test_a_dead_upstash_is_a_502_naming_it(clean: dict[str, str], closed_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", closed_url)
    get_settings.cache_clear()
    started = time.monotonic()
    async with client() as c:
        response = await c.get("/api/monitoring/performance", headers=auth(clean))
    assert time.monotonic() - started < 3
    assert response.status_code == 502 and "Upstash read failed" in response.json()["error"]["message"]
    assert clean["UPSTASH_REDIS_REST_TOKEN"] not in response.text

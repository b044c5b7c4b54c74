"""GET /api/monitoring/metrics: JSON and Prometheus text (checked by promtool and prometheus-client's parser)."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families


@pytest.fixture(autouse=True)
def _fresh(fresh_reads: None) -> None:
    """Every test here reads only its own events."""


@pytest.fixture
async def ingested(clean_tracking: dict[str, str]) -> dict[str, str]:
    env = clean_tracking
    events: list[dict[str, Any]] = [
        {"type": "request", "function": "api/users/[id]", "duration_ms": float(d), "status": 500 if d == 7 else 200,
         "cold_start": d == 1, "memory_mb": 120.0} for d in range(1, 101)]
    events += [{"type": "metric", "name": "orders.created", "kind": "counter", "value": 2, "tags": {"env": "prod"}},
               {"type": "metric", "name": "orders.created", "kind": "counter", "value": 3, "tags": {"env": "prod"}},
               {"type": "metric", "name": "queue_depth", "kind": "gauge", "value": 9},
               {"type": "metric", "name": "payload_bytes", "kind": "histogram", "value": 1500}]
    from functions.ingest.app import app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/api/monitoring/ingest", content=json.dumps({"events": events}), headers={
            "Authorization": f"Bearer {env['TIERWATCH_INGEST_TOKEN']}", "Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    return env


async def get(env: dict[str, str], query: str = "") -> httpx.Response:
    from functions.metrics.app import app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.get(f"/api/monitoring/metrics{query}",
                           headers={"Authorization": f"Bearer {env['TIERWATCH_READ_TOKEN']}"})


async def test_json_has_the_functions_custom_metrics_and_the_instance(ingested: dict[str, str]) -> None:
    body = (await get(ingested)).json()
    f = body["functions"]["api/users/[id]"]
    assert (f["requests"], f["errors"], f["cold_starts"], f["peak_memory_mb"]) == (100, 1, 1, 120.0)
    assert f["p50_ms"] == pytest.approx(50, rel=0.02) and f["p99_ms"] == pytest.approx(99, rel=0.02)
    custom = {(m["name"], m["kind"]): m for m in body["custom"]}
    assert custom[("orders.created", "counter")]["value"] == 5
    assert custom[("queue_depth", "gauge")]["value"] == 9
    assert custom[("payload_bytes", "histogram")]["p50"] == pytest.approx(1500, rel=0.01)
    inst = body["instance"]
    assert inst["peak_rss_mb"] > 10 and inst["cpu_user_s"] > 0 and inst["uptime_s"] > 0


async def test_prometheus_text_is_valid_and_holds_the_same_figures(ingested: dict[str, str]) -> None:
    response = await get(ingested, "?format=prometheus")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = {tuple(sorted(s.labels.items())): s.value for s in families["tierwatch_window_requests"].samples}
    assert sum(requests.values()) == 100
    duration = families["tierwatch_request_duration_seconds"]
    buckets = {s.labels["le"]: s.value for s in duration.samples if s.name.endswith("_bucket")}
    assert buckets["+Inf"] == 100 and buckets["0.05"] == pytest.approx(50, abs=1)  # 1..50 ms, within 1%
    assert families["app_orders_created"].samples[0].value == 5
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian's prometheus package; .ci/run installs it)")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,  # noqa: ASYNC221
                           timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


async def test_metrics_need_the_read_token(clean_tracking: dict[str, str]) -> None:
    from functions.metrics.app import app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/api/monitoring/metrics?format=prometheus")).status_code == 401

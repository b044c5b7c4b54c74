"""A user's FastAPI app, instrumented with the `tierwatch` package, reporting to the bundle over real HTTP:
middleware -> POST /api/monitoring/ingest (served by uvicorn) -> Upstash gateway -> Redis -> /performance."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

SDK = Path(__file__).resolve().parents[2] / "sdk" / "python" / "src"
if str(SDK) not in sys.path:  # the app package is not installed into the bundle's venv
    sys.path.insert(0, str(SDK))


@pytest.fixture
def bundle(stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from devstack.bundle import bundle_app
    from devstack.serve import serve_in_thread
    from shared.tracking.reads import clear_cache

    monkeypatch.setenv("TIERWATCH_TRACKING", "false")  # only the app's events in the figures below
    clear_cache()
    served = serve_in_thread(bundle_app())
    yield served.url
    served.stop()


async def test_an_instrumented_app_shows_up_in_performance(bundle: str, stack_env: dict[str, str]) -> None:
    from fastapi import FastAPI
    from tierwatch import Client
    from tierwatch.asgi import TierwatchMiddleware

    from shared import clients
    from shared.settings import get_settings

    redis = clients.upstash(get_settings())
    keys = await redis.keys("tw:v1:*")
    if keys:
        await redis.delete(*keys)

    user_app = FastAPI()

    @user_app.get("/orders/{order_id}")
    async def order(order_id: int) -> dict[str, int]:
        if order_id == 13:
            raise RuntimeError("unlucky order")
        return {"id": order_id}

    client = Client(bundle, stack_env["TIERWATCH_INGEST_TOKEN"], flush_interval_s=3600)
    app = TierwatchMiddleware(user_app, client=client, function="shop")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://shop") as shop:
        for i in range(40):
            await shop.get(f"/orders/{i}")
    await client.aflush()
    assert client.stats.sent == 41 and client.stats.dropped == 0  # 40 requests + 1 error event

    async with httpx.AsyncClient(base_url=bundle) as http:
        report = await http.get("/api/monitoring/performance?window=5m",
                                headers={"Authorization": f"Bearer {stack_env['TIERWATCH_READ_TOKEN']}"})
    body = report.json()
    shop_stats = body["functions"]["shop"]
    assert shop_stats["count"] == 40 and shop_stats["status"] == {"2xx": 39, "5xx": 1}
    assert [e["name"] for e in body["errors"]] == ["RuntimeError"]

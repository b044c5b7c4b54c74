"""Per-invocation state under concurrency: Fluid compute serves many requests in one instance at once."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.http import InvocationDep, TimeGuard, create_app
from shared.logs import get_logger
from shared.spec import FunctionSpec, Route

SPEC = FunctionSpec(name="demo_concurrent", description="sleeps, then logs",
                    routes=(Route("GET", "/api/demo/{n}", "sleepy"),), max_duration=10)


def make_app() -> FastAPI:
    app = create_app(SPEC)

    @app.handles("sleepy")
    async def sleepy(n: int, invocation: InvocationDep, guard: TimeGuard) -> dict[str, Any]:
        await asyncio.sleep(random.uniform(0, 0.05))  # noqa: S311 - interleave the requests
        get_logger().info("inside", extra={"n": n})
        await asyncio.sleep(random.uniform(0, 0.05))  # noqa: S311
        return {"n": n, "request_id": invocation.request_id, "guard": id(guard),
                "same_guard": guard is invocation.guard}

    return app


async def test_concurrent_requests_keep_their_own_log_keys_and_guard(
    capfd: pytest.CaptureFixture[str],
) -> None:
    app = make_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        responses = await asyncio.gather(*(
            client.get(f"/api/demo/{n}", headers={"x-vercel-id": f"fra1::req-{n}"}) for n in range(60)))
    bodies = [r.json() for r in responses]
    assert [b["request_id"] for b in bodies] == [f"fra1::req-{n}" for n in range(60)]
    assert all(b["same_guard"] for b in bodies)
    assert len({b["guard"] for b in bodies}) == 60  # one guard per request, none shared
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    inside = [line for line in lines if line["message"] == "inside"]
    finished = [line for line in lines if line["message"] == "request"]
    assert len(inside) == len(finished) == 60
    for line in inside:
        assert line["request_id"] == f"fra1::req-{line['n']}", line
        assert line["function_name"] == SPEC.name
    for line in finished:
        assert line["request_id"] == "fra1::req-" + line["path"].rsplit("/", 1)[1], line


async def test_keys_do_not_outlive_the_request(capfd: pytest.CaptureFixture[str]) -> None:
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        await client.get("/api/demo/1", headers={"x-vercel-id": "iad1::only-this-one"})
    get_logger().info("after")
    after = [json.loads(line) for line in capfd.readouterr().out.splitlines()
             if line.startswith("{") and '"after"' in line]
    assert after and "request_id" not in after[0]

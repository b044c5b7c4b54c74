"""Cron plumbing on both platforms, with an inline job (no cron function is registered yet)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from devstack.lambda_local import LambdaContext, http_event, schedule_event
from shared.cron import JobResult, cron_handler, cron_routes
from shared.guard import Guard
from shared.http import create_app
from shared.settings import Settings
from shared.spec import FunctionSpec, Route

SPEC = FunctionSpec(name="demo_cron", description="test job",
                    routes=(Route("GET", "/api/cron/demo", "scheduled"), Route("POST", "/api/cron/demo", "manual")),
                    schedule="*/5 * * * *", auth="cron", max_duration=10)
RUNS: list[dict[str, Any]] = []


async def demo_job(settings: Settings, guard: Guard) -> JobResult:
    """Processes 'items' of 0.1 s each while the guard allows, like a batch archive would."""
    processed = 0
    while processed < 20 and guard.has_time(needed_s=0.1):
        await asyncio.sleep(0.1)
        processed += 1
    RUNS.append({"time_left": guard.time_left(), "cold": guard.cold_start})
    complete = processed == 20
    return JobResult(job=SPEC.name, complete=complete, processed=processed,
                     resume=None if complete else f"item:{processed}")


def make_app() -> FastAPI:
    app = create_app(SPEC)
    cron_routes(app, demo_job)
    return app


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"CRON_SECRET": "cron-secret-0123456789", "TIERWATCH_ADMIN_TOKEN": "admin-token-0123456789"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TIERWATCH_MARGIN_MS", "300")
    monkeypatch.setenv("TIERWATCH_COLD_START_MARGIN_MS", "300")
    return values


async def test_vercel_cron_requires_the_secret(secrets: dict[str, str]) -> None:
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/api/cron/demo")).status_code == 401
        assert (await client.get("/api/cron/demo", headers={"Authorization": "Bearer nope"})).status_code == 401
        wrong = await client.get("/api/cron/demo", headers={"Authorization": "Bearer None"})
        assert wrong.json() == {"error": {"code": "unauthorized", "message": "invalid bearer token"}}


async def test_cron_refuses_to_run_without_a_configured_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/api/cron/demo", headers={"Authorization": "Bearer None"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"
    assert "CRON_SECRET" in response.json()["error"]["message"]


def test_lambda_scheduled_event_runs_the_job_within_its_deadline(secrets: dict[str, str]) -> None:
    """2 s left, 0.3 s margin: the job stops cleanly after ~1.7 s with a resumable partial result."""
    handler = cron_handler(SPEC, demo_job, load_app=make_app)
    RUNS.clear()
    result = handler(schedule_event(), LambdaContext(function_name=SPEC.name, timeout_s=2.0))
    assert result["complete"] is False
    assert 12 <= result["processed"] <= 17
    assert result["resume"] == f"item:{result['processed']}"
    assert RUNS[0]["time_left"] <= 0.1 + 0.05


def test_lambda_http_event_goes_through_the_app_and_its_auth(secrets: dict[str, str]) -> None:
    handler = cron_handler(SPEC, demo_job, load_app=make_app)
    denied = handler(http_event("GET", "/api/cron/demo"), LambdaContext(function_name=SPEC.name, timeout_s=10))
    assert denied["statusCode"] == 401
    ok = handler(http_event("POST", "/api/cron/demo",
                            headers={"authorization": f"Bearer {secrets['TIERWATCH_ADMIN_TOKEN']}"}),
                 LambdaContext(function_name=SPEC.name, timeout_s=30))
    assert ok["statusCode"] == 200, ok
    assert json.loads(ok["body"]) == {"job": "demo_cron", "complete": True, "processed": 20,
                                      "resume": None, "detail": {}}


def test_scheduled_path_does_not_import_fastapi() -> None:
    import subprocess
    import sys

    code = ("import sys, asyncio; from shared.cron import cron_handler; "
            "print(int('fastapi' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "0"


def test_the_app_serves_exactly_the_routes_the_registry_declares() -> None:
    app = make_app()
    served = {(m, r.path) for r in app.routes if hasattr(r, "methods") for m in r.methods}  # type: ignore[attr-defined]
    assert served == {(r.method, r.path) for r in SPEC.routes}
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented == {(r.method, r.path) for r in SPEC.routes}

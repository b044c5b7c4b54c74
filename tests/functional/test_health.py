"""GET /api/health and /api/health/detailed through both entrypoints against the local stack."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.lambda_local import LambdaContext, http_event
from functions.registry import get
from tests.functional.conftest import gateway_stats


def asgi(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture(autouse=True)
def _no_cached_checks() -> Iterator[None]:
    """Each test sees its own dependencies, not the previous test's cached results."""
    from functions.health_detailed.app import _results

    _results.clear()
    yield
    _results.clear()


def read_auth() -> dict[str, str]:
    """The read token of the moment, if any: details are shown only to its holders."""
    token = os.environ.get("TIERWATCH_READ_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


async def get_detailed(headers: dict[str, str] | None = None) -> httpx.Response:
    """GET /api/health/detailed through the ASGI app, with the settings of the moment (and the read token)."""
    from functions.health_detailed.app import app

    async with asgi(app) as client:
        return await client.get("/api/health/detailed", headers=read_auth() if headers is None else headers)


def lambda_get(module: Any, path: str, timeout_s: float = 10, headers: dict[str, str] | None = None,
               **kw: Any) -> tuple[int, dict[str, Any]]:
    event = http_event("GET", path, headers=read_auth() if headers is None else headers, **kw)
    response = module.handler(event, LambdaContext(function_name="t", timeout_s=timeout_s))
    return response["statusCode"], json.loads(response["body"])


async def test_liveness_needs_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", "definitely not a url")
    from functions.health.app import app

    async with asgi(app) as client:
        response = await client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["function"] == "health"


def test_liveness_on_lambda() -> None:
    from functions.health import handler

    status, body = lambda_get(handler, "/api/health")
    assert status == 200 and body["status"] == "ok"


async def test_detailed_healthy_costs_one_redis_command(stack_env: dict[str, str], stack: Any) -> None:
    from functions.health_detailed.app import app

    before = gateway_stats(stack.upstash.url, stack_env["UPSTASH_REDIS_REST_TOKEN"])
    async with asgi(app) as client:
        response = await client.get("/api/health/detailed", headers=read_auth())
    after = gateway_stats(stack.upstash.url, stack_env["UPSTASH_REDIS_REST_TOKEN"])
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "healthy"
    assert body["checks"]["upstash"]["status"] == "healthy"
    assert body["checks"]["supabase"]["status"] == "healthy"
    assert body["checks"]["upstash"]["latency_ms"] > 0
    assert after["total"] - before["total"] == 1  # type: ignore[operator]
    assert after["by_command"]["PING"] - before["by_command"].get("PING", 0) == 1  # type: ignore[index,union-attr]
    for secret in (stack_env["UPSTASH_REDIS_REST_TOKEN"], stack_env["SUPABASE_SERVICE_ROLE_KEY"]):
        assert secret not in response.text


def test_detailed_healthy_on_lambda(stack_env: dict[str, str]) -> None:
    from functions.health_detailed import handler

    status, body = lambda_get(handler, "/api/health/detailed")
    assert status == 200, body
    assert body["status"] == "healthy"


async def test_redis_down_is_unhealthy(stack_env: dict[str, str], closed_url: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", closed_url)
    response = await get_detailed()
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["upstash"]["status"] == "unhealthy"
    assert "ConnectError" in body["checks"]["upstash"]["error"]
    assert body["checks"]["supabase"]["status"] == "healthy"


async def test_redis_behind_gateway_down_is_unhealthy(stack_env: dict[str, str], closed_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway answers but its Redis is gone: the SDK's error becomes an unhealthy check."""
    from devstack.serve import serve_in_thread
    from devstack.upstash_gateway import create_app

    port = int(closed_url.rsplit(":", 1)[1])
    gateway = serve_in_thread(create_app(token="t0ken-x-0123456789", redis_url=f"redis://127.0.0.1:{port}/0"))
    try:
        monkeypatch.setenv("UPSTASH_REDIS_REST_URL", gateway.url)
        monkeypatch.setenv("UPSTASH_REDIS_REST_TOKEN", "t0ken-x-0123456789")
        response = await get_detailed()
    finally:
        gateway.stop()
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["upstash"]["status"] == "unhealthy"
    assert body["checks"]["upstash"]["error"]


async def test_supabase_down_is_unhealthy(stack_env: dict[str, str], closed_url: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPABASE_URL", closed_url)
    response = await get_detailed()
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["supabase"]["status"] == "unhealthy"
    assert body["checks"]["upstash"]["status"] == "healthy"


async def test_hung_dependencies_report_a_timeout_inside_the_bound(
    stack_env: dict[str, str], hanging_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERWATCH_CHECK_TIMEOUT_MS", "300")
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", hanging_url)
    monkeypatch.setenv("TIERWATCH_HEALTH_URLS", f"{hanging_url}/status?token=abc123secret")
    started = time.monotonic()
    response = await get_detailed()
    elapsed = time.monotonic() - started
    body = response.json()
    assert elapsed < 2.0  # all checks run concurrently, each capped at 300 ms
    assert response.status_code == 503
    assert body["checks"]["upstash"] == {"name": "upstash", "status": "unhealthy", "latency_ms": None,
                                         "error": "timeout after 300 ms", "critical": True}
    extra = [c for n, c in body["checks"].items() if n.startswith("127.0.0.1")]
    assert len(extra) == 1 and extra[0]["error"] == "timeout after 300 ms"
    assert "abc123secret" not in response.text


async def test_only_an_extra_dependency_failing_is_degraded(
    stack_env: dict[str, str], closed_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERWATCH_HEALTH_URLS", f"{closed_url}/ping")
    response = await get_detailed()
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "degraded"


def test_hung_check_is_bounded_by_the_lambda_deadline(
    stack_env: dict[str, str], hanging_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 1.2 s left on Lambda (and a 0.5 s margin) a 2 s check cap cannot be honoured: the guard wins."""
    monkeypatch.setenv("TIERWATCH_MARGIN_MS", "500")
    monkeypatch.setenv("TIERWATCH_COLD_START_MARGIN_MS", "500")
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", hanging_url)
    from functions.health_detailed import handler

    started = time.monotonic()
    status, body = lambda_get(handler, "/api/health/detailed", timeout_s=1.2)
    elapsed = time.monotonic() - started
    assert status == 503
    assert elapsed < 1.2
    assert body["checks"]["upstash"]["error"].startswith("timeout after")


async def test_bad_settings_are_named_in_the_logs_not_echoed(monkeypatch: pytest.MonkeyPatch,
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    """With broken settings no token can be checked: callers see the status, the logs name the variables."""
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", "redis://user:hunter2@nowhere")
    monkeypatch.setenv("TIERWATCH_CHECK_TIMEOUT_MS", "fast")
    response = await get_detailed()
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["settings"] == {"name": "settings", "status": "unhealthy", "latency_ms": None,
                                          "error": None, "critical": True}
    logged = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    error = next(line["error"] for line in logged if line["message"] == "invalid settings")
    assert "UPSTASH_REDIS_REST_URL" in error and "TIERWATCH_CHECK_TIMEOUT_MS" in error
    assert "hunter2" not in response.text and "hunter2" not in json.dumps(logged)


async def test_missing_settings_name_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWATCH_READ_TOKEN", "read-token-0123456789")
    response = await get_detailed()
    body = response.json()
    assert response.status_code == 503
    assert "UPSTASH_REDIS_REST_TOKEN" in body["checks"]["upstash"]["error"]
    assert "SUPABASE_SERVICE_ROLE_KEY" in body["checks"]["supabase"]["error"]


def test_logs_carry_context_and_no_secret(stack_env: dict[str, str], capfd: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch, closed_url: str) -> None:
    # An error message that would contain the token if anything echoed it.
    monkeypatch.setenv("TIERWATCH_HEALTH_URLS", f"{closed_url}/x?key={stack_env['TIERWATCH_ADMIN_TOKEN']}")
    from functions.health_detailed import handler

    lambda_get(handler, "/api/health/detailed")
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("message") == "request"]
    assert request_lines, lines
    line = request_lines[-1]
    assert line["function_name"] == get("health_detailed").name
    assert line["request_id"] and "cold_start" in line and line["status"] == 503
    text = "\n".join(json.dumps(x) for x in lines)
    for name in ("UPSTASH_REDIS_REST_TOKEN", "SUPABASE_SERVICE_ROLE_KEY", "TIERWATCH_ADMIN_TOKEN"):
        assert stack_env[name] not in text


def test_sample_api_gateway_events(stack_env: dict[str, str]) -> None:
    """The committed sample events (the shape API Gateway and function URLs send) reach the right handlers."""
    from functions.health import handler as health
    from functions.health_detailed import handler as detailed
    from tests.events import load_event

    context = LambdaContext(function_name="t", timeout_s=10)
    assert health.handler(load_event("apigw_v2_health"), context)["statusCode"] == 200
    response = detailed.handler(load_event("apigw_v2_health_detailed"), context)
    assert response["statusCode"] == 200 and json.loads(response["body"])["status"] == "healthy"

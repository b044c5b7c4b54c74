"""GET /api/monitoring/errors, /logs and /traces on data ingested through the real gateway."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest


@pytest.fixture(autouse=True)
def _fresh(fresh_reads: None) -> None:
    """Every test here reads only its own events."""


@pytest.fixture
async def ingested(clean_tracking: dict[str, str]) -> dict[str, str]:
    """A batch through the real ingest endpoint: what the read endpoints then report."""
    stack_env = clean_tracking
    stack = 'Traceback (most recent call last):\n  File "/var/task/app.py", line 3, in handler\nKeyError: 1'
    events: list[dict[str, Any]] = [
        {"type": "request", "function": "api/a", "duration_ms": float(d), "status": 200,
         "trace_id": f"{d:032x}"} for d in range(1, 21)]
    events += [{"type": "error", "function": "api/a", "name": "KeyError", "message": f"id {i} missing",
                "stack": stack, "severity": "critical" if i == 0 else "low"} for i in range(4)]
    events += [{"type": "error", "function": "api/b", "name": "TimeoutError", "message": "upstream"}]
    events += [{"type": "log", "level": lvl, "message": f"{lvl.lower()} line", "function": "api/a"}
               for lvl in ("DEBUG", "INFO", "INFO", "WARNING", "ERROR")]
    from functions.ingest.app import app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/api/monitoring/ingest", content=json.dumps({"events": events}), headers={
            "Authorization": f"Bearer {stack_env['TIERWATCH_INGEST_TOKEN']}", "Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    return stack_env


async def get(name: str, env: dict[str, str], query: str = "") -> httpx.Response:
    import importlib

    app = importlib.import_module(f"functions.{name}.app").app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.get(f"/api/monitoring/{name}{query}",
                           headers={"Authorization": f"Bearer {env['TIERWATCH_READ_TOKEN']}"})


async def test_errors_are_grouped_with_severity_counts(ingested: dict[str, str]) -> None:
    body = (await get("errors", ingested)).json()
    assert body["total"] == 5 and body["by_severity"] == {"critical": 4, "medium": 1}
    first = body["groups"][0]
    assert (first["name"], first["count"], first["severity"]) == ("KeyError", 4, "critical")
    assert "app.py" in first["stack"] and body["top_types"] == {"KeyError": 4, "TimeoutError": 1}
    only_b = (await get("errors", ingested, "?function=api/b&window=1h")).json()
    assert [g["name"] for g in only_b["groups"]] == ["TimeoutError"]
    assert (await get("errors", ingested, "?severity=low")).json()["groups"] == []


async def test_logs_by_level_and_above(ingested: dict[str, str]) -> None:
    body = (await get("logs", ingested)).json()
    assert body["counts"] == {"DEBUG": 1, "INFO": 2, "WARNING": 1, "ERROR": 1}
    warnings_up = (await get("logs", ingested, "?level=WARNING")).json()
    assert sorted(line["level"] for line in warnings_up["lines"]) == ["ERROR", "WARNING"]
    assert len((await get("logs", ingested, "?limit=2")).json()["lines"]) == 2


async def test_traces_are_the_slowest_requests_with_their_trace_ids(ingested: dict[str, str]) -> None:
    body = (await get("traces", ingested)).json()
    slowest = body["functions"]["api/a"]
    assert [x["duration_ms"] for x in slowest] == [20.0, 19.0, 18.0, 17.0, 16.0]
    assert slowest[0]["trace_id"] == f"{20:032x}"


@pytest.mark.parametrize("name", ["errors", "logs", "traces"])
async def test_each_needs_the_read_token(name: str, stack_env: dict[str, str]) -> None:
    import importlib

    app = importlib.import_module(f"functions.{name}.app").app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get(f"/api/monitoring/{name}")).status_code == 401

"""The app, not each route, enforces the spec's auth: a function cannot forget it."""

from __future__ import annotations

import httpx
import pytest

from shared.http import create_app
from shared.spec import FunctionSpec, Route

SPEC = FunctionSpec(name="demo_read", description="a read endpoint and a public one",
                    routes=(Route("GET", "/api/demo/stats", "stats"),
                            Route("GET", "/api/demo/items/{item}", "item"),
                            Route("GET", "/api/demo/ping", "ping", auth="public")),
                    auth="read")
READ = "read-token-0123456789abcdef"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> httpx.AsyncClient:
    monkeypatch.setenv("TIERWATCH_READ_TOKEN", READ)
    app = create_app(SPEC)

    @app.handles("stats")
    async def stats() -> dict[str, int]:  # no auth dependency written here, on purpose
        return {"secret_number": 42}

    @app.handles("item")
    async def item(item: str) -> dict[str, str]:
        return {"item": item}

    @app.handles("ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_routes_without_an_auth_dependency_are_still_protected(client: httpx.AsyncClient) -> None:
    async with client:
        assert (await client.get("/api/demo/stats")).status_code == 401
        assert (await client.get("/api/demo/items/x")).status_code == 401
        assert (await client.get("/api/demo/items/x/")).status_code == 401  # trailing slash is the same route
        wrong = await client.get("/api/demo/stats", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "42" not in wrong.text
        ok = await client.get("/api/demo/stats", headers={"Authorization": f"Bearer {READ}"})
        assert ok.json() == {"secret_number": 42}
        assert (await client.get("/api/demo/ping")).json() == {"ok": True}  # a route's own auth wins


async def test_unconfigured_secret_refuses_instead_of_opening(client: httpx.AsyncClient,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIERWATCH_READ_TOKEN")
    async with client:
        response = await client.get("/api/demo/stats", headers={"Authorization": "Bearer None"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "not_configured"


def test_routes_are_found_by_name_and_names_are_unique() -> None:
    assert SPEC.route("item").path == "/api/demo/items/{item}"
    with pytest.raises(KeyError, match="has no route 'nope'"):
        SPEC.route("nope")
    with pytest.raises(ValueError, match="unique"):
        FunctionSpec(name="x", description="", routes=(Route("GET", "/a", "r"), Route("POST", "/a", "r")))
    with pytest.raises(ValueError, match="GET"):
        FunctionSpec(name="x", description="", routes=(Route("POST", "/a", "r"),), schedule="0 3 * * *")


def test_a_route_not_in_the_spec_cannot_be_registered_by_name() -> None:
    app = create_app(SPEC)
    with pytest.raises(KeyError):
        app.handles("not_declared")

"""Fixtures for function tests: ASGI clients, Lambda invocation, and misbehaving dependencies."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A server that accepts connections and never answers: a hung dependency."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def closed_url() -> str:
    """A loopback port nothing listens on: a dependency that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def gateway_stats(url: str, token: str) -> dict[str, object]:
    response = httpx.get(f"{url}/_local/stats", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
async def clean_tracking(stack_env: dict[str, str]) -> dict[str, str]:
    """The local stack with an empty tracking keyspace (the session's Redis is shared by every test)."""
    from shared import clients
    from shared.settings import get_settings

    redis = clients.upstash(get_settings())
    keys = await redis.keys("tw:v1:*")
    if keys:
        await redis.delete(*keys)
    return stack_env


@pytest.fixture
def fresh_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No cached window reads, and no self-monitoring: the figures read are the test's own events."""
    from shared.tracking.reads import clear_cache

    monkeypatch.setenv("TIERWATCH_TRACKING", "false")
    clear_cache()
    yield
    clear_cache()

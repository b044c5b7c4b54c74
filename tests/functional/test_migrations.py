"""The migrations as Supabase would hold them: RLS on every table, RPCs for service_role only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from postgrest.exceptions import APIError
from supabase import create_client

MIGRATIONS = Path(__file__).resolve().parents[2] / "supabase" / "migrations"


def _rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def test_every_migration_is_recorded(stack: Any) -> None:
    recorded = {r[0] for r in _rows(stack.services.postgres.dsn,
                                    "select version from supabase_migrations.schema_migrations")}
    assert recorded == {p.name.split("_", 1)[0] for p in MIGRATIONS.glob("*.sql")}


def test_every_table_has_row_level_security(stack: Any) -> None:
    without = _rows(stack.services.postgres.dsn, """
        select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity""")
    assert without == []


def test_every_function_is_for_service_role_only(stack: Any) -> None:
    functions = _rows(stack.services.postgres.dsn, """
        select p.oid::regprocedure::text,
               has_function_privilege('anon', p.oid, 'EXECUTE'),
               has_function_privilege('authenticated', p.oid, 'EXECUTE'),
               has_function_privilege('service_role', p.oid, 'EXECUTE')
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public'""")
    assert functions, "the migrations define at least the health RPC"
    for name, anon, authenticated, service in functions:
        assert (anon, authenticated, service) == (False, False, True), name


def test_anon_key_is_refused_and_service_role_served(stack: Any) -> None:
    url = stack.env["SUPABASE_URL"]
    anon = create_client(url, stack.env["SUPABASE_ANON_KEY"])
    with pytest.raises(APIError) as info:
        anon.rpc("tierwatch_health", {}).execute()
    assert info.value.code == "42501"
    service = create_client(url, stack.env["SUPABASE_SERVICE_ROLE_KEY"])
    data = service.rpc("tierwatch_health", {}).execute().data
    assert data["ok"] is True and data["database_size_bytes"] > 0


def test_anon_rpc_is_http_401(stack: Any) -> None:
    import httpx

    key = stack.env["SUPABASE_ANON_KEY"]
    response = httpx.post(f"{stack.env['SUPABASE_URL']}/rest/v1/rpc/tierwatch_health", json={},
                          headers={"apikey": key, "Authorization": f"Bearer {key}"}, timeout=10)
    assert response.status_code == 401
    assert response.json()["code"] == "42501"

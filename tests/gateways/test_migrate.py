"""The migration runner and the Supabase role bootstrap, against the real PostgreSQL of ``pg_server``.

Each test works in a database of its own, so runs never see each other's migrations.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from devstack.migrate import MigrationError, apply_migrations

if TYPE_CHECKING:
    from devstack.services.postgres_server import PostgresServer


@pytest.fixture
def fresh_dsn(pg_server: PostgresServer) -> Iterator[str]:
    name = f"mig_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    yield make_conninfo(pg_server.dsn, dbname=name)
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)'.encode())


def _rows(dsn: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query.encode()).fetchall()


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


GOOD = {
    "20240101000000_create_log.sql": "CREATE TABLE public.mig_log (version text PRIMARY KEY, at timestamptz);\n"
                                     "INSERT INTO public.mig_log VALUES ('20240101000000', now());",
    "20240102000000_add_things.sql": "CREATE TABLE public.things (id serial PRIMARY KEY, label text);\n"
                                     "INSERT INTO public.mig_log VALUES ('20240102000000', now());",
    "20240110000000_function.sql": "CREATE FUNCTION public.twice(x int) RETURNS int LANGUAGE sql AS $$ SELECT x * 2 $$;\n"
                                   "INSERT INTO public.mig_log VALUES ('20240110000000', now());",
    "README.md": "not a migration",
}


def test_applies_in_order_records_and_is_idempotent(fresh_dsn: str, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", GOOD)
    assert apply_migrations(fresh_dsn, folder) == ["20240101000000", "20240102000000", "20240110000000"]
    recorded = _rows(fresh_dsn, "SELECT version, name, statements FROM supabase_migrations.schema_migrations "
                                "ORDER BY version")
    assert [(v, n) for v, n, _ in recorded] == [("20240101000000", "create_log"), ("20240102000000", "add_things"),
                                                ("20240110000000", "function")]
    assert recorded[2][2] == [GOOD["20240110000000_function.sql"]]
    assert _rows(fresh_dsn, "SELECT public.twice(21)") == [(42,)]
    assert apply_migrations(fresh_dsn, folder) == []
    assert _rows(fresh_dsn, "SELECT count(*) FROM public.mig_log") == [(3,)]
    _write(folder, {"20240201000000_more.sql": "ALTER TABLE public.things ADD COLUMN note text;"})
    assert apply_migrations(fresh_dsn, folder) == ["20240201000000"]
    assert _rows(fresh_dsn, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'things' "
                            "AND column_name = 'note'") == [(1,)]


def test_failing_migration_leaves_nothing_of_itself(fresh_dsn: str, tmp_path: Path) -> None:
    bad = {**GOOD, "20240105000000_broken.sql": "CREATE TABLE public.half_done (id int);\n"
                                                 "INSERT INTO public.things (label) VALUES ('x');\n"
                                                 "SELECT 1/0;"}
    folder = _write(tmp_path / "migrations", bad)
    with pytest.raises(MigrationError) as e:
        apply_migrations(fresh_dsn, folder)
    assert e.value.file == "20240105000000_broken.sql" and e.value.sqlstate == "22012"
    assert "20240105000000_broken.sql" in str(e.value) and "division by zero" in str(e.value)
    versions = _rows(fresh_dsn, "SELECT version FROM supabase_migrations.schema_migrations ORDER BY version")
    assert versions == [("20240101000000",), ("20240102000000",)]
    assert _rows(fresh_dsn, "SELECT to_regclass('public.half_done') IS NULL, (SELECT count(*) FROM public.things)"
                 ) == [(True, 0)]
    assert _rows(fresh_dsn, "SELECT to_regprocedure('public.twice(integer)') IS NULL") == [(True,)]


def test_concurrent_runs_apply_each_migration_once(fresh_dsn: str, tmp_path: Path) -> None:
    slow = {**GOOD, "20240103000000_slow.sql": "SELECT pg_sleep(0.3);\n"
                                               "INSERT INTO public.mig_log VALUES ('20240103000000', now());"}
    folder = _write(tmp_path / "migrations", slow)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(apply_migrations(fresh_dsn, folder, bootstrap=True))
        except BaseException as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, 4]
    assert _rows(fresh_dsn, "SELECT count(*), count(DISTINCT version) FROM public.mig_log") == [(4, 4)]


def test_bootstrap_roles_are_idempotent_and_work(fresh_dsn: str, tmp_path: Path) -> None:
    empty = _write(tmp_path / "none", {})
    assert apply_migrations(fresh_dsn, empty, bootstrap=True) == []
    assert apply_migrations(fresh_dsn, empty, bootstrap=True) == []
    roles = _rows(fresh_dsn, "SELECT rolname, rolcanlogin, rolbypassrls FROM pg_roles WHERE rolname IN "
                             "('anon', 'authenticated', 'service_role', 'authenticator') ORDER BY rolname")
    assert roles == [("anon", False, False), ("authenticated", False, False), ("authenticator", True, False),
                     ("service_role", False, True)]
    granted = _rows(fresh_dsn, "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                               "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'authenticator' ORDER BY 1")
    assert {g[0] for g in granted} >= {"anon", "authenticated", "service_role"}
    with psycopg.connect(fresh_dsn) as conn:
        conn.execute("CREATE FUNCTION public.f_default_grants() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        conn.execute("CREATE TABLE public.t_default_grants (id int)")
        privs = conn.execute(
            "SELECT has_function_privilege('anon', 'public.f_default_grants()', 'EXECUTE'),"
            " has_function_privilege('service_role', 'public.f_default_grants()', 'EXECUTE'),"
            " has_table_privilege('anon', 'public.t_default_grants', 'SELECT'),"
            " has_schema_privilege('anon', 'extensions', 'USAGE')").fetchone()
        # anon still has EXECUTE through PUBLIC (PostgreSQL's default), but no grant of its own:
        own = conn.execute("SELECT count(*) FROM information_schema.routine_privileges WHERE grantee = 'anon'"
                           " AND routine_name = 'f_default_grants'").fetchone()
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                     ['{"sub": "11111111-2222-3333-4444-555555555555", "role": "authenticated"}'])
        auth = conn.execute("SELECT auth.uid()::text, auth.role(), auth.jwt() ->> 'role'").fetchone()
    assert privs == (True, True, True, True)
    assert own == (0,)
    assert auth == ("11111111-2222-3333-4444-555555555555", "authenticated", "authenticated")


def test_missing_folder_applies_nothing(fresh_dsn: str, tmp_path: Path) -> None:
    assert apply_migrations(fresh_dsn, tmp_path / "does-not-exist") == []
    assert _rows(fresh_dsn, "SELECT count(*) FROM supabase_migrations.schema_migrations") == [(0,)]

"""Apply ``supabase/migrations/<timestamp>_<name>.sql`` to a PostgreSQL, the way ``supabase db push`` does.

Why a runner of our own: local dev and tests have no Supabase CLI or Docker. It records versions in the
CLI's own table, ``supabase_migrations.schema_migrations``, so both tools agree on what is applied. Each
file runs in its own transaction (a failure leaves nothing of that file behind), and a session advisory
lock serialises concurrent runs (two test workers, or ``tierwatch dev`` next to ``tierwatch migrate``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

__all__ = ["BOOTSTRAP_SQL", "Migration", "MigrationError", "apply_migrations", "discover"]

BOOTSTRAP_SQL = Path(__file__).resolve().parent / "sql" / "bootstrap_roles.sql"
# Arbitrary but fixed: every runner must contend for the same advisory lock.
_LOCK_KEY = 0x7469657277617463  # "tierwatc"
_FILE_RE = re.compile(r"^(?P<version>\d+)_(?P<name>.+)\.sql$")
_log = logging.getLogger(__name__)

_CREATE_TABLE = """
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (
  version text NOT NULL PRIMARY KEY,
  statements text[],
  name text
);
"""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path


class MigrationError(RuntimeError):
    """A migration file failed; its transaction was rolled back and later files were not attempted."""

    def __init__(self, path: Path, error: psycopg.Error) -> None:
        diag = error.diag
        parts = [f"migration {path.name} failed: {diag.message_primary or error}"]
        if diag.sqlstate:
            parts.append(f"(SQLSTATE {diag.sqlstate})")
        if diag.message_detail:
            parts.append(f"DETAIL: {diag.message_detail}")
        if diag.message_hint:
            parts.append(f"HINT: {diag.message_hint}")
        super().__init__(" ".join(parts))
        self.file = path.name
        self.sqlstate = diag.sqlstate


def discover(migrations_dir: Path) -> list[Migration]:
    """Migration files in version order; other files are skipped with a warning, as the CLI does."""
    found: list[Migration] = []
    if not migrations_dir.is_dir():
        return found
    for path in migrations_dir.iterdir():
        match = _FILE_RE.match(path.name)
        if not path.is_file() or not path.name.endswith(".sql"):
            continue
        if match is None:
            _log.warning("skipping %s: name must match <timestamp>_<name>.sql", path.name)
            continue
        found.append(Migration(match["version"], match["name"], path))
    found.sort(key=lambda m: (int(m.version), m.version))
    return found


def _run_file(conn: psycopg.Connection, path: Path, sql_text: str) -> None:
    try:
        with conn.transaction():
            conn.execute(sql_text.encode())  # no parameters: simple protocol, several statements allowed
    except psycopg.Error as e:
        raise MigrationError(path, e) from e


def apply_migrations(dsn: str, migrations_dir: Path, *, bootstrap: bool = False) -> list[str]:
    """Apply pending migrations in order and return the versions applied now (``[]`` when up to date).

    Parameters
    ----------
    dsn: a superuser connection string (the local ``postgres``).
    migrations_dir: the folder holding ``<timestamp>_<name>.sql`` files.
    bootstrap: first run ``devstack/sql/bootstrap_roles.sql`` (Supabase roles, ``auth`` helpers).

    Raises
    ------
    MigrationError: naming the file and the PostgreSQL message; that file left no trace.
    """
    migrations = discover(migrations_dir)
    applied_now: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
        try:
            if bootstrap:
                _run_file(conn, BOOTSTRAP_SQL, BOOTSTRAP_SQL.read_text())
            with conn.transaction():
                conn.execute(_CREATE_TABLE.encode())
            done = {row[0] for row in conn.execute("SELECT version FROM supabase_migrations.schema_migrations")}
            for migration in migrations:
                if migration.version in done:
                    continue
                sql_text = migration.path.read_text()
                try:
                    with conn.transaction():
                        conn.execute(sql_text.encode())
                        conn.execute(
                            "INSERT INTO supabase_migrations.schema_migrations (version, statements, name)"
                            " VALUES (%s, %s, %s)",
                            [migration.version, [sql_text], migration.name],
                        )
                except psycopg.Error as e:
                    raise MigrationError(migration.path, e) from e
                applied_now.append(migration.version)
                _log.info("applied migration %s", migration.path.name)
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    return applied_now

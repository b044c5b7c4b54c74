"""The PostgreSQL behind the PostgREST gateway (devstack/services/postgres_server.py): a cluster of its own.

Restarts keep data, a server left running by a killed run is reused, and a SIGKILLed postmaster's stale
``postmaster.pid`` does not block the next start.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator

import psycopg
import pytest

from devstack.serve import free_port
from devstack.services.postgres_server import start_postgres


@pytest.fixture
def data_dir() -> Iterator[pathlib.Path]:
    root = pathlib.Path(tempfile.mkdtemp(prefix="tierwatch-pg-test-"))
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


def _one(dsn: str, query: str) -> object:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query.encode())
        row = cur.fetchone() if cur.description else None
        return row[0] if row else None


def test_lifecycle_restart_reuse_and_stale_pid(data_dir: pathlib.Path) -> None:
    first = start_postgres(data_dir)
    try:
        assert first.dsn == f"postgresql://postgres@127.0.0.1:{first.port}/postgres"
        assert first.version.startswith("16.")
        assert _one(first.dsn, "SHOW TimeZone") == "UTC"
        assert (data_dir / f".s.PGSQL.{first.port}").is_socket()
        _one(first.dsn, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')")
        # A second start on a live cluster (a killed run's leftover) reuses it.
        again = start_postgres(data_dir)
        assert (again.port, _one(again.dsn, "SELECT v FROM kept")) == (first.port, "survives")
    finally:
        first.stop()
    assert not (data_dir / "postmaster.pid").exists()
    port = free_port()
    second = start_postgres(data_dir, port=port)
    try:
        assert second.port == port and _one(second.dsn, "SELECT v FROM kept") == "survives"
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                _one(second.dsn, "SELECT 1")
            except psycopg.OperationalError:
                break
            time.sleep(0.05)
        assert (data_dir / "postmaster.pid").exists()  # stale: its postmaster is gone
        third = start_postgres(data_dir)
        assert _one(third.dsn, "SELECT v FROM kept") == "survives"
    finally:
        start_postgres(data_dir).stop()

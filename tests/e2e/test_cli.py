"""The README's first command and the other CLI verbs, run as a user runs them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from devstack.serve import free_port
from tests.e2e.devproc import TIERWATCH, start_dev, stop, upstash, wait_ready


@pytest.mark.slow
def test_dev_serves_the_bundle_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    proc, env = start_dev(data_dir, port)
    try:
        expected = {"TIERWATCH_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "SUPABASE_URL",
                    "SUPABASE_SERVICE_ROLE_KEY", "DATABASE_URL", "CRON_SECRET", "TIERWATCH_INGEST_TOKEN",
                    "TIERWATCH_READ_TOKEN", "TIERWATCH_ADMIN_TOKEN"}
        assert expected <= set(env)
        base = env["TIERWATCH_URL"]
        assert wait_ready(f"{base}/api/health").json()["status"] == "ok"
        detailed = httpx.get(f"{base}/api/health/detailed", timeout=15)
        assert detailed.status_code == 200, detailed.text
        assert detailed.json()["status"] == "healthy"
        assert httpx.get(f"{base}/api/nope", timeout=5).status_code == 404
        assert upstash(env, "SET", "survives", "restart") == "OK"
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("create table if not exists e2e_survivor (v text); insert into e2e_survivor values ('pg')")
    finally:
        assert stop(proc) == 0

    proc, env2 = start_dev(data_dir, port)
    try:
        assert env2["UPSTASH_REDIS_REST_TOKEN"] == env["UPSTASH_REDIS_REST_TOKEN"]
        assert env2["TIERWATCH_ADMIN_TOKEN"] == env["TIERWATCH_ADMIN_TOKEN"]
        wait_ready(f"{env2['TIERWATCH_URL']}/api/health")
        assert upstash(env2, "GET", "survives") == "restart"
        with psycopg.connect(env2["DATABASE_URL"]) as conn:
            assert conn.execute("select v from e2e_survivor").fetchall() == [("pg",)]
    finally:
        assert stop(proc) == 0
    assert oct((data_dir / "secrets.json").stat().st_mode & 0o777) == "0o600"


def test_migrate_is_idempotent(stack: Any) -> None:
    dsn = stack.services.postgres.dsn
    out = subprocess.run([TIERWATCH, "migrate", "--database-url", dsn], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "nothing to apply"


def test_wiring_is_current() -> None:
    out = subprocess.run([TIERWATCH, "wiring"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr

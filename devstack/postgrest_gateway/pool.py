"""Connections to PostgreSQL that fail fast while it is down and recover on the first request after.

Why not psycopg_pool alone: its waits default to 30 s, and after an outage its reconnect attempts back off
(1, 2, 4, 8... s), so the gateway kept answering 503 for ~25 s after PostgreSQL was back. Here every wait
is bounded by a few seconds, and a lost connection (seen in use, or found closed while idle) drops the
whole pool: the next pool is built on demand, which succeeds as soon as the server is back and fails at
once (connection refused) while it is down.

Why log in as ``authenticator``: as on Supabase, the pool's login role can only become the roles granted to
it, so a key claiming ``role: postgres`` fails the way it fails in production. A database without the
Supabase roles (bootstrap not run) falls back to the DSN's own user.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

__all__ = ["CONNECT_TIMEOUT_S", "POOL_WAIT_S", "Pool", "connection_lost"]

CONNECT_TIMEOUT_S = 2  # one connection attempt, whole seconds (libpq; 2 is its minimum)
POOL_WAIT_S = 3.0  # waiting for a pooled connection, or for a new pool's first one
_LOGIN_ROLE = "authenticator"
_GONE_STATES = ("57P01", "57P02", "57P03")  # admin shutdown, crash shutdown, cannot connect now


def connection_lost(error: psycopg.Error) -> bool:
    """True when the error is about the link or the server, not about the statement."""
    state = error.sqlstate
    return isinstance(error, psycopg.OperationalError) and (
        state is None or state.startswith("08") or state in _GONE_STATES)


def _closed_by_server(conn: AsyncConnection[Any]) -> bool:
    """An idle connection with something to read was closed by the server (it sends FATAL, then EOF)."""
    try:
        fd = conn.fileno()
        if hasattr(select, "poll"):  # no FD_SETSIZE limit, unlike select()
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError, psycopg.Error):
        return True


class Pool:
    """A psycopg pool built lazily on the serving event loop, and rebuilt after a lost connection."""

    def __init__(self, dsn: str, *, max_size: int = 10, connect_timeout_s: int = CONNECT_TIMEOUT_S,
                 wait_s: float = POOL_WAIT_S) -> None:
        self.dsn, self._max_size = dsn, max_size
        self._connect_timeout_s, self._wait_s = connect_timeout_s, wait_s
        self._pool: AsyncConnectionPool[Any] | None = None
        self._lock = asyncio.Lock()

    async def _login_conninfo(self) -> str:
        """``authenticator`` if it can log in; the DSN's user when that role is missing (28xxx).

        A server that is down raises (answered 503) rather than silently switching the login role.
        """
        candidate = make_conninfo(self.dsn, user=_LOGIN_ROLE)
        try:
            conn = await AsyncConnection.connect(candidate, connect_timeout=self._connect_timeout_s)
        except psycopg.OperationalError as e:
            if e.sqlstate is not None and e.sqlstate.startswith("28"):
                return self.dsn
            raise
        await conn.close()
        return candidate

    async def open(self) -> AsyncConnectionPool[Any]:
        """The current pool, building it (and waiting for its first connection) when there is none."""
        async with self._lock:
            if self._pool is None:
                pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                    await self._login_conninfo(), min_size=1, max_size=self._max_size, open=False,
                    timeout=self._wait_s, name="postgrest-gateway",
                    kwargs={"autocommit": True, "connect_timeout": self._connect_timeout_s})
                try:
                    await pool.open(wait=True, timeout=self._wait_s)
                except BaseException:
                    await pool.close(timeout=0)
                    raise
                self._pool = pool
            return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _discard(self, pool: AsyncConnectionPool[Any]) -> None:
        """Drop ``pool`` (connections in use are closed when returned); the next request builds a new one."""
        if self._pool is pool:
            self._pool = None
            await pool.close(timeout=0)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A live connection, back to the pool afterwards; a lost connection (any stage) drops the pool.

        An idle connection the server closed means it restarted or went away: the pool is rebuilt once,
        which either succeeds (the server is back) or fails at once (it is still down).
        """
        pool = await self.open()
        try:
            async with pool.connection() as conn:
                if not _closed_by_server(conn):
                    yield conn
                    return
                await conn.close()
            await self._discard(pool)
            pool = await self.open()
            async with pool.connection() as conn:
                yield conn
        except psycopg.Error as e:
            if connection_lost(e):
                await self._discard(pool)
            raise

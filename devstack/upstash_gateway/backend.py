"""The Redis side of the gateway: redis-py asyncio against a real server, or in-process fakeredis.

redis-py is told to change nothing (RESP2, raw bytes, no response callbacks) so replies reach the JSON
encoder as Redis sent them. It does strip well-known error prefixes (``ERR``, ``NOSCRIPT``, ``EXECABORT``),
keeping them in ``status_code``; we glue them back because Upstash and the SDK show the full line (A12).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Container
from typing import Any

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ExecAbortError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from devstack.upstash_gateway.commands import Command, command_name
from devstack.upstash_gateway.encoding import Reply
from devstack.upstash_gateway.errors import BackendUnavailable, ReplyError, TransactionAborted
from devstack.upstash_gateway.policy import EVERY_COMMAND

__all__ = ["Backend", "EXECABORT", "REDIS_CONNECT_TIMEOUT_S", "REDIS_TIMEOUT_S"]

EXECABORT = "EXECABORT Transaction discarded because of previous errors."
# A hung or stopped Redis must cost a request seconds (answered 500 JSON), not redis-py's 30 s. Redis's own
# busy-script threshold is 5 s; a local dev command that runs longer than this is a bug worth seeing.
REDIS_TIMEOUT_S = 3.0
REDIS_CONNECT_TIMEOUT_S = 2.0

# fakeredis has no INFO (A10); answering it from Lua keeps INFO usable inside pipelines and transactions.
_FAKE_INFO_LUA = (
    "return '# Server\\r\\nredis_version:7.0.0\\r\\nredis_mode:standalone\\r\\nfakeredis_version:{v}\\r\\n"
    "\\r\\n# Keyspace\\r\\ndb0:keys=' .. redis.call('DBSIZE') .. ',expires=0,avg_ttl=0\\r\\n'"
)
_RO_FALLBACK = {"EVAL_RO": b"EVAL", "EVALSHA_RO": b"EVALSHA"}


def full_message(error: RedisError) -> str:
    """The error line as Redis sent it, prefix included."""
    return f"{error.status_code} {error}" if error.status_code else str(error)


def _normalise(value: Any) -> Reply:
    """Turn in-place exceptions (pipeline slots, EXEC results, Lua tables) into ReplyError values."""
    if isinstance(value, RedisError):
        return ReplyError(full_message(value))
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value  # type: ignore[no-any-return]


class Backend:
    """One redis-py client (pooled connections) per gateway; a transaction holds one connection."""

    def __init__(self, redis_url: str | None, *, timeout_s: float = REDIS_TIMEOUT_S) -> None:
        options: dict[str, Any] = {"protocol": 2, "decode_responses": False}
        self.client: aioredis.Redis
        if redis_url is None:
            import fakeredis  # dev-only dependency, imported only when asked for

            self.kind = "fakeredis"
            # A private FakeServer: fakeredis otherwise shares data between clients with the same host/port.
            self.fake_server: fakeredis.FakeServer | None = fakeredis.FakeServer()
            self.client = fakeredis.FakeAsyncRedis(server=self.fake_server, **options)
            info = _FAKE_INFO_LUA.format(v=importlib.metadata.version("fakeredis"))
            self._info_script: bytes | None = info.encode()
            self._has_ro: bool | None = False
        else:
            self.kind = "redis"
            self.fake_server = None
            # One quick retry on a broken pooled connection (after a Redis restart), no sleeping; never after a
            # timeout, when the command may have run (and waiting twice would double the bound).
            retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
            self.client = aioredis.Redis.from_url(
                redis_url, retry=retry, socket_connect_timeout=min(REDIS_CONNECT_TIMEOUT_S, timeout_s),
                socket_timeout=timeout_s, **options
            )
            self._info_script = None
            self._has_ro = None
        self.client.response_callbacks.clear()
        self._known: Container[str] | None = None

    async def known_commands(self) -> Container[str]:
        """Upper-case names of the server's commands (its ``COMMAND`` table), asked once.

        A server without ``COMMAND`` counts as knowing every name, so the allow-list refuses the rest.
        """
        if self._known is None:
            try:
                table = await self.client.execute_command("COMMAND")  # type: ignore[no-untyped-call]
                self._known = frozenset(bytes(entry[0]).decode("utf-8", "replace").upper() for entry in table)
            except ResponseError:
                self._known = EVERY_COMMAND
            except (RedisConnectionError, RedisTimeoutError, OSError) as e:
                raise BackendUnavailable(f"ERR Redis backend unavailable: {e}") from e
        return self._known

    async def _supports_ro(self) -> bool:
        """EVAL_RO/EVALSHA_RO need Redis 7; Upstash has them, so older backends get plain EVAL/EVALSHA."""
        if self._has_ro is None:
            info = await self.client.execute_command("INFO", "server")  # type: ignore[no-untyped-call]
            line = next(ln for ln in bytes(info).splitlines() if ln.startswith(b"redis_version:"))
            self._has_ro = int(line.split(b":")[1].split(b".")[0]) >= 7
        return self._has_ro

    async def _adapt(self, command: Command) -> list[Any]:
        name = command_name(command)
        if name == "INFO" and self._info_script is not None:
            return ["EVAL", self._info_script, b"0"]
        if name in _RO_FALLBACK and not await self._supports_ro():
            return [_RO_FALLBACK[name], *command[1:]]
        # redis-py looks the command name up as str; arguments go over the wire as the bytes we were given.
        return [command[0].decode("utf-8", errors="replace"), *command[1:]]

    async def execute(self, command: Command) -> Reply:
        """Run one command; a Redis error comes back as a ReplyError value."""
        try:
            args = await self._adapt(command)
            return _normalise(await self.client.execute_command(*args))  # type: ignore[no-untyped-call]
        except ResponseError as e:
            return ReplyError(full_message(e))
        except (RedisConnectionError, RedisTimeoutError, OSError) as e:
            raise BackendUnavailable(f"ERR Redis backend unavailable: {e}") from e

    async def pipeline(self, commands: list[Command], *, transaction: bool) -> list[Reply]:
        """Run a batch on one connection, in order; MULTI/EXEC around it when ``transaction``."""
        if not commands:
            return []
        try:
            pipe = self.client.pipeline(transaction=transaction)
            for command in commands:
                pipe.execute_command(*await self._adapt(command))
            results = await pipe.execute(raise_on_error=False)
        except (ExecAbortError, ResponseError) as e:
            if transaction:  # a queue-time error: Redis applied nothing
                raise TransactionAborted(EXECABORT) from e
            raise BackendUnavailable(f"ERR {full_message(e)}") from e
        except (RedisConnectionError, RedisTimeoutError, OSError) as e:
            raise BackendUnavailable(f"ERR Redis backend unavailable: {e}") from e
        return [_normalise(r) for r in results]

    async def aclose(self) -> None:
        await self.client.aclose()

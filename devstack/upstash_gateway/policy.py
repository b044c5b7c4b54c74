"""Which Redis commands the gateway runs: Upstash's documented REST command set, nothing else (A3, A10).

Why an allow-list: the token is the only protection, and Redis's admin commands (``CONFIG SET``,
``ACL SETUSER``, ``SHUTDOWN``, ``DEBUG``, ``SWAPDB``...) act on the whole local server, not on one
database as on Upstash. Source: Upstash's command reference, one page per supported command
(``upstash/docs`` ``redis/commands/<group>/*.mdx``, https://upstash.com/docs/redis/commands/overview, read
Aug 2026), minus what its REST API refuses (``redis/features/restapi.mdx``, "REST - Redis API
Compatibility": connection commands other than PING/ECHO, blocking commands, WATCH/UNWATCH/DISCARD,
blocking XREAD/XREADGROUP; pages marked "not the stateless REST endpoint": MONITOR, SUBSCRIBE...).
Documented but still refused here, on purpose:

- ``ACL *`` and ``CONFIG *``: on Upstash they touch one database's users and only
  ``notify-keyspace-events``; here they would rewrite the shared server (one ``ACL SETUSER`` locked every
  pooled connection out), and keyspace events need SUBSCRIBE, which the gateway does not serve;
- ``WAIT``/``WAITAOF``: there are no replicas, so they would hold a pooled connection until a timeout;
- ``MULTI``/``EXEC``: a transaction is ``/multi-exec`` (A7).

A name the server does not know at all goes through: Redis answers ``ERR unknown command`` itself (and
``EXECABORT`` inside ``/multi-exec``), exactly as before, and cannot run it.

Lua scripts reach commands through ``redis.call``. Redis itself refuses its admin commands there (they carry
the ``noscript`` flag: CONFIG, ACL, DEBUG, SAVE, SHUTDOWN, REPLICAOF, MONITOR, CLIENT, MODULE...), so what is
left is checked here from the script text: a literal command name outside the allow-list refuses the
script. A name built at run time cannot be checked statically; only non-admin commands (SWAPDB, MOVE...)
remain reachable that way.
"""

from __future__ import annotations

import re
from collections.abc import Container

from devstack.upstash_gateway.errors import BadRequest

__all__ = ["EVERY_COMMAND", "check_allowed"]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


class _Every(Container[str]):
    """Stands for a server whose command table is unknown: then every name outside the list is refused."""

    def __contains__(self, name: object) -> bool:
        return True


EVERY_COMMAND: Container[str] = _Every()


# Commands allowed whatever their arguments, grouped as Upstash's reference groups them.
_ALLOWED = _names(
    # string, bitmap
    "APPEND DECR DECRBY DELEX DIGEST GET GETDEL GETEX GETRANGE GETSET INCR INCRBY INCRBYFLOAT MGET MSET MSETNX"
    " PSETEX SET SETEX SETNX SETRANGE STRLEN BITCOUNT BITFIELD BITFIELD_RO BITOP BITPOS GETBIT SETBIT"
    # hash
    " HDEL HEXISTS HEXPIRE HEXPIREAT HEXPIRETIME HGET HGETALL HGETDEL HGETEX HINCRBY HINCRBYFLOAT HKEYS HLEN"
    " HMGET HMSET HPERSIST HPEXPIRE HPEXPIREAT HPEXPIRETIME HPTTL HRANDFIELD HSCAN HSET HSETEX HSETNX HSTRLEN"
    " HTTL HVALS"
    # list and sorted set, without the blocking B* commands (not on REST)
    " LINDEX LINSERT LLEN LMOVE LMPOP LPOP LPOS LPUSH LPUSHX LRANGE LREM LSET LTRIM RPOP RPOPLPUSH RPUSH RPUSHX"
    " ZADD ZCARD ZCOUNT ZDIFF ZDIFFSTORE ZINCRBY ZINTER ZINTERCARD ZINTERSTORE ZLEXCOUNT ZMPOP ZMSCORE ZPOPMAX"
    " ZPOPMIN ZRANDMEMBER ZRANGE ZRANGEBYLEX ZRANGEBYSCORE ZRANGESTORE ZRANK ZREM ZREMRANGEBYLEX ZREMRANGEBYRANK"
    " ZREMRANGEBYSCORE ZREVRANGE ZREVRANGEBYLEX ZREVRANGEBYSCORE ZREVRANK ZSCAN ZSCORE ZUNION ZUNIONSTORE"
    # set, geo, hyperloglog
    " SADD SCARD SDIFF SDIFFSTORE SINTER SINTERCARD SINTERSTORE SISMEMBER SMEMBERS SMISMEMBER SMOVE SPOP"
    " SRANDMEMBER SREM SSCAN SUNION SUNIONSTORE GEOADD GEODIST GEOHASH GEOPOS GEORADIUS GEORADIUS_RO"
    " GEORADIUSBYMEMBER GEORADIUSBYMEMBER_RO GEOSEARCH GEOSEARCHSTORE PFADD PFCOUNT PFMERGE"
    # generic, scripting, functions, pub/sub (publishing only), connection (REST: PING and ECHO), server
    " COPY DEL DUMP EXISTS EXPIRE EXPIREAT EXPIRETIME KEYS PERSIST PEXPIRE PEXPIREAT PEXPIRETIME PTTL RANDOMKEY"
    " RENAME RENAMENX RESTORE SCAN TOUCH TTL TYPE UNLINK EVAL EVAL_RO EVALSHA EVALSHA_RO FCALL FCALL_RO PUBLISH"
    " PUBSUB PING ECHO COMMAND DBSIZE FLUSHALL FLUSHDB INFO TIME"
    # streams (XREAD/XREADGROUP only without BLOCK: see check_allowed)
    " XACK XACKDEL XADD XAUTOCLAIM XCLAIM XDEL XDELEX XGROUP XLEN XPENDING XRANGE XREAD XREADGROUP XREVRANGE XTRIM"
    # JSON and search: Upstash features; a stock Redis answers "unknown command" for them
    " JSON.ARRAPPEND JSON.ARRINDEX JSON.ARRINSERT JSON.ARRLEN JSON.ARRPOP JSON.ARRTRIM JSON.CLEAR JSON.DEBUG"
    " JSON.DEL JSON.FORGET JSON.GET JSON.MERGE JSON.MGET JSON.MSET JSON.NUMINCRBY JSON.NUMMULTBY JSON.OBJKEYS"
    " JSON.OBJLEN JSON.RESP JSON.SET JSON.STRAPPEND JSON.STRLEN JSON.TOGGLE JSON.TYPE SEARCH.AGGREGATE"
    " SEARCH.ALIASADD SEARCH.ALIASDEL SEARCH.COUNT SEARCH.CREATE SEARCH.DESCRIBE SEARCH.DROP SEARCH.LISTALIASES"
    " SEARCH.LISTINDEXES SEARCH.QUERY SEARCH.REINDEX SEARCH.WAITINDEXING"
)
# Container commands: only these subcommands are documented.
_SUBCOMMANDS = {
    "SCRIPT": _names("EXISTS FLUSH KILL LOAD"),
    "FUNCTION": _names("DELETE FLUSH KILL LIST LOAD STATS"),
    "XINFO": _names("CONSUMERS GROUPS STREAM"),
    "MEMORY": _names("USAGE"),
}
# Where a script's source sits in a command (name -> argument index; FUNCTION LOAD's code is last).
_SCRIPT_ARG = {"EVAL": 1, "EVAL_RO": 1, "SCRIPT": 2, "FUNCTION": -1}
# redis.call('NAME', 'SUB', ...) / redis.pcall / server.call (Redis 7.2+), names given as Lua string literals.
_LUA_CALL = re.compile(
    rb"""\b(?:redis|server)\s*\.\s*p?call\s*\(\s*(['"])([^'"\\\s]+)\1(?:\s*,\s*(['"])([^'"\\\s]+)\3)?"""
)


def _upper(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").upper()


# Connection-state commands a server may leave out of COMMAND (Redis 6.2 does not list QUIT) but still
# obeys: refused whether or not the server reports them, so no backend lets them reach a pooled connection.
_ALWAYS_REFUSED = frozenset({"QUIT", "RESET", "HELLO", "AUTH", "SELECT", "CLIENT"})


def _refused(name: str, sub: str | None, known: Container[str]) -> str | None:
    """None when ``name`` (with its first argument ``sub``) may run, else the command to name in the error."""
    if name in _ALWAYS_REFUSED:
        return name
    if name in _ALLOWED or name not in known:
        return None
    if name in _SUBCOMMANDS and sub is not None:
        return None if sub in _SUBCOMMANDS[name] else f"{name} {sub}"
    return name


def _script_calls(script: bytes) -> list[tuple[str, str | None]]:
    """``(NAME, SUB)`` for every ``redis.call`` whose command is a string literal."""
    return [(_upper(m.group(2)), _upper(m.group(4)) if m.group(4) else None) for m in _LUA_CALL.finditer(script)]


def _script_of(name: str, command: list[bytes]) -> bytes | None:
    index = _SCRIPT_ARG.get(name)
    if index is None or len(command) < 3:
        return None
    if name in ("SCRIPT", "FUNCTION") and command[1].upper() != b"LOAD":
        return None
    return command[index]


def _unknown(command: list[bytes]) -> BadRequest:
    """Redis's own answer to a name it does not have (the format of Redis 7's ``ERR unknown command``)."""
    args = "".join(f"'{a.decode('utf-8', 'replace')[:128]}' " for a in command[1:4])
    return BadRequest(f"ERR unknown command '{command[0].decode('utf-8', 'replace')[:128]}', "
                      f"with args beginning with: {args}")


def check_allowed(command: list[bytes], known: Container[str]) -> list[bytes]:
    """Return ``command`` unchanged, or raise the 400 Upstash gives for an unsupported command (A4).

    ``known`` holds the upper-case names of the server's commands. Upstash documents the status (400 for
    "an invalid/unsupported command"), not the wording; the message names the command lower-cased.
    A name that is empty or holds whitespace is no command at all, and redis-py would split it into one
    (``"CONFIG SET"`` into CONFIG SET, ``""`` into nothing, which Redis never answers): it gets Redis's
    unknown-command answer here instead.
    """
    if command[0].split() != [command[0]]:
        raise _unknown(command)
    name = _upper(command[0])
    refused = _refused(name, _upper(command[1]) if len(command) > 1 else None, known)
    if refused is None and name in ("XREAD", "XREADGROUP") and any(a.upper() == b"BLOCK" for a in command[1:]):
        refused = f"{name} BLOCK"
    script = _script_of(name, command)
    if refused is None and script is not None:
        called = next((r for call in _script_calls(script) if (r := _refused(*call, known))), None)
        refused = f"{called} (called from a script)" if called else None
    if refused is not None:
        raise BadRequest(f"ERR Command is not available: '{refused.lower()}'")
    return command

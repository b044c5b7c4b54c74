"""The real upstash-redis SDK (sync and asyncio) over HTTP through the gateway (PROTOCOLS.md D1 items 1-2, 5-7, 12).

Each SDK call is checked for the Python type the SDK documents, and writes are read back from Redis directly.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
import upstash_redis
import upstash_redis.asyncio
from upstash_redis.errors import UpstashError

if TYPE_CHECKING:
    from tests.gateways.conftest import UpstashGateway

UNICODE = "héllo ✓ — 日本 🚀"


def test_wrong_token_raises_wrongpass(upstash_gateway: UpstashGateway, ukey: str) -> None:
    with upstash_redis.Redis(url=upstash_gateway.url, token="not-the-token") as sdk:
        with pytest.raises(UpstashError, match=r"^WRONGPASS invalid or missing auth token"):
            sdk.set(ukey, "x")
    assert upstash_gateway.direct.exists(ukey) == 0


def test_unicode_round_trip(
    upstash_sdk: upstash_redis.Redis, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    assert upstash_sdk.set(ukey, UNICODE) is True
    assert upstash_sdk.get(ukey) == UNICODE
    assert upstash_gateway.direct.get(ukey) == UNICODE.encode()


def test_plain_encoding_client(upstash_gateway: UpstashGateway, ukey: str) -> None:
    with upstash_redis.Redis(url=upstash_gateway.url, token=upstash_gateway.token, rest_encoding=None) as sdk:
        assert sdk.set(ukey, UNICODE) is True
        assert sdk.get(ukey) == UNICODE
        assert sdk.ping() == "PONG"


def test_strings_counters_and_ttl(
    upstash_sdk: upstash_redis.Redis, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    assert upstash_sdk.incr(ukey) == 1
    assert upstash_sdk.incrby(ukey, 5) == 6
    assert upstash_sdk.ttl(ukey) == -1
    assert upstash_sdk.expire(ukey, 60) is True
    assert 55 <= upstash_sdk.ttl(ukey) <= 60
    assert 55_000 <= upstash_sdk.pttl(ukey) <= 60_000
    assert upstash_sdk.ttl(f"{ukey}:missing") == -2
    assert upstash_sdk.set(f"{ukey}:nx", "a", nx=True, px=1500) is True
    assert upstash_sdk.set(f"{ukey}:nx", "b", nx=True) is False
    assert upstash_sdk.set(f"{ukey}:nx", "c", get=True) == "a"
    assert upstash_gateway.direct.get(ukey) == b"6"
    assert upstash_gateway.direct.get(f"{ukey}:nx") == b"c"


def test_expire_options_need_redis_7(
    upstash_sdk: upstash_redis.Redis, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    upstash_gateway.direct.set(ukey, "v", ex=100)
    if not upstash_gateway.redis7:
        pytest.skip(f"EXPIRE NX/XX/GT/LT needs Redis 7; this backend is {upstash_gateway.backend_version}")
    assert upstash_sdk.expire(ukey, 50, gt=True) is False
    assert upstash_sdk.expire(ukey, 200, gt=True) is True
    assert upstash_gateway.direct.ttl(ukey) > 100


def test_hashes(upstash_sdk: upstash_redis.Redis, upstash_gateway: UpstashGateway, ukey: str) -> None:
    assert upstash_sdk.hset(ukey, values={"a": 1, "b": "two"}) == 2
    assert upstash_sdk.hincrby(ukey, "a", 2) == 3
    assert upstash_sdk.hgetall(ukey) == {"a": "3", "b": "two"}
    assert upstash_sdk.hmget(ukey, "a", "zz", "b") == ["3", None, "two"]
    assert upstash_sdk.hgetall(f"{ukey}:none") == {}
    assert upstash_gateway.direct.hget(ukey, "a") == b"3"


def test_hyperloglog_sorted_sets_lists(upstash_sdk: upstash_redis.Redis, ukey: str) -> None:
    assert upstash_sdk.pfadd(f"{ukey}:hll", "a", "b", "c") is True
    assert upstash_sdk.pfcount(f"{ukey}:hll") == 3
    assert upstash_sdk.zadd(f"{ukey}:z", {"m1": 1.5, "m2": 2, "m3": 10}) == 3
    assert upstash_sdk.zrangebyscore(f"{ukey}:z", 1, 5) == ["m1", "m2"]
    assert upstash_sdk.zrangebyscore(f"{ukey}:z", 0, 100, withscores=True, offset=1, count=1) == [("m2", 2.0)]
    assert upstash_sdk.zremrangebyscore(f"{ukey}:z", 0, 2) == 2
    assert upstash_sdk.lpush(f"{ukey}:l", "a", "b", "c") == 3
    assert upstash_sdk.ltrim(f"{ukey}:l", 0, 1) == "OK"
    assert upstash_sdk.lrange(f"{ukey}:l", 0, -1) == ["c", "b"]


def test_scan_delete_time_dbsize_ping_info(upstash_sdk: upstash_redis.Redis, ukey: str) -> None:
    upstash_sdk.set(f"{ukey}:1", "x")
    upstash_sdk.set(f"{ukey}:2", "y")
    cursor, keys = upstash_sdk.scan(0, match=f"{ukey}:*", count=1000)
    assert isinstance(cursor, int) and sorted(keys) == [f"{ukey}:1", f"{ukey}:2"]
    assert upstash_sdk.delete(f"{ukey}:1", f"{ukey}:2", f"{ukey}:3") == 2
    seconds, micros = upstash_sdk.time()
    assert isinstance(seconds, int) and seconds > 1_700_000_000 and 0 <= micros < 1_000_000
    assert isinstance(upstash_sdk.dbsize(), int)
    assert upstash_sdk.ping() == "PONG"
    assert "redis_version:" in upstash_sdk.execute(["INFO"])
    assert upstash_sdk.execute(["INFO", "server"]).startswith("# Server")


def test_scripting_via_sdk(upstash_sdk: upstash_redis.Redis, ukey: str) -> None:
    assert upstash_sdk.eval("return {KEYS[1], ARGV[1], false}", keys=[ukey], args=["a"]) == [ukey, "a", None]
    sha = upstash_sdk.script_load("return 'loaded'")
    assert upstash_sdk.evalsha(sha) == "loaded"
    assert upstash_sdk.script_exists(sha, "0" * 40) == [True, False]
    assert upstash_sdk.eval_ro("return redis.call('EXISTS', KEYS[1])", keys=[ukey]) == 0
    with pytest.raises(UpstashError, match=r"^NOSCRIPT No matching script"):
        upstash_sdk.evalsha("f" * 40)


def test_sdk_errors_keep_their_prefix(upstash_sdk: upstash_redis.Redis, ukey: str) -> None:
    upstash_sdk.set(ukey, "text")
    with pytest.raises(UpstashError, match=r"^WRONGTYPE "):
        upstash_sdk.hget(ukey, "f")
    with pytest.raises(UpstashError, match=r"^ERR value is not an integer"):
        upstash_sdk.incr(ukey)


def test_pipeline_and_multi(
    upstash_sdk: upstash_redis.Redis, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    pipe = upstash_sdk.pipeline()
    pipe.incr(ukey)
    pipe.expire(ukey, 60)
    pipe.get(f"{ukey}:missing")
    pipe.hset(f"{ukey}:h", values={"f": "v"})
    assert pipe.exec() == [1, True, None, 1]
    tx = upstash_sdk.multi()
    tx.incrby(ukey, 10)
    tx.get(ukey)
    assert tx.exec() == [11, "11"]
    assert upstash_gateway.direct.get(ukey) == b"11"


def test_pipeline_error_slot_raises_in_sdk_but_others_ran(
    upstash_sdk: upstash_redis.Redis, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    upstash_sdk.set(ukey, "text")
    pipe = upstash_sdk.pipeline()
    pipe.set(f"{ukey}:before", "1")
    pipe.hget(ukey, "f")
    pipe.set(f"{ukey}:after", "2")
    with pytest.raises(UpstashError, match=r"^WRONGTYPE "):
        pipe.exec()
    assert upstash_gateway.direct.mget(f"{ukey}:before", f"{ukey}:after") == [b"1", b"2"]


def test_keep_alive_100_sequential_calls_on_one_connection(
    upstash_gateway: UpstashGateway, ukey: str
) -> None:
    with upstash_redis.Redis(url=upstash_gateway.url, token=upstash_gateway.token) as sdk:
        results = [sdk.incr(ukey) for _ in range(100)]
        pool = sdk._http._client._transport._pool  # httpcore pool: how many TCP connections were opened
        assert len(pool.connections) == 1
    assert results == list(range(1, 101))
    assert upstash_gateway.direct.get(ukey) == b"100"


def test_concurrent_calls_from_threads(
    upstash_sdk: upstash_redis.Redis, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        value = upstash_sdk.incr(ukey)
        upstash_sdk.sadd(f"{ukey}:members", str(i))
        with lock:
            seen.append(value)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(200)))
    assert sorted(seen) == list(range(1, 201))  # every INCR answered once, no reply crossed threads
    assert upstash_gateway.direct.get(ukey) == b"200"
    assert upstash_gateway.direct.scard(f"{ukey}:members") == 200


async def test_async_sdk(upstash_gateway: UpstashGateway, ukey: str) -> None:
    import asyncio

    async with upstash_redis.asyncio.Redis(url=upstash_gateway.url, token=upstash_gateway.token) as sdk:
        assert await sdk.set(ukey, UNICODE) is True
        assert await sdk.get(ukey) == UNICODE
        counters = await asyncio.gather(*(sdk.incr(f"{ukey}:n") for _ in range(50)))
        assert sorted(counters) == list(range(1, 51))
        pipe = sdk.pipeline()
        pipe.get(ukey)
        pipe.ping()
        assert await pipe.exec() == [UNICODE, "PONG"]
        with pytest.raises(UpstashError, match=r"^WRONGTYPE "):
            await sdk.hget(ukey, "f")
    assert upstash_gateway.direct.get(f"{ukey}:n") == b"50"

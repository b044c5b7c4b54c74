"""Command counting at ``/_local/stats``: the project's ground truth for Upstash cost."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import upstash_redis

if TYPE_CHECKING:
    from tests.gateways.conftest import UpstashGateway


def stats(client: httpx.Client) -> dict[str, Any]:
    r = client.get("/_local/stats")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def fresh(upstash_http: httpx.Client) -> httpx.Client:
    r = upstash_http.post("/_local/stats/reset")
    assert r.json() == {"result": "OK"}
    assert stats(upstash_http) == {"total": 0, "by_day": {}, "by_command": {}}
    return upstash_http


def test_pipeline_of_three_counts_three_by_name_and_utc_day(fresh: httpx.Client, ukey: str) -> None:
    before = datetime.now(UTC).date().isoformat()
    fresh.post("/pipeline", json=[["INCR", ukey], ["incr", ukey], ["GET", ukey]])
    after = datetime.now(UTC).date().isoformat()
    body = stats(fresh)
    assert set(body) == {"total", "by_day", "by_command"}
    assert body["total"] == 3
    assert body["by_command"] == {"INCR": 2, "GET": 1}
    assert len(body["by_day"]) == 1 and body["by_day"].popitem() in {(before, 3), (after, 3)}


def test_sdk_calls_transactions_and_error_replies_count(
    fresh: httpx.Client, upstash_sdk: upstash_redis.Redis, ukey: str
) -> None:
    upstash_sdk.set(ukey, "v")
    upstash_sdk.get(ukey)
    tx = upstash_sdk.multi()
    tx.incr(f"{ukey}:n")
    tx.expire(f"{ukey}:n", 10)
    tx.exec()
    fresh.post("/", json=["HGET", ukey, "f"])  # WRONGTYPE: Redis still ran it, Upstash still bills it
    fresh.get(f"/get/{ukey}")
    assert stats(fresh)["by_command"] == {"SET": 1, "GET": 2, "INCR": 1, "EXPIRE": 1, "HGET": 1}
    assert stats(fresh)["total"] == 6


def test_rejected_requests_count_nothing(fresh: httpx.Client, upstash_gateway: UpstashGateway) -> None:
    httpx.post(upstash_gateway.url, json=["GET", "k"], headers={"Authorization": "Bearer wrong"})
    httpx.post(f"{upstash_gateway.url}/pipeline", json=[["GET", "k"]] * 3)  # no token at all
    fresh.post("/", json=["BLPOP", "k", 0])  # refused before Redis
    fresh.post("/", content=b"{not json")
    fresh.delete("/get/k")
    fresh.post("/pipeline", json=[])
    assert stats(fresh) == {"total": 0, "by_day": {}, "by_command": {}}


def test_stats_need_the_token(upstash_gateway: UpstashGateway) -> None:
    assert httpx.get(f"{upstash_gateway.url}/_local/stats").status_code == 401
    r = httpx.post(f"{upstash_gateway.url}/_local/stats/reset", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_reset_zeroes_the_counters(upstash_http: httpx.Client) -> None:
    upstash_http.post("/", json=["PING"])
    assert stats(upstash_http)["total"] >= 1
    upstash_http.post("/_local/stats/reset")
    assert stats(upstash_http)["total"] == 0
    assert upstash_http.get("/_local/stats/reset").status_code == 405


def test_aborted_transaction_counts_every_queued_command(fresh: httpx.Client, ukey: str) -> None:
    r = fresh.post("/multi-exec", json=[["SET", ukey, "1"], ["NOSUCHCMD"]])
    assert r.status_code == 400
    # Redis received and queued both before discarding them: count them, as a billing upper bound.
    assert stats(fresh)["by_command"] == {"SET": 1, "NOSUCHCMD": 1}

"""Raw-HTTP conformance of the Upstash gateway against real Redis (PROTOCOLS.md D1 items 1-4, 6-8, 10-11).

Outcomes are read back straight from Redis through ``upstash_gateway.direct``, not inferred from statuses.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

import httpx
import pytest

from devstack.serve import free_port, serve_in_thread
from devstack.upstash_gateway import create_app

if TYPE_CHECKING:
    from tests.gateways.conftest import UpstashGateway

WRONGPASS = (
    "WRONGPASS invalid or missing auth token. "
    "See https://docs.upstash.com/redis/troubleshooting/http_unauthorized for details."
)
B64 = {"Upstash-Encoding": "base64"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def post(client: httpx.Client, path: str, body: object | bytes, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, content=content, headers=headers)


# --- 1. auth ---------------------------------------------------------------------------------------------


def test_good_bearer_token_runs_the_command(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    r = post(upstash_http, "/", ["SET", ukey, "v"])
    assert (r.status_code, r.json()) == (200, {"result": "OK"})
    assert upstash_gateway.direct.get(ukey) == b"v"


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic x", "Bearer"])
def test_bad_or_missing_token_is_401_wrongpass_and_runs_nothing(
    upstash_gateway: UpstashGateway, ukey: str, auth: str | None
) -> None:
    headers = {"Authorization": auth} if auth else {}
    r = httpx.post(upstash_gateway.url, json=["SET", ukey, "v"], headers=headers)
    assert r.status_code == 401
    assert r.json() == {"error": WRONGPASS}
    assert upstash_gateway.direct.exists(ukey) == 0


def test_query_token_authenticates_json_and_path_style(upstash_gateway: UpstashGateway, ukey: str) -> None:
    r = httpx.post(f"{upstash_gateway.url}/?_token={upstash_gateway.token}", json=["SET", ukey, "q"])
    assert r.json() == {"result": "OK"}
    r = httpx.get(f"{upstash_gateway.url}/get/{ukey}", params={"_token": upstash_gateway.token})
    assert r.json() == {"result": "q"}  # and _token was not appended as an argument
    assert httpx.get(f"{upstash_gateway.url}/get/{ukey}?_token=nope").status_code == 401


# --- 2. encoding -----------------------------------------------------------------------------------------


def test_base64_strings_plain_ints_and_nulls(upstash_http: httpx.Client, ukey: str) -> None:
    assert post(upstash_http, "/", ["SET", ukey, "héllo ✓"], **B64).json() == {"result": "OK"}
    assert post(upstash_http, "/", ["GET", ukey], **B64).json() == {"result": b64("héllo ✓")}
    assert post(upstash_http, "/", ["GET", ukey]).json() == {"result": "héllo ✓"}
    assert post(upstash_http, "/", ["INCR", f"{ukey}:n"], **B64).json() == {"result": 1}
    assert post(upstash_http, "/", ["GET", f"{ukey}:missing"], **B64).json() == {"result": None}


def test_ping_is_base64_not_plain_pong(upstash_http: httpx.Client) -> None:
    assert post(upstash_http, "/", ["PING"], **B64).json() == {"result": "UE9ORw=="}
    assert post(upstash_http, "/", ["PING"]).json() == {"result": "PONG"}


def test_nested_arrays_are_encoded_element_wise(upstash_http: httpx.Client, ukey: str) -> None:
    post(upstash_http, "/", ["SET", f"{ukey}:a", "1"])
    r = post(upstash_http, "/", ["SCAN", "0", "MATCH", f"{ukey}:*", "COUNT", 1000], **B64).json()["result"]
    assert r == ["MA==", [b64(f"{ukey}:a")]]
    post(upstash_http, "/", ["HSET", f"{ukey}:h", "f", "v"])
    assert post(upstash_http, "/", ["HGETALL", f"{ukey}:h"], **B64).json() == {"result": [b64("f"), b64("v")]}


def test_invalid_utf8_is_replaced_without_encoding_and_exact_with_it(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    upstash_gateway.direct.set(ukey, b"a\xffb")
    assert post(upstash_http, "/", ["GET", ukey]).json() == {"result": "a\ufffdb"}
    assert base64.b64decode(post(upstash_http, "/", ["GET", ukey], **B64).json()["result"]) == b"a\xffb"


def test_error_text_is_never_base64(upstash_http: httpx.Client, ukey: str) -> None:
    post(upstash_http, "/", ["SET", ukey, "x"])
    r = post(upstash_http, "/", ["INCR", ukey], **B64)
    assert r.json() == {"error": "ERR value is not an integer or out of range"}


# --- 3. errors -------------------------------------------------------------------------------------------


def test_wrongtype_is_400_with_prefix(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    upstash_gateway.direct.set(ukey, "s")
    r = post(upstash_http, "/", ["HGET", ukey, "f"])
    assert r.status_code == 400
    assert r.json() == {"error": "WRONGTYPE Operation against a key holding the wrong kind of value"}


def test_expire_abc_keeps_err_prefix(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    upstash_gateway.direct.set(ukey, "s")
    r = post(upstash_http, "/", ["EXPIRE", ukey, "abc"])
    assert (r.status_code, r.json()) == (400, {"error": "ERR value is not an integer or out of range"})
    assert upstash_gateway.direct.ttl(ukey) == -1


def test_unknown_command_is_400_err(upstash_http: httpx.Client) -> None:
    r = post(upstash_http, "/", ["NOSUCHCMD", "x"])
    assert r.status_code == 400
    assert r.json()["error"].startswith("ERR unknown command")


@pytest.mark.parametrize(
    "body",
    [
        b'{"cmd":"GET"}',
        b'"GET"',
        b"5",
        b"[]",
        b"not json",
        b"",
        b'["GET",null]',
        b'["SET","k",["a"]]',
        b'["SET","k",NaN]',
    ],
)
def test_malformed_bodies_are_400_err(upstash_http: httpx.Client, body: bytes) -> None:
    r = post(upstash_http, "/", body)
    assert r.status_code == 400
    assert r.json()["error"].startswith("ERR ")


@pytest.mark.parametrize(
    "command",
    [
        ["BLPOP", "k", 0], ["BRPOP", "k", 0], ["BZPOPMIN", "k", 0], ["SUBSCRIBE", "c"], ["PSUBSCRIBE", "c*"],
        ["MONITOR"], ["SELECT", 1], ["AUTH", "x"], ["QUIT"], ["WATCH", "k"], ["UNWATCH"], ["DISCARD"],
        ["MULTI"], ["EXEC"], ["HELLO", 3], ["XREAD", "BLOCK", 0, "STREAMS", "s", "$"],
    ],
)  # fmt: skip
def test_blocking_and_connection_state_commands_are_rejected(
    upstash_http: httpx.Client, command: list[object]
) -> None:
    r = post(upstash_http, "/", command)
    assert r.status_code == 400
    assert r.json()["error"].startswith("ERR ")
    # The pooled connection is untouched: still db 0, still RESP2, still answering.
    assert post(upstash_http, "/", ["PING"]).json() == {"result": "PONG"}


def test_rejected_command_inside_a_batch_rejects_the_batch(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    r = post(upstash_http, "/pipeline", [["SET", ukey, "1"], ["SELECT", 2]])
    assert r.status_code == 400
    assert upstash_gateway.direct.exists(ukey) == 0


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_405_json(upstash_http: httpx.Client, method: str) -> None:
    r = upstash_http.request(method, "/get/x")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"].startswith("ERR ")


def test_unknown_local_path_is_404_json(upstash_http: httpx.Client) -> None:
    r = upstash_http.get("/_local/nothing")
    assert (r.status_code, r.json()) == (404, {"error": "ERR not found"})


def test_backend_down_is_500_json() -> None:
    served = serve_in_thread(create_app(token="t", redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        r = httpx.post(served.url, json=["GET", "k"], headers={"Authorization": "Bearer t"})
        assert r.status_code == 500
        assert r.json()["error"].startswith("ERR Redis backend unavailable")
        r = httpx.post(f"{served.url}/pipeline", json=[["GET", "k"]], headers={"Authorization": "Bearer t"})
        assert r.status_code == 500 and "error" in r.json()
    finally:
        served.stop()


# --- 4. argument conversion ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("1.50", b"1.50"), ("1e-07", b"1e-07"), ("60", b"60"), ("-0.0", b"-0.0"), ("12345678901234567890123", b"12345678901234567890123"), ("true", b"true"), ("false", b"false")],
)  # fmt: skip
def test_json_numbers_and_booleans_keep_their_text(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str, raw: str, stored: bytes
) -> None:
    assert post(upstash_http, "/", f'["SET","{ukey}",{raw}]'.encode()).json() == {"result": "OK"}
    assert upstash_gateway.direct.get(ukey) == stored


def test_integer_expire_argument(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    upstash_gateway.direct.set(ukey, "v")
    assert post(upstash_http, "/", b'["EXPIRE","%s",60]' % ukey.encode()).json() == {"result": 1}
    assert 55 <= upstash_gateway.direct.ttl(ukey) <= 60


def test_form_content_type_body_is_still_json(upstash_gateway: UpstashGateway, ukey: str) -> None:
    r = httpx.post(
        upstash_gateway.url,
        content=json.dumps(["SET", ukey, "form"]),
        headers={
            "Authorization": f"Bearer {upstash_gateway.token}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert r.json() == {"result": "OK"}
    assert upstash_gateway.direct.get(ukey) == b"form"


def test_keep_alive_survives_early_answers_with_a_small_body(upstash_gateway: UpstashGateway, ukey: str) -> None:
    """401/405/400 answers leave a small body unread (uvicorn discards it): the connection serves the next call."""
    good = {"Authorization": f"Bearer {upstash_gateway.token}"}
    with httpx.Client(base_url=upstash_gateway.url, timeout=10) as client:
        small = json.dumps(["SET", ukey, "x" * 20_000])
        r = client.post("/", content=small, headers={"Authorization": "Bearer bad"})
        assert r.status_code == 401 and "connection" not in r.headers
        assert client.request("PATCH", "/", content=small, headers=good).status_code == 405
        assert client.post("/", content=b"[" * 1000, headers=good).status_code == 400
        assert client.post("/", json=["SET", ukey, "after"], headers=good).json() == {"result": "OK"}
        assert len(client._transport._pool.connections) == 1  # type: ignore[attr-defined]
    assert upstash_gateway.direct.get(ukey) == b"after"


def test_early_answer_to_a_big_body_closes_the_connection(upstash_gateway: UpstashGateway, ukey: str) -> None:
    """A refused request's big body is never read: the gateway hangs up and the client reconnects."""
    good = {"Authorization": f"Bearer {upstash_gateway.token}"}
    with httpx.Client(base_url=upstash_gateway.url, timeout=10) as client:
        big = json.dumps(["SET", ukey, "x" * 200_000])
        r = client.post("/", content=big, headers={"Authorization": "Bearer bad"})
        assert (r.status_code, r.headers["connection"]) == (401, "close")
        assert client.post("/", json=["SET", ukey, "after"], headers=good).json() == {"result": "OK"}
    assert upstash_gateway.direct.get(ukey) == b"after"

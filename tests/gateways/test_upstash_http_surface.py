"""URL shapes, headers and path-style commands of the Upstash gateway (PROTOCOLS.md D1 items 10-11)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import upstash_redis

if TYPE_CHECKING:
    from tests.gateways.conftest import UpstashGateway

SDK_HEADERS = {
    "Upstash-Encoding": "base64",
    "Upstash-Sync-Token": "",
    "Upstash-Telemetry-Sdk": "py-upstash-redis@v1.8.0, py-upstash-ratelimit@v1.2.0",
    "Upstash-Telemetry-Runtime": "python@v3.11.7",
    "Upstash-Telemetry-Platform": "unknown",
    "Upstash-Telemetry-Retry": "1",
}


def test_empty_sync_token_and_telemetry_headers_are_accepted(upstash_http: httpx.Client, ukey: str) -> None:
    assert upstash_http.post("/", json=["SET", ukey, "h"], headers=SDK_HEADERS).json() == {"result": "OK"}
    r = upstash_http.post(
        "/", json=["GET", ukey], headers={**SDK_HEADERS, "Upstash-Sync-Token": "opaque-123"}
    )
    assert r.json() == {"result": "aA=="}
    assert "upstash-sync-token" not in r.headers  # omitting it is safe for a single linearisable Redis


def test_double_and_trailing_slashes_are_collapsed(upstash_gateway: UpstashGateway, ukey: str) -> None:
    auth = {"Authorization": f"Bearer {upstash_gateway.token}"}
    with httpx.Client(headers=auth) as client:
        r = client.post(f"{upstash_gateway.url}//pipeline", json=[["SET", ukey, "1"], ["INCR", ukey]])
        assert r.json() == [{"result": "OK"}, {"result": 2}]
        r = client.post(f"{upstash_gateway.url}/multi-exec/", json=[["INCR", ukey]])
        assert r.json() == [{"result": 3}]
        assert client.post(f"{upstash_gateway.url}//", json=["GET", ukey]).json() == {"result": "3"}
        assert client.get(f"{upstash_gateway.url}//get//{ukey}/").json() == {"result": "3"}


def test_sdk_with_trailing_slash_url_uses_double_slash_pipeline(
    upstash_gateway: UpstashGateway, ukey: str
) -> None:
    with upstash_redis.Redis(url=upstash_gateway.url + "/", token=upstash_gateway.token) as sdk:
        pipe = sdk.pipeline()
        pipe.set(ukey, "p")
        pipe.get(ukey)
        assert pipe.exec() == [True, "p"]
    assert upstash_gateway.direct.get(ukey) == b"p"


def test_unsupported_response_format_is_refused(upstash_http: httpx.Client) -> None:
    r = upstash_http.post("/", json=["PING"], headers={"Upstash-Response-Format": "resp2"})
    assert r.status_code == 400 and r.json()["error"].startswith("ERR ")
    assert upstash_http.post("/", json=["PING"], headers={"Upstash-Response-Format": "json"}).json() == {
        "result": "PONG"
    }


# --- path-style ------------------------------------------------------------------------------------------


def test_path_style_get_set(upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str) -> None:
    assert upstash_http.get(f"/set/{ukey}/b").json() == {"result": "OK"}
    assert upstash_http.get(f"/get/{ukey}").json() == {"result": "b"}
    assert upstash_http.get(f"/GET/{ukey}", headers={"Upstash-Encoding": "base64"}).json() == {
        "result": "Yg=="
    }
    assert upstash_gateway.direct.get(ukey) == b"b"


def test_path_style_post_body_is_last_then_query_pairs(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    r = upstash_http.post(f"/set/{ukey}?EX=100", content=b'{"json":true}')
    assert r.json() == {"result": "OK"}
    assert upstash_gateway.direct.get(ukey) == b'{"json":true}'
    assert 90 < upstash_gateway.direct.ttl(ukey) <= 100


def test_path_style_put_with_binary_body_and_flag_query(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    assert upstash_http.put(f"/set/{ukey}", content=b"\x00\xff raw").json() == {"result": "OK"}
    assert upstash_gateway.direct.get(ukey) == b"\x00\xff raw"
    r = upstash_http.put(f"/set/{ukey}?NX", content=b"second")  # NX: not applied, key exists
    assert r.json() == {"result": None}
    assert upstash_gateway.direct.get(ukey) == b"\x00\xff raw"


def test_path_style_percent_encoding(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    assert upstash_http.get(f"/set/{ukey}/a%2Fb%20c%C3%A9").json() == {"result": "OK"}
    assert upstash_gateway.direct.get(ukey) == "a/b cé".encode()


def test_path_style_head_answers_without_body(upstash_http: httpx.Client, ukey: str) -> None:
    upstash_http.get(f"/set/{ukey}/v")
    r = upstash_http.head(f"/get/{ukey}")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"] == "application/json"


def test_path_style_error_and_get_root(upstash_http: httpx.Client, ukey: str) -> None:
    upstash_http.get(f"/set/{ukey}/v")
    r = upstash_http.get(f"/incr/{ukey}")
    assert (r.status_code, r.json()) == (400, {"error": "ERR value is not an integer or out of range"})
    r = upstash_http.get("/")
    assert r.status_code == 400 and r.json()["error"].startswith("ERR ")

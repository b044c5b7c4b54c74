"""PostgREST gateway, malformed input: always PostgREST's 4xx, never a 500 (or a 503 blaming the database).

Each case was once a crash: deep JSON hit RecursionError, ``offset=²`` passed ``isdigit()`` then failed
``int()``, invalid UTF-8 failed ``bytes.decode()``, and psycopg's refusal of a NUL byte carries no SQLSTATE,
so it read as a lost connection. Randomised inputs live in test_gateway_fuzz.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from tests.gateways.conftest import PostgrestGateway

NUL = {"code": "22021", "details": None, "hint": None, "message": 'invalid byte sequence for encoding "UTF8": 0x00'}


@pytest.fixture(scope="module")
def rest(postgrest_gateway: PostgrestGateway) -> Iterator[httpx.Client]:
    key = postgrest_gateway.service_key
    headers = {"apikey": key, "Authorization": f"Bearer {key}", "Accept-Profile": "gw", "Content-Profile": "gw"}
    with httpx.Client(base_url=f"{postgrest_gateway.url}/rest/v1", headers=headers, timeout=10) as client:
        yield client


def error(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert r.headers["proxy-status"] == f"PostgREST; error={code}"
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", ["/rpc/ret_json", "/events"])
def test_deeply_nested_json_is_pgrst102(rest: httpx.Client, path: str) -> None:
    depth = 100_000
    body = b'{"p":' + b"[" * depth + b"]" * depth + b"}"
    error(rest.post(path, content=body, headers={"Content-Type": "application/json"}), 400, "PGRST102")


@pytest.mark.parametrize("param", ["offset", "limit"])
@pytest.mark.parametrize("value", ["²", "٣", "1²", "-1", "1.5", " "])
def test_non_ascii_digits_in_limit_and_offset_are_pgrst100(rest: httpx.Client, param: str, value: str) -> None:
    body = error(rest.get("/events", params={param: value}), 400, "PGRST100")
    assert str(body["message"]).startswith(f'"failed to parse {param}')
    error(rest.get("/rpc/ret_ints", params={"n": "3", param: value}), 400, "PGRST100")


def test_invalid_utf8_json_body_is_pgrst102(rest: httpx.Client) -> None:
    for body in (b'{"a":1,"b":"\xff"}', b'{"a":1,"b":"\xed\xa0\x80"}'):  # a stray byte, an encoded surrogate
        error(rest.post("/rpc/add_them", content=body, headers={"Content-Type": "application/json"}), 400, "PGRST102")
    error(rest.post("/events", content=b'{"id":1,"kind":"\xc3"}'), 400, "PGRST102")


def test_invalid_utf8_text_body_is_postgres_22021(rest: httpx.Client) -> None:
    """A text/plain body is the function's text argument: PostgreSQL's own encoding error, 400."""
    r = rest.post("/rpc/shout", content=b"caf\xe9", headers={"Content-Type": "text/plain"})
    assert error(r, 400, "22021")["message"] == 'invalid byte sequence for encoding "UTF8": 0xe9'
    r = rest.post("/rpc/shout", content=b"a\x00b", headers={"Content-Type": "text/plain"})
    assert r.json() == NUL
    assert rest.post("/rpc/shout", content="café".encode(), headers={"Content-Type": "text/plain"}).json() == "CAFÉ"


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/events", {"kind": "eq.\x00"}),
        ("GET", "/events", {"kind": "in.(a,\x00)"}),
        ("GET", "/events", {"select": "id\x00"}),
        ("DELETE", "/events", {"kind": "like.*\x00*"}),
        ("GET", "/rpc/greet", {"name": "a\x00b"}),
        ("POST", "/rpc/greet", {"name": "not.eq.\x00"}),
        ("GET", "/ev\x00ents", {}),
        ("POST", "/rpc/gr\x00eet", {}),
    ],
)  # fmt: skip
def test_nul_anywhere_in_the_url_is_postgres_22021_not_a_connection_error(
    rest: httpx.Client, method: str, path: str, params: dict[str, str]
) -> None:
    r = rest.request(method, path.replace("\x00", "%00"), params=params, json={} if method == "POST" else None)
    assert (r.status_code, r.json()) == (400, NUL)


def test_lone_surrogate_key_is_reported_not_crashed_on(rest: httpx.Client) -> None:
    r = rest.post("/rpc/add_them", content=b'{"\\ud800": 1}', headers={"Content-Type": "application/json"})
    assert error(r, 404, "PGRST202")["message"] == "Could not find the function gw.add_them(\ud800) in the schema cache"
    r = rest.post("/events", content=b'{"\\ud800": 1}', headers={"Content-Type": "application/json"})
    error(r, 400, "PGRST204")

"""PostgREST gateway, header and query-string tolerance (PROTOCOLS D2.7, B2, B7 encoding)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from tests.gateways.conftest import PostgrestGateway


@pytest.fixture
def spaced(postgrest_gateway: PostgrestGateway, gw_table: str) -> str:
    postgrest_gateway.sql(f"INSERT INTO gw.{gw_table} (id, kind) VALUES (1, 'a b'), (2, 'a+b'), (3, 'a b,c')")
    return gw_table


def test_duplicate_and_mixed_case_headers(postgrest_gateway: PostgrestGateway) -> None:
    gw = postgrest_gateway
    headers = [("apiKey", gw.service_key), ("apikey", gw.service_key), ("X-Client-Info", "supabase-py/2.34.1"),
               ("x-client-info", "supabase-py/2.34.1"), ("AUTHORIZATION", f"Bearer {gw.service_key}"),
               ("Content-Profile", "gw"), ("content-type", "application/json")]
    r = httpx.post(f"{gw.url}/rest/v1/rpc/add_them", content=b'{"a":2,"b":3}', headers=headers)
    assert (r.status_code, r.json()) == (200, 5)


def test_api_key_as_url_param(postgrest_gateway: PostgrestGateway) -> None:
    r = httpx.post(f"{postgrest_gateway.url}/rest/v1/rpc/greet", params={"apikey": postgrest_gateway.anon_key},
                   json={"name": "url"})
    assert (r.status_code, r.json()) == (200, "Hello url")


def test_profile_header_depends_on_method(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    base = {"apikey": gw.service_key}
    # POST reads Content-Profile (gw) and ignores Accept-Profile.
    r = httpx.post(f"{gw.url}/rest/v1/{gw_table}", json={"id": 9},
                   headers={**base, "Content-Profile": "gw", "Accept-Profile": "gw_private"})
    assert r.status_code == 201
    assert gw.sql(f"SELECT id FROM gw.{gw_table}") == [(9,)]
    # GET reads Accept-Profile and ignores Content-Profile.
    r = httpx.get(f"{gw.url}/rest/v1/{gw_table}?select=id",
                  headers={**base, "Accept-Profile": "gw", "Content-Profile": "gw_private"})
    assert (r.status_code, r.json()) == (200, [{"id": 9}])
    r = httpx.get(f"{gw.url}/rest/v1/{gw_table}", headers={**base, "Accept-Profile": "gw_private"})
    assert (r.status_code, r.json()["code"]) == (404, "PGRST205")


def test_plus_is_space_and_encoded_plus_is_plus(postgrest_gateway: PostgrestGateway, spaced: str) -> None:
    gw = postgrest_gateway
    url, headers = f"{gw.url}/rest/v1/{spaced}?select=id&kind=", {"apikey": gw.service_key}
    assert httpx.get(url + "eq.a+b", headers=headers).json() == [{"id": 1}]
    assert httpx.get(url + "eq.a%2Bb", headers=headers).json() == [{"id": 2}]
    sb = gw.client()
    assert sb.table(spaced).select("id").eq("kind", "a+b").execute().data == [{"id": 2}]
    assert sb.table(spaced).select("id").eq("kind", "a b,c").execute().data == [{"id": 3}]


def test_user_token_and_anon_key(postgrest_gateway: PostgrestGateway) -> None:
    gw = postgrest_gateway
    token = gw.key("authenticated", sub="00000000-0000-0000-0000-00000000abcd", email="u@example.com")
    r = httpx.post(f"{gw.url}/rest/v1/rpc/whoami", json={},
                   headers={"apikey": gw.anon_key, "Authorization": f"Bearer {token}"})
    body = r.json()
    assert body["current_user"] == "authenticated"
    assert body["auth_uid"] == "00000000-0000-0000-0000-00000000abcd"
    assert body["claims"]["email"] == "u@example.com"


def test_connection_reuse_and_concurrency(postgrest_gateway: PostgrestGateway) -> None:
    """100 sequential calls on one keep-alive client, then 20 concurrent ones from threads."""
    from concurrent.futures import ThreadPoolExecutor

    sb = postgrest_gateway.client()
    assert [sb.rpc("add_them", {"a": i, "b": 1}).execute().data for i in range(100)] == list(range(1, 101))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: postgrest_gateway.client().rpc("bump", {"k": "threads"}).execute().data,
                                range(20)))
    assert sorted(results) == list(range(1, 21))
    assert postgrest_gateway.sql("SELECT n FROM gw.counters WHERE k = 'threads'") == [(20,)]

"""PostgREST gateway, RPC (PROTOCOLS D2.1-D2.4): the real supabase-py over HTTP against PostgreSQL 16."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from postgrest import APIError

if TYPE_CHECKING:
    import supabase

    from tests.gateways.conftest import PostgrestGateway


def _rpc_url(gw: PostgrestGateway, fn: str) -> str:
    return f"{gw.url}/rest/v1/rpc/{fn}"


def _headers(gw: PostgrestGateway, **extra: str) -> dict[str, str]:
    return {"apikey": gw.service_key, "Authorization": f"Bearer {gw.service_key}", **extra}


# D2.1 arguments ---------------------------------------------------------------------------------------------

def test_scalar_result_and_headers(postgrest_gateway: PostgrestGateway) -> None:
    assert postgrest_gateway.client().rpc("add_them", {"a": 1, "b": 2}).execute().data == 3
    r = httpx.post(_rpc_url(postgrest_gateway, "add_them"), json={"a": 1, "b": 2}, headers=_headers(postgrest_gateway))
    assert (r.status_code, r.text, r.headers["content-range"]) == (200, "3", "0-0/*")
    assert r.headers["content-type"] == "application/json; charset=utf-8"


def test_default_argument_omitted_given_and_no_params(postgrest_gateway: PostgrestGateway) -> None:
    sb = postgrest_gateway.client()
    assert sb.rpc("greet", {}).execute().data == "Hello guest"
    assert sb.rpc("greet", {"name": "Ann"}).execute().data == "Hello Ann"
    assert sb.rpc("add_default", {"a": 1}).execute().data == 11
    assert sb.rpc("add_default", {"a": 1, "b": 2}).execute().data == 3


def test_prefer_timezone(postgrest_gateway: PostgrestGateway) -> None:
    url, body = _rpc_url(postgrest_gateway, "echo_ts"), {"t": "2024-01-02T03:04:05+00:00"}
    r = httpx.post(url, json=body, headers=_headers(postgrest_gateway, Prefer="timezone=Asia/Tokyo"))
    assert r.json() == "2024-01-02T12:04:05+09:00"
    r = httpx.post(url, json=body, headers=_headers(postgrest_gateway, Prefer="timezone=Not/AZone"))
    assert r.json() == "2024-01-02T03:04:05+00:00"


def test_postgres_json_coercion(postgrest_gateway: PostgrestGateway) -> None:
    sb = postgrest_gateway.client()
    assert sb.rpc("add_them", {"a": "7", "b": 1}).execute().data == 8
    assert sb.rpc("arr_sum", {"xs": [1, 2, 3]}).execute().data == 6
    ts = sb.rpc("echo_ts", {"t": "2024-01-02T03:04:05.123456+02:00"}).execute().data
    assert ts == "2024-01-02T01:04:05.123456+00:00"  # TimeZone=UTC, as on Supabase


@pytest.mark.parametrize("value", ["x", 1.5])
def test_bad_integer_is_22P02(postgrest_gateway: PostgrestGateway, value: object) -> None:
    with pytest.raises(APIError) as e:
        postgrest_gateway.client().rpc("add_them", {"a": value, "b": 1}).execute()
    assert e.value.code == "22P02"
    assert e.value.message == f'invalid input syntax for type integer: "{value}"'
    r = httpx.post(_rpc_url(postgrest_gateway, "add_them"), json={"a": value, "b": 1},
                   headers=_headers(postgrest_gateway))
    assert r.status_code == 400 and r.headers["proxy-status"] == "PostgREST; error=22P02"


def test_extra_key_is_pgrst202(postgrest_gateway: PostgrestGateway) -> None:
    with pytest.raises(APIError) as e:
        postgrest_gateway.client().rpc("add_them", {"a": 1, "c": 3, "b": 2}).execute()
    assert e.value.code == "PGRST202"
    assert e.value.message == "Could not find the function gw.add_them(a, b, c) in the schema cache"
    assert e.value.details == ("Searched for the function gw.add_them with parameters a, b, c or with a single "
                               "unnamed json/jsonb parameter, but no matches were found in the schema cache.")
    assert e.value.hint == "Perhaps you meant to call the function gw.add_them(a, b)"


def test_unknown_function_messages(postgrest_gateway: PostgrestGateway) -> None:
    r = httpx.post(_rpc_url(postgrest_gateway, "nofn"), json={"a": 1}, headers=_headers(postgrest_gateway))
    assert r.status_code == 404
    assert r.json() == {
        "code": "PGRST202",
        "details": "Searched for the function gw.nofn with parameter a or with a single unnamed json/jsonb "
                   "parameter, but no matches were found in the schema cache.",
        "hint": None,
        "message": "Could not find the function gw.nofn(a) in the schema cache",
    }
    with pytest.raises(APIError) as e:
        postgrest_gateway.client().rpc("add_thme", {}).execute()
    assert e.value.message == "Could not find the function gw.add_thme without parameters in the schema cache"
    assert e.value.hint == "Perhaps you meant to call the function gw.add_them"


def test_overloads_matching_the_same_keys_are_300(postgrest_gateway: PostgrestGateway) -> None:
    with pytest.raises(APIError) as e:
        postgrest_gateway.client().rpc("ov", {"a": 1}).execute()
    assert e.value.code == "PGRST203"
    assert e.value.message.startswith("Could not choose the best candidate function between: gw.ov(a => ")


def test_variadic_parameter(postgrest_gateway: PostgrestGateway) -> None:
    assert postgrest_gateway.client().rpc("var_sum", {"xs": [4, 5]}).execute().data == 9


def test_single_unnamed_text_parameter_takes_a_plain_body(postgrest_gateway: PostgrestGateway) -> None:
    r = httpx.post(_rpc_url(postgrest_gateway, "shout"), content="héllo".encode(),
                   headers=_headers(postgrest_gateway, **{"Content-Type": "text/plain"}))
    assert (r.status_code, r.json()) == (200, "HÉLLO")


# D2.2 void --------------------------------------------------------------------------------------------------

def test_void_is_204_without_body(postgrest_gateway: PostgrestGateway) -> None:
    res = postgrest_gateway.client().rpc("ret_void", {"x": 41}).execute()
    assert res.data == []
    r = httpx.post(_rpc_url(postgrest_gateway, "ret_void"), json={"x": 42}, headers=_headers(postgrest_gateway))
    assert (r.status_code, r.content, r.headers["content-range"]) == (204, b"", "0-0/*")
    assert "content-type" not in r.headers
    assert postgrest_gateway.sql("SELECT x FROM gw.void_calls WHERE x IN (41, 42) ORDER BY x") == [(41,), (42,)]


# D2.3 return shapes -----------------------------------------------------------------------------------------

def test_return_shapes(postgrest_gateway: PostgrestGateway) -> None:
    gw = postgrest_gateway
    gw.sql("INSERT INTO gw.events (id, created_at, kind, meta) VALUES (900, '2024-03-01T00:00:00Z', 'shape', "
           "'{\"k\": 1}') ON CONFLICT DO NOTHING")
    sb = gw.client()
    doc = {"a": [1, {"b": None}], "s": "é ✓", "n": 1.5}
    assert sb.rpc("ret_json", {"p": doc}).execute().data == doc
    assert sb.rpc("ret_table", {"n": 2}).execute().data == [{"i": 1, "sq": 1}, {"i": 2, "sq": 4}]
    assert sb.rpc("ret_ints", {"n": 3}).execute().data == [1, 2, 3]
    row = sb.rpc("ret_row", {"p_id": 900}).execute().data
    assert row == {"id": 900, "created_at": "2024-03-01T00:00:00+00:00", "kind": "shape", "meta": {"k": 1}}
    assert sb.rpc("ret_row", {"p_id": -1}).execute().data == {"id": None, "created_at": None, "kind": None,
                                                              "meta": None}
    ids = [e["id"] for e in sb.rpc("ret_events", {}).execute().data]
    assert 900 in ids and ids == sorted(ids)
    assert sb.rpc("single_json", {"x": 4, "y": 2}).execute().data == 8


def test_set_content_range(postgrest_gateway: PostgrestGateway) -> None:
    r = httpx.post(_rpc_url(postgrest_gateway, "ret_ints"), json={"n": 3}, headers=_headers(postgrest_gateway))
    assert (r.json(), r.headers["content-range"]) == ([1, 2, 3], "0-2/*")
    r = httpx.post(_rpc_url(postgrest_gateway, "ret_ints"), json={"n": 0}, headers=_headers(postgrest_gateway))
    assert (r.json(), r.headers["content-range"]) == ([], "*/*")


# D2.4 count, filters, GET ------------------------------------------------------------------------------------

def test_count_and_filters_on_set_returning_rpc(postgrest_gateway: PostgrestGateway) -> None:
    sb = postgrest_gateway.client()
    res = sb.rpc("ret_table", {"n": 5}, count="exact").execute()
    assert (res.count, len(res.data)) == (5, 5)
    res = sb.rpc("ret_table", {"n": 6}).select("sq").gt("i", 3).order("i", desc=True).limit(2).execute()
    assert res.data == [{"sq": 36}, {"sq": 25}]
    res = sb.rpc("ret_table", {"n": 6}, count="exact").gt("i", 3).limit(1).execute()
    assert (res.data, res.count) == ([{"i": 4, "sq": 16}], 3)
    assert sb.rpc("ret_ints", {"n": 5}).gte("ret_ints", 4).execute().data == [4, 5]


def test_single_on_rpc(postgrest_gateway: PostgrestGateway) -> None:
    sb = postgrest_gateway.client()
    assert sb.rpc("ret_table", {"n": 3}).eq("i", 2).single().execute().data == {"i": 2, "sq": 4}
    with pytest.raises(APIError) as e:
        sb.rpc("ret_table", {"n": 3}).single().execute()
    assert (e.value.code, e.value.details) == ("PGRST116", "The result contains 3 rows")


def test_get_passes_query_args(postgrest_gateway: PostgrestGateway) -> None:
    sb = postgrest_gateway.client()
    assert sb.rpc("add_them", {"a": 2, "b": 5}, get=True).execute().data == 7
    assert sb.rpc("arr_sum", {"xs": [1, 2, 3]}, get=True).execute().data == 6
    assert sb.rpc("json_key", {"obj": {"k": 4}}, get=True).execute().data == 4
    assert sb.rpc("ret_table", {"n": 4}, get=True).gt("i", 2).execute().data == [{"i": 3, "sq": 9},
                                                                                  {"i": 4, "sq": 16}]
    res = sb.rpc("ret_ints", {"n": 4}, head=True, count="exact").execute()
    assert (res.count, res.data) == (4, [])


def test_volatile_function_via_get_is_405(postgrest_gateway: PostgrestGateway) -> None:
    gw = postgrest_gateway
    with pytest.raises(APIError) as e:
        gw.client().rpc("bump", {"k": "via-get"}, get=True).execute()
    assert (e.value.code, e.value.message) == ("25006", "cannot execute INSERT in a read-only transaction")
    r = httpx.get(_rpc_url(gw, "bump"), params={"k": "via-get"}, headers=_headers(gw))
    assert r.status_code == 405
    assert gw.sql("SELECT count(*) FROM gw.counters WHERE k = 'via-get'") == [(0,)]
    assert gw.client().rpc("bump", {"k": "via-post"}).execute().data == 1
    assert gw.sql("SELECT n FROM gw.counters WHERE k = 'via-post'") == [(1,)]


def test_request_context_gucs(postgrest_gateway: PostgrestGateway) -> None:
    gw = postgrest_gateway
    info = gw.client(gw.anon_key).rpc("whoami", {}).execute().data
    assert info["current_user"] == "anon" and info["auth_role"] == "anon"
    assert info["claims"]["role"] == "anon" and info["claims"]["iss"] == "tierwatch-local"
    assert (info["method"], info["path"]) == ("POST", "/rpc/whoami")
    assert info["headers"]["accept-profile"] == "gw"
    assert info["search_path"] == '"gw", "public", "extensions"'
    assert (info["statement_timeout"], info["read_only"], info["timezone"]) == ("3s", "off", "UTC")
    user = gw.key("authenticated", sub="7d2c0e3a-3f36-4a8e-9d8e-2f1c7a0b9e11")
    sb = supabase_user_client(gw, user)
    info = sb.rpc("whoami", {}, get=True).execute().data
    assert info["current_user"] == "authenticated" and info["auth_uid"] == "7d2c0e3a-3f36-4a8e-9d8e-2f1c7a0b9e11"
    assert (info["method"], info["read_only"], info["statement_timeout"]) == ("GET", "on", "8s")


def supabase_user_client(gw: PostgrestGateway, token: str) -> supabase.Client:
    """A client whose apikey is the anon key and whose bearer is a signed-in user's token (as after sign-in)."""
    sb = gw.client(gw.anon_key)
    sb.postgrest.auth(token)
    return sb

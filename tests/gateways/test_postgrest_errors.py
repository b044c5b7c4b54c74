"""PostgREST gateway, errors and auth (PROTOCOLS D2.5, B2, B6): statuses, bodies, Proxy-Status, APIError."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
import supabase
from postgrest import APIError

if TYPE_CHECKING:
    from tests.gateways.conftest import PostgrestGateway


def _post(gw: PostgrestGateway, path: str, *, key: str | None = None, **kwargs: object) -> httpx.Response:
    key = key or gw.service_key
    headers = {"apikey": key, "Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.post(f"{gw.url}/rest/v1{path}", headers=headers, **kwargs)  # type: ignore[arg-type]


def _assert_pgrst_shape(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    body = r.json()
    assert r.status_code == status
    assert set(body) == {"code", "details", "hint", "message"} and body["code"] == code
    assert r.headers["proxy-status"] == f"PostgREST; error={code}"
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    return body  # type: ignore[no-any-return]


def test_raise_exception_with_detail_and_hint(postgrest_gateway: PostgrestGateway) -> None:
    with pytest.raises(APIError) as e:
        postgrest_gateway.client().rpc("boom", {"msg": "nope"}).execute()
    assert (e.value.code, e.value.message, e.value.details, e.value.hint) == (
        "P0001", "nope", "some detail", "some hint")
    body = _assert_pgrst_shape(_post(postgrest_gateway, "/rpc/boom", json={"msg": "nope"}), 400, "P0001")
    assert body == {"code": "P0001", "details": "some detail", "hint": "some hint", "message": "nope"}


def test_custom_pt_status(postgrest_gateway: PostgrestGateway) -> None:
    body = _assert_pgrst_shape(_post(postgrest_gateway, "/rpc/boom_pt", json={}), 402, "PT402")
    assert body["message"] == "payment required"


def test_raise_pgrst_gives_full_control(postgrest_gateway: PostgrestGateway) -> None:
    r = _post(postgrest_gateway, "/rpc/boom_pgrst", json={})
    assert r.status_code == 418 and r.headers["x-teapot"] == "yes"
    assert r.json() == {"code": "TW001", "details": "d", "hint": "h", "message": "custom failure"}


def test_unique_violation_is_409_and_rolled_back(postgrest_gateway: PostgrestGateway) -> None:
    gw = postgrest_gateway
    gw.client().rpc("insert_event", {"p_id": 4242}).execute()
    with pytest.raises(APIError) as e:
        gw.client().rpc("insert_event", {"p_id": 4242}).execute()
    assert (e.value.code, e.value.details) == ("23505", "Key (id)=(4242) already exists.")
    _assert_pgrst_shape(_post(gw, "/rpc/insert_event", json={"p_id": 4242}), 409, "23505")
    assert gw.sql("SELECT count(*) FROM gw.events WHERE id = 4242") == [(1,)]


def test_undefined_function_inside_is_404(postgrest_gateway: PostgrestGateway) -> None:
    body = _assert_pgrst_shape(_post(postgrest_gateway, "/rpc/call_missing", json={}), 404, "42883")
    assert body["message"] == "function gw.no_such_function(integer) does not exist"


def test_query_canceled_is_500(postgrest_gateway: PostgrestGateway) -> None:
    body = _assert_pgrst_shape(_post(postgrest_gateway, "/rpc/self_cancel", json={}), 500, "57014")
    assert body["message"] == "canceling statement due to user request"


def test_role_statement_timeout_is_applied(postgrest_gateway: PostgrestGateway) -> None:
    """Per-role settings (ALTER ROLE ... SET statement_timeout) apply as PostgREST applies them."""
    slow_key = postgrest_gateway.key("gw_slow")
    assert postgrest_gateway.client(slow_key).rpc("whoami", {}).execute().data["statement_timeout"] == "200ms"
    with pytest.raises(APIError) as e:
        postgrest_gateway.client(slow_key).rpc("slow", {"secs": 2}).execute()
    assert (e.value.code, e.value.message) == ("57014", "canceling statement due to statement timeout")
    assert postgrest_gateway.client(slow_key).rpc("slow", {"secs": 0}).execute().data == 1


def test_anon_calling_service_role_function_is_401(postgrest_gateway: PostgrestGateway) -> None:
    gw = postgrest_gateway
    assert gw.client().rpc("svc_only", {}).execute().data == "secret"
    with pytest.raises(APIError) as e:
        gw.client(gw.anon_key).rpc("svc_only", {}).execute()
    assert (e.value.code, e.value.message) == ("42501", "permission denied for function svc_only")
    r = _post(gw, "/rpc/svc_only", key=gw.anon_key, json={})
    _assert_pgrst_shape(r, 401, "42501")
    assert r.headers["www-authenticate"] == "Bearer"


def test_service_role_without_grant_is_403(postgrest_gateway: PostgrestGateway) -> None:
    r = _post(postgrest_gateway, "/rpc/admin_only", json={})
    _assert_pgrst_shape(r, 403, "42501")
    assert "www-authenticate" not in r.headers


def test_role_claim_that_does_not_exist_is_401(postgrest_gateway: PostgrestGateway) -> None:
    body = _assert_pgrst_shape(_post(postgrest_gateway, "/rpc/greet", key=postgrest_gateway.key("ghost"), json={}),
                               401, "22023")
    assert body["message"] == 'role "ghost" does not exist'


def test_unexposed_schema_is_406(postgrest_gateway: PostgrestGateway) -> None:
    with pytest.raises(APIError) as e:
        postgrest_gateway.client(schema="secret").rpc("greet", {}).execute()
    assert (e.value.code, e.value.message) == ("PGRST106", "Invalid schema: secret")
    assert e.value.hint == "Only the following schemas are exposed: gw, gw_private, public"
    r = httpx.get(f"{postgrest_gateway.url}/rest/v1/events", headers={
        "apikey": postgrest_gateway.service_key, "Accept-Profile": "secret"})
    _assert_pgrst_shape(r, 406, "PGRST106")


def test_missing_api_key_is_kong_401(postgrest_gateway: PostgrestGateway) -> None:
    r = httpx.post(f"{postgrest_gateway.url}/rest/v1/rpc/greet", json={})
    assert r.status_code == 401
    assert r.json() == {"message": "No API key found in request",
                        "hint": "No `apikey` request header or url param was found."}
    r = httpx.post(f"{postgrest_gateway.url}/rest/v1/rpc/greet", json={},
                   headers={"Authorization": f"Bearer {postgrest_gateway.service_key}"})
    assert r.status_code == 401 and r.json()["message"] == "No API key found in request"


def test_unknown_api_key_is_kong_401(postgrest_gateway: PostgrestGateway) -> None:
    forged = postgrest_gateway.service_key[:-4] + "AAAA"
    sb = supabase.create_client(postgrest_gateway.url, forged, options=supabase.ClientOptions(schema="gw"))
    with pytest.raises(APIError) as e:
        sb.rpc("greet", {}).execute()
    assert (e.value.code, e.value.message) == (None, "Invalid API key")
    assert e.value.hint == "Double check your Supabase `anon` or `service_role` API key."


def test_bad_bearer_token_is_pgrst301(postgrest_gateway: PostgrestGateway) -> None:
    gw = postgrest_gateway
    r = httpx.post(f"{gw.url}/rest/v1/rpc/greet", json={}, headers={
        "apikey": gw.anon_key, "Authorization": "Bearer " + gw.key("authenticated")[:-3] + "xyz"})
    body = _assert_pgrst_shape(r, 401, "PGRST301")
    assert body["message"] == "JWT cryptographic operation failed"
    expired = gw.key("authenticated", exp=1)
    r = httpx.post(f"{gw.url}/rest/v1/rpc/greet", json={}, headers={
        "apikey": gw.anon_key, "Authorization": f"Bearer {expired}"})
    assert _assert_pgrst_shape(r, 401, "PGRST303")["message"] == "JWT expired"


def test_invalid_json_body_is_pgrst102(postgrest_gateway: PostgrestGateway) -> None:
    r = _post(postgrest_gateway, "/rpc/add_them", content=b'{"a":1,', headers={"Content-Type": "application/json"})
    body = _assert_pgrst_shape(r, 400, "PGRST102")
    assert body["message"] == "Empty or invalid json"


def test_rpc_method_and_path_errors(postgrest_gateway: PostgrestGateway) -> None:
    gw = postgrest_gateway
    headers = {"apikey": gw.service_key}
    r = httpx.patch(f"{gw.url}/rest/v1/rpc/greet", json={}, headers=headers)
    assert _assert_pgrst_shape(r, 405, "PGRST101")["message"] == "Cannot use the PATCH method on RPC"
    r = httpx.get(f"{gw.url}/rest/v1/a/b/c", headers=headers)
    assert _assert_pgrst_shape(r, 404, "PGRST125")["message"] == "Invalid path specified in request URL"
    r = httpx.get(f"{gw.url}/rest/v1/events?id=noop.0", headers=headers)
    body = _assert_pgrst_shape(r, 400, "PGRST100")
    assert body["details"] == "unknown single value operator noop"
    r = httpx.get(f"{gw.url}/rest/v1/events?or=(id.eq.1,id.eq.2)", headers=headers)
    _assert_pgrst_shape(r, 400, "PGRST100")
    r = httpx.get(f"{gw.url}/rest/v1/events", headers={**headers, "Accept": "text/csv"})
    assert _assert_pgrst_shape(r, 406, "PGRST107")["message"] == "None of these media types are available: text/csv"


def test_sdk_error_fields_match_the_body(postgrest_gateway: PostgrestGateway) -> None:
    with pytest.raises(APIError) as e:
        postgrest_gateway.client().rpc("boom_pt", {}).execute()
    raw = _post(postgrest_gateway, "/rpc/boom_pt", json={}).json()
    assert e.value.json() == {"message": raw["message"], "code": raw["code"], "hint": raw["hint"],
                              "details": raw["details"]}

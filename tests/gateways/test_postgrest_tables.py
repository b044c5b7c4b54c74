"""PostgREST gateway, table operations supabase-py sends (PROTOCOLS D2.6, B7), read back with psycopg.

Each test gets its own ``gw`` table from the ``gw_table`` fixture: id bigint PK, created_at timestamptz
NOT NULL DEFAULT now(), kind text, meta jsonb, qty int DEFAULT 7.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from postgrest import APIError

if TYPE_CHECKING:
    from tests.gateways.conftest import PostgrestGateway

TS = "2024-03-01T00:00:00+00:00"


def _seed(gw: PostgrestGateway, table: str, n: int) -> None:
    gw.sql(f"INSERT INTO gw.{table} (id, created_at, kind) "
           f"SELECT g, '2024-01-01'::timestamptz + g * interval '1 day', 'k' || (g % 2) FROM generate_series(1, {n}) g")


def _headers(gw: PostgrestGateway, **extra: str) -> dict[str, str]:
    return {"apikey": gw.service_key, "Authorization": f"Bearer {gw.service_key}", "Accept-Profile": "gw",
            "Content-Profile": "gw", **extra}


def test_insert_single_returns_201_representation(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    res = gw.client().table(gw_table).insert({"id": 3, "created_at": TS, "meta": {"k": 1}}).execute()
    assert res.data == [{"id": 3, "created_at": TS, "kind": None, "meta": {"k": 1}, "qty": 7}]
    r = httpx.post(f"{gw.url}/rest/v1/{gw_table}", json={"id": 4}, headers=_headers(
        gw, Prefer="return=representation"))
    assert (r.status_code, r.headers["content-range"]) == (201, "*/*")
    assert r.headers["preference-applied"] == "return=representation"
    assert gw.sql(f"SELECT id, meta, qty FROM gw.{gw_table} ORDER BY id") == [(3, {"k": 1}, 7), (4, None, 7)]


def test_bulk_insert_missing_keys_are_null_not_default(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    rows = [{"id": 1, "created_at": TS}, {"id": 2, "kind": "x"}]
    with pytest.raises(APIError) as e:
        gw.client().table(gw_table).insert(rows).execute()
    assert e.value.code == "23502"
    assert e.value.message == f'null value in column "created_at" of relation "{gw_table}" violates not-null constraint'
    assert gw.sql(f"SELECT count(*) FROM gw.{gw_table}") == [(0,)]
    res = gw.client().table(gw_table).insert(rows, default_to_null=False).execute()
    assert [r["id"] for r in res.data] == [1, 2]
    got = gw.sql(f"SELECT id, created_at IS NOT NULL, kind, qty FROM gw.{gw_table} ORDER BY id")
    assert got == [(1, True, None, 7), (2, True, "x", 7)]


def test_bulk_insert_with_same_keys_and_count(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    rows = [{"id": i, "kind": f"k{i}", "qty": None} for i in (1, 2, 3)]
    res = gw.client().table(gw_table).insert(rows, count="exact").execute()
    assert (res.count, len(res.data)) == (3, 3)
    assert gw.sql(f"SELECT id, kind, qty FROM gw.{gw_table} ORDER BY id") == [(1, "k1", None), (2, "k2", None),
                                                                              (3, "k3", None)]


def test_duplicate_is_409_and_minimal_is_empty(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    res = gw.client().table(gw_table).insert({"id": 1, "kind": "first"}, returning="minimal").execute()
    assert res.data == []
    r = httpx.post(f"{gw.url}/rest/v1/{gw_table}", json={"id": 2}, headers=_headers(gw, Prefer="return=minimal"))
    assert (r.status_code, r.content) == (201, b"") and "content-type" not in r.headers
    with pytest.raises(APIError) as e:
        gw.client().table(gw_table).insert({"id": 1, "kind": "again"}).execute()
    assert (e.value.code, e.value.details) == ("23505", "Key (id)=(1) already exists.")
    assert gw.sql(f"SELECT id, kind FROM gw.{gw_table} ORDER BY id") == [(1, "first"), (2, None)]


def test_upsert_merge_and_ignore(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    url, body = f"{gw.url}/rest/v1/{gw_table}?on_conflict=id", [{"id": 1, "kind": "a"}]
    prefer = "return=representation,resolution=merge-duplicates"
    r = httpx.post(url, json=body, headers=_headers(gw, Prefer=prefer))
    assert r.status_code == 201
    r = httpx.post(url, json=[{"id": 1, "kind": "b"}], headers=_headers(gw, Prefer=prefer))
    assert (r.status_code, r.json()[0]["kind"]) == (200, "b")
    res = gw.client().table(gw_table).upsert([{"id": 1, "kind": "c"}, {"id": 2, "kind": "d"}],
                                             on_conflict="id").execute()
    assert sorted(r["kind"] for r in res.data) == ["c", "d"]
    res = gw.client().table(gw_table).upsert({"id": 1, "kind": "ignored"}, ignore_duplicates=True).execute()
    assert res.data == []
    assert gw.sql(f"SELECT id, kind FROM gw.{gw_table} ORDER BY id") == [(1, "c"), (2, "d")]


def test_select_filters_order_limit(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    _seed(gw, gw_table, 6)
    sb = gw.client()
    res = sb.table(gw_table).select("*").lt("created_at", "2024-01-05T00:00:00+00:00").order(
        "created_at", desc=True).limit(2).execute()
    assert [r["id"] for r in res.data] == [3, 2]
    assert sb.table(gw_table).select("id, kind").eq("kind", "k1").order("id").execute().data == [
        {"id": 1, "kind": "k1"}, {"id": 3, "kind": "k1"}, {"id": 5, "kind": "k1"}]
    assert [r["id"] for r in sb.table(gw_table).select("id").neq("kind", "k1").gte("id", 4).lte("id", 6)
            .order("id").execute().data] == [4, 6]
    assert [r["id"] for r in sb.table(gw_table).select("id").not_.eq("kind", "k0").gt("id", 3).order("id")
            .execute().data] == [5]
    assert sb.table(gw_table).select("ident:id").like("kind", "*0").order("id").range(1, 2).execute().data == [
        {"ident": 4}, {"ident": 6}]
    assert len(sb.table(gw_table).select("id").ilike("kind", "K%").execute().data) == 6
    gw.sql(f"UPDATE gw.{gw_table} SET kind = NULL WHERE id = 2")
    assert sb.table(gw_table).select("id").is_("kind", None).execute().data == [{"id": 2}]


def test_count_exact_partial_is_206(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    _seed(gw, gw_table, 4)
    res = gw.client().table(gw_table).select("id", count="exact").order("id").limit(2).execute()
    assert (res.data, res.count) == ([{"id": 1}, {"id": 2}], 4)
    r = httpx.get(f"{gw.url}/rest/v1/{gw_table}?select=id&order=id.asc&limit=2",
                  headers=_headers(gw, Prefer="count=exact"))
    assert (r.status_code, r.headers["content-range"]) == (206, "0-1/4")
    r = httpx.get(f"{gw.url}/rest/v1/{gw_table}?select=id&offset=10", headers=_headers(gw, Prefer="count=exact"))
    assert (r.status_code, r.json()["code"]) == (416, "PGRST103")


def test_head_count(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    _seed(gw, gw_table, 5)
    res = gw.client().table(gw_table).select("*", count="exact", head=True).execute()
    assert (res.count, res.data) == (5, [])
    r = httpx.head(f"{gw.url}/rest/v1/{gw_table}?select=*", headers=_headers(gw, Prefer="count=exact"))
    assert (r.status_code, r.content, r.headers["content-range"]) == (200, b"", "0-4/5")


def test_single(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    _seed(gw, gw_table, 2)
    assert gw.client().table(gw_table).select("id").eq("id", 2).single().execute().data == {"id": 2}
    with pytest.raises(APIError) as e:
        gw.client().table(gw_table).select("id").eq("id", 99).single().execute()
    assert (e.value.code, e.value.details) == ("PGRST116", "The result contains 0 rows")
    assert gw.client().table(gw_table).select("id").eq("id", 99).maybe_single().execute() is None


def test_in_with_quoted_comma_value(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    gw.sql(f"INSERT INTO gw.{gw_table} (id, kind) VALUES (1, 'a,b'), (2, 'c'), (3, 'say \"hi\"'), (4, 'd')")
    res = gw.client().table(gw_table).select("id").in_("kind", ["a,b", "c", 'say "hi"']).order("id").execute()
    assert res.data == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_delete_and_update(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    _seed(gw, gw_table, 5)
    res = gw.client().table(gw_table).delete().in_("id", [1, 2]).execute()
    assert sorted(r["id"] for r in res.data) == [1, 2]
    res = gw.client().table(gw_table).delete(count="exact", returning="minimal").gt("id", 3).execute()
    assert (res.data, res.count) == ([], 2)
    r = httpx.delete(f"{gw.url}/rest/v1/{gw_table}?id=eq.3", headers=_headers(gw, Prefer="return=minimal,count=exact"))
    assert (r.status_code, r.content, r.headers["content-range"]) == (204, b"", "*/1")
    assert gw.sql(f"SELECT count(*) FROM gw.{gw_table}") == [(0,)]
    _seed(gw, gw_table, 3)
    res = gw.client().table(gw_table).update({"kind": "upd", "meta": {"v": 2}}).lte("id", 2).execute()
    assert sorted((r["id"], r["kind"], r["meta"]["v"]) for r in res.data) == [(1, "upd", 2), (2, "upd", 2)]
    r = httpx.patch(f"{gw.url}/rest/v1/{gw_table}?id=eq.3", json={"qty": 1},
                    headers=_headers(gw, Prefer="return=representation,count=exact"))
    assert (r.status_code, r.headers["content-range"]) == (200, "0-0/1")
    assert gw.sql(f"SELECT id, kind, qty FROM gw.{gw_table} ORDER BY id") == [(1, "upd", 7), (2, "upd", 7),
                                                                              (3, "k1", 1)]


def test_unfiltered_delete_is_refused_like_supabase(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    _seed(gw, gw_table, 2)
    with pytest.raises(APIError) as e:
        gw.client().table(gw_table).delete().execute()
    assert (e.value.code, e.value.message) == ("21000", "DELETE requires a WHERE clause")
    assert gw.sql(f"SELECT count(*) FROM gw.{gw_table}") == [(2,)]


def test_unknown_table_and_column(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    with pytest.raises(APIError) as e:
        gw.client().table("no_such_table").select("*").execute()
    assert (e.value.code, e.value.message) == ("PGRST205",
                                               "Could not find the table 'gw.no_such_table' in the schema cache")
    with pytest.raises(APIError) as e:
        gw.client().table("event").select("*").execute()
    assert e.value.hint == "Perhaps you meant the table 'gw.events'"
    with pytest.raises(APIError) as e:
        gw.client().table(gw_table).insert([{"id": 1, "nope": 2}]).execute()
    assert (e.value.code, e.value.message) == ("PGRST204", f"Could not find the 'nope' column of '{gw_table}' in "
                                                           "the schema cache")
    with pytest.raises(APIError) as e:
        gw.client().table(gw_table).select("id,nope").execute()
    assert (e.value.code, e.value.message) == ("42703", f"column {gw_table}.nope does not exist")
    assert gw.sql(f"SELECT count(*) FROM gw.{gw_table}") == [(0,)]
    r = httpx.post(f"{gw.url}/rest/v1/{gw_table}", json=[{"id": 1}, {"id": 2, "kind": "x"}], headers=_headers(gw))
    assert (r.status_code, r.json()["message"]) == (400, "All object keys must match")


def test_anon_cannot_write_a_table_it_may_only_read(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    _seed(gw, gw_table, 1)
    anon = gw.client(gw.anon_key)
    assert anon.table(gw_table).select("id").execute().data == [{"id": 1}]
    with pytest.raises(APIError) as e:
        anon.table(gw_table).insert({"id": 2}).execute()
    assert (e.value.code, e.value.message) == ("42501", f"permission denied for table {gw_table}")
    r = httpx.post(f"{gw.url}/rest/v1/{gw_table}", json={"id": 2}, headers={"apikey": gw.anon_key})
    assert (r.status_code, r.headers["www-authenticate"]) == (401, "Bearer")
    assert gw.sql(f"SELECT id FROM gw.{gw_table}") == [(1,)]


def test_db_max_rows_caps_unlimited_reads(postgrest_gateway: PostgrestGateway, gw_table: str) -> None:
    gw = postgrest_gateway
    _seed(gw, gw_table, 1005)
    res = gw.client().table(gw_table).select("id", count="exact").execute()
    assert (len(res.data), res.count) == (1000, 1005)
    assert len(gw.client().table(gw_table).select("id").limit(2000).execute().data) == 1000
    assert len(gw.client().rpc("ret_ints", {"n": 1200}).execute().data) == 1000


def test_schema_profiles(postgrest_gateway: PostgrestGateway) -> None:
    gw = postgrest_gateway
    private = gw.client(schema="gw_private")
    private.table("notes").upsert({"id": 1, "body": "hidden"}).execute()
    assert gw.sql("SELECT body FROM gw_private.notes WHERE id = 1") == [("hidden",)]
    assert private.table("notes").select("body").eq("id", 1).execute().data == [{"body": "hidden"}]
    assert private.rpc("hello", {}).execute().data == "private hello"
    with pytest.raises(APIError) as e:
        gw.client().rpc("hello", {}).execute()  # default profile gw has no hello()
    assert e.value.code == "PGRST202"

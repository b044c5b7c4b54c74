"""Both gateways' HTTP surfaces fuzzed with hypothesis: whatever arrives, the answer is never a 5xx.

Bad input is the client's fault: Upstash answers it 400/401/405, PostgREST 4xx with a PGRST or SQLSTATE
code. A 500 here is a gateway bug (the crash cases found this way are pinned in test_postgrest_bad_input.py
and test_upstash_gateway.py). Both targets are private: the Upstash gateway gets its own redis-server
(FLUSHALL is a documented Upstash command), and the PostgREST requests stay on a table and functions of
their own. Examples are few and the deadline is off, so the module runs in seconds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.serve import serve_in_thread
from devstack.services.redis_server import start_redis
from devstack.upstash_gateway import create_app

if TYPE_CHECKING:
    from tests.gateways.conftest import PostgrestGateway

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKEN = "fuzz-token"

texts = st.text(max_size=30)
header_texts = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30)  # what HTTP carries
json_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts)
json_values = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(texts, inner, max_size=4), max_leaves=12)


def _url(client: httpx.Client, path: str) -> str:
    """Absolute, so that a fuzzed path such as ``//pipeline`` is sent as is."""
    return str(client.base_url).rstrip("/") + path


def _answered(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.request.method, str(r.request.url), r.request.content[:200], r.text[:500])
    if r.request.method != "HEAD" and r.content:
        json.loads(r.content)  # always a JSON body (the Upstash SDK needs one even on errors)


# --- Upstash REST gateway ---------------------------------------------------------------------------------

NAMES = ["GET", "SET", "INCR", "HSET", "HGETALL", "ZADD", "ZRANGE", "EVAL", "EVALSHA", "SCRIPT", "XADD", "XREAD",
         "PING", "ECHO", "DEL", "KEYS", "SCAN", "FLUSHDB", "CONFIG", "ACL", "SWAPDB", "SELECT", "MULTI", "BLPOP",
         "OBJECT", "MEMORY", "NOSUCHCMD", "get", "Set"]  # fmt: skip
arguments = st.one_of(texts, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                      st.sampled_from(["BLOCK", "LOAD", "SET", "0", "-1", "*", "EX", "return 1"]))
commands = st.builds(lambda name, args: [name, *args], st.sampled_from(NAMES) | texts, st.lists(arguments, max_size=5))
upstash_bodies = st.one_of(
    commands.map(json.dumps),
    st.lists(commands, max_size=4).map(json.dumps),
    json_values.map(json.dumps),
).map(str.encode) | st.binary(max_size=200)
upstash_paths = st.one_of(
    st.sampled_from(["/", "/pipeline", "/multi-exec", "//pipeline", "/multi-exec/", "/_local/stats",
                     "/_local/stats/reset", "/_local/nope", "/get/fuzz:k", "/set/fuzz:k/v?EX=10"]),
    st.lists(texts, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(quote(p, safe="") for p in parts)),
)
upstash_headers = st.fixed_dictionaries({
    "Authorization": st.sampled_from([f"Bearer {TOKEN}"] * 4 + ["Bearer wrong", "Basic x", ""]),
}, optional={
    "Upstash-Encoding": st.sampled_from(["base64", "BASE64", "utf8", ""]),
    "Upstash-Response-Format": st.sampled_from(["json", "resp2", ""]),
    "Content-Type": st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
})


@pytest.fixture(scope="module")
def upstash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    server = start_redis(tmp_path_factory.mktemp("fuzz-redis"))
    served = serve_in_thread(create_app(token=TOKEN, redis_url=server.url, max_request_bytes=4096))
    try:
        with httpx.Client(base_url=served.url, timeout=15) as client:
            yield client
    finally:
        served.stop()
        server.stop()


@FUZZ
@given(method=st.sampled_from(["POST", "GET", "PUT", "HEAD", "DELETE", "PATCH"]), path=upstash_paths,
       body=upstash_bodies, headers=upstash_headers, query_token=st.booleans())
def test_upstash_gateway_never_answers_5xx(upstash: httpx.Client, method: str, path: str, body: bytes,
                                           headers: dict[str, str], query_token: bool) -> None:
    params = {"_token": TOKEN} if query_token else None
    _answered(upstash.request(method, _url(upstash, path), content=body, headers=headers, params=params))


# --- PostgREST gateway ------------------------------------------------------------------------------------

FUNCTIONS = ["add_them", "greet", "add_default", "ret_json", "ret_table", "ret_ints", "single_json", "echo_ts",
             "arr_sum", "var_sum", "shout", "json_key", "ov", "boom", "boom_pt", "whoami", "nofn"]
COLUMNS = ["id", "created_at", "kind", "meta", "qty", "nope", '"id"', "*"]
OPERATORS = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch", "in", "is", "cs", "cd",
             "ov", "not.eq", "not.in", "fts", "nope"]
filter_values = st.builds(lambda op, v: f"{op}.{v}", st.sampled_from(OPERATORS),
                          texts | st.sampled_from(["(1,2)", "null", "true", "*a*", "{1}", '("a,b")', "2024-01-01"]))
query_keys = st.sampled_from(["select", "order", "limit", "offset", "columns", "on_conflict", "or", "and",
                              "not.and", "apikey", "a", "b", "n", "name", "p", *COLUMNS]) | texts
query_values = st.one_of(filter_values, texts, st.sampled_from(
    ["id,kind", "id.desc.nullslast", "id:kind", "meta->k", "10", "²", "-1", "0", "id.nope", '"a.b".asc',
     "eq.\x00", "in.(\x00)"]))
postgrest_bodies = json_values.map(json.dumps).map(str.encode) | st.binary(max_size=200)
postgrest_headers = st.fixed_dictionaries({}, optional={
    "Prefer": st.sampled_from(["return=representation", "return=minimal,count=exact", "count=planned",
                               "resolution=merge-duplicates", "missing=default", "timezone=Nope/Zone",
                               "params=single-object", "tx=rollback"]) | header_texts,
    "Accept": st.sampled_from(["application/vnd.pgrst.object+json", "application/json;nulls=stripped",
                               "text/csv", "*/*"]) | header_texts,
    "Content-Type": st.sampled_from(["application/json", "text/plain", "text/xml", "application/octet-stream",
                                     "application/x-www-form-urlencoded"]),
    "Accept-Profile": st.sampled_from(["gw", "public", "nope"]),
    "Content-Profile": st.sampled_from(["gw", "public", "nope"]),
})


@pytest.fixture(scope="module")
def fuzz_table(postgrest_gateway: PostgrestGateway) -> Iterator[str]:
    from tests.gateways.conftest import GW_TABLE_SQL

    name = f"fz_{uuid.uuid4().hex[:10]}"
    postgrest_gateway.sql(GW_TABLE_SQL.format(name=name))
    yield name
    postgrest_gateway.sql(f"DROP TABLE IF EXISTS gw.{name}")


@pytest.fixture(scope="module")
def rest(postgrest_gateway: PostgrestGateway) -> Iterator[httpx.Client]:
    key = postgrest_gateway.service_key
    with httpx.Client(base_url=f"{postgrest_gateway.url}/rest/v1", timeout=15,
                      headers={"apikey": key, "Authorization": f"Bearer {key}"}) as client:
        yield client


@FUZZ
@given(data=st.data(), method=st.sampled_from(["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"]),
       query=st.lists(st.tuples(query_keys, query_values), max_size=5), body=postgrest_bodies,
       headers=postgrest_headers)
def test_postgrest_gateway_never_answers_5xx(rest: httpx.Client, fuzz_table: str, data: Any, method: str,
                                             query: list[tuple[str, str]], body: bytes,
                                             headers: dict[str, str]) -> None:
    target = data.draw(st.one_of(st.just(f"/{fuzz_table}"), st.sampled_from(FUNCTIONS).map(lambda f: f"/rpc/{f}"),
                                 texts.map(lambda t: "/" + quote(t, safe="/"))))
    headers = {"Accept-Profile": "gw", "Content-Profile": "gw", **headers}
    _answered(rest.request(method, _url(rest, target), params=query, content=body, headers=headers))

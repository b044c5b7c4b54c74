"""Pipelines, transactions and Lua scripting through the Upstash gateway (PROTOCOLS.md D1 items 6-8)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from tests.gateways.conftest import UpstashGateway

B64 = {"Upstash-Encoding": "base64"}
SHEBANG = "#!lua flags=allow-key-locking\n"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


# --- 6. pipeline -----------------------------------------------------------------------------------------


def test_pipeline_keeps_order_and_reports_an_error_in_its_slot(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    upstash_gateway.direct.set(f"{ukey}:s", "str")
    body = [
        ["INCR", f"{ukey}:c"],
        ["EXPIRE", f"{ukey}:c", 60],
        ["HGET", f"{ukey}:s", "x"],
        ["GET", f"{ukey}:missing"],
        ["SET", f"{ukey}:after", "ran"],
    ]
    r = upstash_http.post("/pipeline", json=body)
    assert r.status_code == 200
    assert r.json() == [
        {"result": 1},
        {"result": 1},
        {"error": WRONGTYPE},
        {"result": None},
        {"result": "OK"},
    ]
    assert upstash_gateway.direct.get(f"{ukey}:after") == b"ran"  # not atomic: later commands still ran
    assert 0 < upstash_gateway.direct.ttl(f"{ukey}:c") <= 60


def test_pipeline_results_are_base64_per_slot(upstash_http: httpx.Client, ukey: str) -> None:
    r = upstash_http.post("/pipeline", json=[["SET", ukey, "é"], ["GET", ukey], ["PING"]], headers=B64)
    assert r.json() == [{"result": "OK"}, {"result": "w6k="}, {"result": "UE9ORw=="}]


def test_empty_pipeline_and_bad_shapes(upstash_http: httpx.Client) -> None:
    assert upstash_http.post("/pipeline", json=[]).json() == []
    for body in (["GET", "k"], [[]], {"a": 1}, [["GET", "k"], "GET"]):
        r = upstash_http.post("/pipeline", json=body)
        assert r.status_code == 400
        assert r.json()["error"].startswith("ERR ")


def test_pipeline_on_get_is_405(upstash_http: httpx.Client) -> None:
    r = upstash_http.get("/pipeline")
    assert r.status_code == 405 and "error" in r.json()


# --- 7. multi-exec ---------------------------------------------------------------------------------------


def test_multi_exec_success(upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str) -> None:
    r = upstash_http.post(
        "/multi-exec", json=[["SET", ukey, "1"], ["INCRBY", ukey, 5], ["GET", ukey]], headers=B64
    )
    assert r.status_code == 200
    assert r.json() == [{"result": "OK"}, {"result": 6}, {"result": "Ng=="}]
    assert upstash_gateway.direct.get(ukey) == b"6"


def test_multi_exec_runtime_error_keeps_the_other_commands(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    body = [["SET", ukey, "1"], ["HGET", ukey, "x"], ["SET", f"{ukey}:2", "2"]]
    r = upstash_http.post("/multi-exec", json=body)
    assert r.status_code == 200
    assert r.json() == [{"result": "OK"}, {"error": WRONGTYPE}, {"result": "OK"}]
    assert upstash_gateway.direct.mget(ukey, f"{ukey}:2") == [b"1", b"2"]


def test_multi_exec_queue_error_is_execabort_and_applies_nothing(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    for bad in (["NOSUCHCMD"], ["GET"]):  # unknown command, wrong arity
        r = upstash_http.post("/multi-exec", json=[["SET", ukey, "1"], bad, ["SET", f"{ukey}:2", "2"]])
        assert (r.status_code, r.json()) == (400, {"error": EXECABORT})
        assert upstash_gateway.direct.exists(ukey, f"{ukey}:2") == 0
    # the dedicated connection went back to the pool in a clean state
    assert upstash_http.post("/", json=["SET", ukey, "ok"]).json() == {"result": "OK"}
    assert upstash_gateway.direct.get(ukey) == b"ok"


def test_multi_exec_is_atomic_for_concurrent_readers(upstash_http: httpx.Client, ukey: str) -> None:
    body = [["INCR", ukey] for _ in range(50)]
    assert [s["result"] for s in upstash_http.post("/multi-exec", json=body).json()] == list(range(1, 51))


# --- 8. scripting ----------------------------------------------------------------------------------------


def test_eval_keys_argv_false_and_tables(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    script = (
        "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), false, 7, {ok='FINE'}, 3.7}"
    )
    r = upstash_http.post("/", json=["EVAL", script, 1, ukey, "lua-val"], headers=B64)
    assert r.json() == {"result": ["bHVhLXZhbA==", None, 7, "RklORQ==", 3]}
    assert upstash_gateway.direct.get(ukey) == b"lua-val"


def test_script_load_then_evalsha_and_noscript(upstash_http: httpx.Client) -> None:
    script = "return ARGV[1] .. '!'"
    sha = upstash_http.post("/", json=["SCRIPT", "LOAD", script]).json()["result"]
    assert sha == sha1(script)
    assert upstash_http.post("/", json=["EVALSHA", sha, 0, "hi"]).json() == {"result": "hi!"}
    r = upstash_http.post("/", json=["EVALSHA", "0" * 40, 0])
    assert (r.status_code, r.json()) == (400, {"error": "NOSCRIPT No matching script. Please use EVAL."})


def test_shebang_script_runs_and_its_original_sha_works(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    script = SHEBANG + "return redis.call('INCRBY', KEYS[1], ARGV[1])"
    assert upstash_http.post("/", json=["EVAL", script, 1, ukey, 4]).json() == {"result": 4}
    assert upstash_http.post("/", json=["EVALSHA", sha1(script), 1, ukey, 5]).json() == {"result": 9}
    exists = upstash_http.post("/", json=["SCRIPT", "EXISTS", sha1(script), "0" * 40]).json()
    assert exists == {"result": [1, 0]}
    assert upstash_gateway.direct.get(ukey) == b"9"
    read = SHEBANG + "return redis.call('GET', KEYS[1])"
    assert upstash_http.post("/", json=["EVAL_RO", read, 1, ukey]).json() == {"result": "9"}
    assert upstash_http.post("/", json=["EVALSHA_RO", sha1(read).upper(), 1, ukey]).json() == {"result": "9"}


def test_shebang_script_load_returns_the_sha_redis_knows(upstash_http: httpx.Client, ukey: str) -> None:
    script = SHEBANG + f"return '{ukey}'"
    sha = upstash_http.post("/", json=["SCRIPT", "LOAD", script]).json()["result"]
    assert sha == sha1("\n" + f"return '{ukey}'")  # the stripped text, newline kept
    assert upstash_http.post("/", json=["EVALSHA", sha, 0]).json() == {"result": ukey}
    assert upstash_http.post("/", json=["EVALSHA", sha1(script), 0]).json() == {"result": ukey}


def test_shebang_stripping_keeps_error_line_numbers(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway
) -> None:
    r = upstash_http.post("/", json=["EVAL", SHEBANG + "\nreturn redis.call('NOSUCHCMD')", 0])
    assert r.status_code == 400
    error = r.json()["error"]
    assert error.startswith("ERR ")
    if upstash_gateway.backend_kind != "fakeredis":  # fakeredis does not report Lua line numbers
        assert "user_script:3" in error


def test_eval_ro_runs_reads(upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str) -> None:
    upstash_gateway.direct.set(ukey, "ro")
    r = upstash_http.post("/", json=["EVAL_RO", "return redis.call('GET', KEYS[1])", 1, ukey])
    assert r.json() == {"result": "ro"}


def test_lua_error_reply_keeps_its_custom_prefix(upstash_http: httpx.Client) -> None:
    r = upstash_http.post("/", json=["EVAL", "return redis.error_reply('LIMIT exceeded')", 0])
    assert (r.status_code, r.json()) == (400, {"error": "LIMIT exceeded"})


def test_scripts_inside_pipeline_and_transaction(upstash_http: httpx.Client, ukey: str) -> None:
    script = SHEBANG + "return redis.call('INCR', KEYS[1])"
    assert upstash_http.post("/pipeline", json=[["EVAL", script, 1, ukey]] * 2).json() == [
        {"result": 1},
        {"result": 2},
    ]
    assert upstash_http.post("/multi-exec", json=[["EVALSHA", sha1(script), 1, ukey]]).json() == [
        {"result": 3}
    ]


def test_eval_ro_refuses_writes_on_redis_7(
    upstash_http: httpx.Client, upstash_gateway: UpstashGateway, ukey: str
) -> None:
    if upstash_gateway.backend_kind == "fakeredis" or not upstash_gateway.redis7:
        pytest.skip("EVAL_RO falls back to EVAL on this backend, so writes are not refused")
    r = upstash_http.post("/", json=["EVAL_RO", "return redis.call('SET', KEYS[1], 'x')", 1, ukey])
    assert r.status_code == 400 and r.json()["error"].startswith("ERR ")
    assert upstash_gateway.direct.exists(ukey) == 0

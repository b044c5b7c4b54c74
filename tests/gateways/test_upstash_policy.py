"""The Upstash gateway runs only Upstash's documented REST commands (devstack/upstash_gateway/policy.py).

Admin commands act on the whole local server (one ``ACL SETUSER`` locked every pooled connection out), so
they are refused with Upstash's 400, in every request form and inside scripts. The gateway here has a
redis-server of its own: if a refusal regressed, only this module's server would be harmed.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

import httpx
import pytest
import redis

from devstack.serve import serve_in_thread
from devstack.services.redis_server import RedisServer, start_redis
from devstack.upstash_gateway import create_app

TOKEN = "policy-test-token"
ADMIN = [
    ["CONFIG", "SET", "slowlog-max-len", "129"], ["CONFIG", "GET", "dir"],
    ["ACL", "SETUSER", "intruder", "on", "nopass", "+@all", "~*"], ["ACL", "SETUSER", "default", "off"],
    ["ACL", "WHOAMI"], ["SAVE"], ["BGSAVE"], ["BGREWRITEAOF"], ["MODULE", "LIST"], ["SWAPDB", "0", "1"],
    ["DEBUG", "SLEEP", "0"], ["SHUTDOWN", "NOSAVE"], ["MONITOR"], ["REPLICAOF", "127.0.0.1", "1"],
    ["SLAVEOF", "NO", "ONE"], ["CLIENT", "KILL", "TYPE", "normal"], ["CLIENT", "LIST"], ["FAILOVER", "ABORT"],
    ["LATENCY", "RESET"], ["SLOWLOG", "RESET"], ["LASTSAVE"], ["MOVE", "policy:k", "1"], ["SELECT", "1"],
    ["SCRIPT", "DEBUG", "YES"], ["MEMORY", "PURGE"], ["WAIT", "1", "0"], ["OBJECT", "ENCODING", "policy:k"],
]  # fmt: skip


def refusal(command: list[str]) -> str:
    name = command[0] if command[0] not in ("SCRIPT", "MEMORY") else " ".join(command[:2])
    return f"ERR Command is not available: '{name.lower()}'"


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("policy-redis"))
    if server.url is None:
        pytest.skip("no redis-server binary: the fakeredis case is covered below")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def http(own_redis: RedisServer) -> Iterator[httpx.Client]:
    served = serve_in_thread(create_app(token=TOKEN, redis_url=own_redis.url))
    try:
        with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as c:
            yield c
    finally:
        served.stop()


@pytest.fixture
def direct(own_redis: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(own_redis.url or "")
    client.set("policy:k", "v")
    yield client
    client.close()


def assert_server_untouched(direct: redis.Redis, http: httpx.Client) -> None:
    assert direct.get("policy:k") == b"v"  # not swapped or moved to another database
    assert direct.config_get("slowlog-max-len")["slowlog-max-len"] != "129"
    assert b"intruder" not in direct.acl_users() and direct.acl_whoami() == "default"
    assert direct.info("replication")["role"] == "master"
    assert http.post("/", json=["GET", "policy:k"]).json() == {"result": "v"}  # pooled connections fine


@pytest.mark.parametrize("command", ADMIN, ids=lambda c: " ".join(c[:2]))
def test_admin_commands_are_refused_with_upstash_400(
    http: httpx.Client, direct: redis.Redis, command: list[str]
) -> None:
    r = http.post("/", json=command)
    assert (r.status_code, r.json()) == (400, {"error": refusal(command)})
    path = "/" + "/".join(command)
    assert http.get(path).json() == {"error": refusal(command)}  # path-style: same command, same answer
    assert_server_untouched(direct, http)


@pytest.mark.parametrize("batch", ["/pipeline", "/multi-exec"])
def test_one_admin_command_refuses_the_whole_batch(http: httpx.Client, direct: redis.Redis, batch: str) -> None:
    for command in (["CONFIG", "SET", "slowlog-max-len", "129"], ["SWAPDB", "0", "1"], ["ACL", "SETUSER", "intruder"]):
        r = http.post(batch, json=[["SET", "policy:batch", "1"], command])
        assert (r.status_code, r.json()) == (400, {"error": refusal(command)})
    assert direct.exists("policy:batch") == 0  # nothing in the batch ran
    assert_server_untouched(direct, http)


@pytest.mark.parametrize(
    "command",
    [
        ["EVAL", "return redis.call('SWAPDB', 0, 1)", 0],
        ["EVAL", 'redis.call("config", "set", "slowlog-max-len", "129") return 1', 0],
        ["EVAL_RO", "return redis.pcall( 'client' , 'KILL', 'TYPE', 'normal')", 0],
        ["EVAL", "#!lua flags=allow-key-locking\nreturn server.call('MOVE', KEYS[1], '1')", 1, "policy:k"],
        ["SCRIPT", "LOAD", "return redis.call('SWAPDB', 0, 1)"],
    ],
    ids=["eval-swapdb", "eval-config", "eval_ro-client", "shebang-move", "script-load"],
)
def test_scripts_calling_refused_commands_are_refused(
    http: httpx.Client, direct: redis.Redis, command: list[object]
) -> None:
    r = http.post("/", json=command)
    assert r.status_code == 400
    assert r.json()["error"].startswith("ERR Command is not available: '")
    assert r.json()["error"].endswith(" (called from a script)'")
    assert_server_untouched(direct, http)


def test_function_libraries_calling_refused_commands_are_refused(
    http: httpx.Client, direct: redis.Redis, own_redis: RedisServer
) -> None:
    if int(own_redis.version.split(".")[0]) < 7:
        pytest.skip("Redis functions need Redis 7")
    library = "#!lua name=policytest\nredis.register_function('swap', function() return redis.call('SWAPDB', 0, 1) end)"
    r = http.post("/", json=["FUNCTION", "LOAD", "REPLACE", library])
    assert (r.status_code, r.json()) == (400, {"error": "ERR Command is not available: 'swapdb (called from a script)'"})
    assert direct.function_list(library="policytest") == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["ECHO", "hi"], "hi"), (["DBSIZE"], None), (["TIME"], None), (["COMMAND", "COUNT"], None),
        (["SCRIPT", "EXISTS", "0" * 40], [0]), (["PUBLISH", "policy:chan", "m"], 0),
        (["MEMORY", "USAGE", "policy:k"], None), (["EVAL", "return redis.call('GET', KEYS[1])", 1, "policy:k"], "v"),
        (["EVAL", "return redis.call('memory', 'usage', KEYS[1]) > 0", 1, "policy:k"], 1),
    ],
)  # fmt: skip
def test_documented_commands_still_run(
    http: httpx.Client, direct: redis.Redis, command: list[object], expected: object
) -> None:
    r = http.post("/", json=command)
    assert r.status_code == 200, r.text
    if expected is not None:
        assert r.json() == {"result": expected}


@pytest.mark.parametrize("name", ["CONFIG SET", "acl\tsetuser", " SWAPDB", "", " "])
def test_a_name_with_spaces_is_not_split_into_a_command(http: httpx.Client, direct: redis.Redis, name: str) -> None:
    """redis-py splits a command name on whitespace: "CONFIG SET" must not become CONFIG SET."""
    args = {"CONFIG SET": ["slowlog-max-len", "129"], "acl\tsetuser": ["intruder"], " SWAPDB": ["0", "1"]}
    for path in ("/", "/pipeline", "/multi-exec"):
        command = [name, *args.get(name, [])]
        r = http.post(path, json=command if path == "/" else [command])
        assert r.status_code == 400 and r.json()["error"].startswith(f"ERR unknown command '{name}'")
    assert_server_untouched(direct, http)


def test_unknown_names_still_get_redis_own_answer(http: httpx.Client) -> None:
    """A name Redis does not know cannot run anyway: its own error (and EXECABORT in a transaction) stays."""
    assert http.post("/", json=["NOSUCHCMD"]).json()["error"].startswith("ERR unknown command")
    r = http.post("/", json=["EVAL", "return redis.call('NOSUCHCMD')", 0])
    assert r.status_code == 400 and "Unknown Redis command" in r.json()["error"]


def test_refused_commands_are_not_counted(tmp_path: pathlib.Path) -> None:
    """Nothing reached Redis, so nothing is billed in the gateway's counters (fakeredis backend too)."""
    app = create_app(token=TOKEN, redis_url=None)
    served = serve_in_thread(app)
    try:
        with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as c:
            for command in (["CONFIG", "SET", "x", "y"], ["SELECT", "1"], ["SWAPDB", "0", "1"], ["SAVE"]):
                r = c.post("/", content=json.dumps(command))
                assert (r.status_code, r.json()) == (400, {"error": refusal(command)})
            assert c.get("/_local/stats").json()["total"] == 0
            assert c.post("/", json=["PING"]).json() == {"result": "PONG"}
    finally:
        served.stop()

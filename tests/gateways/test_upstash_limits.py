"""Request bodies on the Upstash gateway: token first, then at most Upstash's max request size.

An unauthenticated 500 MB body used to be buffered whole before the token check (the gateway reached 1 GB).
These tests speak raw HTTP/1.1 over a socket, so they can announce a huge body, send a sliver of it and
see the answer arrive while almost all of it is still unsent.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from devstack.serve import serve_in_thread
from devstack.services.redis_server import RedisServer
from devstack.upstash_gateway import create_app
from devstack.upstash_gateway.limits import MAX_REQUEST_BYTES

if TYPE_CHECKING:
    from tests.gateways.conftest import UpstashGateway

HUGE = 500 * 1024 * 1024
SMALL_CAP = 64 * 1024


class RawResponse:
    def __init__(self, head: bytes, body: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        self.json = json.loads(body)


def _read_response(sock: socket.socket) -> RawResponse:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(RawResponse(head, b"{}").headers["content-length"])
    while len(body) < length:
        body += sock.recv(65536)
    return RawResponse(head, body[:length])


def _closed_by_server(sock: socket.socket) -> bool:
    """True when the server hung up: reads hit EOF (or a reset) instead of waiting for more."""
    sock.settimeout(5)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    return True


def raw_post(url: str, headers: dict[str, str], sliver: bytes, *, chunked: bool = False) -> tuple[RawResponse, float, socket.socket]:
    """POST announcing a body (a huge Content-Length, or chunked), send ``sliver`` of it, read the answer."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(HUGE)}
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host, **framing, **headers}.items())
    started = time.monotonic()
    sock.sendall(f"POST / HTTP/1.1\r\n{head}\r\n".encode())
    sock.sendall(b"%x\r\n%s\r\n" % (len(sliver), sliver) if chunked else sliver)
    return _read_response(sock), time.monotonic() - started, sock


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("auth", [{}, {"Authorization": "Bearer wrong"}], ids=["no-token", "bad-token"])
def test_unauthenticated_huge_body_gets_401_at_once_and_is_never_read(
    upstash_gateway: UpstashGateway, auth: dict[str, str], chunked: bool
) -> None:
    response, elapsed, sock = raw_post(upstash_gateway.url, auth, b'["SET","k","' + b"x" * 16_000, chunked=chunked)
    with sock:
        assert response.status == 401 and response.json["error"].startswith("WRONGPASS")
        assert elapsed < 2  # answered while 499.98 MB were still unsent
        assert response.headers["connection"] == "close"
        assert _closed_by_server(sock)


def test_announced_body_over_the_free_plan_limit_is_refused_unread(upstash_gateway: UpstashGateway) -> None:
    """Upstash's free plan takes 10 MB; more is its 400 ``ERR max request size exceeded``, like any error reply."""
    assert MAX_REQUEST_BYTES == 10 * 1024 * 1024
    auth = {"Authorization": f"Bearer {upstash_gateway.token}"}
    response, elapsed, sock = raw_post(upstash_gateway.url, auth, b'["SET","k","xxxx')
    with sock:
        assert response.status == 400 and elapsed < 2
        assert response.json == {
            "error": f"ERR max request size exceeded. Limit: {MAX_REQUEST_BYTES} bytes, Actual: {HUGE} bytes"
        }
        assert response.headers["connection"] == "close" and _closed_by_server(sock)


@pytest.fixture(scope="module")
def small_cap(upstash_gateway: UpstashGateway, upstash_redis_server: RedisServer) -> Iterator[str]:
    """The gateway with a 64 KiB cap (configurable, like Upstash's per-plan limit), on the same Redis."""
    app = create_app(token=upstash_gateway.token, redis_url=upstash_redis_server.url, max_request_bytes=SMALL_CAP)
    served = serve_in_thread(app)
    yield served.url
    served.stop()


def test_chunked_body_is_cut_off_at_the_cap(small_cap: str, upstash_gateway: UpstashGateway, ukey: str) -> None:
    """No length announced: the gateway reads up to the cap, no further, and nothing runs."""
    auth = {"Authorization": f"Bearer {upstash_gateway.token}"}
    host, port = small_cap.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST / HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth['Authorization']}\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        start, piece = b'["SET","%s","' % ukey.encode(), b"x" * 16_384
        for chunk in [start] + [piece] * (SMALL_CAP // len(piece) + 1):  # just past the cap, then stop sending
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        response = _read_response(sock)
        assert response.status == 400
        assert response.json == {"error": f"ERR max request size exceeded. Limit: {SMALL_CAP} bytes"}
        assert response.headers["connection"] == "close" and _closed_by_server(sock)
    assert upstash_gateway.direct.exists(ukey) == 0


def test_a_body_of_exactly_the_cap_runs(small_cap: str, upstash_gateway: UpstashGateway, ukey: str) -> None:
    auth = {"Authorization": f"Bearer {upstash_gateway.token}"}
    frame = json.dumps(["SET", ukey, ""]).encode()
    value = "v" * (SMALL_CAP - len(frame))
    body = json.dumps(["SET", ukey, value]).encode()
    assert len(body) == SMALL_CAP
    assert httpx.post(small_cap, content=body, headers=auth).json() == {"result": "OK"}
    r = httpx.post(small_cap, content=body + b" ", headers=auth)
    assert (r.status_code, r.json()["error"]) == (400, f"ERR max request size exceeded. Limit: {SMALL_CAP} bytes, "
                                                       f"Actual: {SMALL_CAP + 1} bytes")
    assert upstash_gateway.direct.strlen(ukey) == len(value)

"""upstash-ratelimit 1.2.0 through the gateway on every backend (PROTOCOLS.md D1 item 9).

Every limiter script starts with the Upstash-only ``#!lua flags=allow-key-locking`` shebang, so these tests
fail on any backend where the gateway does not strip it. Windows are an hour long so a window boundary cannot
fall between the four calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import upstash_redis
import upstash_redis.asyncio
from upstash_ratelimit import FixedWindow, Ratelimit, SlidingWindow, TokenBucket
from upstash_ratelimit.asyncio import Ratelimit as AsyncRatelimit
from upstash_ratelimit.limiter import Limiter

if TYPE_CHECKING:
    from tests.gateways.conftest import UpstashGateway

LIMITERS = {
    "fixed": lambda: FixedWindow(max_requests=3, window=3600),
    "sliding": lambda: SlidingWindow(max_requests=3, window=3600),
    "token": lambda: TokenBucket(max_tokens=3, refill_rate=1, interval=3600),
}


@pytest.mark.parametrize("kind", sorted(LIMITERS))
def test_limiter_allows_three_then_denies(upstash_any_gateway: UpstashGateway, ukey: str, kind: str) -> None:
    limiter: Limiter = LIMITERS[kind]()
    with upstash_redis.Redis(url=upstash_any_gateway.url, token=upstash_any_gateway.token) as sdk:
        ratelimit = Ratelimit(redis=sdk, limiter=limiter, prefix=ukey)
        allowed = [ratelimit.limit("user-1").allowed for _ in range(4)]
        assert allowed == [True, True, True, False]
        assert ratelimit.get_remaining("user-1") == 0
        assert ratelimit.limit("user-2").allowed is True  # identifiers are independent
    stored = sorted(upstash_any_gateway.direct.scan_iter(match=f"{ukey}:user-1*"))
    assert stored, "the limiter state must live in Redis"
    if kind == "token":
        assert upstash_any_gateway.direct.hget(stored[0], "tokens") == b"0"


async def test_async_ratelimit(upstash_gateway: UpstashGateway, ukey: str) -> None:
    async with upstash_redis.asyncio.Redis(url=upstash_gateway.url, token=upstash_gateway.token) as sdk:
        ratelimit = AsyncRatelimit(redis=sdk, limiter=FixedWindow(max_requests=3, window=3600), prefix=ukey)
        allowed = [(await ratelimit.limit("u")).allowed for _ in range(4)]
        assert allowed == [True, True, True, False]
        assert await ratelimit.get_remaining("u") == 0

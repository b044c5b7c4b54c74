"""POST /api/monitoring/ingest: a batch of request, error, log and metric events from any app.

The batch is validated whole (``shared.events``), rate-limited per token (upstash-ratelimit, one command),
and stored as **one record in one call** (``TrackingStore.flush``): a rejected batch stores nothing and an
accepted one is stored whole. With an ``Idempotency-Key`` a retried batch is stored once (the record's
field is named after the key). Storage failures answer 503 with Retry-After: the app's client retries.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Annotated, Any

from fastapi import Header, Request
from pydantic import BaseModel
from upstash_ratelimit.asyncio import FixedWindow, Ratelimit  # every batch uses it (and the SDK it imports)

from functions.ingest.batch import to_aggregate, user_key
from functions.registry import get
from shared import clients
from shared.errors import DeadlineExceeded, PayloadTooLarge, RateLimited, TemporarilyUnavailable
from shared.events import parse_batch
from shared.events.limits import MAX_BODY_BYTES
from shared.guard import Guard
from shared.http import SettingsDep, TimeGuard, create_app, error_responses
from shared.settings import Settings
from shared.tracking.runtime import store

SPEC = get("ingest")
app = create_app(SPEC)
IDEMPOTENCY_KEY = r"^[A-Za-z0-9_.:-]{1,64}$"
STORE_CAP_S = 3.0


class Accepted(BaseModel):
    accepted: int


async def _body(request: Request) -> bytes:
    """The body, refused (413) as soon as it passes the limit: never buffered beyond it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body: {int(declared)} bytes is over the limit of {MAX_BODY_BYTES}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"body: over the limit of {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


_limiters: dict[tuple[int, int], Any] = {}  # per-instance: (client, rate) -> limiter


async def _rate_limit(settings: Settings, guard: Guard, token: str) -> None:
    """``TIERWATCH_INGEST_RATE_PER_MIN`` batches a minute per token (0: no limit), counted in Upstash so
    every instance shares the count; a limiter that cannot answer lets the batch through (fail open)."""
    if settings.ingest_rate_per_min <= 0:
        return
    redis = clients.upstash(settings)
    key = (id(redis), settings.ingest_rate_per_min)
    limiter = _limiters.get(key)
    if limiter is None:
        limiter = _limiters[key] = Ratelimit(redis=redis, limiter=FixedWindow(
            max_requests=settings.ingest_rate_per_min, window=60), prefix="tw:v1:ratelimit")
    identifier = hashlib.sha256(token.encode()).hexdigest()[:16]
    try:
        verdict = await guard.run(limiter.limit(identifier), op="rate limit", cap_s=1.0)
    except Exception:  # noqa: BLE001 - a limiter outage must not stop ingestion
        return
    if not verdict.allowed:
        wait = max(1, int(verdict.reset - time.time()) + 1)
        raise RateLimited(f"over {settings.ingest_rate_per_min} batches a minute for this token", retry_after=wait)


# The body is read raw (size-capped, then validated whole by shared.events); documented for clients and fuzzers.
_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["events"],
    "properties": {"events": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
        "type": {"enum": ["request", "error", "log", "metric"]}}}}}}}}}


@app.handles("ingest", status_code=202, response_model=Accepted, summary="Ingest a batch of events",
             responses=error_responses(400, 413, 415, 422, 429, 504), openapi_extra={"requestBody": _BODY})
async def ingest(
    request: Request, settings: SettingsDep, guard: TimeGuard,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY)] = None,
) -> Accepted:
    batch = parse_batch(await _body(request), request.headers.get("content-type"))
    if not batch.events:
        return Accepted(accepted=0)
    token = (request.headers.get("authorization") or "").partition(" ")[2].strip()
    await _rate_limit(settings, guard, token)
    aggregate, users = to_aggregate(batch, user_key(token))
    name = f"idem:{hashlib.sha256((token + idempotency_key).encode()).hexdigest()[:24]}" if idempotency_key \
        else f"b:{secrets.token_hex(12)}"
    try:
        await guard.run(store(settings).flush([(name, aggregate)], users), op="ingest store", cap_s=STORE_CAP_S)
    except DeadlineExceeded as exc:
        raise TemporarilyUnavailable(f"storage did not answer in time ({exc.message}): nothing was stored, "
                                     "send the batch again") from None
    except Exception as exc:
        raise TemporarilyUnavailable(f"storage failed ({type(exc).__name__}): nothing was stored, "
                                     "send the batch again") from exc
    return Accepted(accepted=len(batch.events))

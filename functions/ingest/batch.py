"""A validated batch as one tracking record (pure: no I/O)."""

from __future__ import annotations

import hashlib

from shared.events import Batch
from shared.tracking.aggregate import Aggregate


def user_key(ingest_token: str) -> bytes:
    """The HMAC key for user ids: stable across instances, secret, and never the token itself."""
    return hashlib.sha256(b"tierwatch-users\n" + ingest_token.encode()).digest()


def to_aggregate(batch: Batch, key: bytes) -> tuple[Aggregate, list[str]]:
    """The batch's events as one ``Aggregate`` (one HSET), and its users' keyed hashes (one PFADD)."""
    agg = Aggregate()
    users: list[str] = []
    for r in batch.requests:
        agg.add_request(r.function, at=r.timestamp.timestamp(), duration_ms=r.duration_ms, status=r.status,
                        cold_start=bool(r.cold_start), init_ms=r.init_ms, timed_out=bool(r.timed_out),
                        memory_mb=r.memory_mb, trace_id=r.trace_id)
        hashed = r.user_hash(key)
        if hashed:
            users.append(hashed)
    for e in batch.errors:
        agg.add_error(e.function, e.name, e.message, at=e.timestamp.timestamp(), severity=e.severity, stack=e.stack)
    for line in batch.logs:
        agg.add_log(line.level, line.message, at=line.timestamp.timestamp(), function=line.function)
    for m in batch.metrics:
        agg.add_metric(m.name, m.kind, m.value, at=m.timestamp.timestamp(), tags=m.tags)
    return agg, users

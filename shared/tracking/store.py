"""The Upstash side of tracking: a fixed, small number of commands per flush, reads that stay flat.

Keys (all expire after ``RETENTION_S``, so Redis holds a bounded number of keys whatever the traffic):

- ``tw:v1:agg:<YYYYMMDDHH>``: a hash per hour of flush time; each flush writes **one field**
  (``<instance>:<seq>``) holding its ``Aggregate`` as JSON. One HSET per flush, whatever the batch
  holds; a retried flush rewrites the same field, so a flush lands exactly once.
- ``tw:v1:users:<YYYYMMDDHH>``: a HyperLogLog of hashed user ids (one PFADD when a flush has users).

EXPIRE is sent once per key per instance, not per flush. A flush is therefore 1 command (2-4 in the
flush that first touches an hour). Readers HGETALL the hours of their window in one pipelined call and
merge. What a read costs stays flat however much is tracked, because readers compact what has settled:

- records whose last event is older than ``SETTLE_S`` are merged per ``SLOT_S`` slot into one field;
- hours older than ``COMPACT_AFTER_S`` are merged into one field and then cached in the reading instance,
  so a warm reader fetches only the recent hours whatever the window.

A compaction is one script (``_COMPACT``) that writes the merge and deletes its parts only if every part
is still there: two readers compacting overlapping sets (a late record between their reads) can never
both succeed, so no record is ever counted twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.tracking.aggregate import Aggregate

if TYPE_CHECKING:
    from upstash_redis.asyncio import Redis

PREFIX = "tw:v1"
HOUR = 3600
RETENTION_S = 8 * 86400  # the 7 d window plus a day of slack
# Hours older than this are complete (no instance flushes into them any more, clock skew included) and
# are compacted: the 5 min and 1 h windows always read uncompacted, per-flush records.
COMPACT_AFTER_S = 2 * HOUR
# Within an hour: a record is settled (no retry of it is still in flight) this long after its last
# event, and settled records merge per slot. A window's start is therefore exact to a slot.
SETTLE_S = 600
SLOT_S = 600

# KEYS[1]: the hour's hash; ARGV: the merged field, its value, then the parts it replaces.
_COMPACT = """
for i = 3, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[1], unpack(ARGV, 3))
return 1
"""


def hour_of(t: float) -> str:
    return time.strftime("%Y%m%d%H", time.gmtime(t))


def aggregate_key(hour: str) -> str:
    return f"{PREFIX}:agg:{hour}"


def users_key(hour: str) -> str:
    return f"{PREFIX}:users:{hour}"


def hours_between(start: float, end: float) -> list[tuple[str, float]]:
    """``(YYYYMMDDHH, hour start)`` for every hour touched by ``[start, end]``."""
    first = int(start // HOUR) * HOUR
    return [(hour_of(h), float(h)) for h in range(first, int(end) + 1, HOUR)]


def hash_user(user: str) -> str:
    """User ids are opaque and never stored as sent: a HyperLogLog only needs a stable hash."""
    return hashlib.sha256(user.encode()).hexdigest()[:16]


@dataclass
class Window:
    """What a read returns: the merged aggregate, distinct users, and what the read cost."""

    aggregate: Aggregate
    since: float  # the earliest time the merged data may cover (hour-aligned for compacted hours)
    users: int
    commands: int


class TrackingStore:
    """Writes and reads tracking data through one Upstash client. One per warm instance."""

    def __init__(self, redis: Redis, *, clock: Any = time.time) -> None:
        self.redis = redis
        self.clock = clock
        self._expiring: set[str] = set()  # keys this instance already gave a TTL
        self._complete: dict[str, Aggregate] = {}  # compacted hours: immutable, cached

    # ------------------------------------------------------------------------------------------ writes

    def flush_commands(self, records: Iterable[tuple[str, Aggregate]], users: Iterable[str]) -> list[list[Any]]:
        """The commands of one flush: one HSET for all records of the hour, TTLs once, one PFADD."""
        hour = hour_of(self.clock())
        key = aggregate_key(hour)
        fields: list[Any] = []
        for name, aggregate in records:
            fields += [name, aggregate.to_json()]
        commands: list[list[Any]] = []
        if fields:
            commands.append(["HSET", key, *fields])
            if key not in self._expiring:
                commands.append(["EXPIRE", key, RETENTION_S])
        hashed = sorted({hash_user(u) for u in users})
        if hashed:
            ukey = users_key(hour)
            commands.append(["PFADD", ukey, *hashed])
            if ukey not in self._expiring:
                commands.append(["EXPIRE", ukey, RETENTION_S])
        return commands

    async def flush(self, records: list[tuple[str, Aggregate]], users: Iterable[str] = ()) -> int:
        """Send one flush in one HTTP call; returns the number of commands sent."""
        commands = self.flush_commands(records, users)
        if not commands:
            return 0
        pipe = self.redis.pipeline()
        for command in commands:
            pipe.execute(command)
        await pipe.exec()
        self._expiring.update(c[1] for c in commands if c[0] == "EXPIRE")
        return len(commands)

    # ------------------------------------------------------------------------------------------ reads

    async def read(self, window_s: float) -> Window:
        """Every record of the last ``window_s`` seconds merged (plus distinct users)."""
        now = self.clock()
        start = now - window_s
        hours = hours_between(start, now)
        wanted = [(h, t) for h, t in hours if h not in self._complete]
        pipe = self.redis.pipeline()
        for hour, _ in wanted:
            pipe.execute(["HGETALL", aggregate_key(hour)])
        pipe.execute(["PFCOUNT", *(users_key(h) for h, _ in hours)])
        replies = await pipe.exec()
        commands = len(wanted) + 1
        merged = Aggregate()
        since = start
        compactions: list[tuple[str, dict[str, Aggregate], Aggregate]] = []
        fetched = dict(zip((h for h, _ in wanted), replies[:-1], strict=True))
        for hour, hour_start in hours:
            if hour in self._complete:
                merged.merge(self._complete[hour])
                since = min(since, hour_start)
                continue
            records = _records(fetched[hour])
            if now - (hour_start + HOUR) >= COMPACT_AFTER_S:
                whole = _merge(records.values())
                if len(records) > 1:
                    compactions.append((hour, records, whole))
                self._complete[hour] = whole
                merged.merge(whole)
                since = min(since, hour_start)
                continue
            for part in _settled_slots(records, now):
                compactions.append((hour, part, _merge(part.values())))
            for record in records.values():
                if record.end >= start:
                    merged.merge(record)
                    since = min(since, record.start) if record.events else since
        commands += await self._compact(compactions)
        self._forget_before(now - RETENTION_S)
        users = replies[-1]
        return Window(aggregate=merged, since=since, users=users if isinstance(users, int) else 0, commands=commands)

    async def _compact(self, compactions: list[tuple[str, dict[str, Aggregate], Aggregate]]) -> int:
        """Replace each set of parts by its merge, all in one call; the merged field's name derives from
        the parts, and the script refuses a set whose parts are no longer all there (see ``_COMPACT``)."""
        if not compactions:
            return 0
        pipe = self.redis.pipeline()
        for hour, parts, whole in compactions:
            names = sorted(parts)
            field = "m:" + hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
            pipe.execute(["EVAL", _COMPACT, "1", aggregate_key(hour), field, whole.to_json(), *names])
        await pipe.exec()
        return len(compactions)

    def _forget_before(self, cutoff: float) -> None:
        old = hour_of(cutoff)
        for hour in [h for h in self._complete if h < old]:
            del self._complete[hour]


def _merge(records: Iterable[Aggregate]) -> Aggregate:
    whole = Aggregate()
    for record in records:
        whole.merge(record)
    return whole


def _settled_slots(records: dict[str, Aggregate], now: float) -> list[dict[str, Aggregate]]:
    """The settled records of an hour, grouped by slot, where a slot holds more than one field."""
    slots: dict[int, dict[str, Aggregate]] = {}
    for name, record in records.items():
        if now - record.end >= SETTLE_S:
            slots.setdefault(int(record.end // SLOT_S), {})[name] = record
    return [part for part in slots.values() if len(part) > 1]


def _records(reply: Any) -> dict[str, Aggregate]:
    """HGETALL's reply (a flat list or a dict, by SDK version) as field -> aggregate."""
    if isinstance(reply, dict):
        pairs = list(reply.items())
    else:
        items = list(reply or [])
        pairs = list(zip(items[::2], items[1::2], strict=True))
    return {str(k): Aggregate.from_json(v) for k, v in pairs}

"""POST /api/monitoring/ingest: the validated event schema, the contract between apps and storage.

``parse_batch`` turns a request body into a ``Batch`` of typed events or raises one ``shared.errors``
exception with its HTTP status; a batch with any bad event is refused whole, so a client can retry it
unchanged once fixed and storage never holds half a batch. Pure (no I/O) and light to import (pydantic
only, no FastAPI), so the endpoint, the cron jobs and the tests share it. Limits: ``limits``.

Decisions the contract makes:

- Unknown fields are ignored (older servers accept newer clients); an unknown ``type`` is refused.
- ``{"events": []}`` is a valid, empty batch (the endpoint answers 202 with 0 accepted).
- Strings are not coerced to numbers nor numbers to strings; ``tags`` values must be strings.
- ``NaN``/``Infinity`` literals are not JSON: 400 for the body. A number that overflows to infinity
  (``1e400``) is JSON: 422 naming its field (ignored, like any value, in an unknown field).
- Strings may not hold NUL or unpaired surrogates (PostgreSQL and UTF-8 cannot store them); names,
  routes, tag values and ``user`` may not hold control characters.
- ``timestamp``: ISO 8601 (naive means UTC) or epoch milliseconds, absent or null means now; at most
  5 minutes ahead and 7 days old.
- ``user`` is never dumped nor shown in a repr: storage keeps only ``RequestEvent.user_hash(key)``.
"""

from shared.events.models import Batch, ErrorEvent, Event, EventType, LogEvent, MetricEvent, RequestEvent
from shared.events.parse import parse_batch

__all__ = ["Batch", "ErrorEvent", "Event", "EventType", "LogEvent", "MetricEvent", "RequestEvent", "parse_batch"]

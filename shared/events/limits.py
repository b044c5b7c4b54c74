"""The ingest contract's limits: what one batch, event or field may hold, and why each bound is there.

Lengths count characters; byte sizes are of UTF-8. The endpoint may also use ``MAX_BODY_BYTES`` to
refuse a too-long ``Content-Length`` before reading the body.
"""

from __future__ import annotations

from datetime import timedelta

MAX_BODY_BYTES = 1024 * 1024  # checked before parsing; under Vercel's 4.5 MB and Lambda's 6 MB caps
MAX_EVENTS = 1000  # per batch: bounds one invocation's storage writes
MAX_NAME_LENGTH = 200  # function, route, error name, metric name, user
MAX_MESSAGE_LENGTH = 4096  # error and log messages
MAX_STACK_LENGTH = 16384
MAX_TAGS = 20  # each tag is a dimension: few, low-cardinality
MAX_TAG_KEY_LENGTH = 64
MAX_TAG_VALUE_LENGTH = 200
MAX_OBJECT_BYTES = 4096  # context and metadata, as compact UTF-8 JSON
MAX_OBJECT_DEPTH = 5  # {"a": 1} is depth 1; lists count as a level
MAX_DURATION_MS = 15 * 60 * 1000  # duration_ms, init_ms: Lambda's longest timeout (Vercel's is shorter)
MAX_MEMORY_MB = 10240  # Lambda's largest memory size
MAX_TIMESTAMP_AHEAD = timedelta(minutes=5)  # clock skew allowed
MAX_TIMESTAMP_AGE = timedelta(days=7)  # older is a replay or a clock bug, and past the raw retention
MAX_REPORTED_PROBLEMS = 10  # in one error message: a 1000-event bad batch stays a short answer

# Names become storage keys and dimensions: ASCII, no spaces. Functions may be ARNs or Vercel paths
# (``arn:aws:lambda:...:fn:prod``, ``api/users/[id]``); metric names are Prometheus' plus ``.``;
# tag keys are Prometheus label names plus ``.`` and ``-`` (``service.name``, ``aws-region``).
FUNCTION_NAME_PATTERN = r"^[A-Za-z0-9_.:/@\[\]-]+$"
METRIC_NAME_PATTERN = r"^[A-Za-z_:][A-Za-z0-9_:.]*$"
TAG_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
TRACE_ID_PATTERN = r"^[0-9a-fA-F]{32}$"  # W3C trace-context trace-id (stored lowercase)
METHOD_PATTERN = r"^[A-Za-z]{1,16}$"  # any token-like method, stored uppercase

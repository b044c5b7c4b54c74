"""The table of every deployed function: the single source of truth.

``vercel.json``, ``api/*.py``, ``template.yaml``, the local dev server and the tests are all derived
from (or checked against) this table. It is plain data so a function can import it at no cost to
learn its own platform deadline (the same ``max_duration`` that ``vercel.json`` gets).
"""

from __future__ import annotations

from shared.spec import FunctionSpec, Route


def _read_endpoint(name: str, path: str, description: str) -> FunctionSpec:
    """A GET over the tracking data: read token, Upstash, the shared read cache, the Vercel 'read' group."""
    return FunctionSpec(name=name, description=description, routes=(Route("GET", path, name),), max_duration=10,
                        memory=256, auth="read", needs=("upstash",), settings=("read_cache_s",), group="read")


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="health",
        description="Liveness: answers without any I/O.",
        routes=(Route("GET", "/api/health", "liveness"),),
        max_duration=5,
        memory=128,
        tracked=False,
        group="health",
    ),
    FunctionSpec(
        name="health_detailed",
        description="Readiness: Upstash, Supabase and extra dependencies, each bounded in time and cached.",
        routes=(Route("GET", "/api/health/detailed", "readiness"),),
        max_duration=10,
        memory=256,
        auth="public",
        needs=("upstash", "supabase"),
        settings=("health_urls", "health_cache_s", "read_token", "admin_token"),
        tracked=False,
        group="health",  # one Vercel entrypoint for both probes (Hobby counts functions)
    ),
    FunctionSpec(
        name="ingest",
        description="Event batches (requests, errors, logs, metrics) from apps in any language.",
        routes=(Route("POST", "/api/monitoring/ingest", "ingest"),),
        max_duration=10,
        memory=256,
        auth="ingest",
        needs=("upstash",),
        settings=("ingest_rate_per_min",),
        group="ingest",
    ),
    _read_endpoint("performance", "/api/monitoring/performance",
                   "Per-function latency quantiles, rates, cold starts, errors and logs over a window."),
    _read_endpoint("errors", "/api/monitoring/errors",
                   "Error groups by fingerprint over a window: counts by severity, first/last seen, a sample stack."),
    _read_endpoint("logs", "/api/monitoring/logs",
                   "Recent log lines per level and counts by level over a window."),
    _read_endpoint("metrics", "/api/monitoring/metrics",
                   "Tracked figures and the instance's own resources, as JSON or Prometheus text."),
    _read_endpoint("traces", "/api/monitoring/traces",
                   "The slowest recent requests per function, with their trace ids."),
)

BY_NAME: dict[str, FunctionSpec] = {f.name: f for f in FUNCTIONS}


def get(name: str) -> FunctionSpec:
    """The spec of function ``name`` (``KeyError`` names the known functions)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown function {name!r}; known: {', '.join(sorted(BY_NAME))}") from None

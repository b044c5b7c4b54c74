"""A registry of 25 functions, the size the bundle is heading for, to test the Vercel plan against.

The two real health functions plus 23 throwaway ones in the groups the platform-fit issue names: health;
ingest + OTLP; read endpoints; one group per cron job family; dashboard. ``write_packages`` creates the
throwaway packages (an app whose every route answers ``{"function", "route"}``) in a copy of the repo.
"""

from __future__ import annotations

from pathlib import Path

from functions.registry import FUNCTIONS
from shared.spec import FunctionSpec, Route

__all__ = ["SYNTHETIC", "THROWAWAY", "write_packages"]


def _fn(name: str, group: str, *routes: Route, max_duration: int = 10, schedule: str | None = None) -> FunctionSpec:
    return FunctionSpec(name=name, description=f"synthetic {name}", routes=routes, max_duration=max_duration,
                        schedule=schedule, auth="cron" if schedule else "public", group=group)


def _cron(name: str, group: str, schedule: str, max_duration: int = 30) -> FunctionSpec:
    return _fn(name, group, Route("GET", f"/api/cron/{name}", "run"), max_duration=max_duration, schedule=schedule)


THROWAWAY: tuple[FunctionSpec, ...] = (
    # cron families and the dashboard first: the real registry now fills the ingest and read groups,
    # and these placeholders are what the top-up to 25 drops as it grows
    _cron("budget_redis", "cron_budget", "*/5 * * * *"),
    _cron("budget_database", "cron_budget", "*/15 * * * *"),
    _cron("budget_report", "cron_budget", "0 6 * * *"),
    _cron("archive_logs", "cron_archive", "0 * * * *", max_duration=60),
    _cron("archive_metrics", "cron_archive", "30 2 * * *", max_duration=120),
    _cron("archive_prune", "cron_archive", "0 3 * * 0"),
    _cron("alerts_evaluate", "cron_alerts", "* * * * *"),
    _cron("alerts_digest", "cron_alerts", "0 8 * * 1-5"),
    _cron("alerts_heartbeat", "cron_alerts", "*/10 9-17 * * 1-5"),
    _cron("size_database", "cron_size", "0 */6 * * *"),
    _cron("size_redis", "cron_size", "15 */6 * * *"),
    _fn("dashboard_page", "dashboard", Route("GET", "/api/dashboard", "page")),
    _fn("dashboard_series", "dashboard", Route("GET", "/api/dashboard/series/{metric}", "series")),
    _fn("dashboard_config", "dashboard", Route("GET", "/api/dashboard/config", "read"),
        Route("PUT", "/api/dashboard/config", "update")),
    _fn("ingest_events", "ingest", Route("POST", "/api/ingest/events", "events")),
    _fn("ingest_metrics", "ingest", Route("POST", "/api/ingest/metrics", "metrics")),
    _fn("otlp_traces", "ingest", Route("POST", "/api/v1/traces", "traces"), max_duration=15),
    _fn("read_overview", "read", Route("GET", "/api/read/overview", "overview")),
    _fn("read_functions", "read", Route("GET", "/api/read/functions", "list"),
        Route("GET", "/api/read/functions/{name}", "one")),
    _fn("read_redis", "read", Route("GET", "/api/read/redis", "redis")),
    _fn("read_database", "read", Route("GET", "/api/read/database", "database"), max_duration=20),
    _fn("read_errors", "read", Route("GET", "/api/read/errors", "errors")),
    _fn("read_alerts", "read", Route("GET", "/api/read/alerts", "alerts")),
)
# The real functions, topped up with throwaway ones to 25 (the real registry grows; the size stays).
SYNTHETIC: tuple[FunctionSpec, ...] = (*FUNCTIONS, *THROWAWAY[: 25 - len(FUNCTIONS)])
assert len(SYNTHETIC) == 25


def write_packages(root: Path, specs: tuple[FunctionSpec, ...] = THROWAWAY) -> None:
    """``functions/<name>/app.py`` for each spec in a repo copy: its own spec inline, no registry entry needed."""
    for spec in specs:
        package = root / "functions" / spec.name
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(f'"""Throwaway function {spec.name} (tests)."""\n')
        handlers = "".join(
            f'\n\n@app.handles("{route.name}")\nasync def {route.name}() -> dict[str, str]:\n'
            f'    return {{"function": SPEC.name, "route": "{route.name}"}}\n'
            for route in spec.routes
        )
        (package / "app.py").write_text(
            f'"""Throwaway function {spec.name} (tests)."""\n\n'
            "from shared.http import create_app\n"
            "from shared.spec import FunctionSpec, Route\n\n"
            f"SPEC = {spec!r}\n"
            f"app = create_app(SPEC){handlers}"
        )

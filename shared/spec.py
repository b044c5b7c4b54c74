"""What a deployed function is: its routes, limits, schedule, auth and the settings it reads.

The library owns these types; ``functions/registry.py`` owns the table of functions built from them.
Everything else (wiring for both platforms, the local bundle, the guard's deadline, the auth each
route enforces) is derived from a ``FunctionSpec``, so nothing restates a path or a limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from shared.settings import variable_name

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Auth = Literal["public", "read", "admin", "ingest", "cron"]
Need = Literal["upstash", "supabase"]

# Which settings (field names) open which scope: the admin token may also read and run cron jobs.
SCOPE_SECRETS: dict[Auth, tuple[str, ...]] = {
    "public": (),
    "read": ("read_token", "admin_token"),
    "admin": ("admin_token",),
    "ingest": ("ingest_token",),
    "cron": ("cron_secret", "admin_token"),
}
NEED_SETTINGS: dict[Need, tuple[str, ...]] = {
    "upstash": ("upstash_redis_rest_url", "upstash_redis_rest_token"),
    "supabase": ("supabase_url", "supabase_service_role_key"),
}
# Read by every function: version, guard margins, the per-call cap.
COMMON_SETTINGS = ("app_version", "margin_ms", "cold_start_margin_ms", "check_timeout_ms")
# Read by a function that tracks itself (self-monitoring writes to Upstash).
TRACKING_SETTINGS = ("tracking", "flush_interval_s", "flush_max_events", "flush_mode",
                     "upstash_redis_rest_url", "upstash_redis_rest_token")


def path_pattern(path: str) -> re.Pattern[str]:
    """``/api/x/{id}`` -> ``^/api/x/[^/]+/?$``: how a route's path template matches request paths."""
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "/?$")


@dataclass(frozen=True)
class Route:
    """One served ``method path``; ``name`` is how code finds it, ``auth`` overrides the function's."""

    method: Method
    path: str
    name: str
    auth: Auth | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """One deployed function.

    ``name`` is the package under ``functions/``; ``max_duration`` (seconds) is both Vercel's
    ``maxDuration`` and Lambda's ``Timeout``; ``schedule`` is a five-field UTC cron expression;
    ``auth`` is the default scope of its routes; ``settings`` lists extra settings (field names) it reads;
    ``group`` (default: ``name``) is the Vercel entrypoint it shares on plans that cap the function count.
    """

    name: str
    description: str
    routes: tuple[Route, ...]
    max_duration: int = 10
    memory: int = 256
    schedule: str | None = None
    auth: Auth = "public"
    needs: tuple[Need, ...] = field(default=())
    settings: tuple[str, ...] = field(default=())
    # Self-monitoring: each invocation is tracked like an app's requests (source "self"). Off for the
    # health probes, which uptime checkers call every few seconds: one flush per probe would cost more
    # Upstash commands than everything they check.
    tracked: bool = True
    group: str = ""

    def __post_init__(self) -> None:
        if not self.group:
            object.__setattr__(self, "group", self.name)
        names = [r.name for r in self.routes]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: route names must be unique, got {names}")
        if self.schedule and not any(r.method == "GET" for r in self.routes):
            raise ValueError(f"{self.name}: a cron function needs a GET route (Vercel Cron calls GET)")

    @property
    def module(self) -> str:
        return f"functions.{self.name}"

    def route(self, name: str) -> Route:
        """The route called ``name`` (``KeyError`` names the function's routes)."""
        for route in self.routes:
            if route.name == name:
                return route
        raise KeyError(f"{self.name} has no route {name!r}; it has {[r.name for r in self.routes]}")

    def auth_of(self, route: Route) -> Auth:
        return route.auth or self.auth

    @property
    def cron_route(self) -> Route | None:
        """The route Vercel Cron calls (``GET``) when the function is scheduled."""
        if not self.schedule:
            return None
        return next(r for r in self.routes if r.method == "GET")

    @property
    def setting_fields(self) -> tuple[str, ...]:
        """Every setting this function may read: least privilege for secrets."""
        fields: list[str] = [*COMMON_SETTINGS, *(TRACKING_SETTINGS if self.tracked else ())]
        for need in self.needs:
            fields += NEED_SETTINGS[need]
        for scope in {self.auth, *(r.auth for r in self.routes if r.auth)}:
            fields += SCOPE_SECRETS[scope]
        if self.schedule:
            fields += SCOPE_SECRETS["cron"]
        return tuple(dict.fromkeys([*fields, *self.settings]))

    @property
    def variables(self) -> tuple[str, ...]:
        """The environment variables behind ``setting_fields``, as the platforms must provide them."""
        return tuple(variable_name(f) for f in self.setting_fields)

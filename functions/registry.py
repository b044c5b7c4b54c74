"""The single source of truth for every deployed function.

``vercel.json``, ``api/*.py``, ``template.yaml``, the local dev server and the tests are all derived
from (or checked against) this table. It is plain data so a function can import it at no cost to
learn its own platform deadline (the same ``max_duration`` that ``vercel.json`` gets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Auth = Literal["public", "read", "admin", "ingest", "cron"]


@dataclass(frozen=True)
class Route:
    method: Method
    path: str


@dataclass(frozen=True)
class FunctionSpec:
    """One deployed function.

    ``name`` is the package under ``functions/`` and the Vercel file ``api/<name>.py``;
    ``max_duration`` (seconds) is both Vercel's ``maxDuration`` and Lambda's ``Timeout``;
    ``schedule`` is a five-field UTC cron expression for cron functions.
    """

    name: str
    description: str
    routes: tuple[Route, ...]
    max_duration: int = 10
    memory: int = 256
    schedule: str | None = None
    auth: Auth = "public"
    needs: tuple[Literal["upstash", "supabase"], ...] = field(default=())
    env: tuple[str, ...] = field(default=())  # extra variables this function reads

    @property
    def module(self) -> str:
        return f"functions.{self.name}"

    @property
    def variables(self) -> tuple[str, ...]:
        """Every environment variable this function may read: least privilege for secrets."""
        names = ["TIERWATCH_APP_VERSION", "TIERWATCH_MARGIN_MS", "TIERWATCH_COLD_START_MARGIN_MS",
                 "TIERWATCH_CHECK_TIMEOUT_MS"]
        if "upstash" in self.needs:
            names += ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"]
        if "supabase" in self.needs:
            names += ["SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY"]
        names += _AUTH_VARIABLES[self.auth]
        if self.schedule:
            names += _AUTH_VARIABLES["cron"]
        return tuple(dict.fromkeys([*names, *self.env]))

    @property
    def vercel_file(self) -> str:
        return f"api/{self.name}.py"


_AUTH_VARIABLES: dict[str, list[str]] = {
    "public": [],
    "read": ["TIERWATCH_READ_TOKEN", "TIERWATCH_ADMIN_TOKEN"],
    "admin": ["TIERWATCH_ADMIN_TOKEN"],
    "ingest": ["TIERWATCH_INGEST_TOKEN"],
    "cron": ["CRON_SECRET", "TIERWATCH_ADMIN_TOKEN"],
}

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="health",
        description="Liveness: answers without any I/O.",
        routes=(Route("GET", "/api/health"),),
        max_duration=5,
        memory=128,
    ),
    FunctionSpec(
        name="health_detailed",
        description="Readiness: Upstash, Supabase and extra dependencies, each bounded in time.",
        routes=(Route("GET", "/api/health/detailed"),),
        max_duration=10,
        memory=256,
        needs=("upstash", "supabase"),
        env=("TIERWATCH_HEALTH_URLS",),
    ),
)

BY_NAME: dict[str, FunctionSpec] = {f.name: f for f in FUNCTIONS}


def get(name: str) -> FunctionSpec:
    """The spec of function ``name`` (``KeyError`` names the known functions)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown function {name!r}; known: {', '.join(sorted(BY_NAME))}") from None

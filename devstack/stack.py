"""The whole local stack on embedded defaults: Redis, PostgreSQL, both gateways, and the secrets.

Used by ``tierwatch dev`` (foreground) and by the test suite (background threads). Everything lives
under one data folder (``.tierwatch/`` by default) and survives a restart; secrets are generated on
first run and kept there (mode 0600).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from devstack.keys import make_key
from devstack.migrate import apply_migrations
from devstack.services.postgres_server import PostgresServer, start_postgres
from devstack.services.redis_server import RedisServer, start_redis

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "supabase" / "migrations"


@dataclass(frozen=True)
class LocalSecrets:
    upstash_token: str
    jwt_secret: str
    cron_secret: str
    ingest_token: str
    read_token: str
    admin_token: str

    @property
    def service_role_key(self) -> str:
        return make_key("service_role", self.jwt_secret)

    @property
    def anon_key(self) -> str:
        return make_key("anon", self.jwt_secret)


def load_or_create_secrets(data_dir: Path) -> LocalSecrets:
    """Read ``secrets.json`` from the data folder, creating it with fresh random values on first run."""
    path = data_dir / "secrets.json"
    if path.exists():
        return LocalSecrets(**json.loads(path.read_text()))
    values = LocalSecrets(**{name: f"tw_{secrets.token_urlsafe(24)}" for name in LocalSecrets.__dataclass_fields__})
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(values), f, indent=2)
    return values


@dataclass
class Services:
    """The embedded servers, migrated and ready."""

    redis: RedisServer
    postgres: PostgresServer
    secrets: LocalSecrets
    applied: list[str]

    def stop(self) -> None:
        """Stop both servers, PostgreSQL even when stopping Redis failed."""
        try:
            self.redis.stop()
        finally:
            self.postgres.stop()


def start_services(data_dir: Path) -> Services:
    """Start Redis and PostgreSQL under ``data_dir`` and apply pending migrations."""
    data_dir.mkdir(parents=True, exist_ok=True)
    local = load_or_create_secrets(data_dir)
    redis = start_redis(data_dir / "redis")
    try:
        postgres = start_postgres(data_dir / "postgres")
    except BaseException:
        redis.stop()
        raise
    try:
        applied = apply_migrations(postgres.dsn, MIGRATIONS, bootstrap=True)
    except BaseException:
        redis.stop()
        postgres.stop()
        raise
    return Services(redis=redis, postgres=postgres, secrets=local, applied=applied)


def gateway_apps(services: Services) -> tuple[Any, Any]:
    """The Upstash and PostgREST gateway ASGI apps in front of the embedded servers."""
    from devstack.postgrest_gateway import create_app as postgrest_app
    from devstack.upstash_gateway import create_app as upstash_app

    return (
        upstash_app(token=services.secrets.upstash_token, redis_url=services.redis.url),
        postgrest_app(dsn=services.postgres.dsn, jwt_secret=services.secrets.jwt_secret),
    )


def app_environment(services: Services, *, upstash_url: str, supabase_url: str) -> dict[str, str]:
    """The variables an app (or a function) uses to point at this stack, in print order."""
    s = services.secrets
    return {
        "UPSTASH_REDIS_REST_URL": upstash_url,
        "UPSTASH_REDIS_REST_TOKEN": s.upstash_token,
        "SUPABASE_URL": supabase_url,
        "SUPABASE_SERVICE_ROLE_KEY": s.service_role_key,
        "SUPABASE_ANON_KEY": s.anon_key,
        "DATABASE_URL": services.postgres.dsn,
        "CRON_SECRET": s.cron_secret,
        "TIERWATCH_INGEST_TOKEN": s.ingest_token,
        "TIERWATCH_READ_TOKEN": s.read_token,
        "TIERWATCH_ADMIN_TOKEN": s.admin_token,
        "TIERWATCH_PLATFORM": "local",
    }

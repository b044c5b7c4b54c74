"""Test-wide fixtures: a clean environment, and the local stack (real Redis + PostgreSQL behind the gateways).

Environment defaults are set here, before anything imports ``shared``, so no developer variable
(a real Upstash token, say) leaks into a test.
"""

from __future__ import annotations

import os

# Tool locations for tests/deploy (set by .ci/install-deploy-tools) are not configuration: keep them.
_KEEP = {"TIERWATCH_SAM", "TIERWATCH_VERCEL", "TIERWATCH_UV", "TIERWATCH_RUNTIME_PYTHON", "TIERWATCH_TOOLS_DIR"}
for _name in list(os.environ):
    if _name not in _KEEP and _name.startswith(("UPSTASH_", "SUPABASE_", "TIERWATCH_", "CRON_SECRET", "VERCEL", "AWS_LAMBDA_")):
        del os.environ[_name]
os.environ["TIERWATCH_PLATFORM"] = "local"
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from devstack.serve import ServedApp, serve_in_thread  # noqa: E402
from shared.settings import get_settings  # noqa: E402


@dataclass
class LocalStack:
    services: Any  # devstack.stack.Services
    upstash: ServedApp
    postgrest: ServedApp
    env: dict[str, str]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole local stack, once per test session."""
    from devstack.stack import app_environment, gateway_apps, start_services

    services = start_services(tmp_path_factory.mktemp("stack"))
    upstash_app, postgrest_app = gateway_apps(services)
    upstash = serve_in_thread(upstash_app)
    postgrest = serve_in_thread(postgrest_app)
    env = app_environment(services, upstash_url=upstash.url, supabase_url=postgrest.url)
    yield LocalStack(services=services, upstash=upstash, postgrest=postgrest, env=env)
    upstash.stop()
    postgrest.stop()
    services.stop()


@pytest.fixture
def stack_env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Point the functions at the local stack for one test (settings rebuilt before and after)."""
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield stack.env
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()

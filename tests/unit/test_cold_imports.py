"""Cold start: a function imports only what it needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("supabase", "postgrest", "boto3", "upstash_redis", "devstack", "psycopg", "redis")


def _heavy(loaded: set[str], packages: tuple[str, ...]) -> set[str]:
    # Powertools' package __init__ probes for botocore (its bare top-level module, ~0.4 ms) to set a
    # user agent; a real botocore import (sessions, clients) shows up as submodules.
    return {m for m in loaded if m.split(".")[0] in packages or m.startswith("botocore.")}


def _modules_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("module", ["functions.health.handler", "api.health"])
def test_health_imports_no_sdk(module: str) -> None:
    assert not _heavy(_modules_after_import(module), HEAVY)


def test_health_detailed_imports_no_boto3_nor_full_supabase() -> None:
    loaded = _modules_after_import("functions.health_detailed.handler")
    assert not _heavy(loaded, ("boto3", "supabase", "devstack", "psycopg", "redis"))

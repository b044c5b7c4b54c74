"""The Vercel plan: Hobby groups functions into at most 12 lazy entrypoints, Pro keeps one per function."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devstack.cli import app as cli
from devstack.wiring import hobby_cron, vercel
from devstack.wiring.common import RUNTIME
from devstack.wiring.vercel_plan import (
    HOBBY_MAX_FUNCTIONS,
    PlanError,
    entrypoints,
    record_plan,
    recorded_plan,
)
from functions.registry import FUNCTIONS
from shared.spec import FunctionSpec, Route
from tests.synthetic_registry import SYNTHETIC

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------------------------- grouping

def test_the_registry_on_hobby_shares_one_health_entrypoint() -> None:
    entries = {e.name: e for e in entrypoints(FUNCTIONS, "hobby")}
    health = entries["health"]
    assert health.file == "api/health.py"
    assert [s.name for s in health.members] == ["health", "health_detailed"]
    assert health.max_duration == 10
    assert sorted(s.name for e in entries.values() for s in e.members) == sorted(s.name for s in FUNCTIONS)


def test_the_registry_on_pro_keeps_one_entrypoint_per_function() -> None:
    assert [e.file for e in entrypoints(FUNCTIONS, "pro")] == [f"api/{s.name}.py" for s in FUNCTIONS]


def test_25_functions_fit_hobby_in_their_groups() -> None:
    entries = entrypoints(SYNTHETIC, "hobby")
    assert len(entries) <= HOBBY_MAX_FUNCTIONS
    assert sorted(e.name for e in entries) == sorted(["health", "ingest", "read", "cron_budget", "cron_archive",
                                                      "cron_alerts", "cron_size", "dashboard"])
    assert sorted(s.name for e in entries for s in e.members) == sorted(s.name for s in SYNTHETIC)
    assert len(entrypoints(SYNTHETIC, "pro")) == 25


def test_hobby_vercel_json_routes_every_path_to_its_group() -> None:
    entries = entrypoints(SYNTHETIC, "hobby")
    config = vercel.config(entries, "hobby")
    by_name = {e.name: e for e in entries}
    assert set(config["functions"]) == {e.file for e in entries}
    for name, entry in by_name.items():
        settings = config["functions"][entry.file]
        assert settings["maxDuration"] == max(s.max_duration for s in entry.members), name
        assert "memory" not in settings  # ignored under Fluid compute
    rewrites = {r["source"]: r["destination"] for r in config["rewrites"]}
    assert len(rewrites) == len(config["rewrites"])  # one rule per path, even with two methods on it
    for spec in SYNTHETIC:
        for route in spec.routes:
            source = route.path.replace("{name}", ":name").replace("{metric}", ":metric")
            assert rewrites.get(source, route.path) == f"/api/{spec.group}", route.path
    assert config["functions"]["api/cron_archive.py"]["maxDuration"] == 120


def test_hobby_refuses_more_than_12_entrypoints_and_says_what_to_do() -> None:
    ungrouped = [dataclasses.replace(s, group=s.name) for s in SYNTHETIC]
    with pytest.raises(PlanError) as err:
        entrypoints(ungrouped, "hobby")
    message = str(err.value)
    assert "at most 12" in message and "25 entrypoints" in message
    assert "FunctionSpec.group" in message and "--vercel-plan pro" in message
    assert len(entrypoints(ungrouped, "pro")) == 25


@pytest.mark.parametrize(("specs", "fragment"), [
    ((FunctionSpec("a", "a", (Route("GET", "/api/x", "r"),), group="_a"),), "Vercel ignores api/_*.py"),
    ((FunctionSpec("a", "a", (Route("GET", "/api/x", "r"),), group="my-group"),), "Python identifier"),
    ((FunctionSpec("a", "a", (Route("GET", "/api/x", "r"),), max_duration=301),), "exceeds Vercel hobby's 300 s"),
    ((FunctionSpec("a", "a", (Route("GET", "/api/x", "r"),)),
      FunctionSpec("b", "b", (Route("POST", "/api/x", "r"),))), "served by both a and b"),
    ((FunctionSpec("a", "a", (Route("GET", "/api/b", "r"),)),
      FunctionSpec("b", "b", (Route("GET", "/api/bb", "r"),))), "is the path of api/b.py"),
])
def test_plans_refuse_what_vercel_would_mis_route(specs: tuple[FunctionSpec, ...], fragment: str) -> None:
    with pytest.raises(PlanError, match=fragment.replace("*", r"\*").replace(".", r"\.")):
        entrypoints(specs, "hobby")


# ----------------------------------------------------------------------------------------------- crons

@pytest.mark.parametrize(("expr", "more", "daily"), [
    ("0 6 * * *", False, "0 6 * * *"),
    ("*/5 * * * *", True, "0 0 * * *"),
    ("0 * * * *", True, "0 0 * * *"),
    ("15 */6 * * *", True, "15 0 * * *"),
    ("0 9,21 * * *", True, "0 9 * * *"),
    ("*/10 9-17 * * 1-5", True, "0 9 * * 1-5"),
    ("30 2 1 * *", False, "30 2 1 * *"),
])
def test_hobby_cronessions(expr: str, more: bool, daily: str) -> None:
    assert hobby_cron.more_than_daily(expr) is more
    assert hobby_cron.daily(expr) == daily
    assert not hobby_cron.more_than_daily(hobby_cron.daily(expr))


def test_hobby_runs_frequent_crons_daily_and_says_so_pro_keeps_them() -> None:
    hobby = {c["path"]: c["schedule"] for c in vercel.config(entrypoints(SYNTHETIC, "hobby"), "hobby")["crons"]}
    pro = {c["path"]: c["schedule"] for c in vercel.config(entrypoints(SYNTHETIC, "pro"), "pro")["crons"]}
    scheduled = {s.cron_route.path: s.schedule for s in SYNTHETIC if s.cron_route}
    assert pro == scheduled
    assert set(hobby) == set(scheduled)
    assert not any(hobby_cron.more_than_daily(expr) for expr in hobby.values())
    assert hobby["/api/cron/budget_report"] == "0 6 * * *"  # already daily: unchanged
    notes = vercel.cron_notes(SYNTHETIC, "hobby")
    frequent = [s.name for s in SYNTHETIC if s.schedule and hobby_cron.more_than_daily(s.schedule)]
    assert [n.split(":")[0] for n in notes] == frequent
    assert all("Supabase Cron" in n and "tierwatch wiring --supabase-cron" in n for n in notes)
    assert vercel.cron_notes(SYNTHETIC, "pro") == []


# ----------------------------------------------------------------------------------------------- files

def test_the_python_pin_is_the_lambda_runtime_and_is_uploaded() -> None:
    assert (ROOT / "api" / ".python-version").read_text().strip() == RUNTIME.removeprefix("python")
    assert "/api/.python-version" not in (ROOT / ".vercelignore").read_text().splitlines()
    if shutil.which("git") and (ROOT / ".git").exists():
        ignored = subprocess.run(["git", "check-ignore", "-q", "api/.python-version"], cwd=ROOT, timeout=30)
        assert ignored.returncode == 1, "api/.python-version must be committed"


def test_no_api_file_outside_the_plan() -> None:
    assert vercel.orphans(vercel.files()) == []


def test_orphans_are_the_api_files_vercel_would_deploy_beyond_the_plan(tmp_path: Path) -> None:
    files = vercel.files(FUNCTIONS, "hobby", root=tmp_path)
    for rel in ("api/health.py", "api/health_detailed.py", "api/_dispatch.py", "api/.hidden.py",
                "api/_lib/x.py", "api/v1/traces.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    assert vercel.orphans(files, root=tmp_path) == [tmp_path / "api/health_detailed.py", tmp_path / "api/v1/traces.py"]


def test_pro_entrypoints_are_plain_reexports(tmp_path: Path) -> None:
    files = vercel.files(FUNCTIONS, "pro", root=tmp_path)
    source = files[tmp_path / "api" / "health_detailed.py"]
    assert "from functions.health_detailed.app import app" in source and "Dispatcher" not in source


def test_the_plan_is_recorded_in_pyproject(tmp_path: Path) -> None:
    original = "[project]\nname = \"x\"\n\n[tool.ruff]\nline-length = 110\n"
    (tmp_path / "pyproject.toml").write_text(original)
    assert recorded_plan(tmp_path) == "hobby"  # the default
    assert record_plan("pro", tmp_path) is True
    assert recorded_plan(tmp_path) == "pro"
    assert record_plan("pro", tmp_path) is False
    assert record_plan("hobby", tmp_path) is True
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(original) and text.count("vercel-plan =") == 1 and recorded_plan(tmp_path) == "hobby"
    assert recorded_plan() in ("hobby", "pro")


def test_cli_check_passes_and_refuses_a_plan_without_write() -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["wiring"])
    assert ok.exit_code == 0, ok.output
    refused = runner.invoke(cli, ["wiring", "--vercel-plan", "pro"])
    assert refused.exit_code == 2 and "--write" in refused.output


# ----------------------------------------------------------------------------------------------- laziness

_PROBE = r"""
import asyncio, json, sys
import api.health as entry

def functions():
    return sorted(m for m in sys.modules if m.startswith("functions.") and m != "functions.registry")

async def get(path):
    sent = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"t")], "client": ("127.0.0.1", 1), "server": ("t", 80)}
    await entry.app(scope, receive, send)
    return sent[0]["status"]

before = functions()
statuses = [asyncio.run(get(p)) for p in sys.argv[1:]]
print(json.dumps({"before": before, "after": functions(), "statuses": statuses}))
"""


def _probe(tmp_path: Path, *paths: str) -> dict[str, list[object]]:
    """Import the Hobby entrypoint of the health group in a fresh interpreter, request ``paths``, list imports."""
    entry = next(e for e in entrypoints(FUNCTIONS, "hobby") if e.name == "health")
    (tmp_path / "api").mkdir(exist_ok=True)
    (tmp_path / "api" / "health.py").write_text(vercel.entry_source(entry))
    out = subprocess.run([sys.executable, "-c", _PROBE, *paths], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    result: dict[str, list[object]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_a_group_imports_only_the_routed_function(tmp_path: Path) -> None:
    liveness = _probe(tmp_path, "/api/health")
    assert liveness["before"] == []  # importing the entrypoint imports no function
    assert liveness["statuses"] == [200]
    assert liveness["after"] == ["functions.health", "functions.health.app"]
    readiness = _probe(tmp_path, "/api/health/detailed")
    assert "functions.health" not in readiness["after"] and "functions.health.app" not in readiness["after"]
    assert "functions.health_detailed.app" in readiness["after"]


def test_a_group_answers_404_for_a_path_it_does_not_serve(tmp_path: Path) -> None:
    result = _probe(tmp_path, "/api/nope")
    assert result["statuses"] == [404] and result["after"] == []


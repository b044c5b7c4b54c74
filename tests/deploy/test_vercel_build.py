"""``vercel build`` on a copy of the repo (see tests/deploy/_tools.py), and on a copy with 25 functions.

Every route is then called through the built output: the path is routed with the output's own
``config.json``, the function's files are laid out as Vercel ships them, and its entrypoint is loaded and
classified (ASGI) by the ``vercel_runtime`` the build vendored, with the runtime's Python.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack import wiring
from devstack.wiring import hobby_cron, vercel
from devstack.wiring.vercel_plan import HOBBY_MAX_FUNCTIONS, Entrypoint, entrypoints, recorded_plan
from functions.registry import FUNCTIONS
from shared.spec import FunctionSpec
from tests.deploy._tools import (
    DEV_ONLY_DISTS,
    DEV_TREE,
    RUNTIME_VERSION,
    _copy_repo,
    _executable,
    _require,
    _run,
    _runtime_python,
    _tool_env,
    _tree_contains,
)
from tests.synthetic_registry import SYNTHETIC, write_packages

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CRON_SECRET = "cron-secret-for-the-build-test-0123"
READ_TOKEN = "read-token-for-the-build-test-0123"
INGEST_TOKEN = "ingest-token-for-the-build-test-01"


@dataclass
class VercelRun:
    repo: Path
    canary: str
    build: subprocess.CompletedProcess[str]
    output: Path
    python: str
    entries: tuple[Entrypoint, ...]


def _build(repo: Path, entries: tuple[Entrypoint, ...], canary: str) -> VercelRun:
    exe = _require(_executable("TIERWATCH_VERCEL", "vercel"), "vercel (TIERWATCH_VERCEL)")
    uv = _require(_executable("TIERWATCH_UV", "uv"), "uv (TIERWATCH_UV), needed by Vercel's Python builder")
    python = _require(_runtime_python(), f"python{RUNTIME_VERSION} (TIERWATCH_RUNTIME_PYTHON)")
    (repo / ".vercel").mkdir(exist_ok=True)
    (repo / ".vercel" / "project.json").write_text(json.dumps(
        {"projectId": "prj_local", "orgId": "team_local", "settings": {"framework": None}}))
    # Python first on PATH: uv lists the interpreters it finds, and the builder picks among them.
    env = _tool_env(str(Path(python).parent), str(Path(uv).parent))
    build = _run([exe, "build", "--yes"], repo, env)
    return VercelRun(repo, canary, build, repo / ".vercel" / "output", python, entries)


@pytest.fixture(scope="module")
def vercel_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VercelRun]:
    """The repo as committed, on the plan it records."""
    repo = tmp_path_factory.mktemp("vercel") / "repo"
    repo.mkdir()
    canary = _copy_repo(repo)
    yield _build(repo, entrypoints(FUNCTIONS, recorded_plan()), canary)


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VercelRun]:
    """A copy with 25 functions (23 throwaway packages), wired for Hobby by the real generator."""
    repo = tmp_path_factory.mktemp("vercel25") / "repo"
    repo.mkdir()
    canary = _copy_repo(repo)
    write_packages(repo)
    files = vercel.files(SYNTHETIC, "hobby", root=repo)
    for path in vercel.orphans(files, root=repo):
        path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    yield _build(repo, entrypoints(SYNTHETIC, "hobby"), canary)


# ----------------------------------------------------------------------------------------------- helpers

def _funcs(run: VercelRun) -> set[str]:
    assert run.build.returncode == 0 and "Build Completed" in run.build.stdout, run.build.stdout
    return {p.name for p in (run.output / "functions" / "api").iterdir()}


def _vc_config(run: VercelRun, name: str) -> dict[str, Any]:
    path = run.output / "functions" / "api" / f"{name}.func" / ".vc-config.json"
    assert path.is_file(), f"no function for api/{name}.py\n{run.build.stdout}"
    config: dict[str, Any] = json.loads(path.read_text())
    return config


def _vendored_dists(config: dict[str, Any]) -> set[str]:
    names = set()
    for key in config["filePathMap"]:
        parts = key.split("/")
        if len(parts) >= 3 and parts[0] == "_vendor" and parts[1].endswith(".dist-info"):
            names.add(re.sub(r"[-_.]+", "-", parts[1].removesuffix(".dist-info").rsplit("-", 1)[0]).lower())
    return names


def _concrete(path: str) -> str:
    """A request path for a route template: ``/api/x/{id}`` -> ``/api/x/sample``."""
    return re.sub(r"\{[^/]+?\}", "sample", path)


def _routed_to(run: VercelRun, path: str) -> str:
    """The function Vercel's output sends ``path`` to: the filesystem first, then the first matching route."""
    if (run.output / "functions" / f"{path.lstrip('/')}.func").is_dir():
        return path
    routes = json.loads((run.output / "config.json").read_text())["routes"]
    for route in routes:
        if "src" in route and "dest" in route and re.match(route["src"], path):
            return str(route["dest"]).split("?")[0]
    raise AssertionError(f"{path} reaches no function: {routes}")


def _layout(run: VercelRun, name: str, dest: Path) -> Path:
    """The function's files where Vercel puts them (hard links: ~2,000 files per function)."""
    for rel, src in _vc_config(run, name)["filePathMap"].items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(run.repo / src, target)
        except OSError:
            shutil.copy2(run.repo / src, target)
    return dest


# Loads the entrypoint the way vercel_runtime's vc_init does (by file, under its module name), checks that
# the runtime takes it for ASGI, then sends each request and lists the function packages imported so far.
_CALLER = r"""
import asyncio, json, os, sys
sys.path.insert(0, "_vendor")
from vercel_runtime.resolver import detect_app_type, import_module
module, calls = sys.argv[1], json.loads(sys.argv[2])

def loaded():
    return sorted({m.split(".")[1] for m in sys.modules if m.startswith("functions.") and m != "functions.registry"})

entry = import_module(module, os.path.abspath(module.replace(".", "/") + ".py"))
kind, app = detect_app_type(entry.app, module, "app")
import httpx
out = {"kind": kind, "before": loaded(), "calls": []}

async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://tierwatch.test") as client:
        for method, path, token in calls:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = await client.request(method, path, headers=headers)
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text
            out["calls"].append({"path": path, "status": r.status_code, "body": body, "loaded": loaded()})

asyncio.run(main())
print(json.dumps(out))
"""


def _call_routes(run: VercelRun, tmp_path: Path) -> dict[str, tuple[FunctionSpec, dict[str, Any]]]:
    """Every route of every member, sent to the function the output routes it to; by ``METHOD path``."""
    by_func: dict[str, list[tuple[str, str, str, FunctionSpec]]] = {}
    for entry in run.entries:
        for route, spec in entry.routes:
            path = _concrete(route.path)
            func = _routed_to(run, path).removeprefix("/api/")
            # Each route gets the token of its scope (Vercel Cron's on cron routes); public routes none.
            token = {"cron": CRON_SECRET, "read": READ_TOKEN, "ingest": INGEST_TOKEN}.get(spec.auth_of(route), "")
            by_func.setdefault(func, []).append((route.method, path, token, spec))
    answers: dict[str, tuple[FunctionSpec, dict[str, Any]]] = {}
    for func, calls in by_func.items():
        home = _layout(run, func, tmp_path / func)
        out = subprocess.run(
            [run.python, "-E", "-s", "-c", _CALLER, f"api.{func}", json.dumps([c[:3] for c in calls])],
            cwd=home, capture_output=True, text=True, timeout=180,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", "CRON_SECRET": CRON_SECRET,
                 "TIERWATCH_READ_TOKEN": READ_TOKEN, "TIERWATCH_INGEST_TOKEN": INGEST_TOKEN,
                 "TIERWATCH_PLATFORM": "local"})
        assert out.returncode == 0, out.stdout + out.stderr
        result = json.loads(out.stdout.strip().splitlines()[-1])
        members = {c[3].name for c in calls}
        # A group imports nothing before a request; a one-function entrypoint is that function's app.
        assert result["kind"] == "asgi" and result["before"] in ([], sorted(members) if len(members) == 1 else []), result
        called: set[str] = set(result["before"])
        for (method, path, _, spec), answer in zip(calls, result["calls"], strict=True):
            called.add(spec.name)
            # Lazy and routed: only the functions asked for so far are imported, this one included.
            assert answer["loaded"] == sorted(called), (path, answer)
            answers[f"{method} {path}"] = (spec, answer)
    return answers


# ----------------------------------------------------------------------------------------------- the repo

def test_vercel_build_makes_one_function_per_entrypoint(vercel_run: VercelRun) -> None:
    funcs = _funcs(vercel_run)
    assert funcs == {f"{e.name}.func" for e in vercel_run.entries}
    if recorded_plan() == "hobby":
        assert len(funcs) <= HOBBY_MAX_FUNCTIONS
    for entry in vercel_run.entries:
        config = _vc_config(vercel_run, entry.name)
        assert config["maxDuration"] == entry.max_duration
        assert "memory" not in config  # Fluid compute sizes instances per project
        assert entry.file in config["filePathMap"]
        assert "shared/dispatch.py" in config["filePathMap"]
        assert "shared/http.py" in config["filePathMap"]
        for spec in entry.members:
            assert any(k.startswith(f"functions/{spec.name}/") for k in config["filePathMap"])


def test_vercel_pins_the_lambda_python_from_the_pin_file(vercel_run: VercelRun) -> None:
    """The builder reads api/.python-version (not whatever Python is first on PATH) and builds for it."""
    _funcs(vercel_run)
    assert f"Using Python {RUNTIME_VERSION} from api/.python-version" in vercel_run.build.stdout
    for entry in vercel_run.entries:
        assert _vc_config(vercel_run, entry.name)["runtime"] == wiring.RUNTIME


def test_every_route_answers_through_the_built_entrypoints(vercel_run: VercelRun, tmp_path: Path) -> None:
    answers = _call_routes(vercel_run, tmp_path)
    assert set(answers) == {f"{r.method} {_concrete(r.path)}" for s in FUNCTIONS for r in s.routes}
    for spec, answer in answers.values():
        # the function's own answer: past its auth, its body, or the settings it lacks here (no Upstash/
        # Supabase: 503), or its refusal of an empty body (ingest: 415); never the router's 404
        assert answer["status"] in (200, 415, 503), answer
        assert answer["body"].get("function") == spec.name or answer["body"]["error"]["code"] in (
            "config_error", "unsupported_media_type"), answer


def test_vercel_functions_vendor_the_runtime_dependencies(vercel_run: VercelRun) -> None:
    for entry in vercel_run.entries:
        dists = _vendored_dists(_vc_config(vercel_run, entry.name))
        for dist in ("fastapi", "mangum", "pydantic", "upstash-redis", "supabase",
                     "aws-lambda-powertools", "httpx"):
            assert dist in dists, f"{dist} not vendored into {entry.file}"
        dev = {d for d in DEV_ONLY_DISTS - {"tierwatch"} if d in dists}
        assert not dev, f"dev-only packages vendored: {sorted(dev)}"


def test_vercel_functions_hold_only_runtime_code(vercel_run: VercelRun) -> None:
    for entry in vercel_run.entries:
        config = _vc_config(vercel_run, entry.name)
        assert "tierwatch" not in _vendored_dists(config)
        keys = config["filePathMap"]
        tops = {k.split("/")[0] for k in keys if not k.startswith("_vendor/")}
        assert not tops & (DEV_TREE | {"supabase"}), sorted(tops & (DEV_TREE | {"supabase"}))
        vendored = {k.split("/")[1] for k in keys if k.startswith("_vendor/")}
        assert not vendored & {"devstack", "tests", "functions", "shared"}, sorted(vendored)


def test_vercel_serves_no_source_and_no_local_secrets(vercel_run: VercelRun) -> None:
    static = vercel_run.output / "static"
    served = [str(p.relative_to(static)) for p in static.rglob("*") if p.is_file()] if static.is_dir() else []
    assert not [p for p in served if p.endswith((".py", ".sql", ".toml", ".yaml", ".lock"))], served
    assert not _tree_contains(static, vercel_run.canary) if static.is_dir() else True


# ----------------------------------------------------------------------------------------------- 25 functions

def test_25_functions_build_into_at_most_12_on_hobby(synthetic_run: VercelRun) -> None:
    funcs = _funcs(synthetic_run)
    assert len(funcs) <= HOBBY_MAX_FUNCTIONS
    assert funcs == {f"{e.name}.func" for e in synthetic_run.entries}
    for entry in synthetic_run.entries:
        assert _vc_config(synthetic_run, entry.name)["maxDuration"] == max(s.max_duration for s in entry.members)
    crons = json.loads((synthetic_run.output / "config.json").read_text())["crons"]
    assert {c["path"] for c in crons} == {s.cron_route.path for s in SYNTHETIC if s.cron_route}
    assert not any(hobby_cron.more_than_daily(c["schedule"]) for c in crons)  # what Hobby accepts


def test_25_functions_each_route_answers_from_its_own_function(synthetic_run: VercelRun, tmp_path: Path) -> None:
    answers = _call_routes(synthetic_run, tmp_path)
    assert set(answers) == {f"{r.method} {_concrete(r.path)}" for s in SYNTHETIC for r in s.routes}
    for request, (spec, answer) in answers.items():
        if spec in FUNCTIONS:
            assert answer["body"].get("function") == spec.name or answer["body"]["error"]["code"] in (
                "config_error", "unsupported_media_type"), answer
            continue
        route = next(r for r in spec.routes if f"{r.method} {_concrete(r.path)}" == request)
        assert answer["status"] == 200, answer
        assert answer["body"] == {"function": spec.name, "route": route.name}

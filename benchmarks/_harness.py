"""What every benchmark shares: timing one call, and running a server in its own process.

A gateway under test runs in a child process: in a thread it would share the GIL with the client and look
slower than it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from devstack.serve import free_port

ROOT = Path(__file__).resolve().parents[1]


def time_us(fn: Callable[[], object]) -> float:
    """Wall time of one call, in microseconds."""
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1000


@contextmanager
def served_process(serve_code: str, env: dict[str, str], ready: Callable[[str], bool],
                   timeout_s: float = 20) -> Iterator[str]:
    """Run ``python -c serve_code`` (which reads ``GW_PORT``); yield its base URL once ``ready(url)``."""
    port = free_port()
    child_env = {**os.environ, **env, "GW_PORT": str(port)}
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), child_env.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, "-c", serve_code], env=child_env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if ready(url):
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server process did not start")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def built_bundles() -> Iterator[tuple[Path, str]]:
    """``sam build`` of this checkout for this machine's architecture (the wheels must load here): yields
    the build directory (one artifact folder per function) and the runtime's Python (3.12).

    Lambda runs arm64 wheels; the same template built for the local architecture holds the same code and
    the same pins, so import work is the same. Needs sam and python3.12 (``.ci/install-deploy-tools``).
    """
    import platform
    import re
    import tempfile

    from tests.deploy._tools import _copy_repo, _executable, _run, _runtime_python, _tool_env

    sam, python = _executable("TIERWATCH_SAM", "sam"), _runtime_python()
    if not sam or not python:
        raise RuntimeError("sam and python3.12 are needed: eval \"$(bash .ci/install-deploy-tools)\"")
    machine = platform.machine().lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[machine]
    with tempfile.TemporaryDirectory(prefix="tierwatch-bench-") as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        _copy_repo(repo)
        template = repo / "template.bench.yaml"
        template.write_text(re.sub(r"^(\s*)- arm64$", rf"\1- {arch}", (repo / "template.yaml").read_text(), flags=re.M))
        env = {**_tool_env(str(Path(python).parent)), "LAMBDA_PLATFORM": f"manylinux2014_{machine}"}
        build = Path(tmp) / "build"
        result = _run([sam, "build", "-t", template.name, "--build-dir", str(build), "--cache-dir",
                       str(Path(tmp) / "cache")], repo, env)
        if result.returncode != 0:
            raise RuntimeError(f"sam build failed:\n{result.stdout[-3000:]}")
        yield build, python

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

"""The app package stays what an app can afford: standard library only, and mypy --strict clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk" / "python" / "src"
BIN = Path(sys.executable).parent
FORBIDDEN = {"fastapi", "starlette", "httpx", "pydantic", "anyio", "requests", "urllib3", "shared", "functions",
             "devstack"}

# Imports every public module, then makes one real POST attempt (to a port nothing listens on), so the
# lazily imported urllib machinery is covered too. Prints the top-level modules the run added.
_PROBE = """
import json, socket, sys
before = set(sys.modules)
import tierwatch, tierwatch.asgi, tierwatch.lambda_handler
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
client = tierwatch.Client(f"http://127.0.0.1:{port}", "a-token-for-the-import-test")
client.record_request("probe", 1.0, 200)
client.flush(timeout_s=1.0)
assert client.stats.failed_posts == 1, client.stats
added = {name.split(".")[0] for name in set(sys.modules) - before}
print(json.dumps(sorted(added)))
"""


def test_the_app_package_imports_only_the_standard_library() -> None:
    env = {"PYTHONPATH": str(SDK), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, env=env,
                         cwd=SDK)
    assert out.returncode == 0, out.stderr
    added = set(json.loads(out.stdout))
    assert not added & FORBIDDEN
    third_party = {m for m in added if m not in sys.stdlib_module_names and m != "tierwatch"}
    assert not third_party, third_party


def test_the_app_package_is_mypy_strict_clean() -> None:
    out = subprocess.run([str(BIN / "mypy"), "--strict", str(SDK)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr

"""``tierwatch invoke``: a Lambda handler run in-process, its result alone on stdout (pipe it to jq)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.devproc import TIERWATCH, clean_env

READ = "read-token-0123456789abcdef"


def _invoke(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TIERWATCH, "invoke", *args], capture_output=True, text=True, timeout=60,
                          env={**clean_env(), **env})


def test_invoke_prints_only_the_result_on_stdout_and_logs_on_stderr() -> None:
    out = _invoke("health")
    assert out.returncode == 0, out.stderr
    response = json.loads(out.stdout)  # the whole of stdout is the result
    assert response["statusCode"] == 200 and json.loads(response["body"])["status"] == "ok"
    logs = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    assert any(line["message"] == "request" and line["function_name"] == "health" for line in logs)


def test_invoke_with_an_event_file(tmp_path: Path) -> None:
    from devstack.lambda_local import http_event

    event = tmp_path / "event.json"
    event.write_text(json.dumps(http_event("GET", "/api/health/detailed",
                                           headers={"authorization": f"Bearer {READ}"})))
    out = _invoke("health_detailed", "--event", str(event), TIERWATCH_READ_TOKEN=READ)
    assert out.returncode == 0, out.stderr
    response = json.loads(out.stdout)
    assert response["statusCode"] == 503  # nothing configured: every check names what is missing
    assert "UPSTASH_REDIS_REST_URL" in response["body"]


def test_invoke_a_named_route() -> None:
    out = _invoke("health", "--route", "liveness")
    assert out.returncode == 0 and json.loads(out.stdout)["statusCode"] == 200
    bad = _invoke("health", "--route", "nope")
    assert bad.returncode == 2 and "has no route 'nope'" in bad.stderr


def test_invoke_unknown_function_is_a_clear_error() -> None:
    out = _invoke("nope")
    assert out.returncode == 2
    assert "unknown function 'nope'" in out.stderr and "health_detailed" in out.stderr

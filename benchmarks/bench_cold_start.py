"""Cold start where it happens: each function imported from its own ``sam build`` bundle.

Each sample is a fresh process of the Lambda runtime's Python (3.12), isolated (``-I``: no user site,
no environment paths) and not writing bytecode (``-B``: /var/task is read-only), with only the variables
Lambda would set (the function's own, empty as the template's defaults, and the runtime's), importing
the handler module from the function's artifact directory with the bytecode the build shipped. It times
its own import with ``perf_counter`` (interpreter start-up excluded). The yardstick is ``import fastapi``
from the same bundle, in the same run; ratios compare medians. Targets: an HTTP function <= 1.3x, a cron
job's scheduled path (import, then the first scheduled run, of a tiny job on ``shared.cron``) <= 0.5x.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._harness import built_bundles
from devstack.wiring.makefile import logical_id
from functions.registry import FUNCTIONS

# Packages worth naming when a cold start loads them.
HEAVY = ("fastapi", "httpx", "upstash_redis", "postgrest", "supabase", "boto3")
_LOADED = "print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set(" + repr(HEAVY) + "))) or '-')"
_IMPORT = ("import sys, time; sys.path[:0] = {paths!r}; t = time.perf_counter(); import {module}; "
           "print((time.perf_counter() - t) * 1000); " + _LOADED)
_CRON_RUN = ("import sys, time; sys.path[:0] = {paths!r}; t = time.perf_counter(); import bench_cron_job as j; "
             "j.handler({{'source': 'aws.scheduler', 'detail-type': 'Scheduled Event'}}, j.Ctx()); "
             "print((time.perf_counter() - t) * 1000); " + _LOADED)
HTTP_TARGET, CRON_TARGET = 1.3, 0.5
# A cron function as the registry will declare one: the scheduled path must not import FastAPI.
_CRON_JOB = '''\
from shared.cron import JobResult, cron_handler
from shared.spec import FunctionSpec, Route

SPEC = FunctionSpec(name="bench_cron", description="benchmark job", routes=(Route("GET", "/api/bench", "run"),),
                    schedule="*/5 * * * *", auth="cron")


async def job(settings, guard):
    return JobResult(job="bench", complete=True, processed=1)


class Ctx:
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self):
        return 10_000


handler = cron_handler(SPEC, job)
'''


def _lambda_env(variables: tuple[str, ...], home: str) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home, "AWS_REGION": "us-east-1",
           "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
           "POWERTOOLS_SERVICE_NAME": "tierwatch"}
    return env | {var: "" for var in variables}


def _sample(python: str, code: str, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    out = subprocess.run([python, "-I", "-B", "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    return float(out[-2]), out[-1]


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def run(n: int = 15) -> list[dict[str, Any]]:
    with built_bundles() as (build, python), tempfile.TemporaryDirectory() as home:
        health = build / logical_id(FUNCTIONS[0])
        jobdir = Path(home) / "job"
        jobdir.mkdir()
        (jobdir / "bench_cron_job.py").write_text(_CRON_JOB)
        # (label, code, artifact, environment, bundle note, target ratio)
        targets: list[tuple[str, str, Path, dict[str, str], str, float | None]] = [
            ("yardstick: import fastapi", _IMPORT.format(paths=["."], module="fastapi"), health,
             _lambda_env((), home), f"{health.name} bundle", None)]
        for spec in FUNCTIONS:
            artifact = build / logical_id(spec)
            targets.append((f"{spec.name}: import {spec.module}.handler",
                            _IMPORT.format(paths=["."], module=f"{spec.module}.handler"), artifact,
                            _lambda_env(spec.variables, home), f"bundle {_size_mb(artifact):.1f} MB", HTTP_TARGET))
        cron_env = _lambda_env(FUNCTIONS[0].variables, home)
        targets += [
            ("cron job (tiny): import its handler", _IMPORT.format(paths=[str(jobdir), "."], module="bench_cron_job"),
             health, cron_env, "shared.cron on the health bundle", CRON_TARGET),
            ("cron job (tiny): import + first scheduled run", _CRON_RUN.format(paths=[str(jobdir), "."]), health,
             cron_env, "shared.cron on the health bundle", CRON_TARGET),
        ]
        samples: dict[str, list[float]] = {}
        heavy: dict[str, str] = {}
        for _ in range(n):  # interleaved, so drift in machine load hits every target alike
            for label, code, cwd, env, _note, _target in targets:
                ms, loaded = _sample(python, code, cwd, env)
                samples.setdefault(label, []).append(ms)
                heavy[label] = loaded
    base = statistics.median(samples[targets[0][0]])
    rows = []
    for label, _code, _cwd, _env, note, target in targets:
        median = statistics.median(samples[label])
        ratio = median / base
        verdict = "" if target is None else f"<= {target:.2f}x: {'met' if ratio <= target else 'MISSED'}"
        rows.append({"benchmark": "cold start (sam build bundle, python3.12)", "case": label,
                     "median_ms": round(median, 1),
                     "p90_ms": round(statistics.quantiles(samples[label], n=10)[-1], 1),
                     "ratio": f"{ratio:.2f}x fastapi", "target": verdict,
                     "note": f"{note}; loads {heavy[label]}"})
    return rows


if __name__ == "__main__":
    for row in run(5):
        print(row)

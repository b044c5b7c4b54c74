"""Sustained ingest load: 50 concurrent clients posting batches to ``tierwatch dev`` for 60 s.

``tierwatch dev`` runs as users run it (its own process: the bundle, both gateways, a real Redis and
PostgreSQL), with the ingest rate limit off (``TIERWATCH_INGEST_RATE_PER_MIN=0``: this measures the
function, not the limiter). Each client loops: a batch of 20 request events with a unique
``Idempotency-Key``, posted over keep-alive HTTP. After the run, ``GET /api/monitoring/performance``
must count exactly the events that were answered 202: accepted once, stored once. Rows: requests/s, p50
and p99 of the ingest call, errors (any non-202), and accepted vs counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

CLIENTS = 50
EVENTS_PER_BATCH = 20
FUNCTION = "load/ingest"


def _start_dev(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("UPSTASH_", "SUPABASE_", "TIERWATCH_", "CRON_SECRET", "DATABASE_URL"))}
    env.update(TIERWATCH_INGEST_RATE_PER_MIN="0", TIERWATCH_TRACKING="false")
    tierwatch = str(Path(sys.executable).parent / "tierwatch")
    proc = subprocess.Popen([tierwatch, "dev", "--port", str(port), "--data-dir", str(data_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    values: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if "=" in line and line.split("=", 1)[0].isupper():
            name, value = line.strip().split("=", 1)
            values[name] = value
        if line.startswith("Ctrl-C"):
            # keep draining its log lines, or a full pipe would stall the server mid-run
            threading.Thread(target=lambda: [None for _ in proc.stdout or ()], daemon=True).start()
            return proc, values
    raise RuntimeError(f"tierwatch dev exited with {proc.wait()}")


def _batch(client: int, n: int) -> bytes:
    now_ms = int(time.time() * 1000)
    return json.dumps({"events": [
        {"type": "request", "function": FUNCTION, "duration_ms": float((client * 7 + n * 13 + i) % 400 + 1),
         "status": 200, "timestamp": now_ms} for i in range(EVENTS_PER_BATCH)]}).encode()


async def _client(base: str, token: str, client: int, until: float, latencies: list[float],
                  statuses: dict[int, int]) -> int:
    accepted = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        n = 0
        while time.monotonic() < until:
            n += 1
            started = time.perf_counter()
            try:
                r = await http.post("/api/monitoring/ingest", content=_batch(client, n),
                                    headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
                status = r.status_code
                if status == 202:
                    accepted += int(r.json()["accepted"])
            except httpx.HTTPError:
                status = 0
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    return accepted


async def _load(base: str, env: dict[str, str], seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    until = time.monotonic() + seconds
    started = time.monotonic()
    accepted = sum(await asyncio.gather(*(_client(base, env["TIERWATCH_INGEST_TOKEN"], c, until, latencies,
                                                  statuses) for c in range(CLIENTS))))
    elapsed = time.monotonic() - started
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        report = (await http.get("/api/monitoring/performance?window=5m", headers={
            "Authorization": f"Bearer {env['TIERWATCH_READ_TOKEN']}"})).json()
    counted = report["functions"].get(FUNCTION, {}).get("count", 0)
    ordered = sorted(latencies)
    return {"requests": len(latencies), "elapsed": elapsed, "statuses": statuses, "accepted": accepted,
            "counted": counted, "p50": statistics.median(ordered), "p99": ordered[int(0.99 * (len(ordered) - 1))]}


def run(seconds: int = 60) -> list[dict[str, Any]]:
    from devstack.serve import free_port

    with tempfile.TemporaryDirectory(prefix="tierwatch-load-") as tmp:
        port = free_port()
        proc, env = _start_dev(Path(tmp), port)
        try:
            result = asyncio.run(_load(f"http://127.0.0.1:{port}", env, float(seconds)))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    errors = sum(n for status, n in result["statuses"].items() if status != 202)
    exact = result["accepted"] == result["counted"]
    return [{
        "benchmark": "ingest under sustained load", "case": f"{CLIENTS} clients x {seconds} s, "
        f"{EVENTS_PER_BATCH} events a batch, against `tierwatch dev`",
        "requests": result["requests"], "rps": round(result["requests"] / result["elapsed"], 1),
        "events_per_s": round(result["accepted"] / result["elapsed"], 1),
        "p50_ms": round(result["p50"] * 1000, 1), "p99_ms": round(result["p99"] * 1000, 1),
        "errors": errors, "accepted_events": result["accepted"], "counted_by_performance": result["counted"],
        "target": f"0 errors: {'met' if errors == 0 else 'MISSED'}; counted exactly once: "
                  f"{'met' if exact else 'MISSED'}",
        "note": f"statuses {dict(sorted(result['statuses'].items()))}; one uvicorn process serves the bundle, "
                "both gateways and the clients share the machine's 2 cores",
    }]

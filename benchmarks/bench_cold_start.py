"""Cold start: import time of each function module in fresh interpreters, next to ``import fastapi``.

Each sample is a new ``python -c`` process timing its own import with ``perf_counter`` (interpreter
start-up excluded), so the figures compare modules, not process spawn noise. The ratio column is the
median against the ``import fastapi`` yardstick measured in the same run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from typing import Any

from functions.registry import FUNCTIONS

_PROBE = ("import time, sys; t = time.perf_counter(); import {module}; "
          "print((time.perf_counter() - t) * 1000); "
          "print(int(any(m.split('.')[0] in ('supabase', 'boto3') for m in sys.modules)))")


def _sample(module: str) -> tuple[float, bool]:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(module=module)], capture_output=True,
                         text=True, check=True, timeout=120).stdout.split()
    return float(out[0]), out[1] == "1"


def run(n: int = 15) -> list[dict[str, Any]]:
    targets = [("yardstick", "fastapi")]
    for spec in FUNCTIONS:
        targets += [(f"{spec.name} (Lambda)", f"{spec.module}.handler"),
                    (f"{spec.name} (Vercel)", f"api.{spec.name}")]
    samples: dict[str, list[float]] = {}
    heavy: dict[str, bool] = {}
    for _ in range(n):  # interleaved, so drift in machine load hits every target alike
        for label, module in targets:
            ms, loaded = _sample(module)
            samples.setdefault(label, []).append(ms)
            heavy[label] = loaded
    base = statistics.median(samples["yardstick"])
    rows = []
    for label, module in targets:
        median = statistics.median(samples[label])
        rows.append({"benchmark": "cold start import", "case": f"{label}: import {module}",
                     "median_ms": round(median, 1),
                     "p90_ms": round(statistics.quantiles(samples[label], n=10)[-1], 1),
                     "ratio": f"{median / base:.2f}x fastapi",
                     "note": "imports supabase/boto3" if heavy[label] else "no supabase/boto3"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)

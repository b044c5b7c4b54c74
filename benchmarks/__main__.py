"""``python -m benchmarks [--quick]``: run every benchmark and write ``benchmarks/RESULTS.md``.

Each benchmark module exposes ``run(n) -> list[dict]``; rows are compared side by side (ratios), and the
table records the machine and the date, because absolute timings only mean something on one machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import sys
from pathlib import Path
from typing import Any

# (module, n for a full run, n for --quick)
BENCHMARKS = [
    ("benchmarks.bench_cold_start", 15, 5),
    ("benchmarks.bench_gateway_upstash", 2000, 200),
    ("benchmarks.bench_gateway_postgrest", 500, 50),
]
OUT = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def table(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument("--only", help="run one benchmark module (e.g. bench_cold_start)")
    args = parser.parse_args()
    sections = [f"# Benchmark results\n\nMachine: {machine()}  \nDate: {dt.date.today().isoformat()}  \n"
                f"Command: `python -m benchmarks{' --quick' if args.quick else ''}`\n"]
    for module, full, quick in BENCHMARKS:
        if args.only and not module.endswith(args.only):
            continue
        print(f"running {module} ...", file=sys.stderr)
        rows = importlib.import_module(module).run(quick if args.quick else full)
        doc = (sys.modules[module].__doc__ or "").strip()
        sections.append(f"## {module.rsplit('.', 1)[1]}\n\n{doc}\n\n{table(rows)}\n")
    OUT.write_text("\n".join(sections))
    print(OUT.read_text())


if __name__ == "__main__":
    main()

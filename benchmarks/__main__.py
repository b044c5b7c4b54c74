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
    ("benchmarks.bench_tracking", 600, 60),
    ("benchmarks.bench_ingest_load", 60, 10),
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


def previous_sections() -> dict[str, str]:
    """The sections already in RESULTS.md, so ``--only`` refreshes one and keeps the others."""
    if not OUT.exists():
        return {}
    parts = OUT.read_text().split("\n## ")[1:]
    return {part.split("\n", 1)[0].strip(): f"## {part.rstrip()}\n" for part in parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument("--only", help="refresh one section (e.g. bench_cold_start), keep the others")
    args = parser.parse_args()
    sections = previous_sections() if args.only else {}
    for module, full, quick in BENCHMARKS:
        name = module.rsplit(".", 1)[1]
        if args.only and name != args.only:
            continue
        print(f"running {module} ...", file=sys.stderr)
        rows = importlib.import_module(module).run(quick if args.quick else full)
        doc = (sys.modules[module].__doc__ or "").strip()
        stamp = f"Machine: {machine()}  \nDate: {dt.date.today().isoformat()}  \n" \
                f"Command: `python -m benchmarks{' --quick' if args.quick else ''}{' --only ' + name if args.only else ''}`"
        sections[name] = f"## {name}\n\n{stamp}\n\n{doc}\n\n{table(rows)}\n"
    OUT.write_text("\n".join(["# Benchmark results\n", *sections.values()]))
    print(OUT.read_text())


if __name__ == "__main__":
    main()

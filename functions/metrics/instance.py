"""The serving instance's own resources: what it costs the platform to run the monitor."""

from __future__ import annotations

import os
import resource
import shutil
import time

from pydantic import BaseModel

from shared.guard import PROCESS_STARTED_AT
from shared.tracking.runtime import peak_memory_mb


class Instance(BaseModel):
    cpu_user_s: float
    cpu_system_s: float
    rss_mb: float | None
    peak_rss_mb: float
    tmp_used_mb: float | None
    tmp_total_mb: float | None
    uptime_s: float


def _rss_mb() -> float | None:
    """Current resident memory (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024), 1)


def instance() -> Instance:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used: float | None = None
    total: float | None = None
    try:
        disk = shutil.disk_usage("/tmp")  # noqa: S108 - Lambda's and Vercel's only writable disk
        used, total = round(disk.used / 2**20, 1), round(disk.total / 2**20, 1)
    except OSError:
        pass
    return Instance(cpu_user_s=round(usage.ru_utime, 3), cpu_system_s=round(usage.ru_stime, 3), rss_mb=_rss_mb(),
                    peak_rss_mb=round(peak_memory_mb(), 1), tmp_used_mb=used, tmp_total_mb=total,
                    uptime_s=round(time.monotonic() - PROCESS_STARTED_AT, 1))

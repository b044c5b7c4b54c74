"""Derive the deploy wiring from ``functions.registry``: both platforms' files, checked or written.

``tierwatch wiring --write`` regenerates the files; the test suite fails when a committed file
differs from what the registry says, so a function can never be missing from one platform.
"""

from __future__ import annotations

from pathlib import Path

from devstack.wiring import sam, vercel
from devstack.wiring.common import ROOT, RUNTIME, runtime_requirements

__all__ = ["ROOT", "RUNTIME", "rendered", "stale", "write"]


def rendered() -> dict[Path, str]:
    """Every generated file and its exact content."""
    files = {**vercel.files(), **sam.files()}
    files[ROOT / "api" / "requirements.txt"] = runtime_requirements()  # Vercel: nearest manifest wins
    return files


def stale() -> list[Path]:
    """Generated files whose committed content differs from the registry."""
    return [p for p, text in rendered().items() if not p.exists() or p.read_text() != text]


def write() -> list[Path]:
    changed = stale()
    files = rendered()
    for path in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
    return changed

"""The lock: every runtime dependency pinned, for CPython 3.12 on Lambda's platform, from pyproject.toml.

``python -m devstack.wiring.lock`` regenerates ``requirements.txt`` with ``uv pip compile`` (it needs the
package index). Everything else reads the lock offline: the staleness check (its first line holds a hash
of its inputs, and every pin must satisfy pyproject's range), Vercel's ``api/requirements.txt`` and each
Lambda function's own subset (``devstack.wiring.bundles``), whose dependency graph comes from the lock's
``# via`` annotations. No pinned package carries an environment marker, so the pins resolved for Lambda
(manylinux2014 aarch64) are the ones Vercel (x86_64 Linux, Python 3.12) installs too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devstack.wiring.common import ROOT, RUNTIME

LOCK = ROOT / "requirements.txt"
PLATFORM = "aarch64-manylinux2014"  # uv's name for Lambda's arm64 platform
COMMAND = "python -m devstack.wiring.lock"
_HASH_LINE = re.compile(r"^# inputs: sha256=([0-9a-f]{64})$", re.M)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$")


def dependencies() -> list[str]:
    """``[project].dependencies`` of pyproject.toml: what a deployed function may import."""
    deps: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return deps


def inputs_hash() -> str:
    """What the lock was resolved from: the dependency ranges, the Python version and the platform."""
    data = {"dependencies": sorted(dependencies()), "python": RUNTIME, "platform": PLATFORM}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass
class Pin:
    name: str  # canonical (PEP 503)
    version: str
    parents: set[str] = field(default_factory=set)  # canonical names; "" for pyproject.toml itself


def pins(text: str | None = None) -> dict[str, Pin]:
    """The lock's pins by canonical name, each with the packages that pull it in."""
    found: dict[str, Pin] = {}
    current: Pin | None = None
    for line in (LOCK.read_text() if text is None else text).splitlines():
        match = _PIN.match(line)
        if match:
            current = Pin(canonicalize_name(match[1]), match[2])
            found[current.name] = current
            continue
        via = line.strip().removeprefix("#").strip().removeprefix("via").strip()
        if current is not None and line.startswith("    #") and via:
            current.parents.add("" if "(" in via else canonicalize_name(via))
    return found


def closure(roots: set[str], locked: dict[str, Pin] | None = None) -> set[str]:
    """``roots`` and everything they need, by canonical name (``KeyError`` for a root not in the lock)."""
    locked = pins() if locked is None else locked
    children: dict[str, set[str]] = {}
    for pin in locked.values():
        for parent in pin.parents:
            children.setdefault(parent, set()).add(pin.name)
    todo: list[str] = [canonicalize_name(r) for r in roots]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in locked:
            raise KeyError(f"{name} is not in {LOCK.name}: run `{COMMAND}`")
        seen.add(name)
        todo += children.get(name, ())
    return seen


def stale_reason() -> str | None:
    """Why the lock does not match pyproject.toml, or None. Offline: no resolver, no index."""
    if not LOCK.exists():
        return f"{LOCK.name} is missing: run `{COMMAND}`"
    text = LOCK.read_text()
    recorded = _HASH_LINE.search(text)
    if not recorded or recorded[1] != inputs_hash():
        return f"{LOCK.name} was resolved from other inputs than pyproject.toml's: run `{COMMAND}`"
    locked = pins(text)
    for dep in map(Requirement, dependencies()):
        pin = locked.get(canonicalize_name(dep.name))
        if pin is None or not dep.specifier.contains(pin.version, prereleases=True):
            return f"{LOCK.name} pins {dep.name} {pin.version if pin else '(nothing)'}, outside {dep}"
    if ";" in "".join(line.split("#")[0] for line in text.splitlines()):
        return f"{LOCK.name} has an environment marker: one lock no longer fits both platforms"
    return None


def compile_lock() -> str:
    """Resolve the lock with uv (``TIERWATCH_UV`` or ``uv`` on PATH); needs the package index."""
    uv = os.environ.get("TIERWATCH_UV") or shutil.which("uv")
    if not uv:
        raise SystemExit("uv not found: install it (pip install uv) or set TIERWATCH_UV")
    out = subprocess.run(
        [uv, "pip", "compile", "pyproject.toml", "--no-progress", "--no-python-downloads",
         "--python-version", RUNTIME.removeprefix("python"), "--python-platform", PLATFORM,
         "--custom-compile-command", COMMAND],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=600)
    return f"# inputs: sha256={inputs_hash()}\n{out.stdout}"


def main() -> None:
    LOCK.write_text(compile_lock())
    reason = stale_reason()
    print(reason or f"wrote {LOCK.relative_to(ROOT)}; now run `tierwatch wiring --write`", file=sys.stderr)
    raise SystemExit(1 if reason else 0)


if __name__ == "__main__":
    main()

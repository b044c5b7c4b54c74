"""The lock (requirements.txt) matches pyproject.toml, both platforms install from it, and each Lambda
bundle takes only the pins its function imports. Offline: nothing here resolves or downloads."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from devstack.wiring import bundles, lock
from functions.registry import FUNCTIONS
from shared.spec import FunctionSpec

ROOT = Path(__file__).resolve().parents[2]


def _pins_of(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, _, version in (line.partition("==") for line in lines)}


def test_the_lock_is_fresh() -> None:
    assert lock.stale_reason() is None


def test_a_changed_dependency_makes_it_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    real = lock.dependencies()
    monkeypatch.setattr(lock, "dependencies", lambda: [*real, "croniter>=1"])
    assert "run `python -m devstack.wiring.lock`" in (lock.stale_reason() or "")


def test_a_pin_outside_pyprojects_range_is_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = lock.inputs_hash()
    real = lock.dependencies()
    monkeypatch.setattr(lock, "inputs_hash", lambda: recorded)  # same inputs, as far as the hash knows
    monkeypatch.setattr(lock, "dependencies", lambda: [d if not d.startswith("fastapi") else "fastapi<0.1"
                                                       for d in real])
    assert "outside fastapi<0.1" in (lock.stale_reason() or "")


def test_every_pin_is_exact_and_for_every_platform() -> None:
    pins = lock.pins()
    assert {canonicalize_name(d.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip())
            for d in lock.dependencies()} <= set(pins)
    assert all(pin.version and pin.parents for pin in pins.values())


def test_vercel_installs_the_locked_versions() -> None:
    vercel = _pins_of((ROOT / "api" / "requirements.txt").read_text())
    assert vercel == {name: pin.version for name, pin in lock.pins().items()}


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_each_bundle_pins_the_closure_of_what_its_function_imports(spec: FunctionSpec) -> None:
    pinned = _pins_of(bundles.requirements_path(spec).read_text())
    locked = lock.pins()
    assert pinned == {name: locked[name].version for name in lock.closure(bundles.roots(spec), locked)}
    assert not set(pinned) & bundles.RUNTIME_PROVIDED


def test_a_function_ships_the_sdk_of_its_needs_only() -> None:
    by_name = {spec.name: _pins_of(bundles.requirements_path(spec).read_text()) for spec in FUNCTIONS}
    assert not {"upstash-redis", "postgrest", "httpx", "supabase", "boto3"} & set(by_name["health"])
    assert {"upstash-redis", "postgrest", "httpx"} <= set(by_name["health_detailed"])
    # the supabase need is PostgREST: auth, storage, realtime and their crypto stay out
    assert not {"supabase", "supabase-auth", "realtime", "storage3", "cryptography"} & set(by_name["health_detailed"])


def _lazy_imports(path: Path) -> set[str]:
    """Top-level names imported inside functions (or under TYPE_CHECKING) of one module."""
    tree = ast.parse(path.read_text())
    module_level = bundles._module_level_imports(tree, "shared")
    every: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            every |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            every.add(node.module)
    return {n.split(".")[0] for n in every - module_level}


def test_every_lazy_sdk_import_of_shared_is_covered_by_a_need_or_the_runtime() -> None:
    """A lazily imported SDK is not seen by the module-level scan: a need (or the runtime) must bring it."""
    covered = set(bundles.RUNTIME_PROVIDED)
    for dists in bundles.NEED_DISTRIBUTIONS.values():
        covered |= lock.closure({canonicalize_name(d) for d in dists})
    every_root = set().union(*(bundles.roots(spec) for spec in FUNCTIONS))
    covered |= lock.closure(every_root)
    for path in (ROOT / "shared").glob("*.py"):
        for top in _lazy_imports(path) - set(sys.stdlib_module_names) - {"shared", "functions", "__future__"}:
            assert canonicalize_name(top) in covered, f"{path.name} imports {top} lazily: map it to a need"

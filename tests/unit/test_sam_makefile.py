"""``make`` never writes outside a build directory: SAM's build file refuses to run without ARTIFACTS_DIR.

Each case runs the real ``make`` on a copy of the tree, with every command a recipe could run (cp, rm,
find, mkdir, pip's python) replaced on PATH by a stub that only records its arguments: a refusal must
leave the record empty and the copy (and its surroundings) unchanged. A control run with ARTIFACTS_DIR
set shows the stubs do record what a recipe runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack.wiring.bundles import SAM_DIR
from devstack.wiring.makefile import REFUSAL, logical_id
from functions.registry import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make not installed")
STUBBED = ("cp", "rm", "find", "mkdir", "python3", "python3.12")


def _snapshot(root: Path) -> dict[str, tuple[int, float]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime)
            for p in root.rglob("*") if p.is_file() or p.is_dir()}


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    repo = tmp_path / "repo"
    for name in ("shared", "functions", "deploy"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    log = tmp_path / "ran.log"
    for name in STUBBED:
        stub = stubs / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n')
        stub.chmod(0o755)
    env = {"PATH": f"{stubs}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    return repo, log, env


def _make(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    return subprocess.run([MAKE, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60)


def test_the_root_has_no_makefile() -> None:
    assert not (ROOT / "Makefile").exists()
    assert (SAM_DIR / "Makefile").is_file()


@pytest.mark.parametrize("args", [
    (),  # plain `make` at the root: no Makefile there
    ("-f", "deploy/sam/Makefile"),
    ("-f", "deploy/sam/Makefile", f"build-{logical_id(FUNCTIONS[0])}"),
    ("-C", "deploy/sam"),
    ("-C", "deploy/sam", f"build-{logical_id(FUNCTIONS[0])}"),
])
def test_make_without_artifacts_dir_refuses_and_touches_nothing(
        tree: tuple[Path, Path, dict[str, str]], args: tuple[str, ...]) -> None:
    repo, log, env = tree
    outside = repo.parent
    before = _snapshot(outside)
    result = _make(repo, env, *args)
    assert result.returncode != 0
    if args:
        assert REFUSAL in result.stderr, result.stderr
    else:
        assert "no makefile found" in result.stderr.lower(), result.stderr
    assert not log.exists(), log.read_text()
    assert _snapshot(outside) == before


@pytest.mark.parametrize("artifacts", ["/", "//", "{repo}", "{repo}/."])
def test_make_refuses_root_or_the_tree_itself(tree: tuple[Path, Path, dict[str, str]], artifacts: str) -> None:
    repo, log, env = tree
    result = _make(repo, {**env, "ARTIFACTS_DIR": artifacts.format(repo=repo)}, "-f", "deploy/sam/Makefile",
                   f"build-{logical_id(FUNCTIONS[0])}")
    assert result.returncode != 0 and "refusing to write there" in result.stderr, result.stderr
    assert not log.exists()


def test_plain_make_with_artifacts_dir_prints_help(tree: tuple[Path, Path, dict[str, str]]) -> None:
    repo, log, env = tree
    result = _make(repo, {**env, "ARTIFACTS_DIR": str(repo.parent / "out")}, "-f", "deploy/sam/Makefile")
    assert result.returncode != 0 and "run 'sam build'" in result.stderr
    assert all(f"build-{logical_id(spec)}" in result.stderr for spec in FUNCTIONS)
    assert not log.exists()


def test_control_with_artifacts_dir_the_recipe_runs(tree: tuple[Path, Path, dict[str, str]]) -> None:
    repo, log, env = tree
    out = repo.parent / "out"
    spec = FUNCTIONS[0]
    result = _make(repo, {**env, "ARTIFACTS_DIR": str(out)}, "-f", "deploy/sam/Makefile",
                   f"build-{logical_id(spec)}")
    assert result.returncode == 0, result.stderr
    ran = log.read_text()
    assert f"cp -R functions/{spec.name} {out}/functions/" in ran
    assert f"deploy/sam/requirements/{spec.name}.txt" in ran and "--no-deps" in ran
    assert "compileall" in ran and "unchecked-hash" in ran
    assert all(str(out) in line for line in ran.splitlines() if line.startswith(("rm ", "mkdir ")))

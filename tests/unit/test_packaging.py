"""What ``pip install`` puts into an environment: an app gets ``tierwatch`` and nothing generic."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _wheel(project: Path, out: Path) -> zipfile.ZipFile:
    """Build from a copy: setuptools writes build/ and *.egg-info into the source tree."""
    source = out / "src"
    shutil.copytree(project, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".tierwatch", "build", "*.egg-info", "__pycache__", ".*_cache", "node_modules", "tests",
        "benchmarks", "sdk" if project == ROOT else "__none__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def _top_level(wheel: zipfile.ZipFile) -> set[str]:
    return {name.split("/", 1)[0] for name in wheel.namelist() if ".dist-info/" not in name}


@pytest.mark.slow
def test_the_app_package_adds_only_tierwatch(tmp_path: Path) -> None:
    wheel = _wheel(ROOT / "sdk" / "python", tmp_path)
    assert _top_level(wheel) == {"tierwatch"}
    metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    text = wheel.read(metadata).decode()
    assert "Name: tierwatch\n" in text and "Requires-Dist" not in text


@pytest.mark.slow
def test_the_bundle_can_never_be_uploaded_as_an_app_dependency(tmp_path: Path) -> None:
    wheel = _wheel(ROOT, tmp_path)
    metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    text = wheel.read(metadata).decode()
    assert "Name: tierwatch-bundle\n" in text
    assert "Classifier: Private :: Do Not Upload" in text  # package indexes refuse such an upload
    assert "tierwatch" not in _top_level(wheel)  # the two distributions never overlap

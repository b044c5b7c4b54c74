"""The gateways' docstrings cite their spec by a path that exists (one once named a file not in the repo)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CITED = re.compile(r"``([^`\s]+\.md)``")


def cited_paths() -> list[tuple[str, str]]:
    found = []
    for module in sorted((ROOT / "devstack").rglob("*.py")):
        for path in CITED.findall(module.read_text()):
            if "/" in path:  # a bare name ("PROTOCOLS.md") is a mention; a path must lead somewhere
                found.append((str(module.relative_to(ROOT)), path))
    return found


def test_the_gateways_cite_their_spec() -> None:
    cited = {(module, path) for module, path in cited_paths()}
    assert ("devstack/upstash_gateway/__init__.py", "../shared/reference/PROTOCOLS.md") in cited
    assert ("devstack/postgrest_gateway/__init__.py", "../shared/reference/PROTOCOLS.md") in cited


@pytest.mark.parametrize(("module", "path"), cited_paths())
def test_cited_documents_exist(module: str, path: str) -> None:
    """Paths are relative to the repository root; ``../shared/`` is the reference folder kept beside it."""
    if path.startswith("../shared/") and not (ROOT.parent / "shared").is_dir():
        pytest.skip("the shared reference folder is not beside this checkout")
    assert (ROOT / path).is_file(), f"{module} cites {path}, which does not exist"

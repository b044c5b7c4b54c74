"""Every variable the settings read is documented where users look: .env.example and the config doc."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.settings import PLATFORM_FIELDS, Settings, variable_name

ROOT = Path(__file__).resolve().parents[2]
USER_VARIABLES = [variable_name(f) for f in Settings.model_fields if f not in PLATFORM_FIELDS]


@pytest.mark.parametrize("doc", [".env.example", "docs/configuration.md"])
def test_every_variable_is_documented(doc: str) -> None:
    text = (ROOT / doc).read_text()
    missing = [name for name in USER_VARIABLES if name not in text]
    assert not missing, f"{doc} does not mention {missing}"

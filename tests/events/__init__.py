"""Sample platform events as JSON files, loaded with ``load_event(name)``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def load_event(name: str) -> dict[str, Any]:
    """The event in ``tests/events/<name>.json``."""
    return json.loads((HERE / f"{name}.json").read_text())  # type: ignore[no-any-return]

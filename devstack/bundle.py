"""Every function behind one local port, under the same paths as when deployed.

The same lazy path dispatcher a Vercel group entrypoint uses (``shared/dispatch.py``), over every function:
``tierwatch dev`` routes exactly as a deployment does, path templates included.
"""

from __future__ import annotations

from functions.registry import FUNCTIONS
from shared.dispatch import Dispatcher


def bundle_app() -> Dispatcher:
    """An ASGI app serving every registered function (each app imported on its first request)."""
    return Dispatcher({route.path: f"{spec.module}.app" for spec in FUNCTIONS for route in spec.routes})

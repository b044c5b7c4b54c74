"""Every function's FastAPI app behind one local port, under the same paths as when deployed."""

from __future__ import annotations

import importlib
import json
from typing import Any

from functions.registry import FUNCTIONS


class Bundle:
    """An ASGI dispatcher: exact path -> the app of the function that owns it (like Vercel's router)."""

    def __init__(self) -> None:
        self.routes: dict[str, Any] = {}
        for spec in FUNCTIONS:
            app = importlib.import_module(f"{spec.module}.app").app
            for route in spec.routes:
                self.routes[route.path] = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        app = self.routes.get(scope.get("path", "").rstrip("/") or "/")
        if app is None:
            body = json.dumps({"error": {"code": "not_found", "message": "no function serves this path",
                                         "paths": sorted(self.routes)}}).encode()
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

"""Path dispatch for a Vercel entrypoint that serves a group of functions (Hobby caps the function count).

Each function stays its own package with its own app. A group's entrypoint maps every path to the module
of the function that owns it and imports that module on the first request for it, so a cold start pays
for the routed function's imports only, not the whole group's. ``tierwatch dev`` serves every function
through the same dispatcher, so local routing is the deployed routing.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from shared.spec import path_pattern  # the same matching as each function's own routes

__all__ = ["Dispatcher"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Dispatcher:
    """An ASGI app: path -> the ``app`` of the module that owns it, imported on first use.

    Example
    -------
    >>> app = Dispatcher({"/api/health": "functions.health.app"})  # nothing imported yet
    """

    def __init__(self, routes: Mapping[str, str]) -> None:
        exact_first = sorted(routes.items(), key=lambda item: "{" in item[0])
        self._routes = [(path_pattern(path), module) for path, module in exact_first]
        self._apps: dict[str, ASGIApp] = {}

    def app_for(self, path: str) -> ASGIApp | None:
        """The app serving ``path`` (imported now if it was not yet), or None when no member owns it."""
        for pattern, module in self._routes:
            if pattern.match(path):
                if module not in self._apps:
                    self._apps[module] = importlib.import_module(module).app
                return self._apps[module]
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # The members' apps have no startup work, and answering here keeps startup from importing them.
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": f"{message['type']}.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        app = self.app_for(scope.get("path", ""))
        if app is None:
            await _not_found(send)
            return
        await app(scope, receive, send)


async def _not_found(send: Send) -> None:
    body = json.dumps({"error": {"code": "not_found", "message": "no function serves this path"}}).encode()
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

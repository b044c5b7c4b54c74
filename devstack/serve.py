"""Run ASGI apps with uvicorn on loopback, in a background thread (tests) or in the foreground (dev)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (good enough on loopback for dev and tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _config(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on", access_log=False, timeout_keep_alive=30
    )


@dataclass
class ServedApp:
    """A uvicorn server running on its own thread and event loop."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int | None = None) -> ServedApp:
    """Start ``app`` on ``host:port`` in a daemon thread and wait until it accepts connections."""
    port = port or free_port(host)
    server = uvicorn.Server(_config(app, host, port))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True, name=f"asgi:{port}")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{port} did not start")
        time.sleep(0.01)
    return ServedApp(url=f"http://{host}:{port}", server=server, thread=thread)


async def serve_many(apps: list[tuple[Any, str, int]]) -> None:
    """Serve several apps on one event loop until Ctrl-C (``tierwatch dev``)."""
    servers = [uvicorn.Server(_config(app, host, port)) for app, host, port in apps]
    await asyncio.gather(*(s.serve() for s in servers))

"""Run ASGI apps with uvicorn on loopback, in a background thread (tests) or in the foreground (dev)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
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


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(sig: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(sig).name)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt inside, as Ctrl-C does: ``finally`` blocks run for all three.

    Without this, ``kill``, process managers and CI (all SIGTERM) ended ``tierwatch dev`` on the spot and left
    its Redis and PostgreSQL running. Main thread only, like every Python signal handler.
    """
    previous = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS if sig != signal.SIGINT}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """No stop signal interrupts what runs inside: stopping the servers must finish once begun."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _ManagedServer(uvicorn.Server):
    """uvicorn without its own signal handling, which ``serve_many`` does once for all its servers.

    uvicorn's handler re-raises the signal after its graceful exit, and SIGTERM's default action then ends
    the process at once: nothing after the servers (stopping Redis and PostgreSQL) would run.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_many(apps: list[tuple[Any, str, int]]) -> int | None:
    """Serve several apps on one event loop until SIGINT, SIGTERM or SIGHUP (``tierwatch dev``).

    Returns the signal that stopped them (None if they stopped on their own); a second signal forces the
    exit without waiting for open connections. The previous signal handlers are back in place on return.
    """
    servers = [_ManagedServer(_config(app, host, port)) for app, host, port in apps]
    received: list[int] = []

    def stop(sig: int) -> None:
        received.append(sig)
        for server in servers:
            server.force_exit = server.should_exit
            server.should_exit = True

    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop, sig)
    try:
        await asyncio.gather(*(s.serve() for s in servers))
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            if handler is not None:  # None: installed outside Python, nothing to put back
                signal.signal(sig, handler)
    return received[0] if received else None

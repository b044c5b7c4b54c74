"""Per-invocation state, in a context variable: concurrent requests never see each other's.

Vercel's Fluid compute serves concurrent requests in one instance, so nothing about one invocation (its
guard, settings, request id, log keys, and the tracking buffer to come) may live in a module global.
``bind`` sets it for the current task and everything it awaits; asyncio copies the context into each
request's task, so two requests in flight each keep their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from shared.errors import ConfigError
from shared.guard import Guard
from shared.logs import get_logger
from shared.settings import Settings


@dataclass(frozen=True)
class Invocation:
    """One request or scheduled run: who is running, its time budget and its configuration."""

    function: str
    request_id: str
    guard: Guard
    settings: Settings | None
    config_error: ConfigError | None = None

    def require_settings(self) -> Settings:
        """The settings, or the ``ConfigError`` naming every bad variable (answered 503)."""
        if self.settings is None:
            raise self.config_error or ConfigError({"settings": "not loaded"})
        return self.settings


_current: ContextVar[Invocation | None] = ContextVar("tierwatch_invocation", default=None)


def current() -> Invocation:
    """The invocation running in this context (``LookupError`` outside one: a wiring bug)."""
    invocation = _current.get()
    if invocation is None:
        raise LookupError("no invocation is bound: call shared.invocation.bind() first")
    return invocation


@contextmanager
def bind(invocation: Invocation) -> Iterator[Invocation]:
    """Make ``invocation`` current, with its keys on every log line, until the block ends."""
    token = _current.set(invocation)
    logger = get_logger()
    previous = dict(logger.thread_safe_get_current_keys())
    logger.thread_safe_append_keys(function_name=invocation.function, request_id=invocation.request_id,
                                   cold_start=invocation.guard.cold_start)
    try:
        yield invocation
    finally:
        _current.reset(token)
        logger.thread_safe_clear_keys()
        if previous:
            logger.thread_safe_append_keys(**previous)

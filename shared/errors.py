"""One error hierarchy: each class carries its HTTP status and a stable code.

``shared.http`` maps every ``TierwatchError`` to ``{"error": {"code", "message"}}`` in one place.
Messages are written for the operator and never contain secret values.
"""

from __future__ import annotations


class TierwatchError(Exception):
    """Base class: ``status`` is the HTTP status, ``code`` a stable machine-readable name."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(TierwatchError):
    """A required environment variable is missing or malformed (names every bad variable)."""

    status = 503
    code = "config_error"

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = dict(sorted(problems.items()))
        detail = "; ".join(f"{name}: {why}" for name, why in self.problems.items())
        super().__init__(f"invalid configuration: {detail}")


class AuthError(TierwatchError):
    """Missing or wrong credentials."""

    status = 401
    code = "unauthorized"


class NotConfiguredError(TierwatchError):
    """A protected endpoint whose secret is not set refuses to run rather than run unprotected."""

    status = 503
    code = "not_configured"


class DeadlineExceeded(TierwatchError):
    """The invocation ran out of time before a step could start or finish."""

    status = 504
    code = "deadline_exceeded"


class DependencyError(TierwatchError):
    """Upstash, Supabase or another dependency failed or answered garbage."""

    status = 502
    code = "dependency_error"

"""One error hierarchy: each class carries its HTTP status and a stable code.

``shared.http`` maps every ``TierwatchError`` to ``{"error": {"code", "message"}}`` in one place.
Messages are written for the operator and never contain secret values.
"""

from __future__ import annotations


class TierwatchError(Exception):
    """Base class: ``status`` is the HTTP status, ``code`` a stable machine-readable name."""

    status: int = 500
    code: str = "internal_error"
    retry_after: int | None = None  # seconds, sent as Retry-After (429, 503)

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


class InvalidPayload(TierwatchError):
    """JSON that breaks the ingest schema. ``problems`` are the first few, each naming its field path
    (``events[3].duration_ms: must be >= 0``); ``total`` counts them all. Never echoes a value."""

    status = 422
    code = "invalid_payload"

    def __init__(self, *problems: str, total: int = 0) -> None:
        self.problems = problems
        self.total = max(total, len(problems))
        more = self.total - len(problems)
        super().__init__("; ".join(problems) + (f" (and {more} more)" if more else ""))


class MalformedBody(InvalidPayload):
    """The body is not JSON at all (empty, not UTF-8, a syntax error, NaN): 400, not 422."""

    status = 400
    code = "malformed_body"


class PayloadTooLarge(TierwatchError):
    """The body, or the batch inside it, is over its limit (split the batch and send it again)."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(TierwatchError):
    """The request's ``Content-Type`` is not JSON."""

    status = 415
    code = "unsupported_media_type"


class RateLimited(TierwatchError):
    """Too many calls for this token in the current window; ``retry_after`` says when to come back."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TemporarilyUnavailable(TierwatchError):
    """A dependency failed in a way a retry can fix (the batch was not stored: send it again)."""

    status = 503
    code = "temporarily_unavailable"
    retry_after = 5

"""Bearer-token checks for cron, read, admin and ingest calls.

A protected call whose secret is not configured is refused (503), never let through: comparing against
an unset secret is the classic ``"Bearer None"`` hole. Comparison is constant-time.
"""

from __future__ import annotations

import hmac
from typing import Literal

from pydantic import SecretStr

from shared.errors import AuthError, NotConfiguredError
from shared.settings import Settings

Scope = Literal["cron", "read", "admin", "ingest"]

# Which secrets open which scope: the admin token may also read and run cron jobs by hand.
_ACCEPTED: dict[Scope, tuple[tuple[str, str], ...]] = {
    "cron": (("cron_secret", "CRON_SECRET"), ("admin_token", "TIERWATCH_ADMIN_TOKEN")),
    "read": (("read_token", "TIERWATCH_READ_TOKEN"), ("admin_token", "TIERWATCH_ADMIN_TOKEN")),
    "admin": (("admin_token", "TIERWATCH_ADMIN_TOKEN"),),
    "ingest": (("ingest_token", "TIERWATCH_INGEST_TOKEN"),),
}


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authorize(settings: Settings, scope: Scope, authorization: str | None) -> None:
    """Raise unless ``authorization`` carries a token configured for ``scope``."""
    secrets: list[SecretStr] = []
    for field, _ in _ACCEPTED[scope]:
        value = getattr(settings, field)
        if value is not None and value.get_secret_value():
            secrets.append(value)
    if not secrets:
        names = " or ".join(var for _, var in _ACCEPTED[scope])
        raise NotConfiguredError(f"{names} is not set: this endpoint refuses to run unprotected")
    token = bearer_token(authorization)
    if token is None:
        raise AuthError("missing bearer token: send 'Authorization: Bearer <token>'")
    given = token.encode()
    if not any(hmac.compare_digest(given, s.get_secret_value().encode()) for s in secrets):
        raise AuthError("invalid bearer token")


def is_scheduled_event(event: object) -> bool:
    """An EventBridge (or EventBridge Scheduler) invocation; IAM already authorised the caller."""
    if not isinstance(event, dict):
        return False
    return event.get("source") in ("aws.events", "aws.scheduler") or event.get("detail-type") == "Scheduled Event"

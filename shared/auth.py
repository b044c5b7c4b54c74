"""Bearer-token checks for cron, read, admin and ingest calls.

A protected call whose secret is not configured is refused (503), never let through: comparing against
an unset secret is the classic ``"Bearer None"`` hole. Comparison is constant-time.
"""

from __future__ import annotations

import hmac

from pydantic import SecretStr

from shared.errors import AuthError, NotConfiguredError
from shared.settings import Settings, variable_name
from shared.spec import SCOPE_SECRETS, Auth


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _configured(settings: Settings, scope: Auth) -> list[SecretStr]:
    values = (getattr(settings, field) for field in SCOPE_SECRETS[scope])
    return [v for v in values if v is not None and v.get_secret_value()]


def _matches(token: str, secrets: list[SecretStr]) -> bool:
    given = token.encode()
    # every secret is compared, so the time taken does not say which one (or whether any) matched
    results = [hmac.compare_digest(given, s.get_secret_value().encode()) for s in secrets]
    return any(results)


def authorize(settings: Settings, scope: Auth, authorization: str | None) -> None:
    """Raise unless ``authorization`` carries a token configured for ``scope``."""
    secrets = _configured(settings, scope)
    if not secrets:
        names = " or ".join(variable_name(f) for f in SCOPE_SECRETS[scope])
        raise NotConfiguredError(f"{names} is not set: this endpoint refuses to run unprotected")
    token = bearer_token(authorization)
    if token is None:
        raise AuthError("missing bearer token: send 'Authorization: Bearer <token>'")
    if not _matches(token, secrets):
        raise AuthError("invalid bearer token")


def presented_scope(settings: Settings | None, scope: Auth, authorization: str | None) -> bool:
    """Whether ``authorization`` opens ``scope``: False when no token is sent, ``AuthError`` when a wrong
    one is (a caller who tried to authenticate should hear that it failed, not get the public view)."""
    token = bearer_token(authorization)
    if token is None:
        return False
    if settings is None or not _matches(token, _configured(settings, scope)):
        raise AuthError("invalid bearer token")
    return True


def is_scheduled_event(event: object) -> bool:
    """An EventBridge (or EventBridge Scheduler) invocation; IAM already authorised the caller."""
    if not isinstance(event, dict):
        return False
    return event.get("source") in ("aws.events", "aws.scheduler") or event.get("detail-type") == "Scheduled Event"

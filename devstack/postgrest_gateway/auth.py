"""Who is calling: Supabase's Kong ``apikey`` check, then PostgREST's JWT → database role.

Why two steps: on Supabase, Kong rejects a request without a known ``apikey`` (401 with a Kong body), and
PostgREST then takes the role from the ``Authorization: Bearer`` JWT (a signed-in user's token, or the key
itself). A bad bearer token is PostgREST's 401 ``PGRST301``/``PGRST303``, not Kong's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response

from devstack.keys import InvalidKey, verify_key

from .errors import ApiError, kong_unauthorized

__all__ = ["Caller", "KongRejected", "authenticate"]

_NO_KEY_HINT = "No `apikey` request header or url param was found."
_BAD_KEY_HINT = "Double check your Supabase `anon` or `service_role` API key."


class KongRejected(Exception):
    """The API gateway refused the request; ``response`` is what Kong sends."""

    def __init__(self, response: Response) -> None:
        super().__init__("rejected by the API gateway")
        self.response = response


@dataclass(frozen=True)
class Caller:
    role: str
    claims: dict[str, Any]
    anon: bool  # the anon role: 42501 is then 401 rather than 403


def _first(headers: Headers, name: str) -> str | None:
    """First non-empty value of a header that may be repeated under different casings."""
    for value in headers.getlist(name):
        if value.strip():
            return value.strip()
    return None


def _bearer(headers: Headers) -> str | None:
    value = _first(headers, "authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def authenticate(headers: Headers, query: QueryParams, *, secret: str, anon_role: str) -> Caller:
    """Check the API key like Kong, then read the role from the bearer JWT (or the key) like PostgREST."""
    apikey = _first(headers, "apikey") or query.get("apikey")
    if not apikey:
        raise KongRejected(kong_unauthorized("No API key found in request", _NO_KEY_HINT))
    try:
        claims = verify_key(apikey, secret)
    except InvalidKey as e:
        raise KongRejected(kong_unauthorized("Invalid API key", _BAD_KEY_HINT)) from e
    token = _bearer(headers)
    if token is not None and token != apikey:
        try:
            claims = verify_key(token, secret)
        except InvalidKey as e:
            code = "PGRST303" if str(e) == "JWT expired" else "PGRST301"
            challenge = f'Bearer error="invalid_token", error_description="{e}"'
            raise ApiError(401, code, str(e), headers={"WWW-Authenticate": challenge}) from e
    role = claims.get("role")
    if not isinstance(role, str) or not role:
        role = anon_role
    return Caller(role=role, claims={**claims, "role": role}, anon=role == anon_role)

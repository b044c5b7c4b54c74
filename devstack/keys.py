"""JWT-shaped API keys for the local stack, like Supabase's ``anon`` and ``service_role`` keys.

Why JWTs and not random tokens: supabase-py up to 2.15 rejected keys that are not JWT-shaped, and the
PostgREST gateway reads the database role from the key's ``role`` claim exactly as PostgREST does. HS256 with
the standard library only (``hmac`` + ``hashlib``), so no JWT dependency enters the dev extras.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["ISSUER", "InvalidKey", "decode_claims", "key_role", "make_key", "verify_key"]

ISSUER = "tierwatch-local"
_HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(signing_input: str, secret: str) -> str:
    return _b64encode(hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest())


def make_key(role: str, secret: str, *, claims: Mapping[str, Any] | None = None) -> str:
    """An HS256 JWT with ``{"role": role, "iss": "tierwatch-local", "iat": now}`` (plus ``claims``).

    Example
    -------
    >>> key = make_key("anon", "s3cret")
    >>> key_role(key, "s3cret")
    'anon'
    """
    payload = {"role": role, "iss": ISSUER, "iat": int(time.time()), **(claims or {})}
    head = _b64encode(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64encode(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}"
    return f"{signing_input}.{_sign(signing_input, secret)}"


class InvalidKey(ValueError):
    """A key that is not a valid HS256 JWT for this secret; the message says why, in PostgREST's words."""


def verify_key(key: str, secret: str) -> dict[str, Any]:
    """The verified payload of an HS256 key signed with ``secret``.

    Raises
    ------
    InvalidKey: malformed, wrong algorithm, bad signature or expired.
    """
    parts = key.split(".")
    if len(parts) != 3:
        raise InvalidKey(f"Expected 3 parts in JWT; got {len(parts)}")
    try:
        header = json.loads(_b64decode(parts[0]))
        payload = json.loads(_b64decode(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise InvalidKey("JWT couldn't be decoded") from e
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise InvalidKey("JWT couldn't be decoded")
    if header.get("alg") != "HS256":
        raise InvalidKey("Wrong or unsupported encoding algorithm")
    if not hmac.compare_digest(_sign(f"{parts[0]}.{parts[1]}", secret).encode(), parts[2].encode()):
        raise InvalidKey("JWT cryptographic operation failed")
    exp = payload.get("exp")
    if isinstance(exp, int | float) and exp < time.time():
        raise InvalidKey("JWT expired")
    return payload


def decode_claims(key: str, secret: str) -> dict[str, Any] | None:
    """The verified payload of ``key``, or None if it is malformed, forged or expired."""
    try:
        return verify_key(key, secret)
    except InvalidKey:
        return None


def key_role(key: str, secret: str) -> str | None:
    """The ``role`` claim of a valid key, or None when the key is not one signed with ``secret``."""
    claims = decode_claims(key, secret)
    role = claims.get("role") if claims else None
    return role if isinstance(role, str) else None

"""Make Upstash-flavoured Lua scripts run on stock Redis and fakeredis (A11).

upstash-ratelimit starts every script with ``#!lua flags=allow-key-locking``, a flag only Upstash knows;
Redis 7 rejects it, and Redis 6.2 and fakeredis reject any ``#!`` line. We blank the shebang's text but keep
its newline so error line numbers still match the caller's source. Blanking changes the SHA1, so we remember
``sha1(original) -> sha1(stripped)`` and rewrite shas in EVALSHA / EVALSHA_RO / SCRIPT EXISTS: a client that
hashes the script locally then finds the script it loaded.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["ScriptRewriter"]

_SHEBANG = re.compile(rb"\A#![^\n]*")


def _sha1(script: bytes) -> bytes:
    return hashlib.sha1(script, usedforsecurity=False).hexdigest().encode()


class ScriptRewriter:
    """Per-gateway rewriting of script commands; other commands pass through untouched."""

    def __init__(self) -> None:
        self._sha_map: dict[bytes, bytes] = {}

    def _strip(self, script: bytes) -> bytes:
        stripped = _SHEBANG.sub(b"", script, count=1)
        if stripped != script:
            self._sha_map[_sha1(script)] = _sha1(stripped)
        return stripped

    def _sha(self, sha: bytes) -> bytes:
        return self._sha_map.get(sha.lower(), sha)

    def rewrite(self, command: list[bytes]) -> list[bytes]:
        """Return the command to send to Redis (a new list when something changed)."""
        name = command[0].upper()
        if name in (b"EVAL", b"EVAL_RO") and len(command) > 1:
            return [command[0], self._strip(command[1]), *command[2:]]
        if name in (b"EVALSHA", b"EVALSHA_RO") and len(command) > 1:
            return [command[0], self._sha(command[1]), *command[2:]]
        if name == b"SCRIPT" and len(command) > 2:
            sub = command[1].upper()
            if sub == b"LOAD":
                return [*command[:2], self._strip(command[2]), *command[3:]]
            if sub == b"EXISTS":
                return [*command[:2], *(self._sha(s) for s in command[2:])]
        return command

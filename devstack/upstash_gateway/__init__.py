"""An Upstash-REST-compatible gateway in front of a real Redis (or fakeredis), for dev and tests.

The spec is Part A of ``../shared/reference/PROTOCOLS.md`` (beside the repository, not in it).
One module per job: ``commands`` (request to Redis command), ``policy`` (the commands Upstash allows),
``limits`` (capped body reading), ``scripts`` (Upstash-only Lua shebang), ``backend`` (redis-py /
fakeredis), ``encoding`` (RESP to JSON/base64), ``stats`` (command counting), ``app`` (routes).
"""

from __future__ import annotations

from devstack.upstash_gateway.app import create_app

__all__ = ["create_app"]

"""A thin PostgREST-compatible gateway (as fronted by Supabase) over a real PostgreSQL, for dev and tests.

supabase-py talks to it unchanged: RPC with PostgREST's argument matching and result shapes, the table
operations the SDK sends, PostgREST's error bodies and statuses, Kong's ``apikey`` check. The contract is
Part B of ``../shared/reference/PROTOCOLS.md`` (beside the repository, not in it); each module
says which part of it it implements.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]

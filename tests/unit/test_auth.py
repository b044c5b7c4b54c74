"""Bearer auth for cron, read, admin and ingest scopes."""

from __future__ import annotations

import pytest

from shared.auth import authorize, bearer_token, is_scheduled_event
from shared.errors import AuthError, NotConfiguredError
from shared.settings import load_settings


def test_unset_secret_refuses_even_bearer_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """The classic hole: comparing against an unset secret lets 'Bearer None' through."""
    settings = load_settings()
    for header in ("Bearer None", "Bearer ", None, "Bearer undefined"):
        with pytest.raises(NotConfiguredError, match="CRON_SECRET"):
            authorize(settings, "cron", header)


def test_cron_secret_and_admin_token_open_cron(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRON_SECRET", "cron-secret-value")
    monkeypatch.setenv("TIERWATCH_ADMIN_TOKEN", "admin-token-value")
    settings = load_settings()
    authorize(settings, "cron", "Bearer cron-secret-value")
    authorize(settings, "cron", "bearer admin-token-value")
    with pytest.raises(AuthError, match="invalid"):
        authorize(settings, "cron", "Bearer cron-secret-valuX")
    with pytest.raises(AuthError, match="missing"):
        authorize(settings, "cron", "Basic cron-secret-value")
    with pytest.raises(AuthError):
        authorize(settings, "admin", "Bearer cron-secret-value")


def test_read_scope_accepts_read_or_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWATCH_READ_TOKEN", "read-token-value")
    settings = load_settings()
    authorize(settings, "read", "Bearer read-token-value")
    with pytest.raises(NotConfiguredError, match="TIERWATCH_INGEST_TOKEN"):
        authorize(settings, "ingest", "Bearer read-token-value")


def test_bearer_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("  bearer   abc ") == "abc"
    assert bearer_token("Token abc") is None
    assert bearer_token("Bearer") is None


def test_scheduled_events() -> None:
    from devstack.lambda_local import http_event, schedule_event

    assert is_scheduled_event(schedule_event())
    assert is_scheduled_event({"source": "aws.scheduler"})
    assert not is_scheduled_event(http_event("GET", "/api/health"))
    assert not is_scheduled_event(["aws.events"])


def test_committed_sample_events() -> None:
    from tests.events import load_event

    assert is_scheduled_event(load_event("eventbridge_schedule"))
    assert not is_scheduled_event(load_event("apigw_v2_health"))

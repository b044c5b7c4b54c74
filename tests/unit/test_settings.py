"""Settings: one clear error naming every bad variable, never a value."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.settings import load_settings


def test_every_bad_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", "not a url")
    monkeypatch.setenv("SUPABASE_URL", "ftp//nope")
    monkeypatch.setenv("TIERWATCH_CHECK_TIMEOUT_MS", "soon")
    monkeypatch.setenv("TIERWATCH_PLATFORM", "heroku")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert set(info.value.problems) == {
        "UPSTASH_REDIS_REST_URL", "SUPABASE_URL", "TIERWATCH_CHECK_TIMEOUT_MS", "TIERWATCH_PLATFORM"}
    assert "not a url" not in info.value.message and "soon" not in info.value.message


def test_missing_required_group_names_each_variable() -> None:
    settings = load_settings()
    with pytest.raises(ConfigError) as info:
        settings.upstash()
    assert set(info.value.problems) == {"UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"}


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """SAM passes '' for parameters left at their default: that must mean 'not set', not 'invalid'."""
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", "")
    monkeypatch.setenv("CRON_SECRET", "")
    settings = load_settings()
    assert settings.upstash_redis_rest_url is None and settings.cron_secret is None


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", "https://eu1-x.upstash.io/")
    monkeypatch.setenv("UPSTASH_REDIS_REST_TOKEN", "tok-1234567890abcdef")
    monkeypatch.setenv("TIERWATCH_HEALTH_URLS", "https://api.example.com/health, http://10.0.0.1:8080")
    settings = load_settings()
    assert settings.upstash() == ("https://eu1-x.upstash.io", "tok-1234567890abcdef")
    assert [str(u) for u in settings.health_urls] == ["https://api.example.com/health", "http://10.0.0.1:8080/"]
    assert "tok-1234567890abcdef" not in repr(settings)
    assert settings.secrets() == ["tok-1234567890abcdef"]


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "local"),
    ({"VERCEL": "1"}, "vercel"),
    ({"AWS_LAMBDA_FUNCTION_NAME": "tw-health"}, "lambda"),
    ({"VERCEL": "1", "TIERWATCH_PLATFORM": "lambda"}, "lambda"),
])
def test_platform_detection(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str) -> None:
    monkeypatch.delenv("TIERWATCH_PLATFORM", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert load_settings().resolved_platform == expected

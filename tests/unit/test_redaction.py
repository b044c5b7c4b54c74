"""Secrets stay out of logs whatever state the settings are in."""

from __future__ import annotations

import json

import pytest

from shared.errors import ConfigError
from shared.logs import get_logger
from shared.settings import load_settings

TOKEN = "tw_admin_0123456789abcdefXYZ"


def logged(capfd: pytest.CaptureFixture[str], text: str) -> str:
    get_logger().info(text, extra={"detail": text})
    return "\n".join(line for line in capfd.readouterr().out.splitlines() if line.startswith("{"))


def test_secrets_are_redacted_with_valid_settings(monkeypatch: pytest.MonkeyPatch,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TIERWATCH_ADMIN_TOKEN", TOKEN)
    out = logged(capfd, f"calling with Bearer {TOKEN}")
    assert TOKEN not in out and json.loads(out)["message"] == "calling with Bearer ***"


def test_redaction_holds_when_another_setting_is_invalid(monkeypatch: pytest.MonkeyPatch,
                                                         capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TIERWATCH_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("TIERWATCH_MARGIN_MS", "lots")  # settings no longer parse
    with pytest.raises(ConfigError):
        load_settings()
    out = logged(capfd, f"calling with Bearer {TOKEN}")
    assert TOKEN not in out and "***" in out


def test_a_too_short_secret_is_refused_and_still_redacted(monkeypatch: pytest.MonkeyPatch,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CRON_SECRET", "abc")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "too short to be a secret" in info.value.problems["CRON_SECRET"]
    assert "abc" not in info.value.message
    out = logged(capfd, "the cron secret is abc")
    assert "abc" not in out


def test_a_secret_of_the_minimum_length_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRON_SECRET", "x" * 16)
    assert load_settings().cron_secret is not None

"""The one settings object: the only code that reads the environment.

Vendor variables keep their own names (``UPSTASH_REDIS_REST_URL``, ``SUPABASE_URL``, ``CRON_SECRET``);
tierwatch's own are ``TIERWATCH_*``. Parsing fails with one ``ConfigError`` naming every bad variable,
never with a stack trace from inside an SDK, and never echoing a value (values may be secrets).
"""

from __future__ import annotations

import functools
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, HttpUrl, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.errors import ConfigError

Platform = Literal["auto", "vercel", "lambda", "local"]


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    """Everything configurable, read once per cold start (``get_settings``)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, populate_by_name=True,
                                      env_ignore_empty=True)

    upstash_redis_rest_url: HttpUrl | None = Field(None, validation_alias=_env("UPSTASH_REDIS_REST_URL"))
    upstash_redis_rest_token: SecretStr | None = Field(None, validation_alias=_env("UPSTASH_REDIS_REST_TOKEN"))
    supabase_url: HttpUrl | None = Field(None, validation_alias=_env("SUPABASE_URL"))
    supabase_service_role_key: SecretStr | None = Field(
        None, validation_alias=_env("SUPABASE_SERVICE_ROLE_KEY")
    )
    cron_secret: SecretStr | None = Field(None, validation_alias=_env("CRON_SECRET"))
    ingest_token: SecretStr | None = Field(None, validation_alias=_env("TIERWATCH_INGEST_TOKEN"))
    read_token: SecretStr | None = Field(None, validation_alias=_env("TIERWATCH_READ_TOKEN"))
    admin_token: SecretStr | None = Field(None, validation_alias=_env("TIERWATCH_ADMIN_TOKEN"))

    platform: Platform = Field("auto", validation_alias=_env("TIERWATCH_PLATFORM"))
    app_version: str = Field("0.1.0", validation_alias=_env("TIERWATCH_APP_VERSION"))
    health_urls: Annotated[list[HttpUrl], NoDecode] = Field(
        default_factory=list, validation_alias=_env("TIERWATCH_HEALTH_URLS")
    )
    check_timeout_ms: int = Field(2000, ge=50, le=60_000, validation_alias=_env("TIERWATCH_CHECK_TIMEOUT_MS"))
    margin_ms: int = Field(500, ge=0, le=60_000, validation_alias=_env("TIERWATCH_MARGIN_MS"))
    cold_start_margin_ms: int = Field(
        1500, ge=0, le=60_000, validation_alias=_env("TIERWATCH_COLD_START_MARGIN_MS")
    )
    # Set by the platforms themselves; read here so nothing else touches os.environ.
    vercel: str | None = Field(None, validation_alias=_env("VERCEL"))
    lambda_function_name: str | None = Field(None, validation_alias=_env("AWS_LAMBDA_FUNCTION_NAME"))

    @field_validator("health_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def resolved_platform(self) -> Literal["vercel", "lambda", "local"]:
        """Where we run: an explicit ``TIERWATCH_PLATFORM`` wins, then the platforms' own variables."""
        if self.platform != "auto":
            return self.platform
        if self.lambda_function_name:
            return "lambda"
        if self.vercel:
            return "vercel"
        return "local"

    def require(self, *fields: str) -> None:
        """Raise one ``ConfigError`` naming every listed field that is unset, by its variable name."""
        missing = {_VARIABLE[f]: "is not set" for f in fields if getattr(self, f) in (None, "")}
        if missing:
            raise ConfigError(missing)

    def upstash(self) -> tuple[str, str]:
        """``(url, token)`` for the Upstash REST API, or ``ConfigError`` naming what is missing."""
        self.require("upstash_redis_rest_url", "upstash_redis_rest_token")
        assert self.upstash_redis_rest_url and self.upstash_redis_rest_token
        return str(self.upstash_redis_rest_url).rstrip("/"), self.upstash_redis_rest_token.get_secret_value()

    def supabase(self) -> tuple[str, str]:
        """``(url, service_role_key)`` for Supabase, or ``ConfigError`` naming what is missing."""
        self.require("supabase_url", "supabase_service_role_key")
        assert self.supabase_url and self.supabase_service_role_key
        return str(self.supabase_url).rstrip("/"), self.supabase_service_role_key.get_secret_value()

    @property
    def margins_s(self) -> tuple[float, float]:
        """The guard's ``(warm, cold-start)`` safety margins, in seconds."""
        return self.margin_ms / 1000.0, self.cold_start_margin_ms / 1000.0

    def redact(self, text: str) -> str:
        """``text`` with every configured secret value replaced by ``***`` (longest first)."""
        for secret in sorted((s for s in self.secrets() if len(s) >= 4), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def secrets(self) -> list[str]:
        """Every secret value set, so logs can redact them wherever they appear."""
        values = [self.upstash_redis_rest_token, self.supabase_service_role_key, self.cron_secret,
                  self.ingest_token, self.read_token, self.admin_token]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


_VARIABLE: dict[str, str] = {
    name: str(field.validation_alias.choices[0])  # type: ignore[union-attr]
    for name, field in Settings.model_fields.items()
}


def load_settings() -> Settings:
    """Build settings from the environment, turning every validation error into one ``ConfigError``."""
    try:
        return Settings()
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for err in exc.errors(include_input=False, include_url=False):
            field = str(err["loc"][0]) if err["loc"] else ""
            name = _VARIABLE.get(field, field.upper())
            problems[name] = err["msg"]
        raise ConfigError(problems) from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this warm instance (built once; tests call ``get_settings.cache_clear()``)."""
    return load_settings()

"""The one settings object: the only code that reads the environment.

Vendor variables keep their own names (``UPSTASH_REDIS_REST_URL``, ``SUPABASE_URL``, ``CRON_SECRET``);
tierwatch's own are ``TIERWATCH_*``. Parsing fails with one ``ConfigError`` naming every bad variable,
never with a stack trace from inside an SDK, and never echoing a value (values may be secrets).

A plain pydantic model fed from ``os.environ``, not pydantic-settings: importing pydantic-settings costs
~75 ms of every cold start (0.29x ``import fastapi``, measured in a python3.12 Lambda bundle), for reading
a dozen variables by name, which is all this needs.
"""

from __future__ import annotations

import functools
import os
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo

from shared.errors import ConfigError

Platform = Literal["auto", "vercel", "lambda", "local"]

# Shorter than this is not a secret: it is guessable, and redacting it would shred every log line.
# (Vercel asks for at least 16 random characters in CRON_SECRET.)
MIN_SECRET_LENGTH = 16
# A full Secrets Manager ARN (with its random suffix: IAM grants exactly that resource).
SECRET_ARN_PATTERN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$"
# An SSM hierarchy: starts and ends with "/" (parameters are named <prefix><VARIABLE>).
SSM_PREFIX_PATTERN = r"^/([A-Za-z0-9_.-]+/)*$"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


def _secret_arn(variable: str) -> str | None:
    return Field(None, pattern=SECRET_ARN_PATTERN, validation_alias=_env(f"{variable}_SECRET_ARN"))


def _secret(name: str) -> SecretStr | None:
    return Field(None, validation_alias=_env(name))


class Settings(BaseModel):
    """Everything configurable, read once per cold start (``get_settings``)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    upstash_redis_rest_url: HttpUrl | None = Field(None, validation_alias=_env("UPSTASH_REDIS_REST_URL"))
    upstash_redis_rest_token: SecretStr | None = _secret("UPSTASH_REDIS_REST_TOKEN")
    supabase_url: HttpUrl | None = Field(None, validation_alias=_env("SUPABASE_URL"))
    supabase_service_role_key: SecretStr | None = _secret("SUPABASE_SERVICE_ROLE_KEY")
    cron_secret: SecretStr | None = _secret("CRON_SECRET")
    ingest_token: SecretStr | None = _secret("TIERWATCH_INGEST_TOKEN")
    read_token: SecretStr | None = _secret("TIERWATCH_READ_TOKEN")
    admin_token: SecretStr | None = _secret("TIERWATCH_ADMIN_TOKEN")
    # Lambda: a secret may instead live in Secrets Manager (one ARN per secret, named after its variable
    # plus _SECRET_ARN) or SSM Parameter Store (SecureStrings named <prefix><VARIABLE>), read at run time
    # by shared/secrets.py, so its value is never a plain environment variable of the function.
    upstash_redis_rest_token_secret_arn: str | None = _secret_arn("UPSTASH_REDIS_REST_TOKEN")
    supabase_service_role_key_secret_arn: str | None = _secret_arn("SUPABASE_SERVICE_ROLE_KEY")
    cron_secret_secret_arn: str | None = _secret_arn("CRON_SECRET")
    ingest_token_secret_arn: str | None = _secret_arn("TIERWATCH_INGEST_TOKEN")
    read_token_secret_arn: str | None = _secret_arn("TIERWATCH_READ_TOKEN")
    admin_token_secret_arn: str | None = _secret_arn("TIERWATCH_ADMIN_TOKEN")
    secrets_ssm_prefix: str | None = Field(
        None, pattern=SSM_PREFIX_PATTERN, validation_alias=_env("TIERWATCH_SECRETS_SSM_PREFIX"))
    # How long a warm instance reuses a secret read from AWS before reading it again (rotation delay).
    secrets_max_age_s: int = Field(300, ge=0, le=86_400, validation_alias=_env("TIERWATCH_SECRETS_MAX_AGE_S"))

    # Request tracking: the instance buffers events and flushes them in one Upstash call when due.
    tracking: bool = Field(True, validation_alias=_env("TIERWATCH_TRACKING"))
    flush_interval_s: float = Field(10.0, ge=0.1, le=3600, validation_alias=_env("TIERWATCH_FLUSH_INTERVAL_S"))
    flush_max_events: int = Field(500, ge=1, le=100_000, validation_alias=_env("TIERWATCH_FLUSH_MAX_EVENTS"))
    flush_mode: Literal["batched", "per_invocation"] = Field(
        "batched", validation_alias=_env("TIERWATCH_FLUSH_MODE"))
    # Ingest: batches a minute per ingest token, counted in Upstash across instances (0: no limit).
    ingest_rate_per_min: int = Field(600, ge=0, le=1_000_000, validation_alias=_env("TIERWATCH_INGEST_RATE_PER_MIN"))
    # Read endpoints reuse what they read this long per instance (dashboards poll).
    read_cache_s: float = Field(15.0, ge=0, le=3600, validation_alias=_env("TIERWATCH_READ_CACHE_S"))

    platform: Platform = Field("auto", validation_alias=_env("TIERWATCH_PLATFORM"))
    app_version: str = Field("0.1.0", validation_alias=_env("TIERWATCH_APP_VERSION"))
    health_urls: list[HttpUrl] = Field(
        default_factory=list, validation_alias=_env("TIERWATCH_HEALTH_URLS")
    )
    health_cache_s: float = Field(15.0, ge=0, le=3600, validation_alias=_env("TIERWATCH_HEALTH_CACHE_S"))
    check_timeout_ms: int = Field(2000, ge=50, le=60_000, validation_alias=_env("TIERWATCH_CHECK_TIMEOUT_MS"))
    margin_ms: int = Field(500, ge=0, le=60_000, validation_alias=_env("TIERWATCH_MARGIN_MS"))
    cold_start_margin_ms: int = Field(
        1500, ge=0, le=60_000, validation_alias=_env("TIERWATCH_COLD_START_MARGIN_MS")
    )
    # Set by the platforms themselves; read here so nothing else touches os.environ.
    vercel: str | None = Field(None, validation_alias=_env("VERCEL"))
    lambda_function_name: str | None = Field(None, validation_alias=_env("AWS_LAMBDA_FUNCTION_NAME"))

    @field_validator("upstash_redis_rest_token", "supabase_service_role_key", "cron_secret", "ingest_token",
                     "read_token", "admin_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_SECRET_LENGTH:
            raise ValueError(f"too short to be a secret: use at least {MIN_SECRET_LENGTH} random characters")
        return value

    @field_validator("upstash_redis_rest_token_secret_arn", "supabase_service_role_key_secret_arn",
                     "cron_secret_secret_arn", "ingest_token_secret_arn", "read_token_secret_arn",
                     "admin_token_secret_arn")
    @classmethod
    def _one_source(cls, value: str | None, info: ValidationInfo) -> str | None:
        # the secret fields are declared (so validated) first: a value set twice is ambiguous, refuse it
        plain = str(info.field_name).removesuffix("_secret_arn")
        if value and info.data.get(plain) is not None:
            raise ValueError(f"set either {_VARIABLE[plain]} or this ARN, not both")
        return value

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
        """``text`` with every configured secret value replaced by ``***``."""
        return redact(text, self.secrets())

    def secrets(self) -> list[str]:
        """Every secret value set, so logs can redact them wherever they appear."""
        values = (getattr(self, f) for f in SECRET_FIELDS)
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]


def _variable(field: FieldInfo) -> str:
    return str(field.validation_alias.choices[0])  # type: ignore[union-attr]


# The one spelling of every variable name: derived from the fields above, used by auth, the registry
# and the wiring of both platforms.
_VARIABLE: dict[str, str] = {name: _variable(field) for name, field in Settings.model_fields.items()}
SECRET_FIELDS: tuple[str, ...] = tuple(
    name for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)
)
# Set by the platforms, never by the user.
PLATFORM_FIELDS = ("vercel", "lambda_function_name")


def variable_name(field: str) -> str:
    """The environment variable of setting ``field`` (``KeyError`` for an unknown field)."""
    return _VARIABLE[field]


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***`` (longest first, so none is half-replaced)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def raw_secrets() -> list[str]:
    """Secret values straight from the environment, valid or not: redaction must hold even when the
    settings do not parse (a too-short or malformed secret is still a secret to keep out of logs)."""
    values = (os.environ.get(_VARIABLE[f], "").strip() for f in SECRET_FIELDS)
    return [v for v in values if v]


def _environment() -> dict[str, str]:
    """The variables the settings read, as set; an empty value counts as unset (SAM passes ``''`` for a
    parameter left at its default)."""
    names = set(_VARIABLE.values())
    return {name: value for name, value in os.environ.items() if name in names and value.strip()}


def load_settings() -> Settings:
    """Build settings from the environment, turning every validation error into one ``ConfigError``."""
    try:
        return Settings.model_validate(_environment())
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for err in exc.errors(include_input=False, include_url=False):
            field = str(err["loc"][0]) if err["loc"] else ""
            name = _VARIABLE.get(field, field.upper())
            problems[name] = err["msg"].removeprefix("Value error, ")
        raise ConfigError(problems) from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this warm instance (built once; tests call ``get_settings.cache_clear()``)."""
    return load_settings()

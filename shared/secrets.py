"""Secrets read from AWS at run time: the Lambda alternative to secrets in plain environment variables.

A CloudFormation ``NoEcho`` parameter still ends up as a plain environment variable of the function,
readable by anyone allowed ``lambda:GetFunctionConfiguration``. Instead, a secret may be configured as
a Secrets Manager ARN (``<VARIABLE>_SECRET_ARN``, e.g. ``UPSTASH_REDIS_REST_TOKEN_SECRET_ARN``) or live
under one SSM Parameter Store prefix (``TIERWATCH_SECRETS_SSM_PREFIX``: a SecureString named
``<prefix><VARIABLE>``). ``resolve`` reads them through Powertools Parameters, once per warm instance
(``TIERWATCH_SECRETS_MAX_AGE_S``), bounded by the invocation's guard, and writes the values into the
settings object itself: clients, auth and log redaction (``Settings.secrets()``) then see them exactly
like values from the environment, with no other code changed.

Plain variables stay the simple path: with no ARN and no prefix configured, ``resolve`` returns at once
and neither Powertools Parameters nor boto3 (which the Lambda runtime provides) is imported.

Example
-------
>>> settings = await resolve(get_settings(), guard, spec.setting_fields)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from shared.errors import ConfigError, DeadlineExceeded
from shared.guard import Guard
from shared.settings import MIN_SECRET_LENGTH, SECRET_FIELDS, Settings, get_settings, variable_name

__all__ = ["Plan", "arn_field", "plan", "resolve", "resolve_or_error", "ssm_name"]

# Each AWS call gets at most this long (and never more than the guard allows).
CALL_CAP_S = 3.0


def arn_field(field: str) -> str:
    """The setting holding the Secrets Manager ARN of secret ``field``."""
    return f"{field}_secret_arn"


def ssm_name(prefix: str, field: str) -> str:
    """The SSM parameter holding secret ``field`` under ``prefix``: ``/app/prod/`` + ``CRON_SECRET``."""
    return f"{prefix}{variable_name(field)}"


@dataclass(frozen=True)
class Plan:
    """Where each secret comes from: ``arns`` (field -> secret ARN), ``ssm`` (field -> parameter name)."""

    arns: dict[str, str]
    ssm: dict[str, str]

    def __bool__(self) -> bool:
        return bool(self.arns or self.ssm)

    def source_variable(self, field: str) -> str:
        """The variable to name when ``field`` cannot be read (the ARN's, or the prefix's)."""
        return variable_name(arn_field(field)) if field in self.arns else variable_name("secrets_ssm_prefix")


def plan(settings: Settings, fields: Iterable[str]) -> Plan:
    """The AWS reads that the secrets among ``fields`` need. An ARN wins over the SSM prefix; a secret set
    in the environment needs no read (settings refuse a plain value and an ARN for the same secret)."""
    arns: dict[str, str] = {}
    ssm: dict[str, str] = {}
    for field in dict.fromkeys(fields):
        if field not in SECRET_FIELDS:
            continue
        arn = getattr(settings, arn_field(field))
        if arn:
            arns[field] = arn
        elif settings.secrets_ssm_prefix and getattr(settings, field) is None:
            ssm[field] = ssm_name(settings.secrets_ssm_prefix, field)
    return Plan(arns, ssm)


# Per field list (one per function; `tierwatch dev` serves them all in one process), the plan of the
# settings object last resolved, computed before its secrets were filled in (after, a secret read from
# SSM would look like one set in the environment).
_planned: dict[tuple[str, ...], tuple[Settings, Plan]] = {}


def _plan_for(settings: Settings, fields: Iterable[str]) -> Plan:
    key = tuple(fields)
    entry = _planned.get(key)
    if entry is None or entry[0] is not settings:
        entry = _planned[key] = (settings, plan(settings, key))
    return entry[1]


async def resolve(settings: Settings, guard: Guard, fields: Iterable[str]) -> Settings:
    """``settings`` with the secrets among ``fields`` read from AWS where so configured.

    Reads are cached for ``secrets_max_age_s`` per warm instance (a warm call makes no AWS call) and
    bounded by ``guard``. When a cached value changed (rotation), the settings are rebuilt, so clients
    built with the old value are replaced too.

    Raises
    ------
    ConfigError
        Naming the ARN (or prefix) variable of a secret that could not be read in time or is too short.
    """
    wanted = _plan_for(settings, fields)
    if not wanted:
        return settings
    max_age = settings.secrets_max_age_s
    try:
        values = await guard.run(asyncio.to_thread(_fetch, wanted, max_age, guard.timeout_for(CALL_CAP_S)),
                                 op="secrets", cap_s=CALL_CAP_S)
    except DeadlineExceeded as exc:
        raise ConfigError({wanted.source_variable(f): f"could not be read: {exc.message}"
                           for f in [*wanted.arns, *wanted.ssm]}) from None
    except _ReadError as exc:
        raise ConfigError({wanted.source_variable(exc.field): f"could not be read: {exc}"}) from None
    short = {wanted.source_variable(f): f"too short to be a secret: use at least {MIN_SECRET_LENGTH} random "
             "characters" for f, v in values.items() if len(v) < MIN_SECRET_LENGTH}
    if short:
        raise ConfigError(short)
    if any(_current(settings, f) not in (None, v) for f, v in values.items()):
        get_settings.cache_clear()  # rotated: a fresh object, so per-settings clients are rebuilt
        settings = get_settings()
        _plan_for(settings, fields)
    for field, value in values.items():
        if _current(settings, field) != value:
            setattr(settings, field, SecretStr(value))
    return settings


async def resolve_or_error(settings: Settings | None, error: ConfigError | None, guard: Guard,
                           fields: Iterable[str]) -> tuple[Settings | None, ConfigError | None]:
    """``resolve`` for an entry point that answers bad configuration itself (HTTP: 503 naming it)."""
    if settings is None:
        return None, error
    try:
        return await resolve(settings, guard, fields), None
    except ConfigError as exc:
        return None, exc


def _current(settings: Settings, field: str) -> str | None:
    value: SecretStr | None = getattr(settings, field)
    return None if value is None else value.get_secret_value()


class _ReadError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------------------------- AWS side
# Providers live as long as the instance: their caches are what makes a warm read free.
_providers: dict[tuple[str, str], Any] = {}


def _provider(kind: str, region: str | None, timeout_s: float) -> Any:
    key = (kind, region or "")
    if key not in _providers:
        import boto3
        from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
        from botocore.config import Config

        timeout = max(0.1, min(timeout_s, CALL_CAP_S))
        config = Config(connect_timeout=timeout, read_timeout=timeout,
                        retries={"mode": "standard", "total_max_attempts": 2})
        service = "secretsmanager" if kind == "secrets" else "ssm"
        client = boto3.session.Session().client(service, region_name=region, config=config)
        _providers[key] = (SecretsProvider if kind == "secrets" else SSMProvider)(boto3_client=client)
    return _providers[key]


def _region(arn: str) -> str:
    return arn.split(":")[3]  # a secret is read in its own region, whatever the function's


def _fetch(wanted: Plan, max_age: int, timeout_s: float) -> dict[str, str]:
    """Blocking reads (run in a thread): Powertools serves unexpired values from its cache."""
    from aws_lambda_powertools.utilities.parameters import GetParameterError
    from botocore.exceptions import BotoCoreError, ClientError

    failures = (GetParameterError, BotoCoreError, ClientError)
    values: dict[str, str] = {}
    for field, arn in wanted.arns.items():
        try:
            value = _provider("secrets", _region(arn), timeout_s).get(arn, max_age=max_age)
        except failures as exc:
            raise _ReadError(field, _reason(exc)) from None
        values[field] = _text(value)
    if wanted.ssm:
        names: dict[str, dict[str, Any]] = {name: {} for name in wanted.ssm.values()}
        try:
            found = _provider("ssm", None, timeout_s).get_parameters_by_name(
                parameters=names, decrypt=True, max_age=max_age, raise_on_error=False)
        except failures as exc:
            raise _ReadError(next(iter(wanted.ssm)), _reason(exc)) from None
        for field, name in wanted.ssm.items():
            if name in found:  # a missing parameter is an unset secret, as an unset variable would be
                values[field] = _text(found[name])
    return values


def _text(value: object) -> str:
    return (value.decode() if isinstance(value, bytes) else str(value)).strip()


def _reason(exc: Exception) -> str:
    cause = exc.__cause__ or exc
    return f"{type(cause).__name__}: {str(cause)[:200]}"

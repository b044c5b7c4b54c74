"""Secrets read from AWS at run time, against a real (moto) Secrets Manager and SSM over loopback HTTP.

boto3 talks to ``ThreadedMotoServer`` through ``AWS_ENDPOINT_URL``, the SDK's own endpoint setting; the
functions run unchanged (the health_detailed app through ASGI, the resolver directly where a guard is
set up by hand). Ground truth over mocks: a warm call is proven free by stopping the server before it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from shared import secrets
from shared.errors import ConfigError
from shared.guard import Guard
from shared.logs import get_logger
from shared.settings import get_settings

READ_TOKEN = "tw_read_from_secrets_manager_0123456789"
UPSTASH_TOKEN = "tw_upstash_from_ssm_abcdefghijklmnop"
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _fresh_resolver() -> Iterator[None]:
    secrets._providers.clear()
    secrets._planned.clear()
    yield
    secrets._providers.clear()
    secrets._planned.clear()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ThreadedMotoServer, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()  # moto's state is per process
    for name, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                        "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    try:
        yield server, endpoint
    finally:
        server.stop()


def _secret(endpoint: str, name: str, value: str) -> str:
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION)
    arn: str = client.create_secret(Name=name, SecretString=value)["ARN"]
    return arn


def asgi(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def _detailed(token: str) -> httpx.Response:
    from functions.health_detailed.app import _results, app

    _results.clear()
    async with asgi(app) as client:
        return await client.get("/api/health/detailed", headers={"Authorization": f"Bearer {token}"})


async def _detailed_public() -> httpx.Response:
    from functions.health_detailed.app import _results, app

    _results.clear()
    async with asgi(app) as client:
        return await client.get("/api/health/detailed")


async def test_an_arn_configured_secret_is_read_once_per_warm_instance_and_never_logged(
        aws: tuple[ThreadedMotoServer, str], monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    server, endpoint = aws
    monkeypatch.setenv("TIERWATCH_READ_TOKEN_SECRET_ARN", _secret(endpoint, "tierwatch/read", READ_TOKEN))
    monkeypatch.setenv("TIERWATCH_HEALTH_CACHE_S", "0")

    first = await _detailed(READ_TOKEN)
    assert first.json()["detailed"] is True  # the token read from Secrets Manager opened the read scope
    assert get_settings().read_token is not None

    server.stop()  # no AWS any more: a warm call that still needed it would fail
    second = await _detailed(READ_TOKEN)
    assert second.json()["detailed"] is True
    assert (await _detailed("tw_not_the_read_token_at_all_0000")).status_code == 401

    get_logger().info(f"a careless line with {READ_TOKEN}")
    out = capfd.readouterr().out
    assert READ_TOKEN not in out and "a careless line with ***" in out


async def test_a_rotated_secret_is_picked_up_after_max_age(aws: tuple[ThreadedMotoServer, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, endpoint = aws
    arn = _secret(endpoint, "tierwatch/read", READ_TOKEN)
    monkeypatch.setenv("TIERWATCH_READ_TOKEN_SECRET_ARN", arn)
    monkeypatch.setenv("TIERWATCH_SECRETS_MAX_AGE_S", "0")  # every call reads again
    before = get_settings()
    assert (await _detailed(READ_TOKEN)).json()["detailed"] is True

    rotated = READ_TOKEN.replace("manager", "rotated")
    boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION).put_secret_value(
        SecretId=arn, SecretString=rotated)
    assert (await _detailed(rotated)).json()["detailed"] is True
    assert (await _detailed(READ_TOKEN)).status_code == 401
    assert get_settings() is not before  # rebuilt: clients made with the old value are not reused


async def test_ssm_prefix_fills_every_unset_secret_of_the_function(aws: tuple[ThreadedMotoServer, str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _, endpoint = aws
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name=REGION)
    ssm.put_parameter(Name="/tierwatch/test/UPSTASH_REDIS_REST_TOKEN", Value=UPSTASH_TOKEN, Type="SecureString")
    ssm.put_parameter(Name="/tierwatch/test/TIERWATCH_READ_TOKEN", Value=READ_TOKEN, Type="SecureString")
    monkeypatch.setenv("TIERWATCH_SECRETS_SSM_PREFIX", "/tierwatch/test/")
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", "https://example.upstash.io")

    settings = await secrets.resolve(get_settings(), Guard.start(limit_s=5, cold_start=False, margin_s=0),
                                     ("upstash_redis_rest_token", "read_token", "admin_token"))
    assert settings.upstash() == ("https://example.upstash.io", UPSTASH_TOKEN)
    assert settings.read_token is not None and settings.read_token.get_secret_value() == READ_TOKEN
    assert settings.admin_token is None  # no such parameter: unset, as an unset variable would be
    assert UPSTASH_TOKEN not in settings.redact(f"token={UPSTASH_TOKEN}")


async def test_a_hung_endpoint_is_bounded_by_the_guard(hanging_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", hanging_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("TIERWATCH_READ_TOKEN_SECRET_ARN",
                       "arn:aws:secretsmanager:us-east-1:123456789012:secret:tierwatch/read-AbCdEf")
    guard = Guard.start(limit_s=1.0, cold_start=False, margin_s=0.3)
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        await secrets.resolve(get_settings(), guard, ("read_token",))
    assert time.monotonic() - started < 1.0
    assert "TIERWATCH_READ_TOKEN_SECRET_ARN" in info.value.problems
    assert "timeout after" in info.value.problems["TIERWATCH_READ_TOKEN_SECRET_ARN"]


async def test_an_unreachable_endpoint_fails_fast_naming_the_arn(closed_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("TIERWATCH_READ_TOKEN_SECRET_ARN",
                       "arn:aws:secretsmanager:us-east-1:123456789012:secret:tierwatch/read-AbCdEf")
    with pytest.raises(ConfigError) as info:
        await secrets.resolve(get_settings(), Guard.start(limit_s=10, cold_start=False, margin_s=0), ("read_token",))
    assert "could not be read" in info.value.problems["TIERWATCH_READ_TOKEN_SECRET_ARN"]
    secrets._planned.clear()
    response = await _detailed_public()
    assert response.status_code == 503 and response.json()["status"] == "unhealthy"  # answered, not crashed


async def test_plain_variables_need_no_aws_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWATCH_READ_TOKEN", READ_TOKEN)
    settings = get_settings()
    resolved = await secrets.resolve(settings, Guard.start(limit_s=5, cold_start=False, margin_s=0),
                                     ("read_token", "admin_token"))
    assert resolved is settings and not secrets._providers


def test_a_plain_value_and_an_arn_for_one_secret_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERWATCH_READ_TOKEN", READ_TOKEN)
    monkeypatch.setenv("TIERWATCH_READ_TOKEN_SECRET_ARN",
                       "arn:aws:secretsmanager:us-east-1:123456789012:secret:tierwatch/read-AbCdEf")
    with pytest.raises(ConfigError, match="set either TIERWATCH_READ_TOKEN or this ARN"):
        get_settings()


def test_a_scheduled_run_gets_its_secrets_before_the_job(aws: tuple[ThreadedMotoServer, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The other entry point: an EventBridge run resolves the function's secrets, then calls the job."""
    from devstack.lambda_local import LambdaContext, schedule_event
    from shared.cron import JobResult, cron_handler
    from shared.spec import FunctionSpec, Route

    _, endpoint = aws
    monkeypatch.setenv("CRON_SECRET_SECRET_ARN", _secret(endpoint, "tierwatch/cron", READ_TOKEN))
    spec = FunctionSpec(name="secret_cron", description="test job", routes=(Route("GET", "/api/t", "run"),),
                        schedule="*/5 * * * *", auth="cron")
    seen: list[str | None] = []

    async def job(settings: Any, guard: Guard) -> JobResult:
        seen.append(settings.cron_secret.get_secret_value() if settings.cron_secret else None)
        return JobResult(job="t", complete=True)

    result = cron_handler(spec, job)(schedule_event(), LambdaContext(function_name="t", timeout_s=10))
    assert result["complete"] is True and seen == [READ_TOKEN]

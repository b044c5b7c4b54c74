"""template.yaml: one public door, every variable delivered (with defaults that parse), secrets readable
only where configured, and the build file where SAM looks for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.wiring import sam, sam_secrets
from devstack.wiring.makefile import logical_id
from functions.registry import FUNCTIONS
from shared.secrets import arn_field
from shared.settings import PLATFORM_FIELDS, SECRET_FIELDS, Settings, load_settings, variable_name

ROOT = Path(__file__).resolve().parents[2]
# Settings no function reads on Lambda, and why (docs/deploy-aws-sam.md, "Variables").
NOT_ON_LAMBDA = {
    "TIERWATCH_PLATFORM": "detected from AWS_LAMBDA_FUNCTION_NAME, which Lambda sets",
    # read only by functions that declare them (cron jobs); none does yet
    "CRON_SECRET": "no cron function yet", "CRON_SECRET_SECRET_ARN": "no cron function yet",
}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506
    return loaded


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


# ------------------------------------------------------------------------------------------- one door

def test_the_http_api_is_the_only_public_door(template: dict[str, Any]) -> None:
    for name, resource in _functions(template).items():
        assert "FunctionUrlConfig" not in resource["Properties"], name
        for event in resource["Properties"]["Events"].values():
            assert event["Type"] in ("HttpApi", "ScheduleV2"), name
    assert not [r for r in template["Resources"].values() if r["Type"] in ("AWS::Lambda::Url", "AWS::Serverless::Api")]
    assert list(template["Outputs"]) == ["HttpApiUrl"]
    apis = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::HttpApi"]
    assert len(apis) == 1


def test_the_stage_is_throttled_with_small_app_defaults(template: dict[str, Any]) -> None:
    settings = template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert settings == {"ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
                        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"}}
    rate, burst = (template["Parameters"][p] for p in ("ApiThrottlingRateLimit", "ApiThrottlingBurstLimit"))
    assert rate["Type"] == burst["Type"] == "Number"
    assert 1 <= rate["Default"] <= 50 and rate["Default"] <= burst["Default"] <= 100


# ------------------------------------------------------------------------------------------- variables

@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_every_variable_of_a_function_reaches_it_from_a_parameter(template: dict[str, Any], spec: Any) -> None:
    resource = template["Resources"][logical_id(spec)]
    env = resource["Properties"]["Environment"]["Variables"]
    for var in spec.variables:  # all of them, not a sample
        parameter = sam.parameter_name(var)
        assert env[var] == {"Ref": parameter}, var
        assert template["Parameters"][parameter]["Default"] == "", var
        assert (template["Parameters"][parameter].get("NoEcho") is True) == (var in sam.SECRET_VARIABLES), var


def test_parameter_defaults_parse_as_tierwatchs_own_defaults(template: dict[str, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Lambda hands an empty parameter to the function as ``VAR=""``: settings must read it as unset."""
    delivered: dict[str, Any] = {}
    for resource in _functions(template).values():
        for var, value in resource["Properties"]["Environment"]["Variables"].items():
            delivered[var] = template["Parameters"][value["Ref"]]["Default"]
    assert {"TIERWATCH_MARGIN_MS", "TIERWATCH_CHECK_TIMEOUT_MS", "TIERWATCH_HEALTH_CACHE_S"} <= set(delivered)
    for var, default in delivered.items():
        monkeypatch.setenv(var, str(default))
    loaded = load_settings()
    fields = {name: variable_name(name) for name in Settings.model_fields}
    for field, var in fields.items():
        if var in delivered:
            info = Settings.model_fields[field]
            expected = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
            assert getattr(loaded, field) == expected, var


def test_number_parameters_only_take_numbers(template: dict[str, Any]) -> None:
    import re

    for var in ("TIERWATCH_MARGIN_MS", "TIERWATCH_HEALTH_CACHE_S"):
        pattern = template["Parameters"][sam.parameter_name(var)]["AllowedPattern"]
        assert re.fullmatch(pattern, "") and re.fullmatch(pattern, "750")
        assert not re.fullmatch(pattern, "fast")


def test_every_setting_reaches_lambda_or_says_why_not(template: dict[str, Any]) -> None:
    on_lambda = {var for r in _functions(template).values() for var in r["Properties"]["Environment"]["Variables"]}
    on_lambda |= set(template["Globals"]["Function"]["Environment"]["Variables"])
    user_variables = {variable_name(f) for f in Settings.model_fields if f not in PLATFORM_FIELDS}
    assert user_variables - on_lambda == set(NOT_ON_LAMBDA)
    doc = (ROOT / "docs" / "deploy-aws-sam.md").read_text()
    assert all(var in doc for var in NOT_ON_LAMBDA)


# ------------------------------------------------------------------------------------------- secrets

@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_a_function_may_read_only_its_own_secrets_and_only_once_configured(
        template: dict[str, Any], spec: Any) -> None:
    props = template["Resources"][logical_id(spec)]["Properties"]
    secrets = [f for f in spec.setting_fields if f in SECRET_FIELDS]
    env = props["Environment"]["Variables"]
    assert {v for v in env if v.endswith("_SECRET_ARN")} == {variable_name(arn_field(f)) for f in secrets}
    statements = []
    for policy in props["Policies"]:
        condition, granted, otherwise = policy["Fn::If"]  # every grant is conditional
        assert otherwise == {"Ref": "AWS::NoValue"}
        assert condition in template["Conditions"]
        statements += [(condition, s) for s in granted["Statement"]]
    reads = {(c, s["Action"], str(s["Resource"])) for c, s in statements}
    expected = {(f"Has{sam_secrets.arn_parameter(f)}", "secretsmanager:GetSecretValue",
                 str({"Ref": sam_secrets.arn_parameter(f)})) for f in secrets}
    assert {r for r in reads if r[1].startswith("secretsmanager")} == expected
    ssm = [s for c, s in statements if s["Action"] == "ssm:GetParameters"]
    assert len(ssm) == (1 if secrets else 0)
    for statement in ssm:
        names = sorted(r["Fn::Sub"].rsplit("}", 1)[1] for r in statement["Resource"])
        assert names == sorted(variable_name(f) for f in secrets)
    assert all(s["Effect"] == "Allow" and "*" not in str(s["Resource"]) for _, s in statements)


def test_health_reads_no_secret_and_gets_no_policy(template: dict[str, Any]) -> None:
    props = template["Resources"]["HealthFunction"]["Properties"]
    assert props["Policies"] == []
    assert not [v for v in props["Environment"]["Variables"] if "SECRET" in v]


def test_secret_arn_parameters_accept_only_full_arns(template: dict[str, Any]) -> None:
    import re

    pattern = template["Parameters"]["ReadTokenSecretArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tierwatch/read-AbC123")
    assert not re.fullmatch(pattern, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*")
    prefix = template["Parameters"]["SecretsSsmPrefix"]["AllowedPattern"]
    assert re.fullmatch(prefix, "/tierwatch/prod/") and not re.fullmatch(prefix, "tierwatch")


# ------------------------------------------------------------------------------------------- build file

def test_sam_finds_the_build_file_where_the_template_says(template: dict[str, Any]) -> None:
    makefile = None
    for name, resource in _functions(template).items():
        metadata = resource["Metadata"]
        assert metadata["BuildMethod"] == "makefile"
        makefile = (ROOT / metadata["ContextPath"] / "Makefile").read_text()
        assert f"\nbuild-{name}:\n" in makefile
    assert template["Globals"]["Function"]["CodeUri"] == "."  # the copy SAM builds from holds shared/

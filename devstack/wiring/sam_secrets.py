"""Secrets from AWS in ``template.yaml``: the parameters, conditions and least-privilege policies.

Each secret a function reads may name a Secrets Manager secret (``<Secret>SecretArn``), and all of them
may live under one SSM prefix (``SecretsSsmPrefix``). A function then gets the ARN or prefix variables of
its own secrets only, and a policy that can read exactly those, present only while the parameter is set
(``Fn::If``): with plain parameters the role can read no secret at all. The values are read at run time
by ``shared/secrets.py``; nothing secret is in the template or the function's configuration.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from devstack.wiring.common import parameter_name
from shared.secrets import arn_field
from shared.settings import SECRET_ARN_PATTERN, SECRET_FIELDS, SSM_PREFIX_PATTERN, variable_name
from shared.spec import FunctionSpec

PREFIX = parameter_name(variable_name("secrets_ssm_prefix"))  # SecretsSsmPrefix
MAX_AGE = parameter_name(variable_name("secrets_max_age_s"))
HAS_PREFIX = f"Has{PREFIX}"


def secret_fields(spec: FunctionSpec) -> list[str]:
    """The secrets ``spec`` reads, in its order."""
    return [f for f in spec.setting_fields if f in SECRET_FIELDS]


def arn_parameter(field: str) -> str:
    return parameter_name(variable_name(arn_field(field)))  # UpstashRedisRestTokenSecretArn


def parameters(functions: Iterable[FunctionSpec]) -> dict[str, Any]:
    fields = list(dict.fromkeys(f for spec in functions for f in secret_fields(spec)))
    out: dict[str, Any] = {
        arn_parameter(f): {"Type": "String", "Default": "", "AllowedPattern": f"^$|{SECRET_ARN_PATTERN}",
                           "ConstraintDescription": "a full Secrets Manager secret ARN, or empty",
                           "Description": f"{variable_name(arn_field(f))}: read {variable_name(f)} from this "
                                          "secret at run time instead (leave its own parameter empty)"}
        for f in fields}
    if fields:
        out[PREFIX] = {"Type": "String", "Default": "", "AllowedPattern": f"^$|{SSM_PREFIX_PATTERN}",
                       "ConstraintDescription": "an SSM path starting and ending with /, or empty",
                       "Description": "TIERWATCH_SECRETS_SSM_PREFIX: read each unset secret from the SSM "
                                     "SecureString <prefix><VARIABLE>"}
        out[MAX_AGE] = {"Type": "String", "Default": "", "AllowedPattern": "^[0-9]*$",
                        "Description": "TIERWATCH_SECRETS_MAX_AGE_S (empty: 300): how long a warm instance "
                                       "reuses a secret read from AWS"}
    return out


def conditions(functions: Iterable[FunctionSpec]) -> dict[str, Any]:
    fields = list(dict.fromkeys(f for spec in functions for f in secret_fields(spec)))
    names = [arn_parameter(f) for f in fields] + ([PREFIX] if fields else [])
    return {f"Has{name}": {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, ""]}]} for name in names}


def environment(spec: FunctionSpec) -> dict[str, Any]:
    """The ARN and prefix variables of ``spec``'s own secrets."""
    fields = secret_fields(spec)
    out: dict[str, Any] = {variable_name(arn_field(f)): {"Ref": arn_parameter(f)} for f in fields}
    if fields:
        out[variable_name("secrets_ssm_prefix")] = {"Ref": PREFIX}
        out[variable_name("secrets_max_age_s")] = {"Ref": MAX_AGE}
    return out


def policies(spec: FunctionSpec) -> list[Any]:
    """Read access to exactly ``spec``'s configured secrets; nothing when none is configured."""
    out: list[Any] = []
    for field in secret_fields(spec):
        statement = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                     "Resource": {"Ref": arn_parameter(field)}}
        out.append(_if(f"Has{arn_parameter(field)}", statement))
    if out:
        resources = [{"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
                                  f"${{{PREFIX}}}{variable_name(f)}"} for f in secret_fields(spec)]
        out.append(_if(HAS_PREFIX, {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": resources}))
    return out


def _if(condition: str, statement: dict[str, Any]) -> dict[str, Any]:
    return {"Fn::If": [condition, {"Statement": [statement]}, {"Ref": "AWS::NoValue"}]}

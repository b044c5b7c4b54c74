"""AWS SAM: ``template.yaml``, one Lambda function per registry entry, behind one HTTP API.

One public door: the HTTP API, throttled at its stage. No function gets a public function URL (each
would be a second, unthrottled door with ``AuthType: NONE``); a future function with a reason for one
(a response streamed past API Gateway's 30 s) must document it in docs/deploy-aws-sam.md.

Every variable a function reads (``spec.variables``) reaches it as a parameter whose default is empty:
settings ignore empty variables (``env_ignore_empty``), so the default is tierwatch's own, stated once in
``shared/settings.py``. A secret may instead come from Secrets Manager or SSM (``sam_secrets``).
"""

from __future__ import annotations

from typing import Any

import yaml

from devstack.wiring import bundles, sam_secrets
from devstack.wiring.common import ROOT, RUNTIME, parameter_name
from devstack.wiring.cron import eventbridge_cron
from devstack.wiring.makefile import CONTEXT_PATH, logical_id, makefile
from functions.registry import FUNCTIONS
from shared.settings import SECRET_FIELDS, Settings, variable_name
from shared.spec import FunctionSpec

__all__ = ["SECRET_VARIABLES", "eventbridge_cron", "files", "logical_id", "parameter_name", "template"]

SECRET_VARIABLES = frozenset(variable_name(f) for f in SECRET_FIELDS)
# A small app's API: steady requests per second and burst, per stage (override at deploy time).
THROTTLE = {"ApiThrottlingRateLimit": (10, "steady-state requests per second, all routes together"),
            "ApiThrottlingBurstLimit": (20, "requests allowed in a burst above the steady rate")}
_FIELD_OF = {variable_name(f): f for f in Settings.model_fields}


def variable_parameter(variable: str) -> dict[str, Any]:
    """The parameter behind ``variable``: empty by default (= tierwatch's default), numbers checked."""
    info = Settings.model_fields[_FIELD_OF[variable]]
    default = "" if info.default is None or info.default_factory else info.default
    parameter: dict[str, Any] = {"Type": "String", "Default": "",
                                 "Description": f"{variable} (empty: {default or 'unset'})"}
    if info.annotation is int:
        parameter |= {"AllowedPattern": "^[0-9]*$", "ConstraintDescription": "a whole number, or empty"}
    elif info.annotation is float:
        parameter |= {"AllowedPattern": r"^([0-9]+(\.[0-9]+)?)?$", "ConstraintDescription": "a number, or empty"}
    if variable in SECRET_VARIABLES:
        parameter["NoEcho"] = True
    return parameter


def _function_resource(spec: FunctionSpec) -> dict[str, Any]:
    events: dict[str, Any] = {}
    for i, route in enumerate(spec.routes):
        events[f"Http{i}"] = {"Type": "HttpApi", "Properties": {
            "ApiId": {"Ref": "HttpApi"}, "Path": route.path, "Method": route.method}}
    if spec.schedule:
        events["Schedule"] = {"Type": "ScheduleV2", "Properties": {
            "ScheduleExpression": eventbridge_cron(spec.schedule), "ScheduleExpressionTimezone": "UTC"}}
    variables = {var: {"Ref": parameter_name(var)} for var in spec.variables}
    variables |= sam_secrets.environment(spec)
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "FunctionName": {"Fn::Sub": f"${{AWS::StackName}}-{spec.name.replace('_', '-')}"},
            "Description": spec.description,
            "Handler": f"{spec.module}.handler.handler",
            "Timeout": spec.max_duration,
            "MemorySize": spec.memory,
            "Environment": {"Variables": variables},
            "Events": events,
            "Policies": sam_secrets.policies(spec),
        },
        # The Makefile is not at the root (where `make` would find it): SAM looks in ContextPath.
        "Metadata": {"BuildMethod": "makefile", "ContextPath": CONTEXT_PATH},
    }


def template() -> dict[str, Any]:
    """``template.yaml``: one function per registry entry behind one throttled HTTP API."""
    parameters: dict[str, Any] = {
        name: {"Type": "Number", "Default": default, "MinValue": 1, "Description": f"HTTP API stage: {what}"}
        for name, (default, what) in THROTTLE.items()}
    for var in dict.fromkeys(v for spec in FUNCTIONS for v in spec.variables):
        parameters[parameter_name(var)] = variable_parameter(var)
    parameters |= sam_secrets.parameters(FUNCTIONS)
    resources: dict[str, Any] = {"HttpApi": {"Type": "AWS::Serverless::HttpApi", "Properties": {
        "DefaultRouteSettings": {"ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
                                 "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"}}}}}
    for spec in FUNCTIONS:
        resources[logical_id(spec)] = _function_resource(spec)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "tierwatch: monitoring functions for Upstash, Supabase and serverless apps "
                       "(generated from functions/registry.py by `tierwatch wiring --write`)",
        "Parameters": parameters,
        "Conditions": sam_secrets.conditions(FUNCTIONS),
        "Globals": {"Function": {"Runtime": RUNTIME, "Architectures": ["arm64"], "CodeUri": ".",
                                 "Environment": {"Variables": {"POWERTOOLS_SERVICE_NAME": "tierwatch"}}}},
        "Resources": resources,
        "Outputs": {"HttpApiUrl": {
            "Description": "Base URL of the HTTP API, the only public door (every function under its /api path)",
            "Value": {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}}},
    }


def files() -> dict[Any, str]:
    out = {
        ROOT / "template.yaml": yaml.safe_dump(template(), sort_keys=False, width=110),
        bundles.SAM_DIR / "Makefile": makefile(),
    }
    out |= {bundles.requirements_path(spec): bundles.requirements(spec) for spec in FUNCTIONS}
    return out

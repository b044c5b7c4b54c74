"""``sam validate --lint`` and ``sam build`` on a copy of the repo (see tests/deploy/_tools.py)."""

from __future__ import annotations

import json
import platform
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from devstack.wiring import bundles
from functions.registry import FUNCTIONS
from tests.deploy._tools import (
    DEV_TREE,
    RUNTIME_VERSION,
    _copy_repo,
    _executable,
    _load_template,
    _logical_id,
    _require,
    _run,
    _runtime_python,
    _tool_env,
    _tree_contains,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


# ----------------------------------------------------------------------------------------------------- SAM

@dataclass
class SamRun:
    repo: Path
    canary: str
    validate: subprocess.CompletedProcess[str]
    build: subprocess.CompletedProcess[str]
    build_dir: Path
    check_build: subprocess.CompletedProcess[str]  # same template, built for this machine's arch
    check_dir: Path
    python: str


@pytest.fixture(scope="module")
def sam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamRun]:
    exe = _require(_executable("TIERWATCH_SAM", "sam"), "sam (TIERWATCH_SAM)")
    python = _require(_runtime_python(), f"python{RUNTIME_VERSION} (TIERWATCH_RUNTIME_PYTHON)")
    base = tmp_path_factory.mktemp("sam")
    repo = base / "repo"
    repo.mkdir()
    canary = _copy_repo(repo)
    env = _tool_env(str(Path(python).parent))
    validate = _run([exe, "validate", "--lint", "-t", "template.yaml"], repo, env)
    build_dir = base / "build"
    build = _run([exe, "build", "-t", "template.yaml", "--build-dir", str(build_dir),
                  "--cache-dir", str(base / "cache")], repo, env)
    # Lambda runs arm64 wheels; to import the handlers here, build the same template for this machine.
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
    check = repo / "template.check.yaml"
    check.write_text(re.sub(r"^(\s*)- arm64$", rf"\1- {arch}", (repo / "template.yaml").read_text(), flags=re.M))
    check_dir = base / "check"
    check_env = {**env, "LAMBDA_PLATFORM": f"manylinux2014_{platform.machine().lower()}"}  # for a Makefile build
    check_build = _run([exe, "build", "-t", check.name, "--build-dir", str(check_dir),
                        "--cache-dir", str(base / "check-cache")], repo, check_env)
    yield SamRun(repo, canary, validate, build, build_dir, check_build, check_dir, python)


def test_sam_validate_lint_passes(sam: SamRun) -> None:
    assert sam.validate.returncode == 0, sam.validate.stdout
    assert "is a valid SAM Template" in sam.validate.stdout


def test_sam_build_makes_every_function_with_its_timeout(sam: SamRun) -> None:
    assert sam.build.returncode == 0, sam.build.stdout
    assert "Build Succeeded" in sam.build.stdout
    built = _load_template(sam.build_dir / "template.yaml")["Resources"]
    for spec in FUNCTIONS:
        logical = _logical_id(spec.name)
        props = built[logical]["Properties"]
        assert props["Handler"] == f"{spec.module}.handler.handler"
        assert props["Timeout"] == spec.max_duration
        assert props["MemorySize"] == spec.memory
        assert props["CodeUri"] == logical
        artifact = sam.build_dir / logical
        assert (artifact / "functions" / spec.name / "handler.py").is_file()
        assert (artifact / "functions" / "registry.py").is_file()
        assert (artifact / "shared" / "http.py").is_file()


def _installed(artifact: Path) -> dict[str, str]:
    """The distributions in a bundle, from their .dist-info folders: canonical name -> version."""
    found = {}
    for info in artifact.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        found[canonicalize_name(name)] = version
    return found


def test_each_bundle_holds_exactly_its_functions_pins_for_lambda(sam: SamRun) -> None:
    assert "requirements.txt file not found" not in sam.build.stdout
    for spec in FUNCTIONS:
        artifact = sam.build_dir / _logical_id(spec.name)
        pinned = {canonicalize_name(n): v for n, _, v in (line.partition("==") for line in
                  bundles.requirements_path(spec).read_text().splitlines() if line and not line.startswith("#"))}
        assert _installed(artifact) == pinned, artifact.name
        assert not {"boto3", "botocore"} & set(pinned)  # the Lambda runtime has them
        cores = list((artifact / "pydantic_core").glob("_pydantic_core.*.so"))
        assert cores and all("aarch64" in p.name and f"cpython-{RUNTIME_VERSION.replace('.', '')}" in p.name
                              for p in cores), cores
        # only this function's package: no other function's code rides along
        assert {p.name for p in (artifact / "functions").iterdir() if p.is_dir() and p.name != "__pycache__"} \
            == {spec.name}
    health = _installed(sam.build_dir / _logical_id("health"))
    assert not {"upstash-redis", "postgrest", "httpx", "supabase"} & set(health)


def test_bundles_carry_bytecode_for_the_runtime(sam: SamRun) -> None:
    """/var/task is read-only: without shipped bytecode every cold start compiles every module."""
    tag = f"cpython-{RUNTIME_VERSION.replace('.', '')}"
    sizes: dict[str, int] = {}
    for spec in FUNCTIONS:
        artifact = sam.build_dir / _logical_id(spec.name)
        sources = [p for p in artifact.rglob("*.py") if "/tests/" not in str(p)]
        missing = [p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()]
        assert sources and not missing, missing[:5]
        sizes[spec.name] = sum(p.stat().st_size for p in artifact.rglob("*") if p.is_file())
    print("bundle sizes (bytes, unzipped):", sizes)  # shown with -s; recorded in docs/deploy-aws-sam.md


def test_sam_built_handlers_import_and_answer(sam: SamRun) -> None:
    """What ``sam local`` runs: the built template's handler, imported from its artifact directory by
    the runtime's Python in a clean environment (tests/deploy cannot start Docker)."""
    assert sam.check_build.returncode == 0, sam.check_build.stdout
    built = _load_template(sam.check_dir / "template.yaml")["Resources"]
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(sam.check_dir), "LANG": "C.UTF-8",
             "AWS_LAMBDA_FUNCTION_NAME": "t", "AWS_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "tierwatch",
             # unreachable dependencies: the detailed check still imports (lazily) and runs every client
             "UPSTASH_REDIS_REST_URL": "http://127.0.0.1:9", "UPSTASH_REDIS_REST_TOKEN": "u" * 20,
             "SUPABASE_URL": "http://127.0.0.1:9", "SUPABASE_SERVICE_ROLE_KEY": "s" * 20,
             "TIERWATCH_READ_TOKEN": "r" * 20, "TIERWATCH_CHECK_TIMEOUT_MS": "500"}
    for spec in FUNCTIONS:
        logical = _logical_id(spec.name)
        props = built[logical]["Properties"]
        artifact = sam.check_dir / props["CodeUri"]
        assert (artifact / (props["Handler"].rsplit(".", 1)[0].replace(".", "/") + ".py")).is_file()
        route = spec.routes[0]
        out = subprocess.run([sam.python, "-I", "-c", _INVOKE.format(handler=props["Handler"], path=route.path, method=route.method)],
                             cwd=artifact, env=clean, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        result = json.loads(out.stdout.split("RESULT ", 1)[1])
        body = json.loads(result["body"])
        if spec.name == "health":
            assert result["statusCode"] == 200 and body["status"] == "ok"
        elif spec.auth != "public":  # its own answer: the read route past its auth (the token above), any
            # other refused by its auth or its missing settings, never a 404/405/500 of the wiring
            assert result["statusCode"] in (200, 401, 502, 503, 504), body
            assert "ModuleNotFound" not in out.stdout + out.stderr and "ImportError" not in out.stdout + out.stderr
        else:
            assert body["detailed"] is True and body["checks"], body
            errors = " ".join(str(c.get("error")) for c in body["checks"].values())
            assert "ModuleNotFound" not in errors and "ImportError" not in errors, errors


_INVOKE = """\
import importlib, json, sys
sys.path.insert(0, ".")
module, _, name = {handler!r}.rpartition(".")
handler = getattr(importlib.import_module(module), name)
class Ctx:
    aws_request_id = "r"; function_name = "f"; memory_limit_in_mb = 128; function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    log_group_name = "g"; log_stream_name = "s"
    def get_remaining_time_in_millis(self): return 5000
path, method = {path!r}, {method!r}
event = {{"version": "2.0", "routeKey": method + " " + path, "rawPath": path, "rawQueryString": "",
          "headers": {{"host": "localhost", "authorization": "Bearer " + "r" * 20}}, "isBase64Encoded": False,
          "requestContext": {{"http": {{"method": method, "path": path, "protocol": "HTTP/1.1",
                                       "sourceIp": "127.0.0.1", "userAgent": "pytest"}},
                             "requestId": "r", "routeKey": method + " " + path, "stage": "$default",
                             "accountId": "1", "apiId": "a", "domainName": "localhost",
                             "domainPrefix": "localhost", "time": "t", "timeEpoch": 0}}}}
print("RESULT", json.dumps(handler(event, Ctx())))
"""


def test_sam_artifacts_hold_only_runtime_code(sam: SamRun) -> None:
    for spec in FUNCTIONS:
        artifact = sam.build_dir / _logical_id(spec.name)
        present = {p.name for p in artifact.iterdir()}
        assert not present & DEV_TREE, sorted(present & DEV_TREE)
        assert not (artifact / "supabase" / "migrations").exists()
        assert not _tree_contains(artifact, sam.canary)


def test_sam_transform_keeps_one_door_and_grants_only_configured_secret_reads(sam: SamRun) -> None:
    """SAM's own translator (from the sam install) turns the template into CloudFormation: no function
    URL, a throttled stage, and roles whose only grants are the conditional secret reads."""
    python = Path(_require(_executable("TIERWATCH_SAM", "sam"), "sam")).resolve().parent / "python"
    script = (
        "import json, sys\n"
        "from samtranslator.translator.transform import transform\n"
        "from samtranslator.yaml_helper import yaml_parse\n"
        "tpl = yaml_parse(open('template.yaml').read())\n"
        "tpl['Globals']['Function']['CodeUri'] = 's3://bucket/key'\n"
        "class NoManaged:\n"
        "    def load(self): return {}\n"
        "print(json.dumps(transform(tpl, {}, NoManaged())))\n"
    )
    out = subprocess.run([str(python), "-c", script], cwd=sam.repo, capture_output=True, text=True, timeout=120,
                         env={**_tool_env(), "AWS_DEFAULT_REGION": "us-east-1"})
    assert out.returncode == 0, out.stderr
    resources = json.loads(out.stdout)["Resources"]
    types = {r["Type"] for r in resources.values()}
    assert "AWS::Lambda::Url" not in types and "AWS::ApiGatewayV2::Stage" in types
    stage = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage")["Properties"]
    assert stage["DefaultRouteSettings"] == {"ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
                                             "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"}}
    roles = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    assert roles["HealthFunctionRole"].get("Policies", []) == []
    for policy in roles["HealthDetailedFunctionRole"]["Policies"]:
        condition, granted, otherwise = policy["Fn::If"]
        assert condition.startswith("Has") and otherwise == {"Ref": "AWS::NoValue"}
        actions = {s["Action"] for s in granted["PolicyDocument"]["Statement"]}
        assert actions <= {"secretsmanager:GetSecretValue", "ssm:GetParameters"}

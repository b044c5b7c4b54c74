"""One registry, two platforms: every function is wired identically in vercel.json/api/ and template.yaml."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from devstack import wiring
from devstack.wiring import sam, sam_secrets, vercel, vercel_plan
from functions.registry import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub...) as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_generated_files_match_the_registry() -> None:
    assert wiring.stale() == [], "run `tierwatch wiring --write` and commit the result"


def test_vercel_wires_every_function_at_its_paths() -> None:
    """Every route reaches the entrypoint of its function's group (Hobby) or of the function (Pro)."""
    config = json.loads((ROOT / "vercel.json").read_text())
    plan = vercel_plan.recorded_plan()
    entries = vercel_plan.entrypoints(FUNCTIONS, plan)
    assert set(config["functions"]) == {e.file for e in entries}
    rewrites = {r["source"]: r["destination"] for r in config.get("rewrites", [])}
    served = {}
    for entry in entries:
        assert config["functions"][entry.file]["maxDuration"] == max(s.max_duration for s in entry.members)
        assert (ROOT / entry.file).is_file()
        for route, _ in entry.routes:
            served[route.path] = rewrites.get(route.path, route.path)
    owner = {s.name: (s.group if plan == "hobby" else s.name) for s in FUNCTIONS}
    assert served == {r.path: f"/api/{owner[s.name]}" for s in FUNCTIONS for r in s.routes}
    crons = {c["path"]: c["schedule"] for c in config.get("crons", [])}
    assert crons == {s.cron_route.path: vercel.schedule_on(plan, s.schedule) for s in FUNCTIONS if s.cron_route}


def test_sam_wires_every_function_at_the_same_paths() -> None:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506
    functions = {k: v["Properties"] for k, v in template["Resources"].items()
                 if v["Type"] == "AWS::Serverless::Function"}
    by_handler = {p["Handler"]: p for p in functions.values()}
    assert set(by_handler) == {f"{s.module}.handler.handler" for s in FUNCTIONS}
    for spec in FUNCTIONS:
        props = by_handler[f"{spec.module}.handler.handler"]
        assert props["Timeout"] == spec.max_duration
        assert "FunctionUrlConfig" not in props  # one public door: the HTTP API (tests/unit/test_sam_template.py)
        http = {(e["Properties"]["Method"], e["Properties"]["Path"])
                for e in props["Events"].values() if e["Type"] == "HttpApi"}
        assert http == {(r.method, r.path) for r in spec.routes}
        schedules = [e["Properties"]["ScheduleExpression"] for e in props["Events"].values()
                     if e["Type"] == "ScheduleV2"]
        assert schedules == ([sam.eventbridge_cron(spec.schedule)] if spec.schedule else [])
        assert set(props["Environment"]["Variables"]) == set(spec.variables) | set(sam_secrets.environment(spec))
    for var in sam.SECRET_VARIABLES & {v for s in FUNCTIONS for v in s.variables}:
        assert template["Parameters"][sam.parameter_name(var)]["NoEcho"] is True


def test_every_function_has_its_app_and_handler() -> None:
    for spec in FUNCTIONS:
        package = ROOT / "functions" / spec.name
        assert (package / "app.py").is_file() and (package / "handler.py").is_file()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_functions_never_import_each_other_or_the_local_stack() -> None:
    for spec in FUNCTIONS:
        for path in (ROOT / "functions" / spec.name).rglob("*.py"):
            for name in _imports(path):
                assert not name.startswith("devstack"), f"{path} imports {name}"
                if name.startswith("functions.") and name != "functions.registry":
                    assert name.startswith(f"{spec.module}"), f"{path} imports another function: {name}"


def test_shared_never_imports_the_local_stack_or_a_function() -> None:
    for path in (ROOT / "shared").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith("devstack"), f"{path} imports {name}"
            assert not name.startswith("functions"), f"{path} imports {name}: the library must not depend on the table"


def test_cfn_lint_passes() -> None:
    exe = shutil.which("cfn-lint") or str(Path(sys.executable).parent / "cfn-lint")
    result = subprocess.run([exe, str(ROOT / "template.yaml")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

"""Which Vercel entrypoints the registry becomes: one per function group (Hobby) or per function (Pro).

Every ``api/*.py`` is one Vercel Function, and Vercel Hobby refuses a deployment with more than 12. On
``hobby`` each ``FunctionSpec.group`` gets one entrypoint that dispatches by path and imports only the
routed function (``shared/dispatch.py``); on ``pro`` each function keeps its own. Functions stay separate
packages either way: a plan only changes how they are mounted. The choice is recorded in pyproject.toml
(``[tool.tierwatch] vercel-plan``) so that ``tierwatch wiring`` checks the files against it with no flag.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast, get_args

from devstack.wiring.common import ROOT
from shared.spec import FunctionSpec, Route

__all__ = ["DEFAULT_PLAN", "HOBBY_MAX_FUNCTIONS", "MAX_DURATION", "Entrypoint", "Plan", "PlanError",
           "entrypoints", "record_plan", "recorded_plan"]

Plan = Literal["hobby", "pro"]
DEFAULT_PLAN: Plan = "hobby"
HOBBY_MAX_FUNCTIONS = 12
# Fluid compute (the default for new projects): the largest maxDuration each plan accepts, in seconds.
MAX_DURATION: dict[Plan, int] = {"hobby": 300, "pro": 800}

_SECTION = "[tool.tierwatch]"
_KEY = "vercel-plan"


class PlanError(ValueError):
    """The registry cannot be deployed on the chosen plan as it is; the message says what to change."""


@dataclass(frozen=True)
class Entrypoint:
    """One ``api/<name>.py``: the functions it serves, in registry order."""

    name: str
    members: tuple[FunctionSpec, ...]

    @property
    def file(self) -> str:
        return f"api/{self.name}.py"

    @property
    def url(self) -> str:
        """The path Vercel serves the file at; every other route of a member is rewritten to it."""
        return f"/api/{self.name}"

    @property
    def max_duration(self) -> int:
        """The longest member's limit: each member's own guard still stops at its own ``max_duration``."""
        return max(spec.max_duration for spec in self.members)

    @property
    def routes(self) -> tuple[tuple[Route, FunctionSpec], ...]:
        return tuple((route, spec) for spec in self.members for route in spec.routes)


def entrypoints(specs: Iterable[FunctionSpec], plan: Plan) -> tuple[Entrypoint, ...]:
    """The entrypoints of ``specs`` on ``plan``, in registry order; ``PlanError`` if the plan cannot take them."""
    groups: dict[str, list[FunctionSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.group if plan == "hobby" else spec.name, []).append(spec)
    entries = tuple(Entrypoint(name, tuple(members)) for name, members in groups.items())
    _check(entries, plan)
    return entries


def _check(entries: tuple[Entrypoint, ...], plan: Plan) -> None:
    for entry in entries:
        # api/_x.py is not a function to Vercel, and the file is imported as the module api.<name>.
        if not entry.name.isidentifier() or entry.name.startswith("_"):
            raise PlanError(f"{entry.name!r} cannot name api/{entry.name}.py: use a Python identifier "
                            "that does not start with '_' (Vercel ignores api/_*.py)")
        if entry.max_duration > MAX_DURATION[plan]:
            longest = max(entry.members, key=lambda s: s.max_duration)
            raise PlanError(f"{longest.name}: max_duration {longest.max_duration} s exceeds Vercel {plan}'s "
                            f"{MAX_DURATION[plan]} s")
    if plan == "hobby" and len(entries) > HOBBY_MAX_FUNCTIONS:
        raise PlanError(
            f"Vercel Hobby deploys at most {HOBBY_MAX_FUNCTIONS} functions, and the registry's groups need "
            f"{len(entries)} entrypoints ({', '.join(e.name for e in entries)}). Give functions that import the "
            "same things the same FunctionSpec.group (health; ingest + OTLP; read endpoints; one per cron job "
            "family; dashboard), or deploy on Pro: tierwatch wiring --write --vercel-plan pro")
    owners: dict[str, str] = {}
    urls = {entry.url: entry.name for entry in entries}
    for entry in entries:
        for route, spec in entry.routes:
            # Vercel rewrites and the group dispatcher both route by path alone.
            if owners.setdefault(route.path, spec.name) != spec.name:
                raise PlanError(f"{route.path} is served by both {owners[route.path]} and {spec.name}: "
                                "a path must belong to one function")
            if urls.get(route.path, entry.name) != entry.name:
                raise PlanError(f"{spec.name}'s route {route.path} is the path of api/{urls[route.path]}.py; "
                                "rename the route or the group")


def recorded_plan(root: Path = ROOT) -> Plan:
    """The plan recorded in ``root``'s pyproject.toml, ``hobby`` when none is."""
    tool = tomllib.loads((root / "pyproject.toml").read_text()).get("tool", {})
    value = tool.get("tierwatch", {}).get(_KEY, DEFAULT_PLAN)
    if value not in get_args(Plan):
        raise PlanError(f"pyproject.toml [tool.tierwatch] {_KEY} = {value!r}; expected one of {get_args(Plan)}")
    return cast(Plan, value)


def record_plan(plan: Plan, root: Path = ROOT) -> bool:
    """Write ``plan`` into ``[tool.tierwatch]`` of pyproject.toml, touching no other line; True if it changed."""
    path = root / "pyproject.toml"
    text = path.read_text()
    line = f'{_KEY} = "{plan}"'
    lines = text.splitlines(keepends=True)
    start = next((i for i, raw in enumerate(lines) if raw.strip() == _SECTION), None)
    if start is None:
        comment = "# The Vercel plan the generated wiring targets: tierwatch wiring --write --vercel-plan hobby|pro"
        new = text.rstrip("\n") + f"\n\n{_SECTION}\n{comment}\n{line}\n"
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        at = next((i for i in range(start + 1, end) if re.match(rf"\s*{_KEY}\s*=", lines[i])), None)
        if at is None:
            lines.insert(start + 1, line + "\n")
        else:
            lines[at] = line + "\n"
        new = "".join(lines)
    if new == text:
        return False
    path.write_text(new)
    if recorded_plan(root) != plan:  # never leave a pyproject.toml that says something else
        path.write_text(text)
        raise PlanError(f"could not record {_KEY} in {path}")
    return True

"""The ``tierwatch`` command: run the bundle locally, invoke handlers, migrate, regenerate wiring."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="tierwatch: monitor Upstash, Supabase and serverless functions.")

DataDir = Annotated[Path, typer.Option("--data-dir", help="Where local data and secrets live.")]


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Port of the bundle; the gateways take the next two.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default).")] = "127.0.0.1",
    data_dir: DataDir = Path(".tierwatch"),
) -> None:
    """Start the whole bundle locally: Redis, PostgreSQL, both gateways and every function.

    Ctrl-C, SIGTERM and SIGHUP all stop everything it started, servers included.
    """
    from devstack.serve import serve_many, signals_ignored, signals_interrupt
    from devstack.stack import app_environment, gateway_apps, start_services

    with signals_interrupt():  # from here on, SIGTERM/SIGHUP unwind like Ctrl-C (start_services cleans up too)
        services = start_services(data_dir.resolve())
        try:
            upstash, postgrest = gateway_apps(services)
            env = app_environment(services, upstash_url=f"http://{host}:{port + 1}",
                                  supabase_url=f"http://{host}:{port + 2}")
            os.environ.update(env)
            from devstack.bundle import bundle_app  # imported after the environment points at the stack

            typer.echo(f"tierwatch bundle: http://{host}:{port}  (redis: {services.redis.kind}, "
                       f"postgres: {services.postgres.version}, migrations applied now: {len(services.applied)})")
            typer.echo(f"TIERWATCH_URL=http://{host}:{port}")
            for name, value in env.items():
                typer.echo(f"{name}={value}")
            typer.echo("Ctrl-C (or SIGTERM) stops everything.")
            apps = [(bundle_app(), host, port), (upstash, host, port + 1), (postgrest, host, port + 2)]
            asyncio.run(serve_many(apps))
        except KeyboardInterrupt:
            pass
        finally:
            with signals_ignored():
                services.stop()


@app.command()
def invoke(
    function: Annotated[str, typer.Argument(help="Function name from functions/registry.py.")],
    event: Annotated[Path | None, typer.Option(help="Event JSON file (default: a GET of its route, "
                                                     "or a scheduled event for crons).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds the fake context starts with.")] = None,
    route: Annotated[str | None, typer.Option(help="Route name from the registry (default: the schedule "
                                                   "for crons, else the first GET route).")] = None,
) -> None:
    """Run a function's Lambda handler with an API Gateway v2 or EventBridge event (no Docker).

    The result goes to stdout as JSON and the function's log lines to stderr, so ``| jq`` works.
    """
    from devstack.lambda_local import default_event, load_event
    from devstack.lambda_local import invoke as run
    from functions.registry import get

    try:
        spec = get(function)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="FUNCTION") from None
    try:
        payload = load_event(event) if event else default_event(spec, route)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="--route") from None
    with contextlib.redirect_stdout(sys.stderr):  # the logger writes to whatever sys.stdout is now
        result = run(spec, payload, timeout_s=timeout)
    typer.echo(json.dumps(result, indent=2, default=str))


@app.command()
def migrate(
    database_url: Annotated[str, typer.Option("--database-url", envvar="DATABASE_URL",
                                              help="PostgreSQL URL (Supabase: the direct connection).")],
    bootstrap: Annotated[bool, typer.Option(help="Create Supabase's roles first (local Postgres only).")] = False,
    migrations: Annotated[Path, typer.Option(help="Migrations folder.")] = Path("supabase/migrations"),
) -> None:
    """Apply pending migrations idempotently; already-applied ones are skipped."""
    from devstack.migrate import apply_migrations

    applied = apply_migrations(database_url, migrations, bootstrap=bootstrap)
    typer.echo("\n".join(f"applied {v}" for v in applied) if applied else "nothing to apply")


@app.command()
def wiring(
    write: Annotated[bool, typer.Option("--write", help="Rewrite the files instead of checking them.")] = False,
    vercel_plan: Annotated[Literal["hobby", "pro"] | None, typer.Option(
        "--vercel-plan",
        help="With --write: record this Vercel plan in pyproject.toml and generate for it. hobby: at most 12 "
             "entrypoints (one per FunctionSpec.group), crons at most daily; pro: one per function.")] = None,
    supabase_cron: Annotated[bool, typer.Option(
        "--supabase-cron", help="Print the Supabase Cron SQL (pg_cron + pg_net) that runs the registry's "
                                "cron functions on their schedules, then exit.")] = False,
) -> None:
    """Check (or regenerate) api/*.py, vercel.json and template.yaml from functions/registry.py.

    The Vercel files follow the plan recorded in pyproject.toml; a Hobby plan that cannot hold the registry
    is refused (exit 2) with what to change. Notes on stderr name crons Hobby runs only daily.
    """
    from devstack import wiring as w
    from devstack.wiring import supabase_cron as sc
    from devstack.wiring import vercel
    from devstack.wiring.vercel_plan import PlanError, record_plan, recorded_plan
    from functions.registry import FUNCTIONS

    if supabase_cron:
        typer.echo(sc.sql(FUNCTIONS), nl=False)
        return
    if vercel_plan and not write:
        raise typer.BadParameter("records a choice in pyproject.toml: use it with --write", param_hint="--vercel-plan")
    try:
        if vercel_plan:
            vercel.files(FUNCTIONS, vercel_plan)  # refuse before recording a plan that cannot be generated
            if record_plan(vercel_plan):
                typer.echo(f"recorded: [tool.tierwatch] vercel-plan = {vercel_plan!r} in pyproject.toml")
        changed = w.write() if write else w.stale()
        orphans = vercel.orphans(w.rendered())
    except PlanError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for path in changed:
        typer.echo(f"{'wrote' if write else 'stale'}: {path.relative_to(w.ROOT)}")
    for path in orphans:
        if write and vercel.GENERATED in path.read_text():
            path.unlink()
            typer.echo(f"removed: {path.relative_to(w.ROOT)} (not an entrypoint of this plan)")
        else:
            typer.echo(f"{'not generated, remove it' if write else 'stale'}: {path.relative_to(w.ROOT)} "
                       "(every api/*.py is deployed as a Vercel Function)")
    for note in vercel.cron_notes(FUNCTIONS, recorded_plan()):
        typer.echo(f"note: {note}", err=True)
    if ((changed or orphans) and not write) or any(p.exists() for p in orphans):
        raise typer.Exit(1)


def main() -> None:
    app()

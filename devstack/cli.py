"""The ``tierwatch`` command: run the bundle locally, invoke handlers, migrate, regenerate wiring."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

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
    """Start the whole bundle locally: Redis, PostgreSQL, both gateways and every function."""
    from devstack.serve import serve_many
    from devstack.stack import app_environment, gateway_apps, start_services

    services = start_services(data_dir.resolve())
    try:
        upstash, postgrest = gateway_apps(services)
        env = app_environment(services, upstash_url=f"http://{host}:{port + 1}",
                              supabase_url=f"http://{host}:{port + 2}")
        os.environ.update(env)
        from devstack.bundle import Bundle  # imported after the environment points at the stack

        typer.echo(f"tierwatch bundle: http://{host}:{port}  (redis: {services.redis.kind}, "
                   f"postgres: {services.postgres.version}, migrations applied now: {len(services.applied)})")
        typer.echo(f"TIERWATCH_URL=http://{host}:{port}")
        for name, value in env.items():
            typer.echo(f"{name}={value}")
        typer.echo("Ctrl-C stops everything.")
        asyncio.run(serve_many([(Bundle(), host, port), (upstash, host, port + 1), (postgrest, host, port + 2)]))
    except KeyboardInterrupt:
        pass
    finally:
        services.stop()


@app.command()
def invoke(
    function: Annotated[str, typer.Argument(help="Function name from functions/registry.py.")],
    event: Annotated[Path | None, typer.Option(help="Event JSON file (default: a GET of its route, "
                                                     "or a scheduled event for crons).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds the fake context starts with.")] = None,
) -> None:
    """Run a function's Lambda handler with an API Gateway v2 or EventBridge event (no Docker)."""
    from devstack.lambda_local import default_event, load_event
    from devstack.lambda_local import invoke as run
    from functions.registry import get

    try:
        spec = get(function)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="FUNCTION") from None
    payload = load_event(event) if event else default_event(spec)
    typer.echo(json.dumps(run(spec, payload, timeout_s=timeout), indent=2, default=str))


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
) -> None:
    """Check (or regenerate) api/*.py, vercel.json and template.yaml from functions/registry.py."""
    from devstack import wiring as w

    changed = w.write() if write else w.stale()
    for path in changed:
        typer.echo(f"{'wrote' if write else 'stale'}: {path.relative_to(w.ROOT)}")
    if changed and not write:
        raise typer.Exit(1)


def main() -> None:
    app()

"""The Supabase Cron SQL, as text (tests/functional/test_supabase_cron.py applies it to pg_cron)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from devstack.cli import app as cli
from devstack.wiring import supabase_cron
from functions.registry import FUNCTIONS
from shared.spec import FunctionSpec, Route
from tests.synthetic_registry import SYNTHETIC


def test_one_job_per_scheduled_function_named_after_it() -> None:
    sql = supabase_cron.sql(SYNTHETIC)
    scheduled = re.findall(r"select cron\.schedule\('([^']+)', '([^']+)', \$job\$", sql)
    assert scheduled == [(f"tierwatch-{s.name}", s.schedule) for s in SYNTHETIC if s.schedule]
    keep = re.search(r"jobname <> all \(array\[(.*?)\]::text\[\]\)", sql)
    assert keep and keep.group(1) == ", ".join(f"'tierwatch-{s.name}'" for s in SYNTHETIC if s.schedule)


def test_the_script_is_one_transaction_that_checks_before_it_changes() -> None:
    sql = supabase_cron.sql(SYNTHETIC)
    body = [line for line in sql.splitlines() if line and not line.startswith("--")]
    assert body[0] == "begin;" and body[-1] == "commit;"
    assert sql.index("$check$") < sql.index("cron.unschedule") < sql.index("cron.schedule(")
    for needed in ("cron.job", "net", "vault.decrypted_secrets", "tierwatch_base_url", "tierwatch_cron_secret"):
        assert needed in sql[: sql.index("cron.unschedule")]


def test_jobs_read_the_url_and_secret_from_vault_when_they_run() -> None:
    (spec,) = [s for s in SYNTHETIC if s.name == "archive_metrics"]
    command = supabase_cron.command(spec)
    assert "vault.decrypted_secrets where name = 'tierwatch_base_url'" in command
    assert "'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = 'tierwatch_cron_secret')" \
        in command
    assert "'/api/cron/archive_metrics'" in command and "net.http_get(" in command
    assert f"timeout_milliseconds := {(spec.max_duration + 5) * 1000}" in command


def test_without_cron_functions_the_script_only_clears_ours() -> None:
    sql = supabase_cron.sql(FUNCTIONS)  # today's registry schedules nothing
    assert "cron.schedule(" not in sql and "vault" not in sql.split("$check$")[1]
    assert "jobname <> all (array[]::text[])" in sql


@pytest.mark.parametrize(("spec", "error"), [
    (FunctionSpec("x", "x", (Route("GET", "/api/cron/x", "run"),), schedule="*/5 * * *"), "five-field"),
    (FunctionSpec("x", "x", (Route("GET", "/api/cron/{id}", "run"),), schedule="* * * * *"), "parameter"),
])
def test_refuses_what_pg_cron_cannot_run(spec: FunctionSpec, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        supabase_cron.sql([spec])


def test_the_cli_prints_the_script_for_the_registry() -> None:
    result = CliRunner().invoke(cli, ["wiring", "--supabase-cron"])
    assert result.exit_code == 0
    assert result.stdout == supabase_cron.sql(FUNCTIONS)

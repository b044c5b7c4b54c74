"""Supabase Cron SQL on a real PostgreSQL with pg_cron: it schedules exactly the registry's jobs, idempotently.

The server is Debian's PostgreSQL with ``postgresql-NN-cron`` (pg_cron), started here in a temporary folder
with ``shared_preload_libraries=pg_cron``. pg_net and Supabase Vault are not Debian packages, so this test
creates stand-ins with their documented interfaces: ``net.http_get(url, params, headers,
timeout_milliseconds) returns bigint`` (it records the request instead of sending it) and the
``vault.decrypted_secrets`` view (``name``, ``decrypted_secret``) with ``vault.create_secret(secret, name)``.
Today's registry has no cron function, so a synthetic registry (tests/synthetic_registry.py) has 11.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from devstack.serve import free_port
from devstack.wiring import supabase_cron
from functions.registry import FUNCTIONS
from shared.cron import JobResult, cron_routes
from shared.guard import Guard
from shared.http import create_app
from shared.settings import Settings, get_settings
from shared.spec import FunctionSpec
from tests.synthetic_registry import SYNTHETIC

pytestmark = pytest.mark.timeout(240)

BASE_URL = "https://tierwatch-test.vercel.app/"  # the trailing slash must not double in the job's URL
CRON_SECRET = "cron-secret-from-vault-0123456789"
SCHEDULED = [s for s in SYNTHETIC if s.schedule]

STAND_INS = """
create schema net;
create table net.calls (id bigserial primary key, url text not null, params jsonb, headers jsonb,
                        timeout_milliseconds int, at timestamptz not null default now());
-- pg_net's signature (supabase/pg_net docs/api.md); the real one queues the request and returns its id.
create function net.http_get(url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb,
                             timeout_milliseconds int default 5000) returns bigint
  language sql volatile strict as $$
    insert into net.calls (url, params, headers, timeout_milliseconds)
    values (url, params, headers, timeout_milliseconds) returning id $$;
create schema vault;
create table vault.secrets (id uuid primary key default gen_random_uuid(), name text unique, secret text not null);
create view vault.decrypted_secrets as select id, name, secret as decrypted_secret from vault.secrets;
create function vault.create_secret(new_secret text, new_name text default null, new_description text default '')
  returns uuid language sql as $$ insert into vault.secrets (name, secret) values (new_name, new_secret) returning id $$;
"""


# ----------------------------------------------------------------------------------------------- the server

def _pg_cron_bin() -> Path:
    for lib in sorted(glob.glob("/usr/lib/postgresql/*/lib/pg_cron.so"), reverse=True):
        bin_dir = Path(lib).parent.parent / "bin"
        if (bin_dir / "postgres").is_file() and (bin_dir / "psql").is_file():
            return bin_dir
    pytest.skip("pg_cron not installed: apt-get install postgresql-15 postgresql-15-cron (see .ci/run)")


def _run_as() -> str | None:
    """PostgreSQL refuses root: run it as Debian's ``postgres`` user then."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
    return "postgres"


def _pg(args: list[str], user: str | None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    # Output to a file, not a pipe: pg_ctl leaves the postmaster holding inherited pipes open.
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, text=True, user=user, timeout=timeout,
                              cwd="/", check=False)
        out.seek(0)
        return subprocess.CompletedProcess(args, proc.returncode, out.read(), "")


@dataclass
class PgCron:
    bin: Path
    dsn: str
    workdir: Path

    def psql_file(self, sql: str) -> subprocess.CompletedProcess[str]:
        """Apply a script as the docs say: ``psql -v ON_ERROR_STOP=1 -f FILE``."""
        path = self.workdir / "cron.sql"
        path.write_text(sql)
        return subprocess.run([str(self.bin / "psql"), self.dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(path)],
                              capture_output=True, text=True, timeout=60)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cursor = conn.execute(sql, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="module")
def pg() -> Iterator[PgCron]:
    bin_dir, user = _pg_cron_bin(), _run_as()
    workdir = Path(tempfile.mkdtemp(prefix="tw-pgcron-"))  # not under pytest's 0700 root: the server user reads it
    workdir.chmod(0o777)
    data = workdir / "data"
    data.mkdir()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    port = free_port()
    try:
        init = _pg([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                    "--locale=C.UTF-8", "--no-sync"], user)
        assert init.returncode == 0, init.stdout
        options = (f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c TimeZone=UTC "
                   "-c shared_preload_libraries=pg_cron -c cron.database_name=postgres "
                   "-c cron.use_background_workers=on -c max_worker_processes=16")
        start = _pg([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(workdir / "server.log"), "-w", "-t", "60",
                     "-o", options, "start"], user)
        assert start.returncode == 0, start.stdout + (workdir / "server.log").read_text(errors="ignore")
        server = PgCron(bin_dir, f"postgresql://postgres@127.0.0.1:{port}/postgres", workdir)
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("create extension pg_cron")
            conn.execute(STAND_INS)  # type: ignore[arg-type]
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            _pg([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], user)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def db(pg: PgCron) -> PgCron:
    """Each test starts with no job, no recorded call, and both Vault secrets created as the docs say."""
    pg.query("select cron.unschedule(jobid) from cron.job")
    pg.query("truncate net.calls")
    pg.query("truncate vault.secrets")
    pg.query("select vault.create_secret(%s, 'tierwatch_base_url')", BASE_URL)
    pg.query("select vault.create_secret(%s, 'tierwatch_cron_secret')", CRON_SECRET)
    return pg


def _jobs(pg: PgCron) -> dict[str, tuple[int, str, str]]:
    rows = pg.query("select jobname, jobid, schedule, command from cron.job")
    return {name: (jobid, schedule, command) for name, jobid, schedule, command in rows}


def _ours(pg: PgCron) -> dict[str, str]:
    return {name: schedule for name, (_, schedule, _) in _jobs(pg).items() if name.startswith("tierwatch-")}


def _apply(pg: PgCron, specs: list[FunctionSpec] | tuple[FunctionSpec, ...]) -> None:
    result = pg.psql_file(supabase_cron.sql(specs))
    assert result.returncode == 0, result.stdout + result.stderr


# ----------------------------------------------------------------------------------------------- tests

def test_the_registry_sql_applies_and_leaves_exactly_its_jobs(db: PgCron) -> None:
    db.query("select cron.schedule('tierwatch-removed_function', '0 1 * * *', 'select 1')")
    _apply(db, FUNCTIONS)
    assert _ours(db) == {supabase_cron.job_name(s): s.schedule for s in FUNCTIONS if s.schedule}


def test_a_synthetic_registry_is_scheduled_idempotently(db: PgCron) -> None:
    db.query("select cron.schedule('someone-elses-job', '0 4 * * *', 'select 1')")
    _apply(db, SYNTHETIC)
    expected = {supabase_cron.job_name(s): s.schedule for s in SCHEDULED}
    assert len(expected) == 11 and _ours(db) == expected
    ids = {name: job[0] for name, job in _jobs(db).items()}

    _apply(db, SYNTHETIC)  # re-running replaces each job in place
    assert {name: job[0] for name, job in _jobs(db).items()} == ids

    dropped, changed = SCHEDULED[0], SCHEDULED[1]
    later = [dataclasses.replace(changed, schedule="*/30 * * * *") if s is changed else s
             for s in SYNTHETIC if s is not dropped]
    _apply(db, later)
    expected.pop(supabase_cron.job_name(dropped))
    expected[supabase_cron.job_name(changed)] = "*/30 * * * *"
    assert _ours(db) == expected
    assert _jobs(db)[supabase_cron.job_name(changed)][0] == ids[supabase_cron.job_name(changed)]
    assert "someone-elses-job" in _jobs(db)  # not ours: never touched


async def _demo_job(settings: Settings, guard: Guard) -> JobResult:
    return JobResult(job="demo", complete=True)


async def test_each_job_calls_its_cron_path_the_way_vercel_cron_does(
        db: PgCron, monkeypatch: pytest.MonkeyPatch) -> None:
    _apply(db, SYNTHETIC)
    jobs = _jobs(db)
    for spec in SCHEDULED:
        db.query(jobs[supabase_cron.job_name(spec)][2])  # what pg_cron runs, run now
    calls = db.query("select url, params, headers, timeout_milliseconds from net.calls order by id")
    assert [c[0] for c in calls] == [BASE_URL.rstrip("/") + s.cron_route.path for s in SCHEDULED if s.cron_route]
    assert all(c[1] == {} and c[2] == {"Authorization": f"Bearer {CRON_SECRET}"} for c in calls)
    assert [c[3] for c in calls] == [(s.max_duration + supabase_cron.TIMEOUT_MARGIN_S) * 1000 for s in SCHEDULED]
    # The secret is read from Vault at run time: it is in neither the script nor pg_cron's table.
    assert CRON_SECRET not in supabase_cron.sql(SYNTHETIC)
    assert not any(CRON_SECRET in command for _, _, command in jobs.values())

    # The request it records is one the bundle's cron route accepts (shared/cron.py, shared/auth.py).
    monkeypatch.setenv("CRON_SECRET", CRON_SECRET)
    get_settings.cache_clear()
    spec = SCHEDULED[0]
    app = create_app(spec)
    cron_routes(app, _demo_job)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
            response = await client.get(calls[0][0], headers=calls[0][2])
            assert response.status_code == 200, response.text
            assert (await client.get(calls[0][0])).status_code == 401
    finally:
        get_settings.cache_clear()


def test_missing_vault_secrets_stop_the_script_and_change_nothing(db: PgCron) -> None:
    _apply(db, SYNTHETIC[:-1])
    before = _jobs(db)
    db.query("delete from vault.secrets where name = 'tierwatch_cron_secret'")
    result = db.psql_file(supabase_cron.sql(SYNTHETIC))
    assert result.returncode != 0
    assert "tierwatch_cron_secret" in result.stderr and "vault.create_secret" in result.stderr
    assert _jobs(db) == before


def test_pg_cron_fires_a_job_and_records_its_run(db: PgCron) -> None:
    """The real scheduler, once: an every-minute job runs within a minute and succeeds."""
    every_minute = dataclasses.replace(SCHEDULED[0], schedule="* * * * *")
    _apply(db, [every_minute])
    jobid = _jobs(db)[supabase_cron.job_name(every_minute)][0]
    deadline = time.monotonic() + 90
    runs: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        runs = db.query("select status, return_message from cron.job_run_details where jobid = %s", jobid)
        if any(status in ("succeeded", "failed") for status, _ in runs):
            break
        time.sleep(1)
    assert runs and runs[0][0] == "succeeded", runs
    url = BASE_URL.rstrip("/") + (every_minute.cron_route.path if every_minute.cron_route else "")
    assert db.query("select url from net.calls") == [(url,)]

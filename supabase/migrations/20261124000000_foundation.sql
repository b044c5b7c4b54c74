-- tierwatch foundation: the readiness RPC behind GET /api/health/detailed.
--
-- Conventions for every tierwatch migration:
--   * every table has row level security enabled (service_role bypasses it; anon sees nothing);
--   * every function is executable by service_role only: Supabase's default privileges grant
--     EXECUTE on new public functions to anon and authenticated, so each one is revoked explicitly;
--   * functions pin search_path so a caller's path cannot redirect them.

create or replace function public.tierwatch_health()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'ok', true,
    'now', now(),
    'server_version', current_setting('server_version_num')::int,
    'database_size_bytes', pg_catalog.pg_database_size(current_database())
  );
$$;

comment on function public.tierwatch_health() is
  'Readiness probe for tierwatch: proves PostgREST, Postgres and the migrations in one call.';

revoke execute on function public.tierwatch_health() from public, anon, authenticated;
grant execute on function public.tierwatch_health() to service_role;

-- mono_pay 0.2.0 -> 0.3.0: what changed in the schema (tables, types,
-- columns, data). The Makefile appends every CODE part of sql/parts/ to
-- this file, so functions, views and triggers are (re)created from the
-- same source as a fresh install. Sections follow the issues of 0.3.0.
\echo Use "ALTER EXTENSION mono_pay UPDATE TO '0.3.0'" to load this file. \quit


-- issue 25: mono_worker_status() gains oldest_sendable_seconds, send_rate
-- and seconds_left. A function's result type cannot change in place: it
-- is dropped here and made again by the code parts; the roles that could
-- execute it (a monitoring role) keep that right (sql/parts/90_grants.code.sql
-- grants it again from mono_upgrade.worker_status_grantees).
DO $$
BEGIN
    PERFORM set_config('mono_upgrade.worker_status_grantees',
        coalesce((SELECT string_agg(quote_ident(r.rolname), ',')
                    FROM pg_proc p, aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
                   WHERE p.oid = 'mono_worker_status()'::regprocedure
                     AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner), ''), true);
END;
$$;
DROP FUNCTION mono_worker_status();

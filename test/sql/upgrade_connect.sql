--
-- The upgrade from 0.1.0 gives the Connect fidelity changes (issue 11) the
-- same definitions as a fresh 0.3.0 install: every function and column of
-- schema mono is compared (an upgraded install, then a fresh one).
--
-- The 0.1.0 install script is a test fixture (test/upgrade/), which test/run
-- installs into its own server but no package ships: on a server without
-- it, the test says so and stops (test/expected/upgrade_connect_1.out).
SELECT NOT EXISTS (SELECT FROM pg_available_extension_versions
                    WHERE name = 'mono_pay' AND version = '0.1.0') AS no_fixture \gset
\if :no_fixture
\echo 'skipped: the 0.1.0 install script (test/upgrade/mono_pay--0.1.0.sql) is not installed'
\quit
\endif
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS mono_pay CASCADE;
CREATE EXTENSION mono_pay VERSION '0.1.0';
ALTER EXTENSION mono_pay UPDATE TO '0.3.0';
RESET client_min_messages;

CREATE TEMP TABLE upgraded AS
SELECT 'function' AS kind, p.oid::regprocedure::text AS name, md5(pg_get_functiondef(p.oid)) AS def
  FROM pg_proc p WHERE p.pronamespace = 'mono'::regnamespace
UNION ALL
SELECT 'column', c.table_name || '.' || c.column_name,
       md5(concat_ws('|', c.data_type, c.domain_name, c.column_default, c.is_nullable))
  FROM information_schema.columns c WHERE c.table_schema = 'mono';

-- what the upgrade brings for Connect works
SELECT column_name FROM information_schema.columns
 WHERE table_schema = 'mono' AND table_name = 'webhook_events' AND column_name = 'raw';
SELECT mono.apply_connect_event('mono.events.sync_failed', '{"data": {"id": "up_c1"}}');
SELECT account_id, sync_status, tracked FROM mono.accounts;
SELECT mono.may_refresh('failed'), mono.may_refresh('PROCESSING'), mono.track_webhook_accounts();

SET client_min_messages = warning;
DROP EXTENSION mono_pay CASCADE;
CREATE EXTENSION mono_pay;
RESET client_min_messages;

CREATE TEMP TABLE fresh AS
SELECT 'function' AS kind, p.oid::regprocedure::text AS name, md5(pg_get_functiondef(p.oid)) AS def
  FROM pg_proc p WHERE p.pronamespace = 'mono'::regnamespace
UNION ALL
SELECT 'column', c.table_name || '.' || c.column_name,
       md5(concat_ws('|', c.data_type, c.domain_name, c.column_default, c.is_nullable))
  FROM information_schema.columns c WHERE c.table_schema = 'mono';

-- differences between the upgraded and the fresh install (none expected)
SELECT coalesce(u.kind, f.kind) AS kind, coalesce(u.name, f.name) AS name,
       CASE WHEN u.name IS NULL THEN 'only fresh' WHEN f.name IS NULL THEN 'only upgraded'
            ELSE 'differs' END AS how
  FROM upgraded u FULL JOIN fresh f USING (kind, name)
 WHERE u.def IS DISTINCT FROM f.def
 ORDER BY 1, 2;

-- 99_logs: the server log of this run (regress and every other pgTAP file:
-- 401s, timeouts, bad phones, failing calls with a literal secret or BVN in
-- 75_hostile, the worker's start) never shows the API key, the webhook
-- secret, the connect app's key and webhook secret or a BVN (doc/design.md
-- principle 7). Runs last of the pgTAP files.
-- (A failing statement is logged with its text: a test that fails while
-- its SQL names a secret would show up here too.)
\ir ../lib/tap.psql
\getenv tmp MONO_TMP
\if :{?tmp}
\else
\echo 'Bail out! MONO_TMP is not set: run the tests with test/run'
\quit
\endif
-- the file pg_prove runs last (test/run gives it test/pgtap/*.sql, in name order)
\set last_file `cd "$MONO_TEST_LIB"/../pgtap && ls -1 -- *.sql | LC_ALL=C sort | tail -n 1`

BEGIN;
SELECT plan(8);

SELECT is(:'last_file'::text, '99_logs.sql'::text,
          'this file sorts last of test/pgtap/*.sql, so the log it reads holds every other file''s');

CREATE TEMP TABLE server_log ON COMMIT DROP AS
SELECT pg_read_file(:'tmp' || '/postgres.log') AS text;

SELECT ok(position('database system is ready to accept connections' IN text) > 0,
          'the server log of this run is readable') FROM server_log;
SELECT ok(position(:'secret_key' IN text) = 0,
          'the server log does not contain the API key') FROM server_log;
SELECT ok(position(:'webhook_secret' IN text) = 0,
          'the server log does not contain the webhook secret') FROM server_log;
SELECT ok(position(:'connect_secret_key' IN text) = 0,
          'the server log does not contain the connect app''s key') FROM server_log;
SELECT ok(position(:'connect_webhook_secret' IN text) = 0,
          'the server log does not contain the connect app''s webhook secret') FROM server_log;
-- 75_hostile calls mono_link_beneficiary with this BVN in a statement that fails
SELECT ok(position('22299887766' IN text) = 0,
          'the server log does not contain the BVN of a failing link') FROM server_log;
-- and this one in a statement that fails after mono_link_beneficiary returned (issue 23)
SELECT ok(position('22299887755' IN text) = 0,
          'the server log does not contain a BVN whose statement failed outside the function') FROM server_log;

SELECT * FROM finish();
ROLLBACK;

-- 03_secrets: the API key and the webhook secret are superuser-only settings
-- that no other role can read, change or redirect, and that no error
-- message, setting listing or table reveals (doc/design.md principle 7).
\ir ../lib/tap.psql

-- a user to call, and one armed 500 fault for an error that goes through Mono
\set ignored `"$MONO_TEST_LIB"/sim reset && "$MONO_TEST_LIB"/sim user 2348012345678 active`
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"500","count":1,"path_prefix":"/owo/v1/users/status"}'`

BEGIN;
SELECT plan(30);

CREATE ROLE mono_app NOLOGIN;
-- a monitoring role: PostgreSQL lets pg_read_all_settings read superuser-only settings
CREATE ROLE mono_monitor NOLOGIN IN ROLE pg_monitor;

-- Every error text provoked below, checked at the end for the secrets.
CREATE TEMP TABLE provoked (label text, txt text) ON COMMIT DROP;

------------------------------------------------------------------------
-- The settings are there (so the checks below hide something real)
------------------------------------------------------------------------
SELECT isnt(current_setting('mono_pay.secret_key'), '', 'the superuser sees that mono_pay.secret_key is set');
SELECT isnt(current_setting('mono_pay.webhook_secret'), '', 'the superuser sees that mono_pay.webhook_secret is set');

------------------------------------------------------------------------
-- A plain role cannot read them
------------------------------------------------------------------------
SELECT is(r.code, '42501', 'a plain role cannot SHOW mono_pay.secret_key')
  FROM mono_test.run('SHOW mono_pay.secret_key', 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot read current_setting(''mono_pay.secret_key'')')
  FROM mono_test.run($$SELECT current_setting('mono_pay.secret_key')$$, 'mono_app') r;
SELECT is(r.code, '42501', 'current_setting(''mono_pay.secret_key'', missing_ok => true) raises 42501 too: no NULL, no value')
  FROM mono_test.run($$SELECT current_setting('mono_pay.secret_key', true)$$, 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot SHOW mono_pay.webhook_secret')
  FROM mono_test.run('SHOW mono_pay.webhook_secret', 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot read current_setting(''mono_pay.webhook_secret'')')
  FROM mono_test.run($$SELECT current_setting('mono_pay.webhook_secret', true)$$, 'mono_app') r;
SELECT is(r.output, '0', 'pg_settings has no row for either secret')
  FROM mono_test.run($$SELECT count(*) FROM pg_settings
                        WHERE name IN ('mono_pay.secret_key', 'mono_pay.webhook_secret')$$, 'mono_app') r;
SELECT is(r.output, '1', 'pg_settings lists mono_pay.api_url (so the query above sees mono_pay rows)')
  FROM mono_test.run($$SELECT count(*) FROM pg_settings WHERE name = 'mono_pay.api_url'$$, 'mono_app') r;
SELECT ok(r.code IS NULL AND r.output NOT LIKE '%' || :'secret_key' || '%'
          AND r.output NOT LIKE '%' || :'webhook_secret' || '%'
          AND r.output NOT LIKE '%mono_pay.secret_key%' AND r.output LIKE '%mono_pay.api_url%',
          'SHOW ALL lists mono_pay.api_url but neither secret')
  FROM mono_test.run('SHOW ALL', 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot read pg_file_settings (postgresql.conf holds the key)')
  FROM mono_test.run($$SELECT setting FROM pg_file_settings WHERE name = 'mono_pay.secret_key'$$, 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot read postgresql.conf with pg_read_file()')
  FROM mono_test.run($$SELECT pg_read_file('postgresql.conf')$$, 'mono_app') r;

------------------------------------------------------------------------
-- A plain role cannot change them, nor redirect the key to another URL
------------------------------------------------------------------------
SELECT is(r.code, '42501', 'a plain role cannot SET mono_pay.api_url')
  FROM mono_test.run($$SET mono_pay.api_url = 'http://127.0.0.1:9'$$, 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot set_config(''mono_pay.api_url'', ...)')
  FROM mono_test.run($$SELECT set_config('mono_pay.api_url', 'http://127.0.0.1:9', true)$$, 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot ALTER ROLE ... SET mono_pay.api_url for its own sessions')
  FROM mono_test.run($$ALTER ROLE mono_app SET mono_pay.api_url = 'http://127.0.0.1:9'$$, 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot SET mono_pay.secret_key')
  FROM mono_test.run($$SET mono_pay.secret_key = 'sk_mine'$$, 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot RESET mono_pay.secret_key')
  FROM mono_test.run('RESET mono_pay.secret_key', 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot SET mono_pay.webhook_secret')
  FROM mono_test.run($$SET mono_pay.webhook_secret = 'mine'$$, 'mono_app') r;
SELECT is(r.code, '42501', 'a plain role cannot SET mono_pay.ca_bundle (it decides whom the key is sent to)')
  FROM mono_test.run($$SET mono_pay.ca_bundle = '/tmp/my-ca.pem'$$, 'mono_app') r;

------------------------------------------------------------------------
-- Not even a monitoring role (pg_monitor, hence pg_read_all_settings)
-- should read them: mono-api.md says no non-superuser may read the key.
------------------------------------------------------------------------
SELECT ok(r.code IS NOT DISTINCT FROM '42501' OR position(:'secret_key' IN r.output) = 0,
          'a pg_monitor member cannot read mono_pay.secret_key with current_setting()')
  FROM mono_test.run($$SELECT current_setting('mono_pay.secret_key')$$, 'mono_monitor') r;
SELECT ok(r.code IS NOT DISTINCT FROM '42501' OR position(:'secret_key' IN r.output) = 0,
          'a pg_monitor member cannot SHOW mono_pay.secret_key')
  FROM mono_test.run('SHOW mono_pay.secret_key', 'mono_monitor') r;
SELECT ok(r.code IS NOT DISTINCT FROM '42501' OR position(:'webhook_secret' IN r.output) = 0,
          'a pg_monitor member cannot read mono_pay.webhook_secret with current_setting()')
  FROM mono_test.run($$SELECT current_setting('mono_pay.webhook_secret')$$, 'mono_monitor') r;
SELECT ok(r.code IS NOT DISTINCT FROM '42501' OR position(:'webhook_secret' IN r.output) = 0,
          'a pg_monitor member cannot SHOW mono_pay.webhook_secret')
  FROM mono_test.run('SHOW mono_pay.webhook_secret', 'mono_monitor') r;

------------------------------------------------------------------------
-- No error text reveals them
------------------------------------------------------------------------
GRANT EXECUTE ON FUNCTION mono_user_status(text) TO mono_app;

INSERT INTO provoked
SELECT s.label, mono_test.error_text(s.statement, s.as_role)
  FROM (VALUES
    ('SHOW secret_key', 'SHOW mono_pay.secret_key', 'mono_app'),
    ('current_setting secret_key', $$SELECT current_setting('mono_pay.secret_key')$$, 'mono_app'),
    ('SHOW webhook_secret', 'SHOW mono_pay.webhook_secret', 'mono_app'),
    ('SET secret_key', $$SET mono_pay.secret_key = 'x'$$, 'mono_app'),
    ('SET api_url', $$SET mono_pay.api_url = 'http://127.0.0.1:9'$$, 'mono_app'),
    ('bad phone', $$SELECT * FROM mono_user_status('+23480123456x8')$$, 'mono_app'),
    ('HTTP 500 from Mono', $$SELECT * FROM mono_user_status('2348012345678')$$, 'mono_app'),
    ('bad api_url', $$SELECT set_config('mono_pay.api_url', 'ftp://example', true)$$, NULL)
  ) AS s (label, statement, as_role);

-- the key Mono refuses (HTTP 401) must not be echoed either
SET LOCAL mono_pay.secret_key = 'sk_wrong_key_0001';
INSERT INTO provoked
SELECT 'HTTP 401 from Mono', mono_test.error_text($$SELECT * FROM mono_user_status('2348012345678')$$);
RESET mono_pay.secret_key;

-- the timeout error carries libcurl's words: check them too
SET LOCAL mono_pay.request_timeout = '300ms';
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"delay","count":1,"delay_s":1,"path_prefix":"/owo/v1/users/status"}'`
INSERT INTO provoked
SELECT 'timeout', mono_test.error_text($$SELECT * FROM mono_user_status('2348012345678')$$, 'mono_app');
RESET mono_pay.request_timeout;

SELECT is_empty($$SELECT label FROM provoked WHERE txt IS NULL$$,
                'each statement above raised an error (so its text was checked)');
SELECT is((SELECT count(*)::int FROM provoked), 10, 'ten error texts were collected');
SELECT ok((SELECT txt FROM provoked WHERE label = 'HTTP 401 from Mono') LIKE '%authentication%',
          'the 401 error is the authentication error (the wrong key reached Mono)');
SELECT ok((SELECT txt FROM provoked WHERE label = 'HTTP 500 from Mono') LIKE '%Internal server error%',
          'the 500 error is Mono''s (the call reached the simulator as mono_app)');
SELECT is_empty(format($$SELECT label FROM provoked WHERE txt LIKE %L OR txt LIKE %L$$,
                       '%' || :'secret_key' || '%', '%' || :'webhook_secret' || '%'),
                'no error text contains the API key or the webhook secret');
SELECT is_empty($$SELECT label FROM provoked WHERE txt LIKE '%sk\_wrong\_key\_0001%'$$,
                'the 401 error does not echo the key that was sent');

------------------------------------------------------------------------
-- No table keeps them
------------------------------------------------------------------------
SELECT is_empty(format($$
    SELECT c.oid::regclass::text
      FROM pg_class c
     WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind = 'r'
       AND (xpath('/row/n/text()',
                  query_to_xml(format('SELECT count(*) AS n FROM %%s t WHERE t::text LIKE %%L OR t::text LIKE %%L',
                                      c.oid::regclass, %L, %L), false, true, '')))[1]::text::int > 0
$$, '%' || :'secret_key' || '%', '%' || :'webhook_secret' || '%'),
    'no row of any mono table contains the API key or the webhook secret');

SELECT * FROM finish();
ROLLBACK;

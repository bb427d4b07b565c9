-- 06_connect_secrets: the connect app's key and webhook secret (issue 11,
-- item 3). mono_pay.connect_secret_key is sent on Connect's /v2 calls
-- (mono_pay.secret_key when it is empty, and always on /owo);
-- mono_pay.connect_webhook_secret verifies mono.* events (mono_pay.webhook_secret
-- when it is empty), and mono_pay.webhook_secret keeps verifying owo.*
-- events. Both are hidden and protected like the payments app's secrets:
-- superuser-only, masked, not in pg_settings, refused per role/database.
-- The simulator takes only the right app's key on each path.
\ir ../lib/tap.psql

\set ignored `"$MONO_TEST_LIB"/sim reset && "$MONO_TEST_LIB"/sim user 2348012345678 active`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c06_acc","balance":700,"data_status":"AVAILABLE"}'`

BEGIN;
SELECT plan(38);

CREATE ROLE mono_app06 NOLOGIN;
CREATE ROLE mono_monitor06 NOLOGIN IN ROLE pg_monitor;

------------------------------------------------------------------------
-- Hidden and protected like mono_pay.secret_key
------------------------------------------------------------------------
SELECT is(current_setting('mono_pay.connect_secret_key'), '********',
          'the superuser sees that mono_pay.connect_secret_key is set, masked');
SELECT is(current_setting('mono_pay.connect_webhook_secret'), '********',
          'the superuser sees that mono_pay.connect_webhook_secret is set, masked');
SELECT is(r.code, '42501', 'a plain role cannot SHOW mono_pay.connect_secret_key')
  FROM mono_test.run('SHOW mono_pay.connect_secret_key', 'mono_app06') r;
SELECT is(r.code, '42501', 'a plain role cannot read current_setting(''mono_pay.connect_webhook_secret'', true)')
  FROM mono_test.run($$SELECT current_setting('mono_pay.connect_webhook_secret', true)$$, 'mono_app06') r;
SELECT is(r.output, '0', 'pg_settings has no row for either connect secret')
  FROM mono_test.run($$SELECT count(*) FROM pg_settings
                        WHERE name IN ('mono_pay.connect_secret_key', 'mono_pay.connect_webhook_secret')$$,
                     'mono_app06') r;
SELECT ok(r.code IS NULL AND r.output NOT LIKE '%' || :'connect_secret_key' || '%'
          AND r.output NOT LIKE '%' || :'connect_webhook_secret' || '%'
          AND r.output !~ 'mono_pay\.connect_(secret_key|webhook_secret)',
          'SHOW ALL shows neither connect secret')
  FROM mono_test.run('SHOW ALL', 'mono_app06') r;
SELECT ok(r.code IS NOT DISTINCT FROM '42501' OR position(:'connect_secret_key' IN r.output) = 0,
          'a pg_monitor member cannot read mono_pay.connect_secret_key')
  FROM mono_test.run($$SELECT current_setting('mono_pay.connect_secret_key')$$, 'mono_monitor06') r;
SELECT ok(r.code IS NOT DISTINCT FROM '42501' OR position(:'connect_webhook_secret' IN r.output) = 0,
          'a pg_monitor member cannot SHOW mono_pay.connect_webhook_secret')
  FROM mono_test.run('SHOW mono_pay.connect_webhook_secret', 'mono_monitor06') r;
SELECT is(r.code, '42501', 'a plain role cannot SET mono_pay.connect_secret_key')
  FROM mono_test.run($$SET mono_pay.connect_secret_key = 'sk_mine'$$, 'mono_app06') r;
SELECT is(r.code, '42501', 'a plain role cannot SET mono_pay.connect_webhook_secret')
  FROM mono_test.run($$SET mono_pay.connect_webhook_secret = 'mine'$$, 'mono_app06') r;
SELECT is(r.code, '42501', 'ALTER ROLE ... SET mono_pay.connect_secret_key is refused, even for a superuser')
  FROM mono_test.run($$ALTER ROLE mono_app06 SET mono_pay.connect_secret_key = 'sk_06_role'$$) r;
SELECT is(r.message, 'mono_pay''s secrets cannot be set per role or per database', 'with the secrets'' message')
  FROM mono_test.run($$ALTER ROLE mono_app06 SET mono_pay.connect_secret_key = 'sk_06_role'$$) r;
SELECT is(r.code, '42501', 'ALTER DATABASE ... SET mono_pay.connect_webhook_secret is refused')
  FROM mono_test.run(format('ALTER DATABASE %I SET mono_pay.connect_webhook_secret = %L',
                            current_database(), 'whsec_06_db')) r;
SELECT is(count(*)::int, 0, 'pg_db_role_setting holds no connect secret')
  FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'mono_pay.connect_%';

------------------------------------------------------------------------
-- The key of each call: connect app's on /v2, payments app's on /owo
------------------------------------------------------------------------
SELECT lives_ok($$SELECT mono_account_sync('c06_acc')$$,
                'a sync succeeds against a simulator that takes only the connect app''s key on /v2');
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c06_acc&limit=1'`
SELECT is(:'log'::jsonb -> 0 -> 'headers' ->> 'mono-sec-key', '<redacted>',
          'the simulator accepted the key sent on /v2 (the connect app''s)');
SELECT is((SELECT "exists" FROM mono_user_status('2348012345678')), true,
          'a Direct Charge call still succeeds: the payments app''s key on /owo');

SET LOCAL mono_pay.connect_secret_key = '';
SELECT throws_ok($$SELECT mono_account_sync('c06_acc')$$, '28000', NULL,
                 'connect_secret_key empty: /v2 is sent with secret_key, which this simulator refuses (401)');
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c06_acc&limit=1'`
SELECT is(:'log'::jsonb -> 0 -> 'headers' ->> 'mono-sec-key', '<wrong>',
          'the simulator saw the payments app''s key on /v2');
SET LOCAL mono_pay.secret_key = '';
SELECT throws_ok($$SELECT mono_account_sync('c06_acc')$$, '55000',
                 'neither mono_pay.connect_secret_key nor mono_pay.secret_key is set',
                 'no key at all: 55000 before any call');
RESET mono_pay.secret_key;
RESET mono_pay.connect_secret_key;
SELECT lives_ok($$SELECT mono_account_sync('c06_acc')$$, 'with the connect key back, syncs work again');

------------------------------------------------------------------------
-- Which secret verifies which event
------------------------------------------------------------------------
\set mono_body '{"event":"mono.events.account_unlinked","event_id":"evt_c06_1","data":{"account":{"_id":"c06_gone"}}}'
\set owo_body '{"event":"owo.fundrequest.expired","event_id":"evt_c06_2","data":{"id":"frq_c06_none","status":"expired"}}'
SELECT is(r.code, '28000', 'a mono.* event with the payments app''s secret is refused')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', :'mono_body', :'webhook_secret')) r;
SELECT is(r.detail, 'The mono-webhook-secret header does not match mono_pay.connect_webhook_secret.',
          'the detail names the setting that verifies it')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', :'mono_body', :'webhook_secret')) r;
SELECT is(r.code, '28000', 'an owo.* event with the connect app''s secret is refused')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', :'owo_body', :'connect_webhook_secret')) r;
SELECT is(r.code, '28000', 'a wrong secret is refused before the body is parsed')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', '{"event": ', 'whsec_06_wrong')) r;
SELECT is((SELECT count(*)::int FROM mono.webhook_events WHERE event_id LIKE 'evt\_c06\_%'), 0,
          'no refused event was stored');
SELECT is(mono_handle_webhook(:'mono_body', :'connect_webhook_secret'), 'applied',
          'the mono.* event with the connect app''s secret is applied');
SELECT is(mono_handle_webhook(:'owo_body', :'webhook_secret'), 'ignored',
          'the owo.* event with the payments app''s secret is accepted (stored, nothing to apply)');
SELECT is(mono_handle_webhook(replace(:'mono_body', 'evt_c06_1', 'evt_c06_3'),
                              mono_test.hmac(:'connect_webhook_secret', replace(:'mono_body', 'evt_c06_1', 'evt_c06_3'))),
          'applied', 'hmac-sha256: of the body keyed with the connect app''s secret verifies mono.* events');
SELECT is(r.code, '28000', 'hmac-sha256: keyed with the payments app''s secret does not')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', replace(:'mono_body', 'evt_c06_1', 'evt_c06_4'),
                            mono_test.hmac(:'webhook_secret', replace(:'mono_body', 'evt_c06_1', 'evt_c06_4')))) r;
SELECT is(r.code, '28000', 'the bare sha256: digest of the connect app''s secret (0.2.0''s form, a password in any log) is refused')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', replace(:'mono_body', 'evt_c06_1', 'evt_c06_6'),
                            'sha256:' || encode(sha256(convert_to(:'connect_webhook_secret', 'UTF8')), 'hex'))) r;

-- connect_webhook_secret empty: mono_pay.webhook_secret verifies mono.* too
SET LOCAL mono_pay.connect_webhook_secret = '';
SELECT is(mono_handle_webhook(replace(:'mono_body', 'evt_c06_1', 'evt_c06_5'), :'webhook_secret'), 'applied',
          'connect_webhook_secret empty: the payments app''s secret verifies mono.* events');
SELECT is(r.code, '28000', 'and the connect app''s old secret no longer does')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', replace(:'mono_body', 'evt_c06_1', 'evt_c06_6'),
                            :'connect_webhook_secret')) r;
RESET mono_pay.connect_webhook_secret;

-- webhook_secret empty: owo.* events cannot be verified, mono.* still can
SET LOCAL mono_pay.webhook_secret = '';
SELECT is(r.code || ' ' || r.message, '55000 mono_pay.webhook_secret is not set',
          'webhook_secret empty: an owo.* event is refused with 55000 naming the setting')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', replace(:'owo_body', 'evt_c06_2', 'evt_c06_7'),
                            :'connect_webhook_secret')) r;
SELECT is(mono_handle_webhook(replace(:'mono_body', 'evt_c06_1', 'evt_c06_8'), :'connect_webhook_secret'),
          'applied', 'and a mono.* event is still verified by the connect app''s secret');
SET LOCAL mono_pay.connect_webhook_secret = '';
SELECT is(r.code, '55000', 'no webhook secret at all: 55000')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', :'mono_body', :'connect_webhook_secret')) r;
RESET mono_pay.connect_webhook_secret;
RESET mono_pay.webhook_secret;

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
$$, '%' || :'connect_secret_key' || '%', '%' || :'connect_webhook_secret' || '%'),
    'no row of any mono table contains the connect app''s key or webhook secret');
SELECT ok(:'connect_secret_key' <> :'secret_key' AND :'connect_webhook_secret' <> :'webhook_secret',
          'setup: the test cluster gives the two apps different secrets');

SELECT * FROM finish();
ROLLBACK;

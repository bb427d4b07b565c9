-- 57_connect_key: a refused Connect key (issue 22). Mono's 401 and 403
-- are about the Connect app's key (mono_pay.connect_secret_key), not about
-- an account: no account's attempt counts and none loses its step; the
-- worker stops Connect's calls (one probe after a bounded back-off), says
-- so (mono_worker_status().state, last_error, mono.worker_counters():
-- connect_key_refused, connect_key_refusals; one WARNING per outage), and
-- goes on by itself: after a probe Mono takes, or at once after a reload
-- that changes the key. Direct Charge (the payments app) goes on meanwhile.
--
-- No surrounding transaction: the worker must see what the test commits.
\ir ../lib/tap.psql

\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c57_key","balance":700,"transactions":[{"id":"k1","amount":300,"type":"credit","date":"2025-05-02T08:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c57_reload","balance":900,"transactions":[]}'`
DELETE FROM mono.accounts WHERE account_id LIKE 'c57\_%';

-- A figure of mono.worker_counters() (0 when it has none)
CREATE FUNCTION pg_temp.counter(p_name text) RETURNS float8 LANGUAGE sql AS $f$
    SELECT coalesce((SELECT value FROM mono.worker_counters() WHERE name = p_name), 0);
$f$;
SELECT pg_temp.counter('connect_key_refusals') AS refusals_before,
       pg_temp.counter('key_refusals') AS payments_refusals_before \gset

SELECT plan(14);

-- two accounts synced while Mono takes the key; their transactions pulled
SELECT lives_ok($$SELECT count(mono_account_sync(id)) FROM unnest(ARRAY['c57_key', 'c57_reload']) id$$,
                'two accounts are synced while Mono takes the Connect key');
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 2 FROM mono.accounts
                                   WHERE account_id LIKE 'c57\_%' AND transactions_synced_at IS NOT NULL
                                     AND claimed_until IS NULL)$$, '30 seconds'),
          'the worker pulls their transactions');

------------------------------------------------------------------------
-- Mono refuses the Connect app's key (401, then 403 on the probes)
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim config '{"refuse_key": 401, "refuse_key_app": "connect"}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c57_key","balance":750,"transactions":[{"id":"k1","amount":300,"type":"credit","date":"2025-05-02T08:00:00Z"}]}'`
-- the hourly sync of c57_key comes due
UPDATE mono.accounts SET next_step = 'details', next_sync_at = now(), attempts = 0, last_error = NULL
 WHERE account_id = 'c57_key';
SELECT ok(mono_test.wait_until($$(SELECT state LIKE '%Mono refused the Connect app: HTTP 401%Connect calls wait%'
                                    FROM mono_worker_status())$$),
          'a 401: mono_worker_status() says the Connect app''s key is refused');
SELECT ok(mono_test.wait_until($$(SELECT last_error LIKE 'HTTP 401 from details%'
                                    FROM mono.accounts WHERE account_id = 'c57_key')$$),
          'the account shows the refusal in last_error');
SELECT ok(last_error LIKE '%refused the Connect app''s key%', 'the worker''s last_error says the Connect key was refused: ' || last_error)
  FROM mono_worker_status();
SELECT is(pg_temp.counter('connect_key_refused'), 1::float8, 'mono.worker_counters(): connect_key_refused is 1');
\set ignored `"$MONO_TEST_LIB"/sim config '{"refuse_key": 403}'`
SELECT pg_sleep(1.5) AS slept \gset
SELECT results_eq($$SELECT attempts, next_step, balance FROM mono.accounts WHERE account_id = 'c57_key'$$,
                  $$VALUES (0, 'details', 700::bigint)$$,
                  'after the probes (403): no attempt counted, the step kept, nothing changed');
SELECT is(pg_temp.counter('connect_key_refusals') - :refusals_before, 1::float8,
          'one outage (one WARNING): connect_key_refusals grew by 1');

-- Direct Charge goes on: only the Connect app's key is refused
SELECT mono_charge('2348057575757', 5000, 'Connect key refused', 'CONNECTKEY57001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'CONNECTKEY57001')$$),
          'a charge is sent meanwhile: the payments app''s key is not refused');

------------------------------------------------------------------------
-- Mono takes the key again: a probe goes on by itself
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim config '{"refuse_key": null, "refuse_key_app": null}'`
SELECT ok(mono_test.wait_until($$(SELECT balance = 750 AND attempts = 0 FROM mono.accounts WHERE account_id = 'c57_key')$$,
                               '30 seconds'),
          'a probe Mono takes: the account is read again (new balance)');
SELECT ok(mono_test.wait_until($$(SELECT state NOT LIKE '%refused%' FROM mono_worker_status())$$)
          AND pg_temp.counter('connect_key_refused') = 0,
          'the worker''s state and connect_key_refused no longer say the key is refused');

------------------------------------------------------------------------
-- A wrong Connect key: a reload that changes it resumes at once
------------------------------------------------------------------------
ALTER SYSTEM SET mono_pay.connect_secret_key = 'sk_wrong_connect_key';
SELECT mono_test.reload() AS reloaded \gset
UPDATE mono.accounts SET next_step = 'details', next_sync_at = now(), attempts = 0
 WHERE account_id = 'c57_reload';
SELECT ok(mono_test.wait_until($$(SELECT state LIKE '%Connect app: HTTP 401%' FROM mono_worker_status())$$),
          'a wrong Connect key: refused (401)');
ALTER SYSTEM RESET mono_pay.connect_secret_key;
SELECT mono_test.reload() AS reloaded \gset
SELECT ok(mono_test.wait_until($$(SELECT attempts = 0 AND last_error IS NULL AND next_sync_at > now()
                                    FROM mono.accounts WHERE account_id = 'c57_reload')$$),
          'the reload with the right key: the account is read, no attempt counted');
SELECT is(pg_temp.counter('key_refusals') - :payments_refusals_before, 0::float8,
          'the payments app''s key was never reported refused');

SELECT * FROM finish();
DELETE FROM mono.accounts WHERE account_id LIKE 'c57\_%';

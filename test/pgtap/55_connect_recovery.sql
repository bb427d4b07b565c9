-- 55_connect_recovery: Connect accounts leave FAILED, UNAVAILABLE and
-- PARTIAL without an application's call (issue 22, items 7-9). The
-- simulator moves data_status on a finished sync as Mono's sync table says
-- (config sync_moves_data_status); the worker starts one real-time refresh
-- of each account on its own, reads the details again when it has ended
-- (so the balance says when it was read: balance_updated_at), and pulls the
-- transactions once they may be read. PROCESSING reads back off up to the
-- refresh interval. jobs.update with REAUTHORISATION_REQUIRED (any case)
-- shows in sync_status. mono_account_sync(id, true) only records the
-- request: a ROLLBACK sends nothing, a COMMIT hands it to the worker.
--
-- No surrounding transaction: the worker must see what the test commits.
-- The worker keeps mono_pay.account_refresh_interval at its default (1 h).
\ir ../lib/tap.psql

\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim config '{"sync_moves_data_status":true}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c55_failed","balance":800,"data_status":"FAILED","retrieved_data":[],"transactions":[{"id":"f1","amount":400,"type":"debit","date":"2025-05-02T08:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c55_unavail","balance":900,"data_status":"unavailable","retrieved_data":[],"transactions":[{"id":"u1","amount":500,"type":"credit","date":"2025-05-03T08:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c55_partial","balance":1000,"data_status":"PARTIAL","retrieved_data":["identity","balance"],"transactions":[{"id":"p1","amount":600,"type":"credit","date":"2025-05-04T08:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c55_rt","balance":1100,"transactions":[{"id":"r1","amount":700,"type":"credit","date":"2025-05-05T08:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c55_reauth","balance":1200,"transactions":[{"id":"a1","amount":800,"type":"credit","date":"2025-05-06T08:00:00Z"}]}'`

DELETE FROM mono.accounts WHERE account_id LIKE 'c55\_%';

SELECT plan(22);

------------------------------------------------------------------------
-- Item 7: FAILED, UNAVAILABLE and PARTIAL recover by the worker's own sync
------------------------------------------------------------------------
SELECT lives_ok($$SELECT count(mono_account_sync(id)) FROM unnest(ARRAY['c55_failed', 'c55_unavail', 'c55_partial']) id$$,
                'three accounts are synced once: FAILED, UNAVAILABLE (lower case), PARTIAL without transactions');
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 3 FROM mono.accounts
                                   WHERE account_id IN ('c55_failed', 'c55_unavail', 'c55_partial')
                                     AND data_status = 'AVAILABLE' AND transactions_synced_at IS NOT NULL)$$,
                               '30 seconds'),
          'without another call, each becomes AVAILABLE and its transactions are pulled');
SELECT results_eq($$SELECT account_id, (SELECT count(*)::int FROM mono.transactions t WHERE t.account_id = a.account_id)
                      FROM mono.accounts a WHERE account_id IN ('c55_failed', 'c55_unavail', 'c55_partial')
                     ORDER BY 1$$,
                  $$VALUES ('c55_failed', 1), ('c55_partial', 1), ('c55_unavail', 1)$$,
                  'each account''s transaction is stored');
\set n_failed `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c55_failed/transactions'`
\set n_unavail `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c55_unavail/transactions'`
\set n_partial `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c55_partial/transactions'`
SELECT is(ARRAY[:n_failed, :n_unavail, :n_partial], ARRAY[1, 1, 1],
          'the worker started exactly one real-time refresh of each (Mono allows one per 5 minutes)');
SELECT ok((SELECT bool_and(last_refresh_at IS NOT NULL AND refresh_requested_at IS NULL)
             FROM mono.accounts WHERE account_id IN ('c55_failed', 'c55_unavail', 'c55_partial')),
          'last_refresh_at records each refresh');

------------------------------------------------------------------------
-- Item 8: the balance says how old it is; a refresh renews it
------------------------------------------------------------------------
SELECT ok((SELECT bool_and(balance IS NOT NULL AND balance_updated_at >= last_refresh_at)
             FROM mono.accounts WHERE account_id IN ('c55_failed', 'c55_unavail', 'c55_partial')),
          'balance_updated_at: the balance was read again after the refresh ended');
SELECT results_eq($$SELECT balance FROM mono.accounts WHERE account_id IN ('c55_failed', 'c55_unavail', 'c55_partial') ORDER BY account_id$$,
                  $$VALUES (800::bigint), (1000::bigint), (900::bigint)$$,
                  'and holds the balance Mono reports');
SELECT ok((SELECT next_sync_at > now() + interval '50 minutes' AND next_step = 'details'
             FROM mono.accounts WHERE account_id = 'c55_failed'),
          'afterwards the account waits an interval for its next check');

------------------------------------------------------------------------
-- PROCESSING reads are capped: they back off up to the refresh interval
------------------------------------------------------------------------
CREATE FUNCTION pg_temp.processing_due(n integer) RETURNS interval
LANGUAGE sql AS $$
    SELECT (mono.account_next_step(jsonb_populate_record(NULL::mono.accounts,
               jsonb_build_object('account_id', 'c55_x', 'data_status', 'PROCESSING',
                                  'retrieved_data', '{}'::text[], 'tracked', true,
                                  'attempts', n)))).due - now()
$$;
SELECT ok(pg_temp.processing_due(1) BETWEEN interval '59 seconds' AND interval '61 seconds',
          'the first check of a PROCESSING account comes a minute later');
SELECT ok(pg_temp.processing_due(4) BETWEEN interval '7 minutes 59 seconds' AND interval '8 minutes 1 second',
          'the fourth 8 minutes later (doubling)');
SELECT ok(pg_temp.processing_due(40) BETWEEN interval '59 minutes 59 seconds' AND interval '1 hour 1 second',
          'and never more rarely than the refresh interval (1 h)');
SELECT lives_ok($$SELECT count(mono_account_sync('c55_rt'))$$, 'another account is synced');
SELECT ok(mono_test.wait_until($$(SELECT transactions_synced_at IS NOT NULL FROM mono.accounts
                                   WHERE account_id = 'c55_rt')$$), 'and pulled');

------------------------------------------------------------------------
-- Item 9: a real-time refresh leaves only after COMMIT
------------------------------------------------------------------------
BEGIN;
SELECT count(mono_account_sync('c55_rt', true)) AS ignored \gset
ROLLBACK;
SELECT pg_sleep(1) AS slept \gset
\set n_rt `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c55_rt/transactions'`
SELECT is(:n_rt, 0, 'mono_account_sync(id, true) rolled back: no real-time refresh reached Mono');
SELECT is((SELECT refresh_requested_at FROM mono.accounts WHERE account_id = 'c55_rt'), NULL,
          'and no request is left behind');
CREATE TEMP TABLE rt AS SELECT * FROM mono_account_sync('c55_rt', true);
SELECT results_eq($$SELECT refresh_requested_at IS NOT NULL, last_refresh_at, next_step FROM rt$$,
                  $$VALUES (true, NULL::timestamptz, 'refresh')$$,
                  'committed: the row returned records the request; the refresh is the next step');
SELECT ok(mono_test.wait_until($$(SELECT last_refresh_at IS NOT NULL AND refresh_requested_at IS NULL
                                    FROM mono.accounts WHERE account_id = 'c55_rt')$$),
          'the worker performs it after the commit');
\set n_rt `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c55_rt/transactions'`
SELECT is(:n_rt, 1, 'one real-time refresh reached Mono');

------------------------------------------------------------------------
-- jobs.update with REAUTHORISATION_REQUIRED (any case) sets sync_status
------------------------------------------------------------------------
SELECT lives_ok($$SELECT count(mono_account_sync('c55_reauth'))$$, 'an account is synced');
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.accounts.jobs.update","data":{"account":"c55_reauth","id":"job_c55","name":"jobs.accounts.sync_statement","status":"reauthorisation_required"}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'a jobs.update whose status is reauthorisation_required is applied');
SELECT results_eq($$SELECT sync_status, job_status, refresh_pending FROM mono.accounts WHERE account_id = 'c55_reauth'$$,
                  $$VALUES ('REAUTHORISATION_REQUIRED', 'failed', false)$$,
                  'sync_status says REAUTHORISATION_REQUIRED; the job counts as failed');
SELECT isnt((SELECT (mono.account_next_step(a)).step FROM mono.accounts a WHERE account_id = 'c55_reauth'),
            'refresh', 'and the worker starts no refresh of it on its own');

SELECT * FROM finish();
DELETE FROM mono.accounts WHERE account_id LIKE 'c55\_%';

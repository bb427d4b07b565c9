-- 51_connect_worker: the worker keeping tracked accounts fresh on its own,
-- with mono_pay.account_refresh_interval set to 1 second: PROCESSING and
-- FAILED accounts checked again (and nothing else fetched, but the FAILED
-- one's real-time refresh) until their data arrives, never more than one real-time refresh per account per 5
-- minutes, new data found by its own refresh pulled once, every page of a
-- long history pulled, and Mono's 429 answered by waiting Retry-After.
--
-- No surrounding transaction: the worker must see what the test commits.
\ir ../lib/tap.psql

\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c51_proc","balance":700,"data_status":"PROCESSING","retrieved_data":[],"transactions":[{"id":"p1","amount":300,"type":"credit","date":"2025-05-02T08:00:00Z"}],"pending_new_transactions":[{"id":"p2","amount":50,"type":"debit","date":"2025-05-03T08:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c51_fail","balance":800,"data_status":"FAILED","retrieved_data":[],"transactions":[{"id":"f1","amount":400,"type":"debit","date":"2025-05-02T08:00:00Z"}]}'`
\set ignored `python3 -c 'import json; print(json.dumps({"id": "c51_pages", "transactions": [{"id": "g%03d" % i, "amount": 1000 + i, "type": "credit" if i % 3 else "debit", "date": "2025-%02d-%02dT12:00:00Z" % (1 + i % 6, 1 + i % 28)} for i in range(250)]}))' | curl -sf -XPOST --data-binary @- "$MONO_SIM_URL/_sim/accounts"`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c51_flaky","balance":900,"transactions":[{"id":"k1","amount":400,"type":"debit","date":"2025-05-02T08:00:00Z"}]}'`

DELETE FROM mono.accounts WHERE account_id LIKE 'c51\_%';
ALTER SYSTEM SET mono_pay.account_refresh_interval = '1s';
SELECT mono_test.reload() AS ignored \gset

SELECT plan(28);

-- Requests the simulator received on a path: all, real-time ones, plain ones.
CREATE FUNCTION pg_temp.calls(log jsonb, realtime boolean DEFAULT NULL) RETURNS integer
LANGUAGE sql AS $$
    SELECT count(*)::integer FROM jsonb_array_elements(log) e
     WHERE realtime IS NULL
        OR (coalesce(e #>> '{headers,x-realtime}', '') = 'true') = realtime
$$;

SELECT ok(mono_test.wait_until($$current_setting('mono_pay.account_refresh_interval') = '1s'$$),
          'the refresh interval is 1 second for this test');

------------------------------------------------------------------------
-- PROCESSING: checked again and again, nothing else, until it is ready
------------------------------------------------------------------------
SELECT last_synced_at AS proc_first FROM mono_account_sync('c51_proc') \gset
SELECT ok(mono_test.wait_until(format($$(SELECT last_synced_at >= %L::timestamptz + interval '2 seconds'
                                           FROM mono.accounts WHERE account_id = 'c51_proc')$$,
                                      :'proc_first')),
          'the worker reads a PROCESSING account''s details again on its own');
\set n_details `"$MONO_TEST_LIB"/sim count 'GET /v2/accounts/c51_proc'`
\set n_tx `"$MONO_TEST_LIB"/sim count 'GET /v2/accounts/c51_proc/transactions'`
SELECT cmp_ok(:n_details, '>=', 3, 'several details reads (the sync and at least two checks)');
SELECT is(:n_tx, 0, 'and no transactions call, no refresh while it is PROCESSING');
SELECT results_eq($$SELECT data_status, next_step, balance FROM mono.accounts WHERE account_id = 'c51_proc'$$,
                  $$VALUES ('PROCESSING', 'details', NULL::bigint)$$,
                  'it stays PROCESSING, waiting for details, without a balance');

\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c51_proc","balance":700,"data_status":"AVAILABLE","transactions":[{"id":"p1","amount":300,"type":"credit","date":"2025-05-02T08:00:00Z"}],"pending_new_transactions":[{"id":"p2","amount":50,"type":"debit","date":"2025-05-03T08:00:00Z"}]}'`
SELECT ok(mono_test.wait_until($$(SELECT transactions_synced_at IS NOT NULL
                                    FROM mono.accounts WHERE account_id = 'c51_proc')$$),
          'once Mono says AVAILABLE, the worker pulls its transactions');
SELECT results_eq($$SELECT data_status, balance FROM mono.accounts WHERE account_id = 'c51_proc'$$,
                  $$VALUES ('AVAILABLE', 700::bigint)$$,
                  'and records the status and the balance');

------------------------------------------------------------------------
-- Its own real-time refresh: new data pulled once; then none for 5 minutes
------------------------------------------------------------------------
SELECT ok(mono_test.wait_until($$(SELECT last_refresh_at IS NOT NULL
                                    FROM mono.accounts WHERE account_id = 'c51_proc')$$),
          'an interval after the pull, the worker starts a real-time refresh');
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 2 FROM mono.transactions WHERE account_id = 'c51_proc')$$),
          'the new transaction the refresh found is pulled');
SELECT ok(mono_test.wait_until($$(SELECT last_synced_at >= last_refresh_at + interval '3 seconds'
                                    FROM mono.accounts WHERE account_id = 'c51_proc')$$),
          'the worker keeps checking the details every second after the refresh');
\set log_proc `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c51_proc/transactions&limit=100'`
SELECT is(pg_temp.calls(:'log_proc', true), 1,
          'but starts no second real-time refresh within 5 minutes (one so far)');
SELECT is(pg_temp.calls(:'log_proc', false), 2,
          'two transactions pulls: the first one, and one after the refresh that found new data');
SELECT results_eq($$SELECT has_new_data, next_step FROM mono.accounts WHERE account_id = 'c51_proc'$$,
                  $$VALUES (false, 'details')$$,
                  'the account waits for its next check');
SELECT ok((SELECT next_sync_at <= now() + interval '2 seconds'
             FROM mono.accounts WHERE account_id = 'c51_proc'),
          'which is a second away (the interval), not a refresh 5 minutes away');

------------------------------------------------------------------------
-- FAILED: one real-time refresh, then read again after a growing backoff,
-- nothing else, until it works
------------------------------------------------------------------------
SELECT lives_ok($$SELECT mono_account_sync('c51_fail')$$, 'a FAILED account is synced');
SELECT ok(mono_test.wait_until($$(SELECT attempts >= 3 FROM mono.accounts WHERE account_id = 'c51_fail')$$),
          'the worker reads its details again, counting attempts');
\set n_details `"$MONO_TEST_LIB"/sim count 'GET /v2/accounts/c51_fail'`
\set n_tx `"$MONO_TEST_LIB"/sim count 'GET /v2/accounts/c51_fail/transactions'`
\set n_rt `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c51_fail/transactions'`
SELECT cmp_ok(:n_details, '>=', 3, 'three details reads or more');
SELECT is(:n_tx - :n_rt, 0, 'and no transactions pull while it is FAILED');
SELECT is(:n_rt, 1, 'but one real-time refresh (a sync is how it leaves FAILED), not more within 5 minutes');
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c51_fail","balance":800,"data_status":"AVAILABLE","transactions":[{"id":"f1","amount":400,"type":"debit","date":"2025-05-02T08:00:00Z"}]}'`
SELECT ok(mono_test.wait_until($$(SELECT transactions_synced_at IS NOT NULL AND attempts = 0
                                    FROM mono.accounts WHERE account_id = 'c51_fail')$$, '30 seconds'),
          'once Mono recovers, the transactions are pulled and attempts reset');

------------------------------------------------------------------------
-- A long history: every page is pulled
------------------------------------------------------------------------
INSERT INTO mono.accounts (account_id) VALUES ('c51_pages');
SELECT ok(mono_test.wait_until($$(SELECT transactions_synced_at IS NOT NULL
                                    FROM mono.accounts WHERE account_id = 'c51_pages')$$),
          'an account inserted by hand is tracked: details, then its transactions');
SELECT is((SELECT count(*)::int FROM mono.transactions WHERE account_id = 'c51_pages'), 250,
          'all 250 transactions are stored');
\set log_pages `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c51_pages/transactions&limit=100'`
SELECT is((SELECT array_agg(e #>> '{query,page}' ORDER BY ord)
             FROM jsonb_array_elements(:'log_pages'::jsonb) WITH ORDINALITY AS x(e, ord)
            WHERE coalesce(e #>> '{headers,x-realtime}', '') <> 'true'),
          ARRAY['1', '2', '3'], 'in three pages of 100, each asked for once');
SELECT is((SELECT transactions_page FROM mono.accounts WHERE account_id = 'c51_pages'), 1,
          'and the page counter is back at 1 for the next pull');

------------------------------------------------------------------------
-- HTTP 429: the worker waits Retry-After, then succeeds
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"429","count":2,"retry_after":1,"path_prefix":"/v2/accounts/c51_flaky"}'`
INSERT INTO mono.accounts (account_id) VALUES ('c51_flaky');
SELECT ok(mono_test.wait_until($$(SELECT last_error LIKE 'HTTP 429 from details: %'
                                    FROM mono.accounts WHERE account_id = 'c51_flaky')$$),
          'a 429 is recorded in last_error');
SELECT ok(mono_test.wait_until($$(SELECT transactions_synced_at IS NOT NULL AND last_error IS NULL
                                    FROM mono.accounts WHERE account_id = 'c51_flaky')$$),
          'and the account is synced once Mono lets it');
\set log_flaky `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c51_flaky&limit=10'`
SELECT ok((SELECT bool_and(gap >= interval '900 milliseconds')
             FROM (SELECT (e ->> 'time')::timestamptz
                          - lag((e ->> 'time')::timestamptz) OVER (ORDER BY ord) AS gap
                     FROM jsonb_array_elements(:'log_flaky'::jsonb) WITH ORDINALITY AS x(e, ord)) g
            WHERE gap IS NOT NULL),
          'each retry came at least Retry-After (1 s) after the 429');
SELECT is(jsonb_array_length(:'log_flaky'::jsonb), 3, 'three details reads: two 429s and the good one');

SELECT * FROM finish();

ALTER SYSTEM RESET mono_pay.account_refresh_interval;
SELECT mono_test.reload() AS ignored \gset
DELETE FROM mono.accounts WHERE account_id LIKE 'c51\_%';

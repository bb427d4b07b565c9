-- 52_connect_webhooks: Mono Connect webhooks through mono_handle_webhook()
-- (which hands mono.* events to mono.apply_connect_event()): an account
-- appears with account_connected, account_updated records its data status
-- in any case, has_new_data true makes the worker pull transactions once
-- (absent or false: no pull), REAUTHORISATION_REQUIRED shows on the row
-- until account_reauthorized, account_unlinked stops tracking (_id and id
-- forms), jobs.update records the refresh job, and late events never move
-- an account backwards. Bodies come from the simulator (emit, or the
-- webhooks it produced for a real-time refresh).
--
-- No surrounding transaction: the worker must see what each event commits.
-- Accounts first seen in a webhook are tracked here
-- (mono_pay.track_webhook_accounts; 54_connect_fidelity tests it off).
\ir ../lib/tap.psql
SET mono_pay.track_webhook_accounts = on;

\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c52_new","name":"Chi Eze","balance":5000,"data_status":"PROCESSING","retrieved_data":[],"auth_method":"mobile_banking","customer":"cus_52","ref":"ref52","transactions":[{"id":"n1","amount":800,"type":"credit","date":"2025-04-02T08:00:00Z"},{"id":"n2","amount":200,"type":"debit","date":"2025-04-09T08:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c52_rt","balance":100,"transactions":[{"id":"r1","amount":800,"type":"credit","date":"2025-04-02T08:00:00Z"}],"pending_new_transactions":[{"id":"r2","amount":90,"type":"debit","date":"2025-04-20T08:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c52_job","balance":100,"transactions":[{"id":"j1","amount":800,"type":"credit","date":"2025-04-02T08:00:00Z"}],"pending_new_transactions":[{"id":"j2","amount":70,"type":"debit","date":"2025-04-21T08:00:00Z"}]}'`

DELETE FROM mono.accounts WHERE account_id LIKE 'c52\_%';

SELECT plan(46);

-- Requests the simulator received on a path: all, real-time ones, plain ones.
CREATE FUNCTION pg_temp.calls(log jsonb, realtime boolean DEFAULT NULL) RETURNS integer
LANGUAGE sql AS $$
    SELECT count(*)::integer FROM jsonb_array_elements(log) e
     WHERE realtime IS NULL
        OR (coalesce(e #>> '{headers,x-realtime}', '') = 'true') = realtime
$$;

------------------------------------------------------------------------
-- account_connected: an unknown account appears, tracked
------------------------------------------------------------------------
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_connected","data":{"id":"c52_new","customer":{"id":"cus_52"},"meta":{"data_status":"PROCESSING","auth_method":"mobile_banking","ref":"ref52"},"app":"app_1","business":"bus_1"}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'account_connected is applied');
SELECT results_eq($$SELECT tracked, unlinked, data_status, auth_method, ref, customer_id
                      FROM mono.accounts WHERE account_id = 'c52_new'$$,
                  $$VALUES (true, false, 'PROCESSING', 'mobile_banking', 'ref52', 'cus_52')$$,
                  'the unknown account gets a row: tracked, PROCESSING, auth method, ref, customer (the worker''s details agree)');
SELECT ok(mono_test.wait_until($$(SELECT name = 'Chi Eze' FROM mono.accounts WHERE account_id = 'c52_new')$$),
          'the worker reads the new account''s details at once');
\set n_tx `"$MONO_TEST_LIB"/sim count 'GET /v2/accounts/c52_new/transactions'`
SELECT is(:n_tx, 0, 'and fetches no transactions while it is PROCESSING');

------------------------------------------------------------------------
-- account_updated: lower-case status, has_new_data true -> one pull
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c52_new","name":"Chi Eze","balance":5000,"data_status":"AVAILABLE","auth_method":"mobile_banking","customer":"cus_52","ref":"ref52","transactions":[{"id":"n1","amount":800,"type":"credit","date":"2025-04-02T08:00:00Z"},{"id":"n2","amount":200,"type":"debit","date":"2025-04-09T08:00:00Z"}]}'`
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_updated","data":{"account":{"_id":"c52_new","name":"Chi Eze","accountNumber":"0987654321","currency":"NGN","balance":5000,"type":"CURRENT","bvn":"5678","authMethod":"mobile_banking","institution":{"name":"Access Bank","bankCode":"044","type":"PERSONAL_BANKING"}},"meta":{"data_status":"available","auth_method":"mobile_banking","ref":"ref52","sync_status":"SUCCESSFUL","job_id":"job_c52a","has_new_data":true,"retrieved_data":["identity","balance","transactions"]}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'account_updated is applied');
SELECT results_eq($$SELECT data_status, retrieved_data, sync_status, balance, account_number, type, institution
                      FROM mono.accounts WHERE account_id = 'c52_new'$$,
                  $$VALUES ('AVAILABLE', ARRAY['identity', 'balance', 'transactions'], 'SUCCESSFUL', 5000::bigint,
                            '0987654321', 'CURRENT',
                            '{"name": "Access Bank", "bank_code": "044", "type": "PERSONAL_BANKING"}'::jsonb)$$,
                  'its camelCase account and meta are recorded: status in upper case, balance, number, institution');
SELECT ok(mono_test.wait_until($$(SELECT transactions_synced_at IS NOT NULL AND NOT has_new_data
                                    FROM mono.accounts WHERE account_id = 'c52_new')$$),
          'has_new_data true: the worker pulls the transactions');
\set log_new `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c52_new/transactions&limit=100'`
SELECT is(pg_temp.calls(:'log_new'), 1, 'with one transactions call');
SELECT is((SELECT count(*)::int FROM mono.transactions WHERE account_id = 'c52_new'), 2,
          'and stores them');

------------------------------------------------------------------------
-- account_updated without new data: nothing is fetched
------------------------------------------------------------------------
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_updated","data":{"account":{"_id":"c52_new","balance":5100},"meta":{"data_status":"AVAILABLE","sync_status":"SUCCESSFUL","retrieved_data":["identity","balance","transactions"]}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'account_updated without has_new_data is applied');
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_updated","data":{"account":{"_id":"c52_new","balance":5200},"meta":{"data_status":"AVAILABLE","sync_status":"SUCCESSFUL","job_id":"job_c52b","has_new_data":false,"retrieved_data":["identity","balance","transactions"]}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'account_updated with has_new_data false is applied');
SELECT results_eq($$SELECT balance, has_new_data, next_step, job_id, job_status
                      FROM mono.accounts WHERE account_id = 'c52_new'$$,
                  $$VALUES (5200::bigint, false, 'details', 'job_c52b', 'finished')$$,
                  'the balance follows; no new data, so details (not transactions) come next');
SELECT ok((SELECT next_sync_at > now() + interval '50 minutes' FROM mono.accounts WHERE account_id = 'c52_new'),
          'an interval away');

------------------------------------------------------------------------
-- Re-authorisation
------------------------------------------------------------------------
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_updated","data":{"account":{"_id":"c52_new"},"meta":{"data_status":"AVAILABLE","sync_status":"REAUTHORISATION_REQUIRED","retrieved_data":["identity","balance","transactions"]}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'account_updated with sync_status REAUTHORISATION_REQUIRED is applied');
SELECT is((SELECT sync_status FROM mono.accounts WHERE account_id = 'c52_new'), 'REAUTHORISATION_REQUIRED',
          'REAUTHORISATION_REQUIRED shows on the account row');
SELECT last_synced_at AS before_reauth FROM mono.accounts WHERE account_id = 'c52_new' \gset
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_reauthorized","data":{"account":{"_id":"c52_new"}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'account_reauthorized is applied');
SELECT is((SELECT sync_status FROM mono.accounts WHERE account_id = 'c52_new'), NULL,
          'it clears REAUTHORISATION_REQUIRED');
SELECT ok(mono_test.wait_until(format($$(SELECT last_synced_at > %L::timestamptz
                                           FROM mono.accounts WHERE account_id = 'c52_new')$$,
                                      :'before_reauth')),
          'and the worker reads the details again at once');

------------------------------------------------------------------------
-- Late events never move an account backwards
------------------------------------------------------------------------
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_updated","timestamp":"2020-01-01T00:00:00.000Z","data":{"account":{"_id":"c52_new","balance":1},"meta":{"data_status":"UNAVAILABLE","sync_status":"FAILED","retrieved_data":[]}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'an account_updated from 2020 is accepted');
SELECT results_eq($$SELECT data_status, balance, sync_status FROM mono.accounts WHERE account_id = 'c52_new'$$,
                  $$VALUES ('AVAILABLE', 5000::bigint, NULL::text)$$,
                  'but older than the stored details, it changes none of them');

------------------------------------------------------------------------
-- jobs.update and a failed refresh job
------------------------------------------------------------------------
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.accounts.jobs.update","data":{"account":"c52_new","id":"job_c52c","name":"realtime_refresh","status":"processing"}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'mono.accounts.jobs.update is applied');
SELECT results_eq($$SELECT job_id, job_status FROM mono.accounts WHERE account_id = 'c52_new'$$,
                  $$VALUES ('job_c52c', 'processing')$$, 'the job and its status are recorded');
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_updated","data":{"account":{"_id":"c52_new"},"meta":{"data_status":"AVAILABLE","sync_status":"FAILED","job_id":"job_c52c","has_new_data":false,"retrieved_data":["identity","balance","transactions"]}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'account_updated with sync_status FAILED is applied');
SELECT results_eq($$SELECT sync_status, job_status, last_error, has_new_data
                      FROM mono.accounts WHERE account_id = 'c52_new'$$,
                  $$VALUES ('FAILED', 'failed', 'real-time refresh job job_c52c failed at Mono', false)$$,
                  'the failed job shows: sync_status FAILED, job failed, last_error says so, no new data');

------------------------------------------------------------------------
-- The webhooks of a finished real-time refresh repeat its headers: one pull
------------------------------------------------------------------------
SELECT lives_ok($$SELECT mono_account_sync('c52_rt')$$, 'an account is synced');
SELECT ok(mono_test.wait_until($$(SELECT transactions_synced_at IS NOT NULL FROM mono.accounts
                                   WHERE account_id = 'c52_rt')$$), 'and pulled');
\set since `"$MONO_TEST_LIB"/sim get 'webhooks?since=0' | python3 -c 'import json, sys; print(json.load(sys.stdin)["next"])'`
SELECT is((SELECT refresh_requested_at IS NOT NULL FROM mono_account_sync('c52_rt', true)), true,
          'a real-time refresh is asked for');
SELECT ok(mono_test.wait_until($$(SELECT NOT has_new_data AND next_step = 'details'
                                     AND transactions_synced_at > last_refresh_at
                                    FROM mono.accounts WHERE account_id = 'c52_rt')$$),
          'the worker makes it, it finds new data (header), and the worker pulls it');
\set events `"$MONO_TEST_LIB"/sim get 'webhooks?since=':since`
SELECT is((SELECT array_agg((w ->> 'body')::jsonb ->> 'event' ORDER BY ord)
             FROM jsonb_array_elements(:'events'::jsonb -> 'webhooks') WITH ORDINALITY AS x(w, ord)),
          ARRAY['mono.accounts.jobs.update', 'mono.events.account_updated'],
          'the simulator produced the refresh''s two webhooks');
SELECT results_eq($$SELECT mono_handle_webhook(w ->> 'body', $$ || quote_literal(:'connect_webhook_secret') || $$)
                      FROM jsonb_array_elements($$ || quote_literal(:'events') || $$::jsonb -> 'webhooks')
                           WITH ORDINALITY AS x(w, ord) ORDER BY ord$$,
                  $$VALUES ('applied'), ('applied')$$,
                  'its jobs.update and account_updated (has_new_data true) are applied');
SELECT ok(mono_test.wait_until($$(SELECT claimed_until IS NULL AND next_step = 'details'
                                    FROM mono.accounts WHERE account_id = 'c52_rt')$$),
          'the account waits for its next check');
\set log_rt `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c52_rt/transactions&limit=100'`
SELECT is(pg_temp.calls(:'log_rt', false), 2,
          'no second pull: the webhook told of the job whose data was already pulled');

------------------------------------------------------------------------
-- A refresh still running at Mono: the webhook says when there is new data
------------------------------------------------------------------------
SELECT lives_ok($$SELECT mono_account_sync('c52_job')$$, 'another account is synced');
SELECT ok(mono_test.wait_until($$(SELECT transactions_synced_at IS NOT NULL FROM mono.accounts
                                   WHERE account_id = 'c52_job')$$), 'and pulled');
\set ignored `"$MONO_TEST_LIB"/sim config '{"realtime_job_status":"processing"}'`
\set since `"$MONO_TEST_LIB"/sim get 'webhooks?since=0' | python3 -c 'import json, sys; print(json.load(sys.stdin)["next"])'`
SELECT count(mono_account_sync('c52_job', true)) AS ignored \gset
SELECT mono_test.wait_until($$(SELECT last_refresh_at IS NOT NULL FROM mono.accounts
                                WHERE account_id = 'c52_job')$$) AS refreshed \gset
\set ignored `"$MONO_TEST_LIB"/sim config '{"realtime_job_status":"finished"}'`
CREATE TEMP TABLE rt_job AS SELECT * FROM mono.accounts WHERE account_id = 'c52_job';
SELECT results_eq($$SELECT has_new_data, job_status, refresh_pending, next_step FROM rt_job$$,
                  $$VALUES (false, 'processing', true, 'transactions')$$,
                  'x-job-status processing: not known yet whether there is new data');
SELECT ok((SELECT next_sync_at BETWEEN last_refresh_at + interval '59 seconds'
                                   AND last_refresh_at + interval '61 seconds' FROM rt_job),
          'the worker would pull a minute later, should the webhook be lost');
\set events `"$MONO_TEST_LIB"/sim get 'webhooks?since=':since`
SELECT results_eq($$SELECT mono_handle_webhook(w ->> 'body', $$ || quote_literal(:'connect_webhook_secret') || $$)
                      FROM jsonb_array_elements($$ || quote_literal(:'events') || $$::jsonb -> 'webhooks')
                           WITH ORDINALITY AS x(w, ord) ORDER BY ord$$,
                  $$VALUES ('applied'), ('applied')$$,
                  'the job''s jobs.update (finished) and account_updated (has_new_data true) are applied');
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 2 FROM mono.transactions WHERE account_id = 'c52_job')$$),
          'the worker pulls the new data at once');
\set log_job `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c52_job/transactions&limit=100'`
SELECT is(pg_temp.calls(:'log_job', false), 2, 'with one more transactions call');
SELECT results_eq($$SELECT refresh_pending, job_status, has_new_data FROM mono.accounts WHERE account_id = 'c52_job'$$,
                  $$VALUES (false, 'finished', false)$$, 'the job is settled');

------------------------------------------------------------------------
-- account_unlinked: _id and id forms, known and unknown accounts
------------------------------------------------------------------------
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_unlinked","data":{"account":{"_id":"c52_new"}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'account_unlinked (data.account._id) is applied');
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_unlinked","data":{"account":{"id":"c52_rt"}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'account_unlinked (data.account.id) is applied');
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_unlinked","data":{"account":{"_id":"c52_gone"}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'account_unlinked for an unknown account is applied');
SELECT results_eq($$SELECT account_id, unlinked, tracked, next_sync_at FROM mono.accounts
                     WHERE account_id IN ('c52_new', 'c52_rt', 'c52_gone') ORDER BY 1$$,
                  $$VALUES ('c52_gone', true, false, NULL::timestamptz), ('c52_new', true, false, NULL),
                           ('c52_rt', true, false, NULL)$$,
                  'unlinked accounts are marked and no longer tracked (the unknown one is recorded as such)');

------------------------------------------------------------------------
-- Events this function does not apply
------------------------------------------------------------------------
SELECT is(mono.apply_connect_event('mono.events.something_new', '{"data":{"account":{"_id":"c52_new"}}}'),
          'ignored', 'an unknown mono.* event is ignored');
SELECT is(mono.apply_connect_event('mono.events.account_updated', '{"data":{"meta":{"data_status":"AVAILABLE"}}}'),
          'ignored', 'an account_updated naming no account is ignored');

SELECT * FROM finish();

DELETE FROM mono.accounts WHERE account_id LIKE 'c52\_%';

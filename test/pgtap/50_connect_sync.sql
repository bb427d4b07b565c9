-- 50_connect_sync: mono_account_sync() against the simulator: every
-- data_status (any case) recorded, the balance and transactions read only
-- when the rules allow, the fetches the worker then makes or does not make
-- (the simulator's request log proves it), real-time refreshes with and
-- without new data, Mono's 5-minute limit, and bad input and bad answers
-- refused with nothing changed.
--
-- No surrounding transaction: the worker must see what each sync commits.
-- The worker keeps mono_pay.account_refresh_interval at its default (1 h).
\ir ../lib/tap.psql

\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c50_avail","name":"Ada Obi","account_number":"0123456789","type":"SAVINGS_ACCOUNT","currency":"NGN","balance":150000,"data_status":"AVAILABLE","retrieved_data":["identity","balance","transactions"],"auth_method":"internet_banking","ref":"ref50","customer":"cus_c50","institution":{"name":"GTBank","bank_code":"058","type":"PERSONAL_BANKING"},"transactions":[{"id":"a1","narration":"SALARY","amount":500000,"type":"credit","balance":650000,"date":"2025-06-03T10:00:00.000Z","category":"income"},{"id":"a2","narration":"RENT","amount":120000,"type":"debit","balance":530000,"date":"2025-06-20T10:00:00Z"}],"pending_new_transactions":[{"id":"a3","narration":"POS","amount":7000,"type":"debit","date":"2025-07-01T09:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c50_lower","balance":2500,"data_status":"available","transactions":[{"id":"l1","amount":100,"type":"credit","date":"2025-05-01T00:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c50_ptx","balance":9999,"data_status":"PARTIAL","retrieved_data":["identity","transactions"],"transactions":[{"id":"p1","amount":300,"type":"debit","date":"2025-05-02T00:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c50_pbal","balance":4242,"data_status":"partial","retrieved_data":["identity","Balance"],"transactions":[{"id":"q1","amount":300,"type":"debit","date":"2025-05-02T00:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c50_unavail","balance":1,"data_status":"UNAVAILABLE","retrieved_data":[],"transactions":[{"id":"u1","amount":300,"type":"debit","date":"2025-05-02T00:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c50_failed","balance":1,"data_status":"failed","retrieved_data":[],"transactions":[{"id":"f1","amount":300,"type":"debit","date":"2025-05-02T00:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c50_proc","balance":1,"data_status":"Processing","retrieved_data":[],"transactions":[{"id":"r1","amount":300,"type":"debit","date":"2025-05-02T00:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c50_badjson","balance":1}'`

DELETE FROM mono.accounts WHERE account_id LIKE 'c50\_%';

SELECT plan(74);

-- Requests the simulator received on a path: all, real-time ones, plain ones.
CREATE FUNCTION pg_temp.calls(log jsonb, realtime boolean DEFAULT NULL) RETURNS integer
LANGUAGE sql AS $$
    SELECT count(*)::integer FROM jsonb_array_elements(log) e
     WHERE realtime IS NULL
        OR (coalesce(e #>> '{headers,x-realtime}', '') = 'true') = realtime
$$;

-- What each sync returned.
CREATE TEMP TABLE synced (label text PRIMARY KEY, a mono.accounts, at timestamptz);

------------------------------------------------------------------------
-- Bad input: 22023 with a hint, and nothing is sent
------------------------------------------------------------------------
-- (counted on Connect's paths: the worker may still be at Direct Charge's)
\set n0 `"$MONO_TEST_LIB"/sim count-re '^[A-Z]+ /v2/'`
SELECT throws_ok($$SELECT mono_account_sync(NULL)$$, '22023', 'account_id must not be null',
                 'a NULL account id is refused');
SELECT throws_ok($$SELECT mono_account_sync('')$$, '22023', 'invalid Mono account id ""',
                 'an empty account id is refused');
SELECT throws_ok($$SELECT mono_account_sync('c50 avail')$$, '22023', 'invalid Mono account id "c50 avail"',
                 'an account id with a space is refused');
SELECT throws_ok($$SELECT mono_account_sync('c50/../owo')$$, '22023', 'invalid Mono account id "c50/../owo"',
                 'an account id with slashes and dots is refused');
SELECT throws_ok($$SELECT mono_account_sync(repeat('a', 65))$$, '22023', NULL,
                 'an account id of 65 characters is refused');
SELECT throws_ok($$SELECT mono_account_sync('c50_avail', NULL)$$, '22023', 'realtime must not be null',
                 'realtime NULL is refused');
SELECT is(r.hint, 'Use the id Mono gave the account, e.g. data.id of the mono.events.account_connected webhook.',
          'the error hints at where account ids come from')
  FROM mono_test.run($$SELECT mono_account_sync('bad id')$$) r;
SELECT is(r.detail, 'A Mono account id is 1 to 64 letters, digits, "_" or "-".',
          'the error details what an account id is')
  FROM mono_test.run($$SELECT mono_account_sync('bad id')$$) r;
\set n1 `"$MONO_TEST_LIB"/sim count-re '^[A-Z]+ /v2/'`
SELECT is(:n1 - :n0, 0, 'no request reached the simulator for any bad input');
SELECT is((SELECT count(*)::int FROM mono.accounts WHERE account_id LIKE 'c50%' OR account_id = ''), 0,
          'and no account row was written');
SELECT throws_ok($$SELECT mono_account_sync('c50_' || repeat('b', 60))$$, 'P0002', NULL,
                 'an id of 64 characters is accepted and asked for (Mono does not know this one)');

------------------------------------------------------------------------
-- Every data status, recorded in upper case whatever case Mono sends
------------------------------------------------------------------------
INSERT INTO synced SELECT 'avail', s, now() FROM mono_account_sync('c50_avail') s;
INSERT INTO synced SELECT 'lower', s, now() FROM mono_account_sync('c50_lower') s;
INSERT INTO synced SELECT 'ptx', s, now() FROM mono_account_sync('c50_ptx') s;
INSERT INTO synced SELECT 'pbal', s, now() FROM mono_account_sync('c50_pbal') s;
INSERT INTO synced SELECT 'unavail', s, now() FROM mono_account_sync('c50_unavail') s;
INSERT INTO synced SELECT 'failed', s, now() FROM mono_account_sync('c50_failed') s;
INSERT INTO synced SELECT 'proc', s, now() FROM mono_account_sync('c50_proc') s;

SELECT results_eq($$SELECT label, (a).data_status FROM synced ORDER BY label$$,
                  $$VALUES ('avail', 'AVAILABLE'), ('failed', 'FAILED'), ('lower', 'AVAILABLE'),
                           ('pbal', 'PARTIAL'), ('proc', 'PROCESSING'), ('ptx', 'PARTIAL'),
                           ('unavail', 'UNAVAILABLE')$$,
                  'each account''s data_status is recorded in upper case (available, partial, failed, Processing too)');
SELECT results_eq($$SELECT (a).data_status, (a).retrieved_data FROM synced WHERE label = 'pbal'$$,
                  $$VALUES ('PARTIAL', ARRAY['identity', 'balance'])$$,
                  'retrieved_data is recorded, in lower case');
SELECT is((SELECT count(*)::int FROM synced
            WHERE (a).tracked AND NOT (a).unlinked AND (a).last_synced_at IS NOT NULL),
          7, 'every synced account is tracked and has last_synced_at');
SELECT is((SELECT count(*)::int FROM mono.accounts WHERE account_id LIKE 'c50\_%'), 7,
          'the returned rows are stored in mono.accounts');

-- the details of an AVAILABLE account
SELECT results_eq(
    $$SELECT (a).name, (a).account_number, (a).type, (a).currency, (a).balance, (a).auth_method,
             (a).customer_id, (a).ref, (a).institution
        FROM synced WHERE label = 'avail'$$,
    $$VALUES ('Ada Obi', '0123456789', 'SAVINGS_ACCOUNT', 'NGN', 150000::bigint, 'internet_banking',
              'cus_c50', 'ref50',
              '{"name": "GTBank", "bank_code": "058", "type": "PERSONAL_BANKING"}'::jsonb)$$,
    'an AVAILABLE account: name, number, type, currency, balance (kobo), auth method, customer, ref, institution');

-- the balance is read only when the rules allow it
SELECT results_eq($$SELECT label, (a).balance FROM synced ORDER BY label$$,
                  $$VALUES ('avail', 150000::bigint), ('failed', NULL), ('lower', 2500),
                           ('pbal', 4242), ('proc', NULL), ('ptx', NULL), ('unavail', NULL)$$,
                  'the balance is kept for AVAILABLE and for PARTIAL with balance retrieved, not otherwise');

-- what the worker is told to do next
SELECT results_eq($$SELECT label, (a).next_step FROM synced ORDER BY label$$,
                  $$VALUES ('avail', 'transactions'), ('failed', 'refresh'), ('lower', 'transactions'),
                           ('pbal', 'refresh'), ('proc', 'details'), ('ptx', 'transactions'),
                           ('unavail', 'refresh')$$,
                  'transactions are pulled next only where they may be read (AVAILABLE, PARTIAL with transactions); FAILED, UNAVAILABLE and PARTIAL without them get a real-time refresh');
SELECT ok((SELECT bool_and((a).next_sync_at <= at) FROM synced WHERE label IN ('avail', 'lower', 'ptx')),
          'and those pulls are due at once');
SELECT ok((SELECT bool_and((a).next_sync_at <= at) FROM synced
            WHERE label IN ('pbal', 'unavail', 'failed')),
          'FAILED, UNAVAILABLE and PARTIAL without transactions: the refresh is due at once (a sync is how they leave those states)');
SELECT ok((SELECT (a).next_sync_at BETWEEN at AND at + interval '1 minute' FROM synced WHERE label = 'proc'),
          'PROCESSING: the details are checked again within a minute');
SELECT ok((SELECT (a).attempts = 1 AND (a).last_refresh_at IS NULL FROM synced WHERE label = 'failed'),
          'FAILED: attempts 1, no refresh yet');

------------------------------------------------------------------------
-- What the worker then fetches, and what it does not
------------------------------------------------------------------------
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 3 FROM mono.accounts
                                   WHERE account_id IN ('c50_avail', 'c50_lower', 'c50_ptx')
                                     AND transactions_synced_at IS NOT NULL)$$, '15 seconds'),
          'the worker pulls the transactions of the AVAILABLE and PARTIAL-with-transactions accounts');
SELECT ok(mono_test.wait_until($$(SELECT attempts >= 3 FROM mono.accounts WHERE account_id = 'c50_failed')$$,
                               '15 seconds'),
          'the worker reads a FAILED account''s details again, twice (attempts grow)');

SELECT results_eq($$SELECT account_id, id, amount, type, narration, balance, date, category
                      FROM mono.transactions WHERE account_id LIKE 'c50\_%' ORDER BY account_id, id$$,
                  $$VALUES ('c50_avail', 'a1', 500000::bigint, 'credit', 'SALARY', 650000::bigint,
                            '2025-06-03 10:00:00+00'::timestamptz, 'income'),
                           ('c50_avail', 'a2', 120000, 'debit', 'RENT', 530000, '2025-06-20 10:00:00+00', NULL),
                           ('c50_lower', 'l1', 100, 'credit', '', NULL, '2025-05-01 00:00:00+00', NULL),
                           ('c50_ptx', 'p1', 300, 'debit', '', NULL, '2025-05-02 00:00:00+00', NULL)$$,
                  'the pulled transactions are stored as Mono sent them; no other account''s are');

\set log_avail `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_avail/transactions&limit=100'`
\set log_lower `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_lower/transactions&limit=100'`
\set log_ptx `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_ptx/transactions&limit=100'`
\set log_pbal `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_pbal/transactions&limit=100'`
\set log_unavail `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_unavail/transactions&limit=100'`
\set log_failed `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_failed/transactions&limit=100'`
\set n_proc `"$MONO_TEST_LIB"/sim count 'GET /v2/accounts/c50_proc/transactions'`
\set n_failed_details `"$MONO_TEST_LIB"/sim count 'GET /v2/accounts/c50_failed'`
SELECT is(pg_temp.calls(:'log_avail', false), 1, 'AVAILABLE: one transactions call');
SELECT is(pg_temp.calls(:'log_lower', false), 1, 'available (lower case): one transactions call');
SELECT is(pg_temp.calls(:'log_ptx', false), 1, 'PARTIAL with transactions: one transactions call');
SELECT is(pg_temp.calls(:'log_avail', true) + pg_temp.calls(:'log_lower', true) + pg_temp.calls(:'log_ptx', true),
          0, 'no real-time refresh was started by a plain sync or the first pull');
SELECT is((:'log_avail'::jsonb) -> 0 -> 'query',
          '{"paginate": "true", "limit": "100", "page": "1"}'::jsonb,
          'the first pull asks for every page from the start (no start date)');
SELECT is(pg_temp.calls(:'log_pbal', false), 0, 'PARTIAL with balance only: no transactions pull');
SELECT is(pg_temp.calls(:'log_unavail', false), 0, 'UNAVAILABLE: no transactions pull');
SELECT is(pg_temp.calls(:'log_failed', false), 0, 'FAILED: no transactions pull');
SELECT is(ARRAY[pg_temp.calls(:'log_pbal', true), pg_temp.calls(:'log_unavail', true),
                pg_temp.calls(:'log_failed', true)], ARRAY[1, 1, 1],
          'but one real-time refresh each, started by the worker on its own');
SELECT is(:n_proc, 0, 'PROCESSING: no transactions call');
SELECT cmp_ok(:n_failed_details, '>=', 3, 'FAILED: the details were read again (sync + at least 2 retries)');

SELECT results_eq($$SELECT account_id, next_step, has_new_data, transactions_page
                      FROM mono.accounts WHERE account_id IN ('c50_avail', 'c50_lower', 'c50_ptx')
                     ORDER BY 1$$,
                  $$VALUES ('c50_avail', 'details', false, 1), ('c50_lower', 'details', false, 1),
                           ('c50_ptx', 'details', false, 1)$$,
                  'after the pull each account waits for its next check');
SELECT ok((SELECT bool_and(next_sync_at > now() + interval '50 minutes' AND claimed_until IS NULL
                           AND last_error IS NULL)
             FROM mono.accounts WHERE account_id IN ('c50_avail', 'c50_lower', 'c50_ptx')),
          'the next check is an interval away; nothing is leased or in error');

------------------------------------------------------------------------
-- Real-time refresh that finds new data: recorded, then one pull
------------------------------------------------------------------------
INSERT INTO synced SELECT 'rt_new', s, now() FROM mono_account_sync('c50_avail', true) s;
SELECT results_eq($$SELECT (a).refresh_requested_at IS NOT NULL, (a).last_refresh_at, (a).job_id, (a).next_step
                      FROM synced WHERE label = 'rt_new'$$,
                  $$VALUES (true, NULL::timestamptz, NULL::text, 'refresh')$$,
                  'realtime: the request is recorded (refresh_requested_at), the refresh is the next step');
SELECT ok(mono_test.wait_until($$(SELECT last_refresh_at IS NOT NULL AND refresh_requested_at IS NULL
                                    FROM mono.accounts WHERE account_id = 'c50_avail')$$),
          'the worker makes the refresh after COMMIT (last_refresh_at)');
SELECT matches((SELECT job_id FROM mono.accounts WHERE account_id = 'c50_avail'), '^job_',
               'the refresh''s x-job-id is recorded');
SELECT ok(mono_test.wait_until($$(SELECT NOT has_new_data AND next_step = 'details' AND job_status = 'finished'
                                    AND transactions_synced_at > last_refresh_at
                                    FROM mono.accounts WHERE account_id = 'c50_avail')$$),
          'x-has-new-data: true: the worker pulls the new transactions');
\set log_avail `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_avail/transactions&limit=100'`
SELECT is(pg_temp.calls(:'log_avail', true), 1, 'one real-time refresh call was made (x-realtime: true)');
SELECT is(pg_temp.calls(:'log_avail', false), 2, 'and exactly one more transactions call after it');
SELECT is((:'log_avail'::jsonb) -> -1 -> 'query' ->> 'start', '19-06-2025',
          'that pull starts at the last synced date (the day before the newest stored transaction)');
SELECT results_eq($$SELECT id, amount, type FROM mono.transactions WHERE account_id = 'c50_avail' ORDER BY id$$,
                  $$VALUES ('a1', 500000::bigint, 'credit'), ('a2', 120000, 'debit'), ('a3', 7000, 'debit')$$,
                  'the new transaction is stored, the old ones once each');

------------------------------------------------------------------------
-- Real-time refresh without new data: recorded, and no pull
------------------------------------------------------------------------
INSERT INTO synced SELECT 'rt_none', s, now() FROM mono_account_sync('c50_lower', true) s;
SELECT ok(mono_test.wait_until($$(SELECT last_refresh_at IS NOT NULL AND job_status = 'finished'
                                     AND NOT has_new_data AND next_step = 'details'
                                     AND last_synced_at > last_refresh_at
                                    FROM mono.accounts WHERE account_id = 'c50_lower')$$),
          'no x-has-new-data header: has_new_data false, the refresh is recorded, the details read again, no pull is next');
SELECT ok((SELECT next_sync_at > now() + interval '50 minutes' FROM mono.accounts WHERE account_id = 'c50_lower'),
          'the next check is an interval away');

------------------------------------------------------------------------
-- Mono's limit: one real-time refresh per account per 5 minutes
------------------------------------------------------------------------
\set n0 `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c50_avail/transactions'`
CREATE TEMP TABLE e_gap AS SELECT * FROM mono_test.run($$SELECT mono_account_sync('c50_avail', true)$$);
\set n1 `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c50_avail/transactions'`
SELECT is(code, '53400', 'a second real-time refresh within 5 minutes raises 53400') FROM e_gap;
SELECT is(message, 'a real-time refresh of account "c50_avail" was started less than 5 minutes ago',
          'its message says why') FROM e_gap;
SELECT ok(detail LIKE 'Mono allows one real-time refresh per account every 5 minutes; the next is allowed at %',
          'its detail says when the next is allowed') FROM e_gap;
SELECT is(hint, 'Call mono_account_sync(''c50_avail'') without realtime, or try again after that time.',
          'its hint says what to do') FROM e_gap;
SELECT ok(:n0 >= 1, 'the simulator counted the earlier real-time refresh of the account');
SELECT is(:n1 - :n0, 0, 'no real-time refresh was sent to Mono');

------------------------------------------------------------------------
-- Real-time refresh of an account whose transactions may not be read:
-- the refresh is how it leaves UNAVAILABLE (issue 11); reading stays gated
------------------------------------------------------------------------
SELECT throws_ok($$SELECT mono_account_sync('c50_unavail', true)$$, '53400', NULL,
                 'realtime on an UNAVAILABLE account the worker has just refreshed on its own: 53400');
\set n_unavail_rt `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c50_unavail/transactions'`
SELECT is(:n_unavail_rt, 1, 'one refresh, the worker''s (a sync is how an account leaves UNAVAILABLE)');
SELECT results_eq($$SELECT last_refresh_at IS NOT NULL, job_id IS NOT NULL, next_step
                      FROM mono.accounts WHERE account_id = 'c50_unavail'$$,
                  $$VALUES (true, true, 'details')$$,
                  'it is recorded; details, not transactions, come next');
SET client_min_messages = warning;
SELECT is(r.code, NULL, 'realtime on a PROCESSING account is no error either (a NOTICE says why)')
  FROM mono_test.run($$SELECT mono_account_sync('c50_proc', true)$$) r;
RESET client_min_messages;

------------------------------------------------------------------------
-- Still no pull where none was allowed or needed
------------------------------------------------------------------------
\set log_lower `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_lower/transactions&limit=100'`
\set log_pbal `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_pbal/transactions&limit=100'`
\set log_failed `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_failed/transactions&limit=100'`
\set log_unavail `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c50_unavail/transactions&limit=100'`
SELECT is(pg_temp.calls(:'log_lower', false), 1,
          'the account refreshed without new data was not pulled again');
SELECT is(pg_temp.calls(:'log_pbal', false) + pg_temp.calls(:'log_failed', false)
          + pg_temp.calls(:'log_unavail', false), 0,
          'no transactions pull for PARTIAL-balance-only, FAILED or (refreshed) UNAVAILABLE accounts');
SELECT is((SELECT count(*)::int FROM mono.transactions
            WHERE account_id IN ('c50_pbal', 'c50_unavail', 'c50_failed', 'c50_proc')), 0,
          'and none of their transactions are stored');

------------------------------------------------------------------------
-- Mono's errors and bad answers change nothing
------------------------------------------------------------------------
SELECT throws_ok($$SELECT mono_account_sync('c50_missing')$$, 'P0002', 'Mono API error: Account not found',
                 'an account Mono does not know raises P0002 with Mono''s message');
SELECT is((SELECT count(*)::int FROM mono.accounts WHERE account_id = 'c50_missing'), 0,
          'and no row is created for it');

\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"500","count":1,"path_prefix":"/v2/accounts/c50_badjson"}'`
SELECT throws_ok($$SELECT mono_account_sync('c50_badjson')$$, '38000', 'Mono API error: Internal server error',
                 'HTTP 500 raises 38000 with Mono''s message');

\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"invalid_json","count":1,"path_prefix":"/v2/accounts/c50_badjson"}'`
CREATE TEMP TABLE e_json AS SELECT * FROM mono_test.run($$SELECT mono_account_sync('c50_badjson')$$);
SELECT is(code, '22P02', 'a body that is not JSON raises 22P02') FROM e_json;
SELECT is(message, 'Mono returned invalid JSON for the account details', 'its message says so') FROM e_json;
SELECT is(detail, 'The body began: "<html>oops</html>".', 'its detail shows what came back') FROM e_json;
SELECT is((SELECT count(*)::int FROM mono.accounts WHERE account_id = 'c50_badjson'), 0,
          'no row was created for the account');

-- an account already stored stays as it was
SELECT last_synced_at AS pbal_synced, balance AS pbal_balance FROM mono.accounts WHERE account_id = 'c50_pbal' \gset
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c50_pbal","balance":1,"data_status":"AVAILABLE"}'`
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"invalid_json","count":1,"path_prefix":"/v2/accounts/c50_pbal"}'`
SELECT throws_ok($$SELECT mono_account_sync('c50_pbal')$$, '22P02', NULL,
                 'a bad answer for a stored account raises 22P02');
SELECT results_eq($$SELECT data_status, balance, last_synced_at FROM mono.accounts WHERE account_id = 'c50_pbal'$$,
                  format('VALUES (%L, %s::bigint, %L::timestamptz)', 'PARTIAL', :pbal_balance, :'pbal_synced'),
                  'and leaves its row as it was');
SELECT results_eq($$SELECT data_status, balance FROM mono_account_sync('c50_pbal')$$,
                  $$VALUES ('AVAILABLE', 1::bigint)$$,
                  'the next good answer is recorded');

------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC
------------------------------------------------------------------------
CREATE ROLE c50_nobody NOLOGIN;
SELECT is(r.code, '42501', 'a role without a grant cannot call mono_account_sync()')
  FROM mono_test.run($$SELECT mono_account_sync('c50_avail')$$, 'c50_nobody') r;
SELECT is(r.code, '42501', 'nor mono.apply_connect_event()')
  FROM mono_test.run($$SELECT mono.apply_connect_event('mono.events.account_unlinked', '{}')$$, 'c50_nobody') r;
SELECT ok(NOT has_function_privilege('public', 'mono_account_sync(text, boolean)', 'EXECUTE'),
          'PUBLIC may not execute mono_account_sync()');
DROP ROLE c50_nobody;

SELECT * FROM finish();

DELETE FROM mono.accounts WHERE account_id LIKE 'c50\_%';

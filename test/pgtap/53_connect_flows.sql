-- 53_connect_flows: mono_inflow() and mono_outflow() against every answer
-- shape the simulator serves (envelope, bare, legacy MM-YY periods, data
-- null), an unparseable answer refused with nothing changed, and the
-- analyst views mono.inflow / mono.outflow agreeing with sums computed
-- directly from mono.transactions, Mono's figures taking precedence month
-- by month.
\ir ../lib/tap.psql

\setenv C53_TX '[{"id":"x1","amount":1000,"type":"credit","date":"2025-05-02T08:00:00Z"},{"id":"x2","amount":2000,"type":"credit","date":"2025-05-30T23:30:00Z"},{"id":"x3","amount":500,"type":"credit","date":"2025-06-01T00:10:00Z"},{"id":"x4","amount":300,"type":"debit","date":"2025-05-15T12:00:00Z"},{"id":"x5","amount":700,"type":"debit","date":"2025-07-01T09:00:00Z"},{"id":"x6","amount":100,"type":"debit","date":"2025-07-31T23:59:59Z"}]'
\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c53_env","flows_shape":"envelope","transactions":'"$C53_TX"'}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c53_bare","flows_shape":"bare","transactions":'"$C53_TX"'}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c53_legacy","flows_shape":"legacy_period","transactions":'"$C53_TX"'}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c53_null","flows_shape":"null","transactions":'"$C53_TX"'}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c53_garbage","flows_shape":"garbage","transactions":'"$C53_TX"'}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c53_view","flows_shape":"envelope","transactions":'"$C53_TX"'}'`

DELETE FROM mono.account_flows WHERE account_id LIKE 'c53\_%';
DELETE FROM mono.accounts WHERE account_id LIKE 'c53\_%';

SELECT plan(35);

------------------------------------------------------------------------
-- Each accepted shape
------------------------------------------------------------------------
SELECT results_eq($$SELECT account_id, direction, period, amount, transaction_count, source
                      FROM mono_inflow('c53_env')$$,
                  $$VALUES ('c53_env', 'inflow', '2025-05-01'::date, 3000::bigint, 2, 'api'),
                           ('c53_env', 'inflow', '2025-06-01', 500, 1, 'api')$$,
                  'envelope: mono_inflow() returns a row per month (first day), amount in kobo, count, source api');
SELECT results_eq($$SELECT account_id, direction, period, amount, transaction_count, source
                      FROM mono_outflow('c53_env')$$,
                  $$VALUES ('c53_env', 'outflow', '2025-05-01'::date, 300::bigint, 1, 'api'),
                           ('c53_env', 'outflow', '2025-07-01', 800, 2, 'api')$$,
                  'envelope: mono_outflow() likewise from the debits');
SELECT results_eq($$SELECT direction, period, amount, transaction_count, source
                      FROM mono.account_flows WHERE account_id = 'c53_env' ORDER BY direction, period$$,
                  $$VALUES ('inflow', '2025-05-01'::date, 3000::bigint, 2, 'api'), ('inflow', '2025-06-01', 500, 1, 'api'),
                           ('outflow', '2025-05-01', 300, 1, 'api'), ('outflow', '2025-07-01', 800, 2, 'api')$$,
                  'the rows are stored in mono.account_flows');
SELECT results_eq($$SELECT period, amount, transaction_count FROM mono_inflow('c53_bare')$$,
                  $$VALUES ('2025-05-01'::date, 3000::bigint, 2), ('2025-06-01', 500, 1)$$,
                  'a bare answer (no envelope) gives the same months');
SELECT results_eq($$SELECT period, amount, transaction_count FROM mono_outflow('c53_legacy')$$,
                  $$VALUES ('2025-05-01'::date, 300::bigint, 1), ('2025-07-01', 800, 2)$$,
                  'legacy MM-YY periods (05-25) give the same months');
SELECT is_empty($$SELECT * FROM mono_inflow('c53_null')$$, 'data: null gives no rows');
SELECT is((SELECT count(*)::int FROM mono.account_flows WHERE account_id = 'c53_null'), 0,
          'and stores none');

------------------------------------------------------------------------
-- Fetching again updates the months in place
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c53_bare","flows_shape":"bare","transactions":[{"id":"x1","amount":1000,"type":"credit","date":"2025-05-02T08:00:00Z"},{"id":"x3","amount":500,"type":"credit","date":"2025-06-01T00:10:00Z"},{"id":"x7","amount":400,"type":"credit","date":"2025-06-11T00:10:00Z"}]}'`
SELECT results_eq($$SELECT period, amount, transaction_count FROM mono_inflow('c53_bare')$$,
                  $$VALUES ('2025-05-01'::date, 1000::bigint, 1), ('2025-06-01', 900, 2)$$,
                  'a second call returns Mono''s new figures');
SELECT results_eq($$SELECT period, amount FROM mono.account_flows
                     WHERE account_id = 'c53_bare' AND direction = 'inflow' ORDER BY period$$,
                  $$VALUES ('2025-05-01'::date, 1000::bigint), ('2025-06-01', 900)$$,
                  'and replaces the stored months (no duplicates)');

------------------------------------------------------------------------
-- Bad input and bad answers change nothing
------------------------------------------------------------------------
SELECT count(*) AS flows_before FROM mono.account_flows \gset
-- (counted on the flows' paths only: the worker meanwhile reads the details
-- of the accounts this file tracks)
\set n0 `"$MONO_TEST_LIB"/sim count-re '/(credits|debits)$'`
SELECT throws_ok($$SELECT * FROM mono_inflow('c53 env')$$, '22023', 'invalid Mono account id "c53 env"',
                 'a bad account id is refused');
SELECT throws_ok($$SELECT * FROM mono_outflow(NULL)$$, '22023', 'account_id must not be null',
                 'a NULL account id is refused');
\set n1 `"$MONO_TEST_LIB"/sim count-re '/(credits|debits)$'`
SELECT is(:n0, 6, 'the count sees the six flows read above');
SELECT is(:n1 - :n0, 0, 'and nothing was sent');

CREATE TEMP TABLE e_garbage AS SELECT * FROM mono_test.run($$SELECT * FROM mono_inflow('c53_garbage')$$);
SELECT is(code, '22P02', 'an answer of an unknown shape raises 22P02') FROM e_garbage;
SELECT is(message, 'unexpected inflow answer from Mono for account "c53_garbage"', 'its message says so')
  FROM e_garbage;
SELECT is(detail, 'It has no "history" list of months; the body began: "{"status":"successful","data":{"weird":[1,2]}}".',
          'its detail says what is wrong and shows what came back') FROM e_garbage;
SELECT ok(hint LIKE 'Nothing was stored.%', 'its hint says nothing was stored') FROM e_garbage;

-- an account with stored months keeps them
SELECT fetched_at AS env_fetched FROM mono.account_flows
 WHERE account_id = 'c53_env' AND direction = 'inflow' AND period = '2025-05-01' \gset
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c53_env","flows_shape":"garbage","transactions":[]}'`
SELECT throws_ok($$SELECT * FROM mono_inflow('c53_env')$$, '22P02', NULL,
                 'a bad answer for an account with stored months raises 22P02');
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"invalid_json","count":1,"path_prefix":"/v2/accounts/c53_env/debits"}'`
SELECT throws_ok($$SELECT * FROM mono_outflow('c53_env')$$, '22P02',
                 'Mono returned invalid JSON for the outflow of account "c53_env"',
                 'an answer that is not JSON raises 22P02');
SELECT throws_ok($$SELECT * FROM mono_inflow('c53_missing')$$, 'P0002', 'Mono API error: Account not found',
                 'an account Mono does not know raises P0002');
SELECT is((SELECT count(*) FROM mono.account_flows), :flows_before::bigint,
          'none of these errors added or removed a row');
SELECT results_eq($$SELECT amount, fetched_at FROM mono.account_flows
                     WHERE account_id = 'c53_env' AND direction = 'inflow' AND period = '2025-05-01'$$,
                  format('VALUES (3000::bigint, %L::timestamptz)', :'env_fetched'),
                  'and the stored months are as they were');

------------------------------------------------------------------------
-- The views: sums of synced transactions, Mono's figures where fetched
------------------------------------------------------------------------
SELECT lives_ok($$SELECT mono_account_sync('c53_view')$$, 'an account is synced');
SELECT ok(mono_test.wait_until($$(SELECT transactions_synced_at IS NOT NULL FROM mono.accounts
                                   WHERE account_id = 'c53_view')$$),
          'and its transactions pulled');
SELECT results_eq($$SELECT period, amount, amount_naira, transaction_count, source
                      FROM mono.inflow WHERE account_id = 'c53_view' ORDER BY period$$,
                  $$SELECT date_trunc('month', date AT TIME ZONE 'UTC')::date, sum(amount)::bigint,
                           round(sum(amount) / 100.0, 2), count(*)::int, 'transactions'
                      FROM mono.transactions WHERE account_id = 'c53_view' AND type = 'credit'
                     GROUP BY 1 ORDER BY 1$$,
                  'mono.inflow: the monthly sums of the credits (UTC months), in kobo and naira, source transactions');
SELECT results_eq($$SELECT period, amount, transaction_count FROM mono.inflow
                     WHERE account_id = 'c53_view' ORDER BY period$$,
                  $$VALUES ('2025-05-01'::date, 3000::bigint, 2), ('2025-06-01', 500, 1)$$,
                  'which are these months (a credit at 23:30 UTC on 30 May counts in May)');
SELECT results_eq($$SELECT period, amount, amount_naira, transaction_count, source
                      FROM mono.outflow WHERE account_id = 'c53_view' ORDER BY period$$,
                  $$SELECT date_trunc('month', date AT TIME ZONE 'UTC')::date, sum(amount)::bigint,
                           round(sum(amount) / 100.0, 2), count(*)::int, 'transactions'
                      FROM mono.transactions WHERE account_id = 'c53_view' AND type = 'debit'
                     GROUP BY 1 ORDER BY 1$$,
                  'mono.outflow: the monthly sums of the debits');

-- Mono's figures differ (a credit Mono counts that was never pulled); a
-- month only the local transactions know
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c53_view","flows_shape":"envelope","transactions":[{"id":"x1","amount":1000,"type":"credit","date":"2025-05-02T08:00:00Z"},{"id":"x2","amount":2000,"type":"credit","date":"2025-05-30T23:30:00Z"},{"id":"x3","amount":500,"type":"credit","date":"2025-06-01T00:10:00Z"},{"id":"x8","amount":9000,"type":"credit","date":"2025-06-15T00:10:00Z"}]}'`
INSERT INTO mono.transactions (account_id, id, amount, type, date)
VALUES ('c53_view', 'local1', 4200, 'credit', '2025-04-10 10:00+00');
SELECT results_eq($$SELECT period, amount FROM mono_inflow('c53_view')$$,
                  $$VALUES ('2025-05-01'::date, 3000::bigint), ('2025-06-01', 9500)$$,
                  'mono_inflow() fetches Mono''s figures');
SELECT results_eq($$SELECT period, amount, transaction_count, source FROM mono.inflow
                     WHERE account_id = 'c53_view' ORDER BY period$$,
                  $$VALUES ('2025-04-01'::date, 4200::bigint, 1, 'transactions'),
                           ('2025-05-01', 3000, 2, 'api'), ('2025-06-01', 9500, 2, 'api')$$,
                  'mono.inflow: Mono''s figure for each month it reported, the transactions'' sum for the others, one row per month');
SELECT results_eq($$SELECT period, source FROM mono.outflow WHERE account_id = 'c53_view' ORDER BY period$$,
                  $$VALUES ('2025-05-01'::date, 'transactions'), ('2025-07-01', 'transactions')$$,
                  'mono.outflow keeps the transactions'' sums (its figures were not fetched)');

-- every account: the transactions rows of the views are the direct sums
SELECT is_empty($$
    SELECT account_id, period, amount, transaction_count FROM mono.inflow WHERE source = 'transactions'
    EXCEPT
    SELECT account_id, date_trunc('month', date AT TIME ZONE 'UTC')::date, sum(amount)::bigint, count(*)::int
      FROM mono.transactions WHERE type = 'credit' GROUP BY 1, 2$$,
    'every transactions row of mono.inflow is a direct monthly sum of credits');
SELECT is_empty($$
    SELECT * FROM (SELECT account_id, date_trunc('month', date AT TIME ZONE 'UTC')::date AS period,
                          sum(amount)::bigint, count(*)::int
                     FROM mono.transactions WHERE type = 'debit' GROUP BY 1, 2) m
     WHERE NOT EXISTS (SELECT 1 FROM mono.account_flows f
                        WHERE f.account_id = m.account_id AND f.direction = 'outflow'
                          AND f.period = m.period)
    EXCEPT
    SELECT account_id, period, amount, transaction_count FROM mono.outflow WHERE source = 'transactions'$$,
    'every month of debits without Mono''s figure is in mono.outflow');
SELECT is_empty($$SELECT account_id, period FROM mono.inflow GROUP BY 1, 2 HAVING count(*) > 1$$,
                'mono.inflow has one row per account and month');

------------------------------------------------------------------------
-- Privileges
------------------------------------------------------------------------
CREATE ROLE c53_nobody NOLOGIN;
SELECT is(r.code, '42501', 'a role without a grant cannot call mono_inflow()')
  FROM mono_test.run($$SELECT * FROM mono_inflow('c53_env')$$, 'c53_nobody') r;
SELECT is(r.code, '42501', 'nor mono_outflow()')
  FROM mono_test.run($$SELECT * FROM mono_outflow('c53_env')$$, 'c53_nobody') r;
DROP ROLE c53_nobody;

SELECT * FROM finish();

DELETE FROM mono.account_flows WHERE account_id LIKE 'c53\_%';
DELETE FROM mono.accounts WHERE account_id LIKE 'c53\_%';

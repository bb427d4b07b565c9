-- 01_schema: the tables, views, keys and checks of the README's SQL reference,
-- and that pg_dump keeps every table and sequence (pg_extension_config_dump).
\ir ../lib/tap.psql

BEGIN;

-- The columns (and types) the SQL contract names; NULL type: any type.
CREATE TEMP TABLE contract_columns (tbl name, col name, typ text) ON COMMIT DROP;
INSERT INTO contract_columns VALUES
    ('beneficiaries', 'id', 'bigint'),
    ('beneficiaries', 'phone', 'text'),
    ('beneficiaries', 'account_name', 'text'),
    ('beneficiaries', 'nip_code', 'text'),
    ('beneficiaries', 'account_number', 'text'),
    ('beneficiaries', 'mono_id', 'text'),
    ('beneficiaries', 'status', 'text'),
    ('beneficiaries', 'redirect_url', 'text'),
    ('beneficiaries', 'last_error', 'text'),
    ('beneficiaries', 'created_at', 'timestamp with time zone'),
    ('beneficiaries', 'updated_at', 'timestamp with time zone'),
    ('fund_requests', 'id', 'bigint'),
    ('fund_requests', 'reference', 'text'),
    ('fund_requests', 'phone', 'text'),
    ('fund_requests', 'amount', 'bigint'),
    ('fund_requests', 'currency', 'text'),
    ('fund_requests', 'description', 'text'),
    ('fund_requests', 'type', 'text'),
    ('fund_requests', 'period', 'text'),
    ('fund_requests', 'interval', 'integer'),
    ('fund_requests', 'start_date', 'timestamp with time zone'),
    ('fund_requests', 'end_date', 'timestamp with time zone'),
    ('fund_requests', 'mono_id', 'text'),
    ('fund_requests', 'status', 'text'),
    ('fund_requests', 'redirect_url', 'text'),
    ('fund_requests', 'attempts', 'integer'),
    ('fund_requests', 'next_attempt_at', 'timestamp with time zone'),
    ('fund_requests', 'last_error', 'text'),
    ('fund_requests', 'http_status', 'integer'),
    ('fund_requests', 'trace_id', 'text'),
    ('fund_requests', 'created_at', 'timestamp with time zone'),
    ('fund_requests', 'updated_at', 'timestamp with time zone'),
    ('payments', 'mono_id', 'text'),
    ('payments', 'fund_request_id', 'bigint'),
    ('payments', 'reference', 'text'),
    ('payments', 'amount', 'bigint'),
    ('payments', 'status', 'text'),
    ('payments', 'message', 'text'),
    ('payments', 'processed_at', 'timestamp with time zone'),
    ('payments', 'session_id', 'text'),
    ('schedule', 'fund_request_id', 'bigint'),
    ('schedule', 'seq', 'integer'),
    ('schedule', 'due_at', 'timestamp with time zone'),
    ('schedule', 'status', 'text'),
    ('schedule', 'payment_id', 'bigint'),
    ('webhook_events', 'event_id', 'text'),
    ('webhook_events', 'event', 'text'),
    ('webhook_events', 'received_at', 'timestamp with time zone'),
    ('webhook_events', 'applied_at', 'timestamp with time zone'),
    ('webhook_events', 'outcome', 'text'),
    ('accounts', 'account_id', 'text'),
    ('accounts', 'data_status', 'text'),
    ('accounts', 'retrieved_data', 'text[]'),
    ('accounts', 'has_new_data', 'boolean'),
    ('accounts', 'sync_status', 'text'),
    ('accounts', 'balance', 'bigint'),
    ('accounts', 'currency', 'text'),
    ('accounts', 'institution', NULL),
    ('accounts', 'last_synced_at', 'timestamp with time zone'),
    ('accounts', 'last_error', 'text'),
    ('transactions', 'account_id', 'text'),
    ('transactions', 'amount', 'bigint'),
    ('transactions', 'type', 'text'),
    ('transactions', 'date', 'timestamp with time zone'),
    ('account_flows', 'account_id', 'text'),
    ('account_flows', 'period', 'date'),
    ('account_flows', 'amount', 'bigint'),
    ('account_flows', 'transaction_count', 'integer'),
    ('account_flows', 'source', 'text'),
    ('inflow', 'account_id', 'text'),
    ('inflow', 'period', 'date'),
    ('inflow', 'amount', 'bigint'),
    ('inflow', 'transaction_count', 'integer'),
    ('inflow', 'source', 'text'),
    ('outflow', 'account_id', 'text'),
    ('outflow', 'period', 'date'),
    ('outflow', 'amount', 'bigint'),
    ('outflow', 'transaction_count', 'integer'),
    ('outflow', 'source', 'text');

CREATE TEMP TABLE contract_tables (tbl name) ON COMMIT DROP;
INSERT INTO contract_tables VALUES
    ('beneficiaries'), ('fund_requests'), ('payments'), ('schedule'),
    ('webhook_events'), ('accounts'), ('transactions'), ('account_flows'),
    ('http_log');

SELECT plan(
    1                                                     -- schema
    + 3 * (SELECT count(*)::int FROM contract_tables)     -- table, pk, dumped
    + 2                                                   -- views
    + (SELECT count(*)::int FROM contract_columns)        -- columns
    + 7                                                   -- key columns
    + 3                                                   -- dump, logged, count
    + 36                                                  -- constraints
);

------------------------------------------------------------------------
-- Objects
------------------------------------------------------------------------
SELECT has_schema('mono', 'schema mono exists');

SELECT has_table('mono', tbl, format('table mono.%s exists', tbl))
  FROM contract_tables ORDER BY tbl;
SELECT has_view('mono', 'inflow', 'view mono.inflow exists');
SELECT has_view('mono', 'outflow', 'view mono.outflow exists');

SELECT CASE WHEN typ IS NULL
            THEN has_column('mono', tbl, col, format('mono.%s has column %s', tbl, col))
            -- a column may be a domain over the type (mono.phone over text, ...)
            ELSE is((SELECT format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype
                                             ELSE a.atttypid END, NULL)
                       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                      WHERE a.attrelid = format('mono.%I', tbl)::regclass
                        AND a.attname = col),
                    typ, format('mono.%s.%s is %s', tbl, col, typ))
       END
  FROM contract_columns ORDER BY tbl, col;

------------------------------------------------------------------------
-- Keys
------------------------------------------------------------------------
SELECT has_pk('mono', tbl, format('mono.%s has a primary key', tbl))
  FROM contract_tables ORDER BY tbl;
SELECT col_is_pk('mono', 'beneficiaries', 'id', 'beneficiaries are keyed by id');
SELECT col_is_pk('mono', 'fund_requests', 'id', 'fund requests are keyed by id');
SELECT col_is_pk('mono', 'accounts', 'account_id', 'accounts are keyed by account_id');
SELECT col_is_pk('mono', 'schedule', ARRAY['fund_request_id', 'seq'],
                 'instalments are keyed by (fund_request_id, seq)');
SELECT col_is_unique('mono', 'fund_requests', 'reference', 'a fund request reference is unique');
SELECT col_is_unique('mono', 'webhook_events', 'event_id', 'webhook events are de-duplicated by event_id');
SELECT col_is_unique('mono', 'payments', 'mono_id', 'a payment is recorded once per Mono id');

------------------------------------------------------------------------
-- pg_dump keeps the data; nothing is unlogged
------------------------------------------------------------------------
SELECT ok(c.oid = ANY (e.extconfig), format('mono.%s is registered with pg_extension_config_dump', t.tbl))
  FROM contract_tables t
  JOIN pg_class c ON c.relname = t.tbl AND c.relnamespace = 'mono'::regnamespace
 CROSS JOIN pg_extension e
 WHERE e.extname = 'mono_pay'
 ORDER BY t.tbl;

SELECT is_empty($$
    SELECT c.oid::regclass::text
      FROM pg_class c
     WHERE c.relnamespace = 'mono'::regnamespace
       AND c.relkind IN ('r', 'p', 'S')
       AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'mono_pay')::oid[])
$$, 'every table and sequence of schema mono is registered with pg_extension_config_dump');

SELECT cmp_ok((SELECT count(*)::int FROM pg_class c
                WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind = 'S'), '>=', 5,
              'the bigserial sequences exist (and so were checked above)');

SELECT is_empty($$
    SELECT c.oid::regclass::text
      FROM pg_class c
     WHERE c.relnamespace = 'mono'::regnamespace
       AND c.relkind IN ('r', 'p', 'S') AND c.relpersistence <> 'p'
$$, 'every table and sequence of schema mono is logged (no UNLOGGED, no TEMP)');

------------------------------------------------------------------------
-- Check constraints: one valid row, then one bad column at a time
------------------------------------------------------------------------
-- fund_requests
SELECT lives_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                  VALUES ('schemaRef0001', '2348012345678', 150000, 'Order 1', 'onetime')$$,
                'a valid one-time fund request is accepted');
SELECT lives_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type,
                                                 period, "interval", start_date)
                  VALUES ('schemaRef0002', '2348012345678', 5000, 'Monthly', 'recurring',
                          'month', 1, '2030-01-01')$$,
                'a valid recurring fund request is accepted');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type, status)
                   VALUES ('schemaRef0003', '2348012345678', 150000, 'x', 'onetime', 'paid')$$,
                 '23514', NULL, 'fund_requests rejects a status outside the list');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                   VALUES ('schemaRef0003', '2348012345678', 0, 'x', 'onetime')$$,
                 '23514', NULL, 'fund_requests rejects amount 0');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                   VALUES ('schemaRef0003', '2348012345678', -1, 'x', 'onetime')$$,
                 '23514', NULL, 'fund_requests rejects amount -1');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                   VALUES ('bad ref 01', '2348012345678', 100, 'x', 'onetime')$$,
                 '23514', NULL, 'fund_requests rejects a reference with spaces');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                   VALUES ('abc1234', '2348012345678', 100, 'x', 'onetime')$$,
                 '23514', NULL, 'fund_requests rejects a 7-character reference');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                   VALUES (repeat('a', 33), '2348012345678', 100, 'x', 'onetime')$$,
                 '23514', NULL, 'fund_requests rejects a 33-character reference');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                   VALUES ('schemaRef0001', '2348012345678', 100, 'x', 'onetime')$$,
                 '23505', NULL, 'fund_requests rejects a duplicate reference');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                   VALUES ('schemaRef0003', '08012345678', 100, 'x', 'onetime')$$,
                 '23514', NULL, 'fund_requests stores normalised phones only');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                   VALUES ('schemaRef0003', '2348012345678', 100, 'x', 'weekly')$$,
                 '23514', NULL, 'fund_requests rejects a type other than onetime/recurring');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                   VALUES ('schemaRef0003', '2348012345678', 100, 'x', 'recurring')$$,
                 '23514', NULL, 'fund_requests rejects a recurring request without a schedule');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type, currency)
                   VALUES ('schemaRef0003', '2348012345678', 100, 'x', 'onetime', 'USD')$$,
                 '23514', NULL, 'fund_requests rejects a currency other than NGN');
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                   VALUES ('schemaRef0003', '2348012345678', 100, '   ', 'onetime')$$,
                 '23514', NULL, 'fund_requests rejects a blank description');

-- beneficiaries
SELECT lives_ok($$INSERT INTO mono.beneficiaries (phone, account_name, nip_code, account_number)
                  VALUES ('2348012345678', 'Ada Obi', '000013', '0123456789')$$,
                'a valid beneficiary is accepted');
SELECT throws_ok($$INSERT INTO mono.beneficiaries (phone, account_name, nip_code, account_number, status)
                   VALUES ('2348098765432', 'Ada Obi', '000013', '0123456789', 'active')$$,
                 '23514', NULL, 'beneficiaries rejects a status outside the list');
SELECT throws_ok($$INSERT INTO mono.beneficiaries (phone, account_name, nip_code, account_number)
                   VALUES ('2348098765432', 'Ada Obi', '00013', '0123456789')$$,
                 '23514', NULL, 'beneficiaries rejects a 5-digit NIP code');
SELECT throws_ok($$INSERT INTO mono.beneficiaries (phone, account_name, nip_code, account_number)
                   VALUES ('2348098765432', 'Ada Obi', '000013', '012345678')$$,
                 '23514', NULL, 'beneficiaries rejects a 9-digit account number');
SELECT throws_ok($$INSERT INTO mono.beneficiaries (phone, account_name, nip_code, account_number)
                   VALUES ('2348012345678', 'Ada Obi', '000013', '0123456789')$$,
                 '23505', NULL, 'beneficiaries allows one live link per phone');

-- payments
SELECT lives_ok($$INSERT INTO mono.payments (mono_id, amount, status)
                  VALUES ('pay_schema0001', 150000, 'successful')$$,
                'a valid payment is accepted');
SELECT throws_ok($$INSERT INTO mono.payments (mono_id, amount, status)
                   VALUES ('pay_schema0002', 150000, 'pending')$$,
                 '23514', NULL, 'payments rejects a status other than successful/failed');
SELECT throws_ok($$INSERT INTO mono.payments (mono_id, amount, status)
                   VALUES ('pay_schema0002', -1, 'failed')$$,
                 '23514', NULL, 'payments rejects a negative amount');
SELECT throws_ok($$INSERT INTO mono.payments (mono_id, amount, status)
                   VALUES ('pay_schema0001', 150000, 'successful')$$,
                 '23505', NULL, 'payments rejects a duplicate Mono id');

-- schedule (the extension may already have planned instalments of the
-- recurring request: add one after them)
SELECT lives_ok($$INSERT INTO mono.schedule (fund_request_id, seq, due_at)
                  SELECT id, 1000, '2040-01-01' FROM mono.fund_requests WHERE reference = 'schemaRef0002'$$,
                'a valid instalment is accepted');
SELECT throws_ok($$INSERT INTO mono.schedule (fund_request_id, seq, due_at, status)
                   SELECT id, 1001, '2040-02-01', 'late' FROM mono.fund_requests WHERE reference = 'schemaRef0002'$$,
                 '23514', NULL, 'schedule rejects a status outside the list');
SELECT throws_ok($$INSERT INTO mono.schedule (fund_request_id, seq, due_at)
                   SELECT id, 1000, '2040-02-01' FROM mono.fund_requests WHERE reference = 'schemaRef0002'$$,
                 '23505', NULL, 'schedule rejects a duplicate (fund_request_id, seq)');

-- webhook_events
SELECT lives_ok($$INSERT INTO mono.webhook_events (event_id, event, body, outcome)
                  VALUES ('evt_schema0001', 'owo.fundrequest.approved', '{}', 'applied')$$,
                'a valid webhook event is accepted');
SELECT throws_ok($$INSERT INTO mono.webhook_events (event_id, event, body, outcome)
                   VALUES ('evt_schema0001', 'owo.fundrequest.approved', '{}', 'applied')$$,
                 '23505', NULL, 'webhook_events rejects a duplicate event_id');
SELECT throws_ok($$INSERT INTO mono.webhook_events (event_id, event, body, outcome)
                   VALUES ('evt_schema0002', 'owo.fundrequest.approved', '{}', 'maybe')$$,
                 '23514', NULL, 'webhook_events rejects an outcome outside the list');

-- accounts, transactions, account_flows
SELECT lives_ok($$INSERT INTO mono.accounts (account_id, data_status) VALUES ('acc_schema0001', 'AVAILABLE')$$,
                'a valid account is accepted');
SELECT throws_ok($$INSERT INTO mono.accounts (account_id, data_status) VALUES ('acc_schema0002', 'READY')$$,
                 '23514', NULL, 'accounts rejects a data_status outside Mono''s list');
SELECT throws_ok($$INSERT INTO mono.transactions (account_id, id, amount, type, date)
                   VALUES ('acc_schema0001', 'txn_1', 100, 'refund', now())$$,
                 '23514', NULL, 'transactions rejects a type other than debit/credit');
SELECT lives_ok($$INSERT INTO mono.account_flows (account_id, direction, period, amount)
                  VALUES ('acc_schema0001', 'inflow', '2025-06-01', 500000)$$,
                'a valid monthly flow is accepted');
SELECT throws_ok($$INSERT INTO mono.account_flows (account_id, direction, period, amount)
                   VALUES ('acc_schema0001', 'inflow', '2025-07-15', 500000)$$,
                 '23514', NULL, 'account_flows rejects a period that is not the first of a month');
SELECT throws_ok($$INSERT INTO mono.account_flows (account_id, direction, period, amount, source)
                   VALUES ('acc_schema0001', 'inflow', '2025-08-01', 500000, 'guess')$$,
                 '23514', NULL, 'account_flows rejects a source other than api/transactions');
SELECT results_eq($$SELECT period, amount, source FROM mono.inflow WHERE account_id = 'acc_schema0001'$$,
                  $$VALUES ('2025-06-01'::date, 500000::bigint, 'api'::text)$$,
                  'mono.inflow shows the stored monthly inflow');

SELECT * FROM finish();
ROLLBACK;

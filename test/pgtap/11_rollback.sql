-- 11_rollback: nothing leaves before COMMIT (doc/design.md principle 1). A
-- ROLLBACK after mono_charge, mono_link_beneficiary, mono_unlink_beneficiary
-- or a charging trigger, a rolled-back savepoint, an aborted transaction and
-- a rolled-back prepared transaction send nothing; a committed prepared
-- transaction is found by the worker's sweep.
\ir ../lib/tap.psql

\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111111 active`
-- a prepared transaction left by an interrupted run would hold locks forever
SELECT format('ROLLBACK PREPARED %L', gid) FROM pg_prepared_xacts WHERE gid LIKE 'mono_qa_%' \gexec
ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset
SELECT mono_test.wait_until('(SELECT in_flight = 0 FROM mono_worker_status())', '15 seconds') AS idle \gset
TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
         mono.webhook_events RESTART IDENTITY CASCADE;
SET client_min_messages = warning;
DROP TABLE IF EXISTS rb_orders;
RESET client_min_messages;
CREATE TABLE rb_orders (id serial PRIMARY KEY, customer_phone text, total_kobo bigint,
                        note text, order_ref text);
CREATE TRIGGER rb_orders_charge AFTER INSERT ON rb_orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo',
                                         'description=note', 'reference=order_ref');

SELECT plan(24);

-- a live link to unlink later
SELECT mono_link_beneficiary('2348011111111', 'Ada Obi', '000013', '0123456789') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.beneficiaries)$$),
          'setup: a link is accepted by Mono');
\set ignored `"$MONO_TEST_LIB"/sim post beneficiaries/2348011111111/approve`
\set ignored `"$MONO_TEST_LIB"/deliver-webhooks --quiet`
SELECT is(status, 'linked', 'setup: and linked') FROM mono.beneficiaries;

\set total0 `"$MONO_TEST_LIB"/sim total`

------------------------------------------------------------------------
-- ROLLBACK after each entry point
------------------------------------------------------------------------
BEGIN;
SELECT is(status, 'queued', 'inside the transaction mono_charge() queued a row')
  FROM mono_charge('2348022222222', 5000, 'Rolled back charge', 'ROLLBACK0000001');
ROLLBACK;

BEGIN;
SELECT is(status, 'queued', 'inside the transaction mono_link_beneficiary() queued a link')
  FROM mono_link_beneficiary('2348033333333', 'Bola Ade', '000013', '1234567890', '22212345678',
                             5000, 'Rolled back first charge');
SELECT is(count(*), 1::bigint, 'and its first charge') FROM mono.fund_requests WHERE phone = '2348033333333';
ROLLBACK;

BEGIN;
SELECT is(status, 'queued', 'inside the transaction mono_unlink_beneficiary() queued the unlink')
  FROM mono_unlink_beneficiary('2348011111111');
ROLLBACK;

BEGIN;
INSERT INTO rb_orders (customer_phone, total_kobo, note, order_ref)
SELECT '234804444444' || i, 1000 * i, 'Rolled back order ' || i, 'ROLLBACKORD' || i
  FROM generate_series(1, 5) i;
SELECT is(count(*), 5::bigint, 'inside the transaction the trigger queued five charges')
  FROM mono.fund_requests WHERE reference LIKE 'ROLLBACKORD%';
ROLLBACK;

-- a savepoint rolled back inside a committed transaction
BEGIN;
SAVEPOINT s;
SELECT mono_charge('2348055555555', 5000, 'Rolled back to a savepoint', 'ROLLBACKSAVEPT1') AS ignored \gset
ROLLBACK TO SAVEPOINT s;
SELECT mono_charge('2348055555555', 6000, 'Committed after the savepoint', 'COMMITTEDAFTER1') AS ignored \gset
COMMIT;

-- a transaction aborted by an error (psql prints the division by zero)
BEGIN;
SELECT mono_charge('2348066666666', 5000, 'Aborted by an error', 'ABORTED00000001') AS ignored \gset
\set ON_ERROR_STOP 0
SELECT 1 / 0;
\set ON_ERROR_STOP 1
ROLLBACK;

-- a prepared transaction rolled back, and one committed (no wake: the sweep
-- finds it). doc/design.md principle 1 counts 2PC among what the sweep picks up.
\set ON_ERROR_STOP 0
BEGIN;
SELECT mono_charge('2348077777777', 5000, 'Prepared, rolled back', 'PREPAREDROLLBK1') AS ignored \gset
PREPARE TRANSACTION 'mono_qa_rollback';
BEGIN;
SELECT mono_charge('2348077777777', 7000, 'Prepared, committed', 'PREPAREDCOMMIT1') AS ignored \gset
PREPARE TRANSACTION 'mono_qa_commit';
BEGIN;
SELECT mono_link_beneficiary('2348088888888', 'Bola Ade', '000013', '1234567890', NULL,
                             5000, 'Prepared first charge') AS ignored \gset
PREPARE TRANSACTION 'mono_qa_link';
BEGIN;
SELECT mono_unlink_beneficiary('2348011111111') AS ignored \gset
PREPARE TRANSACTION 'mono_qa_unlink';
\set ON_ERROR_STOP 1
SELECT ok(count(*) = 2, 'mono_charge() can be used in a prepared transaction (PREPARE TRANSACTION works)')
  FROM pg_prepared_xacts WHERE gid IN ('mono_qa_rollback', 'mono_qa_commit');
SELECT ok(count(*) = 1, 'so can mono_link_beneficiary() with a first charge')
  FROM pg_prepared_xacts WHERE gid = 'mono_qa_link';
SELECT ok(count(*) = 1, 'and mono_unlink_beneficiary()')
  FROM pg_prepared_xacts WHERE gid = 'mono_qa_unlink';
SELECT count(*) = 1 AS have_link FROM pg_prepared_xacts WHERE gid = 'mono_qa_link' \gset
SELECT count(*) = 1 AS have_unlink FROM pg_prepared_xacts WHERE gid = 'mono_qa_unlink' \gset
\if :have_link
ROLLBACK PREPARED 'mono_qa_link';
\endif
\if :have_unlink
ROLLBACK PREPARED 'mono_qa_unlink';
\endif
SELECT count(*) = 1 AS have_rollback FROM pg_prepared_xacts WHERE gid = 'mono_qa_rollback' \gset
SELECT count(*) = 1 AS have_commit FROM pg_prepared_xacts WHERE gid = 'mono_qa_commit' \gset
\if :have_rollback
ROLLBACK PREPARED 'mono_qa_rollback';
\endif
\if :have_commit
COMMIT PREPARED 'mono_qa_commit';
\endif

------------------------------------------------------------------------
-- The committed work was sent; the rolled-back work was not
------------------------------------------------------------------------
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'COMMITTEDAFTER1')$$),
          'the charge committed after the rolled-back savepoint is sent');
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'PREPAREDCOMMIT1')$$, '3 seconds'),
          'the charge of a committed prepared transaction is sent (found by the sweep)');
-- three sweeps more: anything visible would have been claimed by now
SELECT pg_sleep(3 * 0.2) AS slept \gset

SELECT is(count(*), 0::bigint, 'no row of any rolled-back transaction exists')
  FROM mono.fund_requests
 WHERE reference IN ('ROLLBACK0000001', 'ROLLBACKSAVEPT1', 'ABORTED00000001', 'PREPAREDROLLBK1')
    OR reference LIKE 'ROLLBACKORD%' OR phone = '2348033333333';
SELECT is(count(*), 0::bigint, 'no link of a rolled-back transaction exists')
  FROM mono.beneficiaries WHERE phone IN ('2348033333333', '2348088888888');
SELECT results_eq($$SELECT action::text, status::text FROM mono.beneficiaries WHERE phone = '2348011111111'$$,
                  $$VALUES ('link', 'linked')$$, 'the rolled-back unlink left the link linked');

\set total1 `"$MONO_TEST_LIB"/sim total`
\set reqs `"$MONO_TEST_LIB"/sim get requests`
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?limit=100'`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'log'::jsonb) e WHERE e ->> 'method' = 'POST'
              AND (e ->> 'time') > '0'
              AND e -> 'body' ->> 'reference' IS DISTINCT FROM 'COMMITTEDAFTER1'
              AND e -> 'body' ->> 'reference' IS DISTINCT FROM 'PREPAREDCOMMIT1'
              AND e ->> 'path' <> '/owo/v1/beneficiaries/link'),
          0::bigint, 'the simulator received no POST but the two committed charges and the setup link');
SELECT is(:total1 - :total0, :'have_commit'::boolean::int + 1,
          'exactly the committed charges reached the simulator after the setup');
SELECT is(:'reqs'::jsonb -> 'by_reference' -> 'ROLLBACK0000001', NULL, 'ROLLBACK0000001 (mono_charge) was never sent');
SELECT is(:'reqs'::jsonb -> 'by_reference' -> 'ROLLBACKSAVEPT1', NULL, 'ROLLBACKSAVEPT1 (savepoint) was never sent');
SELECT is(:'reqs'::jsonb -> 'by_reference' -> 'ABORTED00000001', NULL, 'ABORTED00000001 (aborted transaction) was never sent');
SELECT is(:'reqs'::jsonb -> 'by_reference' -> 'PREPAREDROLLBK1', NULL, 'PREPAREDROLLBK1 (rolled-back prepared transaction) was never sent');
SELECT is((SELECT count(*) FROM jsonb_object_keys(:'reqs'::jsonb -> 'by_reference') k WHERE k LIKE 'ROLLBACKORD%'),
          0::bigint, 'no order of the rolled-back trigger insert was sent');
SELECT is((:'reqs'::jsonb -> 'by_path' ->> 'POST /owo/v1/beneficiaries/link')::int, 1,
          'only the setup link was sent: not the rolled-back one');
SELECT is(:'reqs'::jsonb -> 'by_path' -> 'POST /owo/v1/beneficiaries/unlink', NULL,
          'the rolled-back unlink was never sent');

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
         mono.webhook_events RESTART IDENTITY CASCADE;
DROP TABLE rb_orders;

-- 12_trigger: mono_charge_trigger() turns inserted rows into fund requests.
-- An INSERT ... SELECT of 1,000 orders becomes 1,000 fund requests, each
-- reference accepted exactly once by the simulator; a misconfigured trigger
-- (missing column, wrong type, unknown key, missing key, wrong kind of
-- trigger) and a bad row fail with an error naming the column, and queue
-- and send nothing.
\ir setup.psql

SET client_min_messages = warning;
DROP TABLE IF EXISTS tg_orders, tg_bad;
RESET client_min_messages;

CREATE TABLE tg_orders (
    id              serial PRIMARY KEY,
    customer_phone  text NOT NULL,
    total_kobo      bigint NOT NULL,
    note            text NOT NULL,
    order_ref       text NOT NULL
);
CREATE TRIGGER tg_orders_charge AFTER INSERT ON tg_orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo',
                                         'description=note', 'reference=order_ref');

SELECT plan(38);

------------------------------------------------------------------------
-- 1,000 orders in one INSERT ... SELECT
------------------------------------------------------------------------
INSERT INTO tg_orders (customer_phone, total_kobo, note, order_ref)
SELECT '2348' || lpad(i::text, 9, '0'), 10000 + i, 'Order #' || i, 'ORDER' || lpad(i::text, 8, '0')
  FROM generate_series(1, 1000) i;

SELECT is(count(*), 1000::bigint, 'the INSERT ... SELECT queued 1,000 fund requests')
  FROM mono.fund_requests;
SELECT is(count(*), 0::bigint, 'each fund request carries its order''s phone, amount, description and reference')
  FROM tg_orders o
  LEFT JOIN mono.fund_requests f
    ON f.reference = o.order_ref AND f.phone = o.customer_phone AND f.amount = o.total_kobo
   AND f.description = o.note AND f.type = 'onetime' AND f.currency = 'NGN'
 WHERE f.id IS NULL;
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 1000 FROM mono.fund_requests
                                   WHERE status = 'awaiting_authorization')$$, '60 seconds'),
          'all 1,000 reach awaiting_authorization');
SELECT is(count(*), 0::bigint,
          'each has its own redirect_url, or (after an ambiguous send) says why it has none')
  FROM mono.fund_requests
 WHERE NOT (redirect_url LIKE 'https://wa.me/%' OR
            (http_status = 409 AND last_error LIKE 'Mono already had this reference%'));
SELECT is(count(DISTINCT redirect_url), count(redirect_url), 'no two share a redirect_url')
  FROM mono.fund_requests;
SELECT is(count(*), 0::bigint, 'none failed and none is left in the outbox')
  FROM mono.fund_requests WHERE status <> 'awaiting_authorization';

\set reqs `"$MONO_TEST_LIB"/sim get requests`
CREATE TEMP TABLE by_ref AS
SELECT key AS reference, (value ->> 'received')::int AS received, (value ->> 'accepted')::int AS accepted
  FROM jsonb_each(:'reqs'::jsonb -> 'by_reference');
SELECT is(count(*), 1000::bigint, 'the simulator saw 1,000 references') FROM by_ref;
SELECT is(count(*), 1000::bigint, 'every order reference accepted exactly once (by_reference accepted == 1)')
  FROM by_ref b JOIN tg_orders o ON o.order_ref = b.reference WHERE b.accepted = 1;
-- A burst on fresh connections can overflow the simulator's listen backlog:
-- a request then reaches Mono late or not at all, the worker settles it by a
-- read and sends it again under the same reference (received 2, accepted 1).
SELECT is(count(*), 0::bigint, 'no reference was accepted twice') FROM by_ref WHERE accepted > 1;
SELECT diag(format('%s references received more than once (ambiguous sends settled by a read)',
                   count(*))) FROM by_ref WHERE received > 1;
SELECT is(count(*), 0::bigint, 'no reference other than the 1,000 orders was sent')
  FROM by_ref b LEFT JOIN tg_orders o ON o.order_ref = b.reference WHERE o.id IS NULL;

------------------------------------------------------------------------
-- A row the trigger cannot charge: the INSERT fails, nothing is queued
------------------------------------------------------------------------
SELECT count(*) AS fr0 FROM mono.fund_requests \gset

SELECT throws_ok($$INSERT INTO tg_orders (customer_phone, total_kobo, note, order_ref)
                   VALUES ('2348012345678', 0, 'Free order', 'ORDERZERO001')$$,
                 '22023', 'invalid amount 0', 'an order of 0 kobo is refused: invalid amount 0');
SELECT throws_ok($$INSERT INTO tg_orders (customer_phone, total_kobo, note, order_ref)
                   VALUES ('12345', 500, 'Bad phone', 'ORDERBADPHONE1')$$,
                 '22023', 'invalid phone number "12345"', 'an order with a bad phone is refused');
SELECT throws_ok($$INSERT INTO tg_orders (customer_phone, total_kobo, note, order_ref)
                   VALUES ('2348012345678', 500, 'Reused reference', 'ORDER00000001')$$,
                 '23505', 'reference "ORDER00000001" is already used',
                 'an order reusing a reference already charged is refused');
SELECT throws_ok($$INSERT INTO tg_orders (customer_phone, total_kobo, note, order_ref)
                   SELECT '2348012345678', 500, 'Batch', 'ORDERBATCH' || i FROM generate_series(1, 3) i
                   UNION ALL SELECT '2348012345678', -1, 'Batch', 'ORDERBATCH4'$$,
                 '22023', 'invalid amount -1',
                 'one bad row fails the whole INSERT ... SELECT');

-- two rows of one statement with the same reference
SELECT throws_ok($$INSERT INTO tg_orders (customer_phone, total_kobo, note, order_ref)
                   VALUES ('2348012345678', 500, 'Twice', 'ORDERTWICE01'), ('2348012345678', 600, 'Twice', 'ORDERTWICE01')$$,
                 '23505', 'reference "ORDERTWICE01" is already used',
                 'two rows of one INSERT with the same reference are refused');

------------------------------------------------------------------------
-- COPY fires the trigger too
------------------------------------------------------------------------
SELECT count(*) AS fr_before_copy FROM mono.fund_requests \gset
\set ON_ERROR_STOP 0
COPY tg_orders (customer_phone, total_kobo, note, order_ref) FROM STDIN;
2348011111111	7000	Copied order 1	ORDERCOPY0001
2348011111112	7100	Copied order 2	ORDERCOPY0002
\.
\set ON_ERROR_STOP 1
SELECT is(count(*), 2::bigint, 'an autocommit COPY of two orders is committed')
  FROM tg_orders WHERE order_ref LIKE 'ORDERCOPY%';
SELECT is(count(*), 2::bigint, 'and queues their two fund requests')
  FROM mono.fund_requests WHERE reference LIKE 'ORDERCOPY%';
BEGIN;
\set ON_ERROR_STOP 0
COPY tg_orders (customer_phone, total_kobo, note, order_ref) FROM STDIN;
2348011111113	7200	Copied order 3	ORDERCOPY0003
\.
SELECT is(count(*), 1::bigint, 'inside a transaction, the fund request of a COPY is there once the COPY returns')
  FROM mono.fund_requests WHERE reference = 'ORDERCOPY0003';
\set ON_ERROR_STOP 1
ROLLBACK;
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 2 FROM mono.fund_requests
                                   WHERE reference LIKE 'ORDERCOPY%' AND status = 'awaiting_authorization')$$, '5 seconds'),
          'the copied orders are sent');
SELECT count(*) AS fr0 FROM mono.fund_requests \gset

------------------------------------------------------------------------
-- Misconfigured triggers: a clear error naming the column or key
------------------------------------------------------------------------
CREATE TABLE tg_bad (id serial, customer_phone text, total_kobo bigint, total_naira numeric,
                     note text, order_ref text, plan text, every smallint, due date);

CREATE TRIGGER tg_bad_charge AFTER INSERT ON tg_bad FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo',
                                         'description=notes');
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, 'x')$$,
                 '42703', 'mono_charge_trigger: column "notes" does not exist in table "tg_bad"',
                 'a missing column: 42703 naming the column and the table');
SELECT is(r.hint, 'Fix the argument "description=notes" of the trigger.', 'its hint names the argument to fix')
  FROM mono_test.run($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, 'x')$$) r;
DROP TRIGGER tg_bad_charge ON tg_bad;

CREATE TRIGGER tg_bad_charge AFTER INSERT ON tg_bad FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_naira',
                                         'description=note');
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_naira, note) VALUES ('2348012345678', 5.5, 'x')$$,
                 '42804', 'mono_charge_trigger: column "total_naira" has type numeric, which cannot be the amount',
                 'a column of the wrong type: 42804 naming the column, its type and the key');
SELECT is(r.hint, 'Map amount to a column of type smallint, integer or bigint.', 'its hint names the accepted types')
  FROM mono_test.run($$INSERT INTO tg_bad (customer_phone, total_naira, note) VALUES ('2348012345678', 5.5, 'x')$$) r;
DROP TRIGGER tg_bad_charge ON tg_bad;

CREATE TRIGGER tg_bad_charge AFTER INSERT ON tg_bad FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo',
                                         'description=note', 'start_date=note');
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, 'x')$$,
                 '42804', 'mono_charge_trigger: column "note" has type text, which cannot be the start_date',
                 'a text column mapped to start_date: 42804 naming the column');
DROP TRIGGER tg_bad_charge ON tg_bad;

CREATE TRIGGER tg_bad_charge AFTER INSERT ON tg_bad FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo',
                                         'description=note', 'colour=note');
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, 'x')$$,
                 '22023', 'invalid mono_charge_trigger argument "colour=note"',
                 'an unknown key: 22023 naming the argument');
SELECT ok(r.hint LIKE '%phone, amount, description, reference, period, interval, start_date, end_date, currency%',
          'its hint lists the keys')
  FROM mono_test.run($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, 'x')$$) r;
DROP TRIGGER tg_bad_charge ON tg_bad;

CREATE TRIGGER tg_bad_charge AFTER INSERT ON tg_bad FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount');
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, 'x')$$,
                 '22023', 'invalid mono_charge_trigger argument "amount"',
                 'an argument without "=column" is refused');
DROP TRIGGER tg_bad_charge ON tg_bad;

CREATE TRIGGER tg_bad_charge AFTER INSERT ON tg_bad FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo');
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, 'x')$$,
                 '22023', 'mono_charge_trigger needs a column for "description"',
                 'a required key left out: the error names it');
DROP TRIGGER tg_bad_charge ON tg_bad;

CREATE TRIGGER tg_bad_charge AFTER INSERT ON tg_bad FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo', 'description=note');
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, NULL)$$,
                 '22023', 'description must not be null',
                 'a row whose description column is NULL is refused');
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES (NULL, 500, 'x')$$,
                 '22023', 'phone must not be null',
                 'a row whose phone column is NULL is refused');
DROP TRIGGER tg_bad_charge ON tg_bad;

CREATE TRIGGER tg_bad_charge BEFORE INSERT ON tg_bad FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo', 'description=note');
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, 'x')$$,
                 '39P01', 'mono_charge_trigger() must be an AFTER INSERT ... FOR EACH ROW trigger',
                 'a BEFORE trigger is refused');
DROP TRIGGER tg_bad_charge ON tg_bad;

CREATE TRIGGER tg_bad_charge AFTER INSERT ON tg_bad FOR EACH STATEMENT
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo', 'description=note');
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, 'x')$$,
                 '39P01', 'mono_charge_trigger() must be an AFTER INSERT ... FOR EACH ROW trigger',
                 'a statement-level trigger is refused');
DROP TRIGGER tg_bad_charge ON tg_bad;

CREATE TRIGGER tg_bad_charge AFTER UPDATE ON tg_bad FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo', 'description=note');
INSERT INTO tg_bad (customer_phone, total_kobo, note) VALUES ('2348012345678', 500, 'x');
SELECT throws_ok($$UPDATE tg_bad SET note = 'y'$$,
                 '39P01', 'mono_charge_trigger() must be an AFTER INSERT ... FOR EACH ROW trigger',
                 'an UPDATE trigger is refused');
DROP TRIGGER tg_bad_charge ON tg_bad;

SELECT throws_ok($$SELECT mono_charge_trigger()$$, '39P01', 'mono_charge_trigger() must be called as a trigger',
                 'calling the trigger function directly is refused');

-- date and smallint columns: a recurring charge from a row
CREATE TRIGGER tg_bad_charge AFTER INSERT ON tg_bad FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo', 'description=note',
                                         'reference=order_ref', 'period=plan', 'interval=every',
                                         'start_date=due');
BEGIN;
INSERT INTO tg_bad (customer_phone, total_kobo, note, order_ref, plan, every, due)
VALUES ('2348012345678', 500, 'Fortnightly box', 'ORDERDATE0001', 'week', 2, '2031-01-01');
SELECT results_eq($$SELECT type::text, period::text, "interval"::int, start_date FROM mono.fund_requests
                     WHERE reference = 'ORDERDATE0001'$$,
                  $$VALUES ('recurring', 'week', 2, '2031-01-01'::date::timestamptz)$$,
                  'period, a smallint interval and a date start_date map to a recurring charge');
ROLLBACK;
SELECT throws_ok($$INSERT INTO tg_bad (customer_phone, total_kobo, note, order_ref, plan, every, due)
                   VALUES ('2348012345678', 500, 'x', 'ORDERDATE0002', 'fortnight', 1, '2031-01-01')$$,
                 '22023', 'invalid period "fortnight"', 'a row with a bad period is refused');
DROP TRIGGER tg_bad_charge ON tg_bad;

------------------------------------------------------------------------
-- Nothing of the refused inserts was queued or sent
------------------------------------------------------------------------
SELECT pg_sleep(3 * 0.2) AS slept \gset
SELECT is(count(*), :fr0::bigint, 'no fund request was queued by any refused insert')
  FROM mono.fund_requests;
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT is(array_agg(k), NULL, 'and none of their references was sent')
  FROM jsonb_object_keys(:'reqs'::jsonb -> 'by_reference') k
 WHERE k ~ '^ORDER(ZERO|BADPHONE|BATCH|DATE|TWICE)' OR k NOT LIKE 'ORDER%';

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql
DROP TABLE tg_orders, tg_bad, by_ref;

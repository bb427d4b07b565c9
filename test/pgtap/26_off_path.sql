-- 26_off_path (issue 22, Direct Charge): where Mono leaves the happy path,
-- no charge fails, doubles, hangs or is misreported because of a refused
-- key, a refusal in other words, a spelling, a clock, an ignored filter or
-- a hostile answer. Each block is one item of the issue; each failed on
-- 0.2.0 (see test/README.md).
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348011111111 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348022222222 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348033333333 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348044444444 active`
-- (KEYREFUSED0002 has its own phone: Mono sends a phone's next prompt only
-- when none of its earlier ones awaits the customer)
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111112 active`
ALTER SYSTEM SET mono_pay.retry_max = '1s';
ALTER SYSTEM SET mono_pay.poll_base = '300ms';
ALTER SYSTEM SET mono_pay.poll_max = '1s';
SELECT mono_test.reload() AS reloaded \gset
SET TimeZone = 'UTC';

SELECT plan(31);

-- A figure of mono.worker_counters() (0 with a library that has none: 0.2.0)
CREATE FUNCTION pg_temp.counter(p_name text) RETURNS float8 LANGUAGE plpgsql AS $f$
DECLARE
    v float8;
BEGIN
    IF to_regprocedure('mono.worker_counters()') IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE 'SELECT value FROM mono.worker_counters() WHERE name = $1' INTO v USING p_name;
    RETURN v;
END;
$f$;

CREATE FUNCTION pg_temp.deliver_all() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    w jsonb;
    n bigint := 0;
BEGIN
    FOR w IN SELECT value FROM jsonb_array_elements(current_setting('qa.hooks')::jsonb -> 'webhooks') LOOP
        PERFORM mono_handle_webhook(w ->> 'body', w -> 'headers' ->> 'mono-webhook-secret');
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
SELECT pg_temp.counter('key_refusals') AS refusals_before \gset

------------------------------------------------------------------------
-- 1. A refused key (401, then 403): no row fails, no attempt counts; the
-- worker says so, and goes on by itself once Mono takes the key
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim config '{"refuse_key": 401}'`
SELECT mono_charge('2348011111111', 5000, 'Refused key', 'KEYREFUSED0001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT state LIKE '%Mono refused the payments app: HTTP 401%'
                                    FROM mono_worker_status())$$),
          'a 401: mono_worker_status() says the payments app''s key is refused');
SELECT ok(mono_test.wait_until($$(SELECT status = 'queued' AND attempts = 0 AND last_error LIKE 'HTTP 401%'
                                    FROM mono.fund_requests WHERE reference = 'KEYREFUSED0001')$$),
          'the charge goes back to queued, and the refused attempt does not count');
SELECT ok(last_error LIKE '%refused the payments app''s key%', 'last_error says the key was refused: ' || last_error)
  FROM mono_worker_status();
SELECT is(pg_temp.counter('key_refused'), 1::float8, 'mono.worker_counters(): key_refused is 1');
\set ignored `"$MONO_TEST_LIB"/sim config '{"refuse_key": 403}'`
SELECT pg_sleep(1.5) AS slept \gset
SELECT results_eq($$SELECT status::text, attempts FROM mono.fund_requests WHERE reference = 'KEYREFUSED0001'$$,
                  $$VALUES ('queued', 0)$$,
                  'a 403 on the probes: still queued, still no attempt counted');
SELECT is(pg_temp.counter('key_refusals') - :refusals_before, 1::float8, 'one outage (one WARNING): key_refusals grew by 1');
\set ignored `"$MONO_TEST_LIB"/sim config '{"refuse_key": null}'`
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' AND attempts = 1
                                    FROM mono.fund_requests WHERE reference = 'KEYREFUSED0001')$$),
          'Mono takes the key again: a probe sends the charge, in one counted attempt');
SELECT ok(mono_test.wait_until($$(SELECT state NOT LIKE '%refused%' FROM mono_worker_status())$$),
          'and the worker''s state no longer says the key is refused');

-- a reload that changes the key resumes at once (no probe needed)
ALTER SYSTEM SET mono_pay.secret_key = 'sk_wrong_key';
SELECT mono_test.reload() AS reloaded \gset
SELECT mono_charge('2348011111112', 5000, 'Wrong key', 'KEYREFUSED0002') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT state LIKE '%HTTP 401%' FROM mono_worker_status())$$),
          'a wrong key: refused (401)');
ALTER SYSTEM RESET mono_pay.secret_key;
SELECT mono_test.reload() AS reloaded \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' AND attempts = 1
                                    FROM mono.fund_requests WHERE reference = 'KEYREFUSED0002')$$),
          'the reload with the right key: the charge goes, one attempt counted');

------------------------------------------------------------------------
-- 2. After an ambiguous attempt, a re-send refused as "Duplicate
-- transaction" (400, no field errors) is settled by a read, never failed
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim config '{"duplicate_as_400": true}'`
-- (a timeout after the body: libcurl does not re-send it on its own)
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"delay","delay_s":3,"count":1,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'`
SELECT mono_charge('2348022222222', 7000, 'Duplicate in words', 'DUPLICATE400001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT attempts >= 2 AND status NOT IN ('queued', 'sending', 'unknown')
                                    FROM mono.fund_requests WHERE reference = 'DUPLICATE400001')$$, '20 seconds'),
          'the ambiguous attempt, then a re-send refused with 400 "Duplicate transaction"');
SELECT isnt(status::text, 'failed', 'the request is not failed: a read decided (' || status || ': ' || last_error || ')')
  FROM mono.fund_requests WHERE reference = 'DUPLICATE400001';
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/DUPLICATE400001/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/DUPLICATE400001/debit '{"status":"successful"}'`
SELECT ok(mono_test.wait_until($$(SELECT f.status = 'completed' AND count(p.id) = 1
                                    FROM mono.fund_requests f JOIN mono.payments p ON p.fund_request_id = f.id
                                   WHERE f.reference = 'DUPLICATE400001' GROUP BY f.status)$$),
          'the customer pays: the request completes with its payment');

-- a request failed locally that Mono reports approved takes Mono's word
UPDATE mono.fund_requests SET status = 'failed', last_error = 'failed locally (test)'
 WHERE reference = 'KEYREFUSED0002';
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/KEYREFUSED0002/approve`
\set hooks `"$MONO_TEST_LIB"/sim get 'webhooks?since=0'`
SELECT set_config('qa.hooks', :'hooks', false) AS ignored \gset
SELECT pg_temp.deliver_all() AS delivered \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'approved' FROM mono.fund_requests
                                   WHERE reference = 'KEYREFUSED0002')$$),
          'a request failed locally that Mono reports approved becomes approved');
SELECT ok(last_error LIKE 'Mono reports it created after mono_pay had failed it: failed locally (test)', 'saying so: ' || last_error)
  FROM mono.fund_requests WHERE reference = 'KEYREFUSED0002';

-- the upgrade case: a 300-character description is failed for its length
-- (as 0.1.0 stored it: the 255-character rule came NOT VALID with 0.2.0)
BEGIN;
ALTER DOMAIN mono.description DROP CONSTRAINT description_check;
INSERT INTO mono.fund_requests (reference, phone, amount, description, type, status)
VALUES ('LONGDESCRIPTION1', '2348044444444', 5000, repeat('d', 300), 'onetime', 'queued');
ALTER DOMAIN mono.description ADD CONSTRAINT description_check
    CHECK (char_length(VALUE) <= 255 AND NOT mono.is_blank(VALUE)) NOT VALID;
COMMIT;
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.fund_requests
                                   WHERE reference = 'LONGDESCRIPTION1')$$),
          'a 300-character description cannot be sent');
SELECT is(last_error, 'mono_pay could not build a request Mono takes from this row: its description is longer than the 255 characters Mono takes',
          'and the reason is its length, not JSON')
  FROM mono.fund_requests WHERE reference = 'LONGDESCRIPTION1';

------------------------------------------------------------------------
-- 3. Statuses in capitals (polled reads, webhooks lost); a status that
-- cannot be mapped is kept; a declined request is cancelled
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim config '{"webhooks_drop": true, "status_case": "upper"}'`
SELECT mono_charge('2348033333333', 9000, 'Capitals', 'CAPITALS0000001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'CAPITALS0000001')$$),
          'setup: a charge awaits the customer, its webhooks dropped');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/CAPITALS0000001/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/CAPITALS0000001/debit '{"status":"successful"}'`
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 1 FROM mono.payments p JOIN mono.fund_requests f
                                     ON f.id = p.fund_request_id
                                   WHERE f.reference = 'CAPITALS0000001' AND p.status = 'successful')$$),
          'a polled payment SUCCESSFUL creates the payment');
SELECT ok(mono_test.wait_until($$(SELECT status = 'completed' FROM mono.fund_requests
                                   WHERE reference = 'CAPITALS0000001')$$),
          'and the request polled COMPLETED is completed');

\set ignored `"$MONO_TEST_LIB"/sim config '{"status_case": "lower"}'`
SELECT mono_charge('2348033333333', 9100, 'Declined', 'DECLINED0000001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'DECLINED0000001')$$), 'setup: a second charge awaits');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/DECLINED0000001/status '{"status":"declined"}'`
SELECT ok(mono_test.wait_until($$(SELECT status = 'cancelled' AND mono_status = 'declined'
                                    FROM mono.fund_requests WHERE reference = 'DECLINED0000001')$$),
          'declined in WhatsApp: the request is cancelled, mono_status declined');

SELECT mono_charge('2348033333333', 9200, 'On hold', 'ONHOLD000000001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'ONHOLD000000001')$$), 'setup: a third charge awaits');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/ONHOLD000000001/status '{"status":"on_hold"}'`
SELECT ok(mono_test.wait_until($$(SELECT mono_status = 'on_hold' FROM mono.fund_requests
                                   WHERE reference = 'ONHOLD000000001')$$),
          'a status that cannot be mapped is kept in mono_status');
SELECT ok(mono_test.wait_until($$(SELECT count(*) >= 1 FROM mono.orphans
                                   WHERE kind = 'unknown_status' AND reference = 'ONHOLD000000001')$$),
          'and its event is kept as unknown, listed in mono.orphans');

------------------------------------------------------------------------
-- 4. Time: a Lagos calendar day is sent as that day; missed waits for
-- the customer's approval and for Mono's retries
------------------------------------------------------------------------
SET TimeZone = 'Africa/Lagos';
SELECT mono_charge('2348044444444', 5000, 'New year plan', 'LAGOSDATE000001', 'month', 1,
                   '2031-01-01', '2031-12-01') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status <> 'queued' AND status <> 'sending' FROM mono.fund_requests
                                   WHERE reference = 'LAGOSDATE000001')$$), 'setup: the plan is sent');
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/fund-requests&limit=100'`
SELECT is(e -> 'body' -> 'schedule' ->> 'start_date', '2031-01-01',
          'a Lagos ''2031-01-01'' is sent as 2031-01-01 (not 2030-12-31T23:00:00Z)')
  FROM jsonb_array_elements(:'log'::jsonb) e
 WHERE e -> 'body' ->> 'reference' = 'LAGOSDATE000001' LIMIT 1;
SET TimeZone = 'UTC';

-- awaiting approval, two days past due: not missed
SELECT mono_test.backdate(id, now() - interval '3 days') AS awaiting_id
  FROM mono.fund_requests WHERE reference = 'LAGOSDATE000001' \gset
SELECT mono.maintain();
SELECT is(count(*) FILTER (WHERE status = 'missed'), 0::bigint,
          'a plan awaiting the customer''s approval misses nothing')
  FROM mono.schedule WHERE fund_request_id = :awaiting_id;

-- an approved, active weekly plan two days past due: Mono may still be
-- collecting (its retries take days): not missed under the default grace
UPDATE mono.fund_requests SET status = 'active' WHERE id = :awaiting_id;
UPDATE mono.schedule SET status = 'due' WHERE fund_request_id = :awaiting_id AND due_at <= now();
SELECT mono.maintain();
SELECT is(count(*) FILTER (WHERE status = 'missed'), 0::bigint,
          'an active plan two days past due is not missed (schedule_grace 5 days)')
  FROM mono.schedule WHERE fund_request_id = :awaiting_id;

-- a plan held back until its start date passed is not sent with a past date
BEGIN;
SELECT id AS held_id FROM mono_charge('2348044444444', 5000, 'Held back', 'HELDBACK0000001', 'week', 1,
                                      current_date + 1) \gset
UPDATE mono.fund_requests SET start_date = date_trunc('day', now()) - interval '1 day',
       created_at = now() - interval '2 days' WHERE id = :held_id;
COMMIT;
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.fund_requests
                                   WHERE reference = 'HELDBACK0000001')$$),
          'a plan whose start date passed while it waited fails');
SELECT ok(last_error LIKE 'its start_date % passed while it waited to be sent%' AND attempts = 0,
          'saying so, with nothing sent: ' || last_error)
  FROM mono.fund_requests WHERE reference = 'HELDBACK0000001';

SELECT * FROM finish();
\ir clean.psql

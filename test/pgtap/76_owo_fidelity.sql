-- 76_owo_fidelity: the worker against Mono's documented behaviour (issue
-- 11), with the simulator's defaults as Mono documents them: beneficiary
-- list items {id, phone, name} without status, lists paged by limit and
-- offset, no webhook for a pause in WhatsApp. Webhooks are dropped: what
-- the worker learns, it learns by reading.
--   1. links settle from reads by the documented shape; an ambiguous link
--      is never POSTed twice; an unlink made in WhatsApp is seen; an object
--      Mono holds under our reference with another amount is not adopted
--   2. a phone with more than 100 requests, and a schedule past 100
--      payments, are read page by page (100 a page)
--   5. a phone's second request waits until the customer acted on the
--      first (one prompt per phone); other phones pass by
--   6. a status Mono reports that mono_pay does not know (paused) is kept
--      in mono_status, shown in mono.instalments, and stops missed alerts
--   7. a 400 naming the reference, in words without "duplicate", is
--      settled by a read
--  10. mono_link_beneficiary() sends a recurring first charge inside the
--      link, in the shape of Mono's own link example
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim config '{"webhooks_drop": true}'`
\set ignored `for p in 2348076000001 2348076000002 2348076000003 2348076000004 2348076000005 2348076000006 2348076000007 2348076000008 2348076000009 2348076000010; do "$MONO_TEST_LIB"/sim user $p active; done`
ALTER SYSTEM SET mono_pay.poll_base = '300ms';
ALTER SYSTEM SET mono_pay.poll_max = '1s';
SELECT mono_test.reload() AS reloaded \gset
SET TimeZone = 'UTC';

SELECT plan(33);

-- How often the simulator received and accepted (HTTP 202) a reference, and
-- how many requests it got on a path, from GET /_sim/requests.
CREATE FUNCTION pg_temp.reqs() RETURNS jsonb LANGUAGE sql AS $$
    SELECT current_setting('qa.reqs')::jsonb
$$;

------------------------------------------------------------------------
-- 5. one prompt per phone at a time, in queue order; other phones pass by
------------------------------------------------------------------------
BEGIN;
SELECT mono_charge('2348076000005', 1000, 'First of the phone', 'ORDER5FIRST01') AS ignored \gset
SELECT mono_charge('2348076000005', 2000, 'Second of the phone', 'ORDER5SECOND1') AS ignored \gset
COMMIT;
SELECT mono_charge('2348076000006', 3000, 'Another phone', 'ORDER5OTHER01') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT bool_and(status = 'awaiting_authorization') FROM mono.fund_requests
                                   WHERE reference IN ('ORDER5FIRST01', 'ORDER5OTHER01'))$$),
          'the phone''s first request and another phone''s request are sent');
SELECT ok(mono_test.wait_until($$(SELECT sent_total >= 2 FROM mono_worker_status())$$), 'setup: the worker went on');
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT set_config('qa.reqs', :'reqs', false) AS ignored \gset
SELECT results_eq($$SELECT status::text, pg_temp.reqs() -> 'by_reference' ? 'ORDER5SECOND1'
                      FROM mono.fund_requests WHERE reference = 'ORDER5SECOND1'$$,
                  $$VALUES ('queued', false)$$,
                  'the second request of the phone waits, unsent, while the first prompt awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/ORDER5FIRST01/approve`
SELECT ok(mono_test.wait_until($$(SELECT status = 'approved' FROM mono.fund_requests WHERE reference = 'ORDER5FIRST01')$$),
          'the customer approves the first (seen by polling)');
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'ORDER5SECOND1')$$),
          'then the second is sent');

------------------------------------------------------------------------
-- 1. an ambiguous link (the answer lost: a timeout after the body) is
-- settled by a read and never sent twice; linked and unlinked by reads
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"delay","delay_s":3,"count":1,"method":"POST","path_prefix":"/owo/v1/beneficiaries/link"}'`
\set before `"$MONO_TEST_LIB"/sim count 'POST /owo/v1/beneficiaries/link'`
SELECT mono_link_beneficiary('2348076000001', 'Ada Obi', '000013', '0123456789') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'unknown' FROM mono.beneficiaries WHERE phone = '2348076000001')$$, '5 seconds'),
          'a link whose answer is lost is unknown');
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.beneficiaries WHERE phone = '2348076000001')$$),
          'the settling read finds no link under the phone: the link waits for the customer');
SELECT ok(mono_test.wait_until($$(SELECT polls >= 2 FROM mono.beneficiaries WHERE phone = '2348076000001')$$),
          'setup: it is read back again and again');
\set after `"$MONO_TEST_LIB"/sim count 'POST /owo/v1/beneficiaries/link'`
SELECT is(:after - :before, 1, 'the link was POSTed once: the customer got one WhatsApp prompt');
\set ignored `"$MONO_TEST_LIB"/sim post beneficiaries/2348076000001/approve`
SELECT ok(mono_test.wait_until($$(SELECT status = 'linked' AND mono_id LIKE 'ben_%' FROM mono.beneficiaries
                                   WHERE phone = '2348076000001')$$),
          'the customer completes it: a read of {id, phone, name} items sees it linked, with its ben_ id');
SELECT json_build_object('id', mono_id)::text AS unlink_body FROM mono.beneficiaries WHERE phone = '2348076000001' \gset
\set ignored `curl -sf -H "mono-sec-key: $MONO_SECRET_KEY" -H 'Content-Type: application/json' -d :'unlink_body' "$MONO_SIM_URL/owo/v1/beneficiaries/unlink"`
SELECT ok(mono_test.wait_until($$(SELECT status = 'unlinked' FROM mono.beneficiaries WHERE phone = '2348076000001')$$),
          'the customer unlinks in WhatsApp: the link missing from its phone''s list is seen unlinked');

------------------------------------------------------------------------
-- 1 and 7. a 409 or a 400 naming the reference is settled by a read;
-- a request Mono holds under our reference with another amount is not ours
------------------------------------------------------------------------
\set ignored `curl -sf -H "mono-sec-key: $MONO_SECRET_KEY" -H 'Content-Type: application/json' -d '{"phone":"2348076000007","reference":"FOREIGN7REF01","type":"onetime","description":"Not ours","amount":999,"currency":"NGN"}' "$MONO_SIM_URL/owo/v1/fund-requests"`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/FOREIGN7REF01/approve`
-- the answer (Mono's 409) is lost: the settling read decides
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"delay","delay_s":3,"count":1,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'`
SELECT mono_charge('2348076000007', 5000, 'Ours', 'FOREIGN7REF01') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.fund_requests WHERE reference = 'FOREIGN7REF01')$$),
          'a lost answer; the settling read shows our reference with another amount: failed, not adopted');
SELECT results_eq($$SELECT mono_id IS NULL, last_error LIKE 'Mono holds reference FOREIGN7REF01 for another request%'
                      FROM mono.fund_requests WHERE reference = 'FOREIGN7REF01'$$,
                  $$VALUES (true, true)$$, 'no Mono id taken; last_error says why');

\set ignored `curl -sf -H "mono-sec-key: $MONO_SECRET_KEY" -H 'Content-Type: application/json' -d '{"phone":"2348076000008","reference":"TAKEN7REF0001","type":"onetime","description":"Ours, sent earlier","amount":5000,"currency":"NGN"}' "$MONO_SIM_URL/owo/v1/fund-requests"`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/TAKEN7REF0001/approve`
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"400","count":1,"method":"POST","path_prefix":"/owo/v1/fund-requests","message":"Invalid payload","errors":[{"field":"reference","message":"reference is taken"}]}'`
SELECT mono_charge('2348076000008', 5000, 'Ours, sent earlier', 'TAKEN7REF0001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'approved' FROM mono.fund_requests WHERE reference = 'TAKEN7REF0001')$$),
          'a 400 naming the reference ("reference is taken") is settled by a read: Mono has it, approved');
SELECT results_eq($$SELECT mono_id LIKE 'frq_%', mono_status, http_status FROM mono.fund_requests WHERE reference = 'TAKEN7REF0001'$$,
                  $$VALUES (true, 'approved', 400)$$, 'with its frq_ id, Mono''s status and the 400 kept');

------------------------------------------------------------------------
-- 2. more than 100 requests for a phone: ours is on the second page
------------------------------------------------------------------------
\set ignored `for i in $(seq 101 205); do curl -sf -H "mono-sec-key: $MONO_SECRET_KEY" -H 'Content-Type: application/json' -d "{\"phone\":\"2348076000002\",\"reference\":\"MANY2REF00$i\",\"type\":\"onetime\",\"description\":\"Older\",\"amount\":100,\"currency\":\"NGN\"}" "$MONO_SIM_URL/owo/v1/fund-requests" >/dev/null && "$MONO_TEST_LIB"/sim post fund-requests/MANY2REF00$i/approve >/dev/null; done`
SELECT mono_charge('2348076000002', 5000, 'The 106th', 'MANY2OURS0001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'MANY2OURS0001')$$),
          'setup: our request awaits the customer; the phone has 105 others at Mono');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/MANY2OURS0001/approve`
SELECT ok(mono_test.wait_until($$(SELECT status = 'approved' AND mono_id LIKE 'frq_%' FROM mono.fund_requests
                                   WHERE reference = 'MANY2OURS0001')$$, '20 seconds'),
          'approved, found on the second page of the phone''s list');
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/fund-requests&limit=400'`
SELECT ok(bool_and((e -> 'query' ->> 'limit') = '100'), 'the list is read 100 at a time')
  FROM jsonb_array_elements(:'log'::jsonb) e WHERE e ->> 'method' = 'GET' AND e -> 'query' ->> 'phone' = '2348076000002';
SELECT ok(bool_or((e -> 'query' ->> 'offset') = '100'), 'with offset 100 for the second page')
  FROM jsonb_array_elements(:'log'::jsonb) e WHERE e ->> 'method' = 'GET' AND e -> 'query' ->> 'phone' = '2348076000002';

------------------------------------------------------------------------
-- 2. a daily schedule past 100 payments
------------------------------------------------------------------------
SELECT mono_charge('2348076000003', 1000, 'Daily', 'DAILY2REF0001', 'day', 1, now()) AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'DAILY2REF0001')$$),
          'setup: a daily request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/DAILY2REF0001/approve`
SELECT ok(mono_test.wait_until($$(SELECT status = 'active' FROM mono.fund_requests WHERE reference = 'DAILY2REF0001')$$),
          'setup: active (its start date is now)');
\set ignored `for i in $(seq 1 130); do "$MONO_TEST_LIB"/sim post fund-requests/DAILY2REF0001/debit '{"status":"successful"}' >/dev/null; done`
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 130 FROM mono.payments p JOIN mono.fund_requests f ON f.id = p.fund_request_id
                                   WHERE f.reference = 'DAILY2REF0001')$$, '20 seconds'),
          'all 130 payments are stored, read 100 a page');

------------------------------------------------------------------------
-- 6. a pause in WhatsApp (no webhook): mono_status, no missed alert
------------------------------------------------------------------------
ALTER SYSTEM SET mono_pay.schedule_grace = '30 days';
SELECT mono_test.reload() AS reloaded \gset
SELECT mono_test.backdate(id, date_trunc('hour', now()) - interval '3 days') AS paused_id
  FROM mono_charge('2348076000004', 1000, 'Daily, paused', 'PAUSED6REF001', 'day', 1, now()) \gset
SELECT mono_test.backdate(id, date_trunc('hour', now()) - interval '3 days') AS live_id
  FROM mono_charge('2348076000009', 1000, 'Daily, live', 'LIVE6REF00001', 'day', 1, now()) \gset
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 2 FROM mono.fund_requests
                                   WHERE reference IN ('PAUSED6REF001', 'LIVE6REF00001') AND status = 'awaiting_authorization')$$),
          'setup: two daily requests, three days in the past, await the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/PAUSED6REF001/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/LIVE6REF00001/approve`
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 2 FROM mono.fund_requests
                                   WHERE reference IN ('PAUSED6REF001', 'LIVE6REF00001') AND status = 'active')$$),
          'setup: both active');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/PAUSED6REF001/status '{"status":"paused"}'`
SELECT ok(mono_test.wait_until($$(SELECT mono_status = 'paused' FROM mono.fund_requests WHERE reference = 'PAUSED6REF001')$$),
          'the customer pauses in WhatsApp: a read stores the status Mono reported (mono_status paused)');
SELECT is(status::text, 'active', 'its status stays the last one mono_pay knows')
  FROM mono.fund_requests WHERE reference = 'PAUSED6REF001';
ALTER SYSTEM SET mono_pay.schedule_grace = '1 second';
SELECT mono_test.reload() AS reloaded \gset
SELECT ok(mono_test.wait_until($$(SELECT count(*) >= 2 FROM mono.schedule WHERE fund_request_id = $$ || :live_id || $$ AND status = 'missed')$$),
          'the live request''s unpaid past instalments are missed');
SELECT is((SELECT count(*) FROM mono.schedule WHERE fund_request_id = :paused_id AND status = 'missed'), 0::bigint,
          'the paused request''s are not: it is not collecting');
SELECT results_eq(format($$SELECT DISTINCT fund_request_status::text, fund_request_mono_status FROM mono.instalments
                            WHERE fund_request_id = %s$$, :paused_id),
                  $$VALUES ('active', 'paused')$$, 'mono.instalments shows what Mono reported');

------------------------------------------------------------------------
-- 10. a recurring first charge inside a link, as in Mono's link example
------------------------------------------------------------------------
\set sample `cat "$MONO_TEST_LIB"/../samples/owo.POST-beneficiaries-link.request.json`
SELECT status AS link_status FROM mono_link_beneficiary('2348076000010', 'Samuel Neem', '000013', '0123456789',
                             '12345678901', 1000000, 'Weekly savings top-up', 'week', 1,
                             date_trunc('second', now()) + interval '1 day',
                             date_trunc('second', now()) + interval '1 year', 'LINK10REC0001') \gset
SELECT results_eq($$SELECT type::text, period::text, "interval"::int, link_id IS NOT NULL,
                           (SELECT count(*) FROM mono.schedule s WHERE s.fund_request_id = f.id) > 50
                      FROM mono.fund_requests f WHERE reference = 'LINK10REC0001'$$,
                  $$VALUES ('recurring', 'week', 1, true, true)$$,
                  'the 12-argument form queues a recurring first charge bound to the link, with its schedule');
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.beneficiaries WHERE phone = '2348076000010')$$),
          'the link is sent');
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/beneficiaries/link&limit=1'`
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(:'log'::jsonb -> 0 -> 'body' -> 'fund_request') k),
          (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(:'sample'::jsonb -> 'fund_request') k),
          'its fund_request has the keys of Mono''s own link example');
SELECT results_eq($$SELECT b -> 'fund_request' ->> 'reference', b -> 'fund_request' ->> 'type',
                           b -> 'fund_request' -> 'schedule' ->> 'period', (b -> 'fund_request' -> 'schedule' ->> 'interval')::int
                      FROM (SELECT $$ || quote_literal(:'log') || $$::jsonb -> 0 -> 'body' AS b) x$$,
                  $$VALUES ('LINK10REC0001', 'recurring', 'week', 1)$$,
                  'a recurring fund request with its schedule, inside the link');

ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset
\set ignored `"$MONO_TEST_LIB"/sim config '{"webhooks_drop": false}'`
\set ignored `"$MONO_TEST_LIB"/sim clear-faults`
SELECT * FROM finish();

-- 22_schedules: the instalments of recurring requests (mono.schedule and the
-- view mono.instalments). A weekly plan of three instalments ends paid,
-- paid (failed, then paid) and missed, marked by the worker itself; monthly
-- plans from the 31st and a yearly one from Feb 29 fall on calendar-correct
-- days; open-ended plans are extended by the worker; one query answers
-- "which subscriptions missed a payment this month".
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348011111111 active`
-- the names below say "grace 1 day": the default is 5 days (issue 22)
ALTER SYSTEM SET mono_pay.schedule_grace = '1 day';
SELECT mono_test.reload() AS reloaded \gset
SET TimeZone = 'UTC';

SELECT plan(29);

-- Deliver every webhook produced since the last call, in order.
CREATE FUNCTION pg_temp.deliver(hooks jsonb) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT mono_handle_webhook(w ->> 'body', w -> 'headers' ->> 'mono-webhook-secret')
      FROM jsonb_array_elements(hooks -> 'webhooks') WITH ORDINALITY AS x(w, n) ORDER BY n
$$;
\set next 0

------------------------------------------------------------------------
-- A weekly plan of three instalments: paid, failed then paid, missed
------------------------------------------------------------------------
SELECT date_trunc('hour', now()) - interval '16 days' AS w_start \gset
SELECT mono_test.backdate(id, :'w_start', :'w_start'::timestamptz + interval '20 days') AS weekly
  FROM mono_charge('2348011111111', 20000, 'Weekly box', 'WEEKLY00000001', 'week', 1, now()) \gset
SELECT results_eq(format($$SELECT seq::int, due_at FROM mono.schedule WHERE fund_request_id = %s ORDER BY seq$$, :weekly),
                  format($$VALUES (1, %1$L::timestamptz), (2, %1$L::timestamptz + interval '7 days'),
                                  (3, %1$L::timestamptz + interval '14 days')$$, :'w_start'),
                  'three weekly instalments are planned at once (16, 9 and 2 days ago)');
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'WEEKLY00000001')$$),
          'the request is sent');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/WEEKLY00000001/approve`
SELECT to_char(:'w_start'::timestamptz + interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS pay1,
       to_char(:'w_start'::timestamptz + interval '7 days 1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS fail2,
       to_char(:'w_start'::timestamptz + interval '7 days 5 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS pay2 \gset
SELECT json_build_object('status', 'successful', 'processed_at', :'pay1')::text AS d_pay1,
       json_build_object('status', 'failed', 'processed_at', :'fail2')::text AS d_fail2,
       json_build_object('status', 'successful', 'processed_at', :'pay2')::text AS d_pay2 \gset
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/WEEKLY00000001/debit :'d_pay1'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/WEEKLY00000001/debit :'d_fail2'`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
SELECT count(*) AS n FROM pg_temp.deliver(:'hooks') \gset
SELECT ok(mono_test.wait_until(format($$(SELECT status = 'missed' FROM mono.schedule WHERE fund_request_id = %s AND seq = 3)$$, :weekly)),
          'the worker marks the third instalment (2 days ago, grace 1 day) missed');
SELECT results_eq(format($$SELECT seq::int, status::text FROM mono.schedule WHERE fund_request_id = %s ORDER BY seq$$, :weekly),
                  $$VALUES (1, 'paid'), (2, 'failed'), (3, 'missed')$$,
                  'after a successful and a failed debit: paid, failed, and the third (2 days ago, grace 1 day) missed');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/WEEKLY00000001/debit :'d_pay2'`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
SELECT count(*) AS n FROM pg_temp.deliver(:'hooks') \gset
SELECT results_eq(format($$SELECT seq::int, status::text FROM mono.schedule WHERE fund_request_id = %s ORDER BY seq$$, :weekly),
                  $$VALUES (1, 'paid'), (2, 'paid'), (3, 'missed')$$,
                  'a later successful debit pays the failed instalment: paid, paid, missed');
SELECT results_eq(format($$SELECT s.seq::int, p.status::text, p.processed_at FROM mono.schedule s JOIN mono.payments p ON p.id = s.payment_id
                            WHERE s.fund_request_id = %s ORDER BY s.seq$$, :weekly),
                  format($$VALUES (1, 'successful', %L::timestamptz), (2, 'successful', %L::timestamptz)$$, :'pay1', :'pay2'),
                  'each paid instalment points at its successful payment');
SELECT is(count(*), 3::bigint, 'three payments are kept (one failed)') FROM mono.payments WHERE fund_request_id = :weekly;
SELECT results_eq(format($$SELECT seq::int, status::text, payment_mono_id IS NOT NULL, paid_at FROM mono.instalments
                            WHERE fund_request_id = %s ORDER BY seq$$, :weekly),
                  format($$VALUES (1, 'paid', true, %L::timestamptz), (2, 'paid', true, %L::timestamptz),
                                  (3, 'missed', false, NULL::timestamptz)$$, :'pay1', :'pay2'),
                  'mono.instalments shows the same, with the payment and when it was paid');

------------------------------------------------------------------------
-- The worker marks instalments due and missed by itself
------------------------------------------------------------------------
-- a daily plan from 30 hours ago: the first is past its grace, the second is due
SELECT mono_test.backdate(id, date_trunc('second', now()) - interval '30 hours',
                          date_trunc('second', now()) + interval '3 days') AS daily
  FROM mono_charge('2348011111111', 5000, 'Daily drink', 'DAILY000000001', 'day', 1, now()) \gset
SELECT results_eq(format($$SELECT seq::int, status::text FROM mono.schedule WHERE fund_request_id = %s ORDER BY seq$$, :daily),
                  $$VALUES (1, 'upcoming'), (2, 'upcoming'), (3, 'upcoming'), (4, 'upcoming'), (5, 'upcoming')$$,
                  'a new plan starts with every instalment upcoming');
-- only a plan the customer approved can miss an instalment (issue 22)
SELECT mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                WHERE reference = 'DAILY000000001')$$) AS sent \gset
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/DAILY000000001/approve`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
SELECT count(*) AS n FROM pg_temp.deliver(:'hooks') \gset
SELECT ok(mono_test.wait_until(format($$(SELECT array_agg(status::text ORDER BY seq) = '{missed,due,upcoming,upcoming,upcoming}'
                                          FROM mono.schedule WHERE fund_request_id = %s)$$, :daily)),
          'without any call, the worker marks the first missed (30 h ago) and the second due (6 h ago)');
-- the request itself went on normally meanwhile
SELECT ok(mono_test.wait_until($$(SELECT status IN ('approved', 'active') FROM mono.fund_requests
                                   WHERE reference = 'DAILY000000001')$$),
          'and sent the request, which the customer approved');

------------------------------------------------------------------------
-- Calendar-correct plans
------------------------------------------------------------------------
-- each plan has its own phone: Mono sends a phone's next prompt only when
-- none of its earlier ones awaits the customer
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111201 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111202 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111203 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111204 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111205 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111206 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111207 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111208 active`
SELECT id AS m31 FROM mono_charge('2348011111201', 10000, 'Monthly from the 31st', 'MONTHLY31LEAP1', 'month', 1,
                                  '2028-01-31 09:00:00+00', '2028-12-31 10:00:00+00') \gset
SELECT is(array_agg(to_char(due_at, 'YYYY-MM-DD HH24:MI') ORDER BY seq),
          ARRAY['2028-01-31 09:00', '2028-02-29 09:00', '2028-03-31 09:00', '2028-04-30 09:00',
                '2028-05-31 09:00', '2028-06-30 09:00', '2028-07-31 09:00', '2028-08-31 09:00',
                '2028-09-30 09:00', '2028-10-31 09:00', '2028-11-30 09:00', '2028-12-31 09:00'],
          'monthly from Jan 31 2028: Feb 29 (leap year), then back to the 31st (Mar 31), the 30th in short months')
  FROM mono.schedule WHERE fund_request_id = :m31;
SELECT id AS m31b FROM mono_charge('2348011111202', 10000, 'Monthly from the 31st', 'MONTHLY31PLAIN', 'month', 1,
                                   '2027-01-31 09:00:00+00', '2027-04-01 00:00:00+00') \gset
SELECT is(array_agg(to_char(due_at, 'YYYY-MM-DD') ORDER BY seq), ARRAY['2027-01-31', '2027-02-28', '2027-03-31'],
          'monthly from Jan 31 2027: Feb 28 in a common year')
  FROM mono.schedule WHERE fund_request_id = :m31b;
SELECT id AS m31c FROM mono_charge('2348011111203', 10000, 'Every two months', 'BIMONTHLY31001', 'month', 2,
                                   '2028-12-31 09:00:00+00', '2029-09-01 00:00:00+00') \gset
SELECT is(array_agg(to_char(due_at, 'YYYY-MM-DD') ORDER BY seq),
          ARRAY['2028-12-31', '2029-02-28', '2029-04-30', '2029-06-30', '2029-08-31'],
          'every two months from Dec 31: Feb 28, Apr 30, Jun 30, Aug 31')
  FROM mono.schedule WHERE fund_request_id = :m31c;
SELECT id AS y29 FROM mono_charge('2348011111204', 50000, 'Yearly from Feb 29', 'YEARLYFEB29001', 'year', 1,
                                  '2028-02-29 12:00:00+00') \gset
SELECT is(array_agg(to_char(due_at, 'YYYY-MM-DD') ORDER BY seq), ARRAY['2028-02-29', '2029-02-28'],
          'yearly from Feb 29 2028, open-ended: planned a year ahead (Feb 29, then Feb 28)')
  FROM mono.schedule WHERE fund_request_id = :y29;
SELECT is(mono.plan_instalments(:y29, '2033-01-01'), 3, 'planning further adds three instalments');
SELECT is(array_agg(to_char(due_at, 'YYYY-MM-DD') ORDER BY seq),
          ARRAY['2028-02-29', '2029-02-28', '2030-02-28', '2031-02-28', '2032-02-29'],
          'yearly from Feb 29: Feb 28 in common years, Feb 29 again in 2032')
  FROM mono.schedule WHERE fund_request_id = :y29;
SELECT is(mono.plan_instalments(:y29, '2033-01-01'), 0, 'planning again adds nothing (idempotent)');
SELECT id AS w2 FROM mono_charge('2348011111205', 10000, 'Fortnightly', 'FORTNIGHTLY001', 'week', 2,
                                 '2028-02-24 08:00:00+00', '2028-04-01 00:00:00+00') \gset
SELECT is(array_agg(to_char(due_at, 'YYYY-MM-DD') ORDER BY seq),
          ARRAY['2028-02-24', '2028-03-09', '2028-03-23'],
          'every two weeks across Feb 29: 14 days apart')
  FROM mono.schedule WHERE fund_request_id = :w2;
SELECT id AS d2028 FROM mono_charge('2348011111206', 100, 'Daily 2028', 'DAILY2028LEAP1', 'day', 1,
                                   '2028-01-01 06:00:00+00', '2028-12-31 06:00:00+00') \gset
SELECT is(count(*), 366::bigint, 'a daily plan for the leap year 2028 has 366 instalments')
  FROM mono.schedule WHERE fund_request_id = :d2028;

-- the worker extends an open-ended plan that runs short
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'YEARLYFEB29001')$$),
          'setup: the yearly request is sent');
SELECT mono_test.backdate(id, date_trunc('second', now()) - interval '2 days') AS openm
  FROM mono_charge('2348011111207', 10000, 'Open-ended monthly', 'OPENMONTHLY001', 'month', 1, now()) \gset
SELECT ok(mono_test.wait_until(format($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE id = %s)$$, :openm)),
          'setup: an open-ended monthly request is sent');
DELETE FROM mono.schedule WHERE fund_request_id = :openm AND due_at > now() + interval '1 month';
SELECT ok(mono_test.wait_until(format($$(SELECT max(due_at) > now() + interval '11 months'
                                          FROM mono.schedule WHERE fund_request_id = %s)$$, :openm)),
          'an open-ended plan with less than three months left is extended to a year ahead by the worker');

------------------------------------------------------------------------
-- Instalments of a request that will never be debited are not "missed"
------------------------------------------------------------------------
-- the fault below is for this request alone: every earlier one is sent
SELECT mono_test.wait_until($$(SELECT count(*) = 0 FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown'))$$) AS sent \gset
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"400","count":1,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'`
SELECT mono_test.backdate(id, date_trunc('second', now()) - interval '3 days',
                          date_trunc('second', now()) + interval '3 days') AS refused
  FROM mono_charge('2348011111208', 5000, 'Refused by Mono', 'REFUSEDPLAN001', 'day', 1, now()) \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.fund_requests WHERE reference = 'REFUSEDPLAN001')$$),
          'setup: a recurring request from 3 days ago that Mono refused (failed)');
SELECT pg_sleep(3 * 0.2) AS slept \gset
SELECT is(count(*), 0::bigint,
          'its past instalments are not reported missed (nothing was ever authorised, so nothing could be debited)')
  FROM mono.instalments WHERE reference = 'REFUSEDPLAN001' AND status = 'missed';

------------------------------------------------------------------------
-- "Which subscriptions missed a payment this month?" in one query
------------------------------------------------------------------------
ALTER SYSTEM SET mono_pay.schedule_grace = '1 second';
SELECT mono_test.reload() AS reloaded \gset
SELECT pg_sleep(0.3) AS slept \gset
SELECT mono_test.wait_until('(SELECT in_flight = 0 FROM mono_worker_status())', '15 seconds') AS idle \gset
\ir clean.psql
\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111111 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348022222222 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348033333333 active`
\set next 0
-- the start of this month's first instalments: a few seconds ago, never last month
SELECT greatest(date_trunc('second', now()) - interval '5 seconds', date_trunc('month', now())) AS m_start \gset
SELECT mono_charge('2348011111111', 5000, 'Missed this month', 'MISSEDTHISMON1', 'day', 1, :'m_start') AS ignored \gset
SELECT mono_charge('2348022222222', 5000, 'Paid this month', 'PAIDTHISMONTH1', 'day', 1, :'m_start') AS ignored \gset
SELECT mono_test.backdate(id, date_trunc('month', now()) - interval '3 days',
                          date_trunc('month', now()) - interval '1 day') AS ignored
  FROM mono_charge('2348033333333', 5000, 'Missed last month', 'MISSEDLASTMON1', 'day', 1, now()) \gset
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 3 FROM mono.fund_requests WHERE status = 'awaiting_authorization')$$),
          'setup: three daily subscriptions are sent');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/MISSEDTHISMON1/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/PAIDTHISMONTH1/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/MISSEDLASTMON1/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/PAIDTHISMONTH1/debit '{"status":"successful"}'`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT count(*) AS n FROM pg_temp.deliver(:'hooks') \gset
SELECT ok(mono_test.wait_until($$(SELECT array_agg(reference::text || ' ' || seq || ' ' || status ORDER BY reference, seq)
                                          = '{"MISSEDLASTMON1 1 missed","MISSEDLASTMON1 2 missed","MISSEDLASTMON1 3 missed","MISSEDTHISMON1 1 missed"}'
                                     FROM mono.instalments WHERE due_at <= now() AND status = 'missed')$$),
          'the worker marks this month''s unpaid first instalment and last month''s three missed (grace 1 second)');

SELECT results_eq($$
    SELECT DISTINCT reference::text
      FROM mono.instalments
     WHERE status = 'missed'
       AND due_at >= date_trunc('month', now())
       AND due_at <  date_trunc('month', now()) + interval '1 month'
    $$,
    $$VALUES ('MISSEDTHISMON1')$$,
    'one query on mono.instalments: the subscription that missed a payment this month');
SELECT results_eq($$SELECT reference::text, status::text FROM mono.instalments WHERE seq = 1 ORDER BY reference::text$$,
                  $$VALUES ('MISSEDLASTMON1', 'missed'), ('MISSEDTHISMON1', 'missed'), ('PAIDTHISMONTH1', 'paid')$$,
                  'the paid one is paid (a payment after the grace still pays it), last month''s is missed');

ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql

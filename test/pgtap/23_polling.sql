-- 23_polling: with every webhook dropped (webhooks_drop), the worker's
-- polling reads alone bring links, fund requests and payments to the final
-- states the webhooks would have: linked; approved, processing, completed,
-- expired, cancelled; every payment, matched to its instalment. Polling
-- backs off, and stops once a request is settled. No webhook is stored.
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348011111111 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348022222222 active`
\set ignored `"$MONO_TEST_LIB"/sim config '{"webhooks_drop": true}'`
ALTER SYSTEM SET mono_pay.poll_base = '300ms';
ALTER SYSTEM SET mono_pay.poll_max = '1s';
-- the unpaid instalment below is two days past due: missed with a grace of 1 day
ALTER SYSTEM SET mono_pay.schedule_grace = '1 day';
SELECT mono_test.reload() AS reloaded \gset
SET TimeZone = 'UTC';
SELECT pg_sleep(0.3) AS slept \gset

SELECT plan(27);

------------------------------------------------------------------------
-- A link with a first charge: linked and approved by polling
------------------------------------------------------------------------
SELECT mono_link_beneficiary('2348011111111', 'Ada Obi', '000013', '0123456789', NULL,
                             150000, 'Welcome box') AS ignored \gset
SELECT reference AS first_ref FROM mono.fund_requests WHERE link_id IS NOT NULL \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.beneficiaries)$$),
          'setup: the link with a first charge awaits the customer');
SELECT ok(mono_test.wait_until($$(SELECT polls >= 2 FROM mono.beneficiaries)$$),
          'a waiting link is read back again and again (polls)');
SELECT ok(next_poll_at <= now() + interval '1 second 200 milliseconds',
          'with a delay capped by mono_pay.poll_max') FROM mono.beneficiaries;
\set ignored `"$MONO_TEST_LIB"/sim post beneficiaries/2348011111111/approve`
SELECT ok(mono_test.wait_until($$(SELECT status = 'linked' FROM mono.beneficiaries)$$),
          'the customer completes the link: polling alone sees it linked');
SELECT ok(mono_id LIKE 'ben_%', 'with Mono''s ben_ id') FROM mono.beneficiaries;
SELECT ok(mono_test.wait_until(format($$(SELECT status = 'approved' AND mono_id LIKE 'frq_%%'
                                          FROM mono.fund_requests WHERE reference = %L)$$, :'first_ref')),
          'the first charge is approved, with its frq_ id, by polling alone');

------------------------------------------------------------------------
-- processing, a failed then a successful debit, completed
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/:first_ref/processing`
SELECT ok(mono_test.wait_until(format($$(SELECT status = 'processing' FROM mono.fund_requests WHERE reference = %L)$$,
                                      :'first_ref')),
          'processing is seen by polling');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/:first_ref/debit '{"status":"failed","message":"Insufficient funds","processed_at":"2026-03-01T10:00:00Z"}'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/:first_ref/debit '{"status":"successful","processed_at":"2026-03-02T10:00:00Z"}'`
SELECT ok(mono_test.wait_until(format($$(SELECT f.status = 'completed' AND count(p.id) = 2
                                          FROM mono.fund_requests f LEFT JOIN mono.payments p ON p.fund_request_id = f.id
                                         WHERE f.reference = %L GROUP BY f.status)$$, :'first_ref')),
          'the debits are seen by polling: completed, with both payments');
SELECT results_eq(format($$SELECT p.status::text, p.amount::bigint, p.message, p.processed_at
                             FROM mono.payments p JOIN mono.fund_requests f ON f.id = p.fund_request_id
                            WHERE f.reference = %L ORDER BY p.processed_at$$, :'first_ref'),
                  $$VALUES ('failed', 150000::bigint, 'Insufficient funds', '2026-03-01 10:00:00+00'::timestamptz),
                           ('successful', 150000::bigint, NULL, '2026-03-02 10:00:00+00'::timestamptz)$$,
                  'the payments carry what Mono reports: status, amount, message, processed_at');
SELECT ok(mono_test.wait_until(format($$(SELECT next_poll_at IS NULL FROM mono.fund_requests WHERE reference = %L)$$,
                                      :'first_ref'), '3 seconds'),
          'a completed request with its successful payment is no longer polled');

------------------------------------------------------------------------
-- A recurring request: active, three debits matched to instalments, completed
------------------------------------------------------------------------
SELECT date_trunc('hour', now()) - interval '16 days' AS w_start \gset
SELECT mono_test.backdate(id, :'w_start', :'w_start'::timestamptz + interval '20 days') AS weekly
  FROM mono_charge('2348011111111', 20000, 'Weekly box', 'POLLWEEKLY0001', 'week', 1, now()) \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'POLLWEEKLY0001')$$),
          'setup: a weekly request (three instalments in the past) awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/POLLWEEKLY0001/approve`
SELECT ok(mono_test.wait_until($$(SELECT status = 'active' FROM mono.fund_requests WHERE reference = 'POLLWEEKLY0001')$$),
          'active is seen by polling');
SELECT json_build_object('status', 'successful',
                         'processed_at', to_char(:'w_start'::timestamptz + interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::text AS d1,
       json_build_object('status', 'failed',
                         'processed_at', to_char(:'w_start'::timestamptz + interval '7 days 1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::text AS d2,
       json_build_object('status', 'successful',
                         'processed_at', to_char(:'w_start'::timestamptz + interval '7 days 3 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::text AS d3 \gset
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/POLLWEEKLY0001/debit :'d1'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/POLLWEEKLY0001/debit :'d2'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/POLLWEEKLY0001/debit :'d3'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/POLLWEEKLY0001/complete`
SELECT ok(mono_test.wait_until($$(SELECT f.status = 'completed' AND count(p.id) = 3
                                   FROM mono.fund_requests f LEFT JOIN mono.payments p ON p.fund_request_id = f.id
                                  WHERE f.reference = 'POLLWEEKLY0001' GROUP BY f.status)$$),
          'completed, with its three payments, by polling alone');
SELECT ok(mono_test.wait_until(format($$(SELECT array_agg(status::text ORDER BY seq) = '{paid,paid,missed}'
                                          FROM mono.schedule WHERE fund_request_id = %s)$$, :weekly)),
          'its instalments: paid, paid (failed then paid), missed - as with webhooks');

------------------------------------------------------------------------
-- Expired before the customer acted (Mono's id never seen before)
------------------------------------------------------------------------
SELECT mono_charge('2348022222222', 7000, 'Never authorised', 'POLLEXPIRED001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'POLLEXPIRED001')$$),
          'setup: a request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/POLLEXPIRED001/expire`
SELECT ok(mono_test.wait_until($$(SELECT status = 'expired' AND mono_id LIKE 'frq_%' FROM mono.fund_requests
                                   WHERE reference = 'POLLEXPIRED001')$$),
          'expired is seen by polling (found by reference), with Mono''s id');

------------------------------------------------------------------------
-- Approved, then only a failed debit: stays approved, the failure is kept
------------------------------------------------------------------------
SELECT mono_charge('2348022222222', 8000, 'Declined debit', 'POLLDECLINED01') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'POLLDECLINED01')$$),
          'setup: a request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/POLLDECLINED01/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/POLLDECLINED01/debit '{"status":"failed","message":"Insufficient funds"}'`
SELECT ok(mono_test.wait_until($$(SELECT f.status = 'approved' AND count(p.id) = 1 AND bool_and(p.status = 'failed')
                                   FROM mono.fund_requests f JOIN mono.payments p ON p.fund_request_id = f.id
                                  WHERE f.reference = 'POLLDECLINED01' GROUP BY f.status)$$),
          'approved with one failed payment, by polling alone');

------------------------------------------------------------------------
-- Unlinks: Mono cancels the link's recurring requests; polling sees it
------------------------------------------------------------------------
SELECT mono_charge('2348011111111', 30000, 'Monthly plan', 'POLLMONTHLY001', 'month', 1,
                   date_trunc('second', now()) + interval '1 day') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'POLLMONTHLY001')$$),
          'setup: a monthly request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/POLLMONTHLY001/approve`
-- its start date is tomorrow: Mono sends active then; the simulator is told it came
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/POLLMONTHLY001/activate`
SELECT ok(mono_test.wait_until($$(SELECT status = 'active' FROM mono.fund_requests WHERE reference = 'POLLMONTHLY001')$$),
          'setup: it is active on the link');
SELECT is(status::text, 'queued', 'mono_unlink_beneficiary() queues the unlink')
  FROM mono_unlink_beneficiary('2348011111111');
SELECT ok(mono_test.wait_until($$(SELECT status = 'unlinked' FROM mono.beneficiaries WHERE phone = '2348011111111')$$),
          'the link is unlinked');
SELECT ok(mono_test.wait_until($$(SELECT status = 'cancelled' FROM mono.fund_requests WHERE reference = 'POLLMONTHLY001')$$),
          'the monthly request Mono cancelled with the link is seen cancelled by polling');

-- the customer unlinks in WhatsApp (no webhook arrives)
SELECT mono_link_beneficiary('2348022222222', 'Bola Ade', '000013', '1234567890') AS ignored \gset
\set ignored `"$MONO_TEST_LIB"/sim post beneficiaries/2348022222222/approve`
SELECT ok(mono_test.wait_until($$(SELECT status = 'linked' FROM mono.beneficiaries WHERE phone = '2348022222222')$$),
          'setup: a second link is linked');
SELECT json_build_object('id', mono_id)::text AS unlink_body FROM mono.beneficiaries WHERE phone = '2348022222222' \gset
\set ignored `curl -sf -H "mono-sec-key: $MONO_SECRET_KEY" -H 'Content-Type: application/json' -d :'unlink_body' "$MONO_SIM_URL/owo/v1/beneficiaries/unlink"`
SELECT ok(mono_test.wait_until($$(SELECT status = 'unlinked' FROM mono.beneficiaries WHERE phone = '2348022222222')$$,
                               '5 seconds'),
          'a link the customer unlinked in WhatsApp is seen unlinked by polling');

------------------------------------------------------------------------
-- No webhook was involved
------------------------------------------------------------------------
SELECT is(count(*), 0::bigint, 'no webhook was stored: everything above came from polling')
  FROM mono.webhook_events;
\set wh `"$MONO_TEST_LIB"/sim get 'webhooks?since=0'`
SELECT is(jsonb_array_length(:'wh'::jsonb -> 'webhooks'), 0, 'the simulator delivered none (all dropped)');

\set ignored `"$MONO_TEST_LIB"/sim config '{"webhooks_drop": false}'`
ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql

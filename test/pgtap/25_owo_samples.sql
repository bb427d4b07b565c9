-- 25_owo_samples: Mono's own Owo webhook samples (test/samples/owo.*.json,
-- each with its .src naming the docs.mono.co page) fed verbatim through
-- mono_handle_webhook(), with the rows they leave asserted: a link, a
-- recurring request through created, approved, processing, active, two
-- debits matched to their instalments, completed, a late expired, the
-- unlink, and the generic envelope. The rows are made by hand (no worker
-- send, no poll), so that only the samples move them.
\ir setup.psql

ALTER SYSTEM SET mono_pay.poll_base = '1h';
SELECT mono_test.reload() AS reloaded \gset
SET TimeZone = 'UTC';

SELECT plan(24);

\set s_linked `cat "$MONO_TEST_LIB"/../samples/owo.beneficiary.linked.json`
\set s_created `cat "$MONO_TEST_LIB"/../samples/owo.fundrequest.created.json`
\set s_approved `cat "$MONO_TEST_LIB"/../samples/owo.fundrequest.approved.json`
\set s_processing `cat "$MONO_TEST_LIB"/../samples/owo.fundrequest.processing.json`
\set s_active `cat "$MONO_TEST_LIB"/../samples/owo.fundrequest.active.json`
\set s_paid `cat "$MONO_TEST_LIB"/../samples/owo.payment.successful.json`
\set s_failed `cat "$MONO_TEST_LIB"/../samples/owo.payment.failed.json`
\set s_completed `cat "$MONO_TEST_LIB"/../samples/owo.fundrequest.completed.json`
\set s_expired `cat "$MONO_TEST_LIB"/../samples/owo.fundrequest.expired.json`
\set s_unlinked `cat "$MONO_TEST_LIB"/../samples/owo.beneficiary.unlinked.json`
\set s_envelope `cat "$MONO_TEST_LIB"/../samples/owo.webhook-envelope.json`

-- what the application had queued, as the worker left it (sent, awaiting
-- the customer); never polled (next_poll_at NULL)
INSERT INTO mono.beneficiaries (phone, account_name, nip_code, account_number, status)
VALUES ('2348012345678', 'PiggyVest Wallet', '123456', '0123456789', 'awaiting_authorization');
INSERT INTO mono.fund_requests (reference, phone, amount, description, type, period, "interval",
                                start_date, end_date, status, accepted_at)
VALUES ('frpartnerrefabc987', '2348012345678', 500000, 'Weekly savings top-up', 'recurring',
        'week', 1, '2025-09-01T09:00:00Z', '2026-08-31T09:00:00Z', 'awaiting_authorization', now());
-- its instalments, as mono_charge plans them (a row written directly plans nothing)
SELECT count(mono.plan_instalments(id, start_date + interval '1 year')) AS planned
  FROM mono.fund_requests WHERE reference = 'frpartnerrefabc987' \gset

------------------------------------------------------------------------
-- owo.beneficiary.linked
------------------------------------------------------------------------
SELECT is(mono_handle_webhook(:'s_linked', :'webhook_secret'), 'applied',
          'owo.beneficiary.linked (Mono''s sample) is applied');
SELECT results_eq($$SELECT status::text, mono_id FROM mono.beneficiaries$$,
                  $$VALUES ('linked', 'bene_1a2b3c4d5e')$$,
                  'the phone''s pending link is linked, with the sample''s bene_ id');

------------------------------------------------------------------------
-- owo.fundrequest.created: the sample's reference has '-' (Mono's request
-- rule is alphanumeric): no request of ours can carry it
------------------------------------------------------------------------
SELECT is(mono_handle_webhook(:'s_created', :'webhook_secret'), 'ignored',
          'owo.fundrequest.created verbatim: answered ignored');
SELECT results_eq($$SELECT outcome::text, mono_ref FROM mono.webhook_events WHERE event = 'owo.fundrequest.created'$$,
                  $$VALUES ('unmatched', 'frq_1a2b3c4d5e')$$,
                  'stored unmatched: fr-partner-ref-abc987 is no reference of ours');
SELECT is(mono_handle_webhook(jsonb_set(jsonb_set(:'s_created'::jsonb, '{data,reference}', '"frpartnerrefabc987"'),
                                        '{event_id}', '"evt_3c4d5e6f7g8h_alnum"')::text, :'webhook_secret'),
          'applied', 'the same sample with an alphanumeric reference (ours) is applied');
SELECT results_eq($$SELECT status::text, mono_id, beneficiary_mono_id FROM mono.fund_requests$$,
                  $$VALUES ('created', 'frq_1a2b3c4d5e', 'bene_1a2b3c4d5e')$$,
                  'our request learns its frq_ id and its beneficiary: created');

------------------------------------------------------------------------
-- approved, processing, active
------------------------------------------------------------------------
SELECT is(mono_handle_webhook(:'s_approved', :'webhook_secret'), 'applied', 'owo.fundrequest.approved is applied');
SELECT results_eq($$SELECT status::text, mono_status FROM mono.fund_requests$$,
                  $$VALUES ('approved', 'approved')$$, 'approved (and mono_status says what Mono said)');
SELECT is(mono_handle_webhook(:'s_processing', :'webhook_secret'), 'applied', 'owo.fundrequest.processing is applied');
SELECT is(status::text, 'processing', 'processing') FROM mono.fund_requests;
SELECT is(mono_handle_webhook(:'s_active', :'webhook_secret'), 'applied', 'owo.fundrequest.active is applied');
SELECT is(status::text, 'active', 'active') FROM mono.fund_requests;

------------------------------------------------------------------------
-- owo.payment.successful and owo.payment.failed
------------------------------------------------------------------------
SELECT is(mono_handle_webhook(:'s_paid', :'webhook_secret'), 'applied', 'owo.payment.successful is applied');
SELECT is(mono_handle_webhook(:'s_failed', :'webhook_secret'), 'applied', 'owo.payment.failed is applied');
SELECT results_eq($$SELECT mono_id, reference, amount::bigint, status::text, message, processed_at,
                           session_id, fund_request_id, instalment_seq
                      FROM mono.payments ORDER BY processed_at$$,
                  $$VALUES ('pay_1a2b3c4d5e', 'tx_partner_ref_1', 500000::bigint, 'successful', NULL::text,
                            '2025-09-01T09:05:20Z'::timestamptz, '999999202507261029098765432109', 1::bigint, 1),
                           ('pay_2b3c4d5e6f', 'tx_partner_ref_2', 500000::bigint, 'failed', 'Insufficient funds',
                            '2025-10-03T10:15:25Z'::timestamptz, '999999202507261029112233445566', 1::bigint, 5)$$,
                  'each debit is stored as Mono sent it, on its request and its instalment');
SELECT results_eq($$SELECT seq::int, status::text FROM mono.schedule WHERE seq IN (1, 5) ORDER BY seq$$,
                  $$VALUES (1, 'paid'), (5, 'failed')$$,
                  'the weekly instalment of 1 Sep is paid, the one of 29 Sep failed');

------------------------------------------------------------------------
-- completed, then a late expired
------------------------------------------------------------------------
SELECT is(mono_handle_webhook(:'s_completed', :'webhook_secret'), 'applied', 'owo.fundrequest.completed is applied');
SELECT is(status::text, 'completed', 'completed') FROM mono.fund_requests;
SELECT is(mono_handle_webhook(:'s_expired', :'webhook_secret'), 'ignored',
          'owo.fundrequest.expired after completed: answered ignored');
SELECT results_eq($$SELECT (SELECT status::text FROM mono.fund_requests),
                           (SELECT outcome::text FROM mono.webhook_events WHERE event = 'owo.fundrequest.expired')$$,
                  $$VALUES ('completed', 'stale')$$, 'the request stays completed; the event is stored stale');

------------------------------------------------------------------------
-- owo.beneficiary.unlinked, and the generic envelope
------------------------------------------------------------------------
SELECT is(mono_handle_webhook(:'s_unlinked', :'webhook_secret'), 'applied', 'owo.beneficiary.unlinked is applied');
SELECT results_eq($$SELECT status::text, unlinked_at IS NOT NULL FROM mono.beneficiaries$$,
                  $$VALUES ('unlinked', true)$$, 'the link is unlinked');
SELECT is(mono_handle_webhook(:'s_envelope', :'webhook_secret'), 'ignored',
          'the generic envelope (event.name.here) is ignored');
SELECT is((SELECT count(*) FROM mono.webhook_events), 12::bigint,
          'every sample delivered is stored once (11 samples and the alphanumeric variant)');

ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset
SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql

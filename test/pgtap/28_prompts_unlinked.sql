-- 28_prompts_unlinked (issue 22, the simulator's switches stale_prompts
-- and refuse_unlinked): what mono_pay does when
--   1. Mono ties a redirect_url to the user's latest request, so a newer
--      prompt for a phone makes an earlier pending one stale (its approval
--      is refused): the worker sends a phone's second request only once
--      the customer acted on the first (one prompt per phone, always), so
--      both can be approved;
--   2. Mono refuses a fund request for a phone with no linked beneficiary:
--      the row fails once, with Mono's message and HTTP status, and is not
--      sent again.
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348028000001 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348028000003 active`
\set ignored `"$MONO_TEST_LIB"/sim config '{"stale_prompts": true, "webhooks_drop": true}'`
ALTER SYSTEM SET mono_pay.poll_base = '300ms';
ALTER SYSTEM SET mono_pay.poll_max = '1s';
SELECT mono_test.reload() AS reloaded \gset

SELECT plan(9);

------------------------------------------------------------------------
-- 1. one prompt per phone: no prompt is made stale
------------------------------------------------------------------------
BEGIN;
SELECT mono_charge('2348028000001', 1000, 'First prompt', 'PROMPT28FIRST1') AS ignored \gset
SELECT mono_charge('2348028000001', 2000, 'Second prompt', 'PROMPT28SECOND') AS ignored \gset
COMMIT;
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'PROMPT28FIRST1')$$),
          'the phone''s first request is sent');
SELECT pg_sleep(1.5) AS slept \gset
SELECT is(status::text, 'queued', 'the second waits for the customer (one prompt per phone)')
  FROM mono.fund_requests WHERE reference = 'PROMPT28SECOND';
\set approve1 `"$MONO_TEST_LIB"/sim post fund-requests/PROMPT28FIRST1/approve 2>&1 || true`
SELECT doesnt_match(:'approve1'::text, '409', 'the customer approves the first: Mono takes it (not stale)');
SELECT ok(mono_test.wait_until($$(SELECT status = 'approved' FROM mono.fund_requests
                                   WHERE reference = 'PROMPT28FIRST1')$$, '20 seconds'),
          'the first request becomes approved (read by polling)');
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'PROMPT28SECOND')$$, '20 seconds'),
          'then the second is sent');
\set approve2 `"$MONO_TEST_LIB"/sim post fund-requests/PROMPT28SECOND/approve 2>&1 || true`
SELECT doesnt_match(:'approve2'::text, '409', 'and the customer can approve it too');
SELECT ok(mono_test.wait_until($$(SELECT status = 'approved' FROM mono.fund_requests
                                   WHERE reference = 'PROMPT28SECOND')$$, '20 seconds'),
          'both requests approved: no prompt was lost to a newer one');

------------------------------------------------------------------------
-- 2. a fund request for a phone with no linked beneficiary, refused
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim config '{"refuse_unlinked": true}'`
SELECT mono_charge('2348028000003', 4000, 'Unlinked phone', 'UNLINKED28001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.fund_requests
                                   WHERE reference = 'UNLINKED28001')$$),
          'Mono refuses a fund request for an unlinked phone: the row is failed');
SELECT pg_sleep(1.5) AS slept \gset
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT results_eq(format($$SELECT status::text, attempts, http_status, last_error LIKE '%%Beneficiary not linked%%',
                                  (%L::jsonb -> 'by_reference' -> 'UNLINKED28001' ->> 'received')::int
                             FROM mono.fund_requests WHERE reference = 'UNLINKED28001'$$, :'reqs'),
                  $$VALUES ('failed', 1, 400, true, 1)$$,
                  'failed once, with Mono''s message and HTTP 400, and never sent again');

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql

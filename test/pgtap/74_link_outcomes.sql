-- 74_link_outcomes: two link paths found by the storms, pinned down.
-- (a) An unlink confirmed by Mono's answer to the worker's POST, then the
--     owo.beneficiary.unlinked webhook: the link's live recurring requests
--     become cancelled (README: "owo.beneficiary.unlinked: the link becomes
--     unlinked; its live recurring requests cancelled"; mono_unlink_beneficiary:
--     "mono_pay marks them cancelled when the unlink is confirmed"). Polling
--     is off (poll_base 1h): webhooks alone.
-- (b) A link carrying a first charge whose connection is closed after the
--     body (libcurl re-sends it at once on a reused connection, or the
--     settling read re-sends it): Mono answers the second copy 409
--     (duplicate reference of the first charge). That is an earlier send
--     that reached Mono, as for a charge: neither the link nor its first
--     charge may end failed (the application would link and charge again).
\ir setup.psql

ALTER SYSTEM SET mono_pay.poll_base = '1h';
SELECT mono_test.reload() AS reloaded \gset

SELECT plan(11);

------------------------------------------------------------------------
-- (a) unlink confirmed by the POST's answer, then its webhook
------------------------------------------------------------------------
SELECT mono_link_beneficiary('2348074100001', 'Ada Obi', '000013', '0123456789', '22274100001') AS ignored \gset
SELECT mono_charge('2348074100001', 5000, 'Monthly', 'UNLINK74REC1', 'month', 1, now() + interval '1 day') AS ignored \gset
SELECT mono_charge('2348074100001', 5000, 'Weekly, never approved', 'UNLINK74REC2', 'week', 1, now() + interval '1 day') AS ignored \gset
-- one prompt per phone: each goes once the customer has answered the one before
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.beneficiaries)$$),
          'setup: a link awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post beneficiaries/2348074100001/approve`
\set ignored `"$MONO_TEST_LIB"/deliver-webhooks --quiet`
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'UNLINK74REC1')$$),
          'setup: once it is linked, a recurring request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/UNLINK74REC1/approve`
-- its start date is tomorrow: Mono sends active then; the simulator is told it came
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/UNLINK74REC1/activate`
\set ignored `"$MONO_TEST_LIB"/deliver-webhooks --quiet`
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'UNLINK74REC2')$$),
          'setup: once that one is approved, the second recurring request awaits the customer');
SELECT results_eq($$SELECT (SELECT status::text FROM mono.beneficiaries), (SELECT status::text FROM mono.fund_requests WHERE reference = 'UNLINK74REC1')$$,
                  $$VALUES ('linked', 'active')$$, 'setup: the link is linked, the monthly request active (from webhooks)');
SELECT mono_unlink_beneficiary('2348074100001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'unlinked' FROM mono.beneficiaries)$$),
          'the worker''s unlink is answered: the link is unlinked');
\set ignored `"$MONO_TEST_LIB"/deliver-webhooks --quiet`
SELECT diag('owo.beneficiary.unlinked was stored as: ' || string_agg(outcome, ', '))
  FROM mono.webhook_events WHERE event = 'owo.beneficiary.unlinked';
SELECT results_eq($$SELECT reference::text, status::text FROM mono.fund_requests ORDER BY reference$$,
                  $$VALUES ('UNLINK74REC1', 'cancelled'), ('UNLINK74REC2', 'awaiting_authorization')$$,
                  'the link''s request is cancelled; one of the same phone that Mono never bound to the link is not (Mono cancels only the link''s)');

------------------------------------------------------------------------
-- (b) a link with a first charge, the connection closed after the body
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim user 2348074100002 active`
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"close_after_body","count":1,"method":"POST","path_prefix":"/owo/v1/beneficiaries/link"}'`
SELECT mono_link_beneficiary('2348074100002', 'Bayo Ade', '000014', '0123456780', NULL,
                             7000, 'First charge') AS ignored \gset
SELECT reference AS first_ref FROM mono.fund_requests WHERE link_id IS NOT NULL AND phone = '2348074100002' \gset
SELECT ok(mono_test.wait_until($$(SELECT status NOT IN ('queued', 'sending', 'unknown') FROM mono.beneficiaries
                                   WHERE phone = '2348074100002')$$, '15 seconds'),
          'the link is settled');
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT is((:'reqs'::jsonb -> 'by_reference' -> :'first_ref' ->> 'accepted')::int, 1,
          'Mono accepted the link''s first charge (and with it the link) exactly once');
SELECT diag(format('link: %s (HTTP %s: %s); first charge: %s', b.status, b.http_status, b.last_error, f.status))
  FROM mono.beneficiaries b JOIN mono.fund_requests f ON f.link_id = b.id WHERE b.phone = '2348074100002';
SELECT is(status::text, 'awaiting_authorization', 'the link is awaiting the customer, not failed')
  FROM mono.beneficiaries WHERE phone = '2348074100002';
SELECT is(status::text, 'awaiting_authorization', 'its first charge is awaiting the customer, not failed')
  FROM mono.fund_requests WHERE reference = :'first_ref';
\set ignored `"$MONO_TEST_LIB"/sim post beneficiaries/2348074100002/approve`
\set ignored `"$MONO_TEST_LIB"/deliver-webhooks --quiet`
SELECT results_eq($$SELECT b.status::text, f.status::text FROM mono.beneficiaries b JOIN mono.fund_requests f ON f.link_id = b.id
                     WHERE b.phone = '2348074100002'$$,
                  $$VALUES ('linked', 'approved')$$,
                  'when the customer completes it, the link and its charge follow Mono (linked, approved)');

ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset
\set ignored `"$MONO_TEST_LIB"/sim clear-faults`
SELECT * FROM finish();

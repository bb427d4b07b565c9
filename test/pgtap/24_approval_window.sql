-- 24_approval_window: a fund request nobody authorises within
-- mono_pay.approval_window expires by itself (the worker's upkeep), saying
-- why; requests the customer did act on, and links, are left alone.
\ir setup.psql

-- one phone per request: Mono sends a phone's next prompt only when none
-- of its earlier ones awaits the customer
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111111 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111112 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111113 active`

SELECT plan(14);

-- Deliver every webhook produced since K.
CREATE FUNCTION pg_temp.deliver(hooks jsonb) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT mono_handle_webhook(w ->> 'body', w -> 'headers' ->> 'mono-webhook-secret')
      FROM jsonb_array_elements(hooks -> 'webhooks') WITH ORDINALITY AS x(w, n) ORDER BY n
$$;

-- with the default window (48 hours) nothing expires soon
SELECT mono_charge('2348011111111', 5000, 'Within the default window', 'WINDOWDEFAULT1') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'WINDOWDEFAULT1')$$),
          'setup: a request awaits the customer under the default window');
SELECT is(current_setting('mono_pay.approval_window'), '48 hours', 'the default window is 48 hours');

-- one the customer approves in time
SELECT mono_charge('2348011111112', 6000, 'Approved in time', 'WINDOWAPPROVED') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'WINDOWAPPROVED')$$),
          'setup: a second request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/WINDOWAPPROVED/approve`
\set hooks `"$MONO_TEST_LIB"/sim get 'webhooks?since=0'`
SELECT count(*) AS n FROM pg_temp.deliver(:'hooks') \gset
SELECT is(status::text, 'approved', 'setup: the customer approved it') FROM mono.fund_requests WHERE reference = 'WINDOWAPPROVED';

-- a link awaiting the customer
SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', '22212345678') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.beneficiaries)$$),
          'setup: a link awaits the customer');

-- a window of one second
ALTER SYSTEM SET mono_pay.approval_window = '1s';
SELECT mono_test.reload() AS reloaded \gset
SELECT mono_charge('2348011111113', 7000, 'Never authorised', 'WINDOWEXPIRE01') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'WINDOWEXPIRE01')$$),
          'a request is accepted by Mono and awaits the customer');
SELECT ok(mono_test.wait_until($$(SELECT status = 'expired' FROM mono.fund_requests
                                   WHERE reference = 'WINDOWEXPIRE01')$$, '5 seconds'),
          'with mono_pay.approval_window = 1s the worker expires it by itself');
SELECT results_eq($$SELECT last_error, updated_at - accepted_at >= interval '1 second'
                      FROM mono.fund_requests WHERE reference = 'WINDOWEXPIRE01'$$,
                  $$VALUES ('not authorised within mono_pay.approval_window', true)$$,
                  'last_error says why, and it expired only after the window');
SELECT ok(mono_test.wait_until($$(SELECT status = 'expired' FROM mono.fund_requests
                                   WHERE reference = 'WINDOWDEFAULT1')$$, '5 seconds'),
          'the request accepted earlier is now past the window too: expired');
SELECT is(status::text, 'approved', 'a request the customer approved does not expire')
  FROM mono.fund_requests WHERE reference = 'WINDOWAPPROVED';
SELECT is(status::text, 'awaiting_authorization', 'links are not expired by the fund request window')
  FROM mono.beneficiaries;

-- the customer approves at Mono after the local expiry: Mono is the authority
ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/WINDOWEXPIRE01/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/WINDOWEXPIRE01/debit '{"status":"successful"}'`
\set hooks `"$MONO_TEST_LIB"/sim get 'webhooks?since=2'`
SELECT count(*) AS n FROM pg_temp.deliver(:'hooks') \gset
SELECT is(count(*), 1::bigint, 'a payment Mono reports after the local expiry is recorded')
  FROM mono.payments p JOIN mono.fund_requests f ON f.id = p.fund_request_id WHERE f.reference = 'WINDOWEXPIRE01';
SELECT isnt(status::text, 'expired', 'a request Mono approved and debited after the local expiry is not shown as expired')
  FROM mono.fund_requests WHERE reference = 'WINDOWEXPIRE01';
SELECT results_eq($$SELECT expired_locally, last_error FROM mono.fund_requests WHERE reference = 'WINDOWEXPIRE01'$$,
                  $$VALUES (false, NULL::text)$$,
                  'and it no longer says it expired locally');

ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql

-- 13_faults: how the worker classifies what goes wrong (doc/design.md
-- principles 3 and 5, src/owo_outcome.c): 5xx and 429 retry (Retry-After
-- honoured); a timeout after the body, a closed connection and a 2xx that is
-- not JSON become unknown and are settled by a read, never by a second
-- charge; 4xx are final and keep Mono's message, trace_id and field errors;
-- a refused connection retries; retries run out in failed, saying so.
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348011111111 active`
-- one phone per charge: Mono takes a phone's next prompt only once its
-- earlier one is answered, and these go unanswered
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111112 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111113 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111114 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111115 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111116 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111117 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111118 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348011111119 active`

SELECT plan(44);

-- How often the simulator received and accepted (HTTP 202) a reference.
CREATE FUNCTION pg_temp.counts(ref text, OUT received int, OUT accepted int)
LANGUAGE plpgsql AS $$
BEGIN
    -- the caller stores GET /_sim/requests in the session variable qa.reqs
    SELECT (r -> 'by_reference' -> ref ->> 'received')::int,
           (r -> 'by_reference' -> ref ->> 'accepted')::int
      INTO received, accepted
      FROM (SELECT current_setting('qa.reqs')::jsonb AS r) s;
END;
$$;

------------------------------------------------------------------------
-- 500 once, then success
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"500","count":1,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'`
SELECT mono_charge('2348011111111', 5000, 'After a 500', 'FAULT500000001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'FAULT500000001')$$),
          'HTTP 500 then 202: the charge reaches awaiting_authorization');
SELECT results_eq($$SELECT attempts, http_status, last_error, redirect_url LIKE 'https://wa.me/%'
                      FROM mono.fund_requests WHERE reference = 'FAULT500000001'$$,
                  $$VALUES (2, 202, NULL::text, true)$$,
                  'in two attempts; the error of the first is cleared by the success');
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT set_config('qa.reqs', :'reqs', false) AS ignored \gset
SELECT results_eq($$SELECT * FROM pg_temp.counts('FAULT500000001')$$, $$VALUES (2, 1)$$,
                  'received twice, accepted once');

------------------------------------------------------------------------
-- 429 with Retry-After: 2
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"429","count":1,"retry_after":2,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'`
SELECT mono_charge('2348011111112', 5000, 'After a 429', 'FAULT429000001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'queued' AND attempts = 1 FROM mono.fund_requests
                                   WHERE reference = 'FAULT429000001')$$),
          'HTTP 429: the charge goes back to queued for a retry');
SELECT ok(next_attempt_at >= updated_at + interval '2 seconds',
          format('next_attempt_at is pushed by at least Retry-After (%s later)', next_attempt_at - updated_at))
  FROM mono.fund_requests WHERE reference = 'FAULT429000001';
SELECT ok(last_error LIKE 'HTTP 429%', 'last_error says HTTP 429: ' || last_error)
  FROM mono.fund_requests WHERE reference = 'FAULT429000001';
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'FAULT429000001')$$),
          'then it succeeds');
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/fund-requests&limit=50'`
SELECT ok(max(t) - min(t) >= interval '2 seconds',
          format('the retry came at least 2 s after the 429 (%s)', max(t) - min(t)))
  FROM (SELECT (e ->> 'time')::timestamptz AS t FROM jsonb_array_elements(:'log'::jsonb) e
         WHERE e -> 'body' ->> 'reference' = 'FAULT429000001') s;
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT set_config('qa.reqs', :'reqs', false) AS ignored \gset
SELECT results_eq($$SELECT * FROM pg_temp.counts('FAULT429000001')$$, $$VALUES (2, 1)$$,
                  'received twice, accepted once');

------------------------------------------------------------------------
-- A timeout after the body was sent (delay 3 s > request_timeout 2 s):
-- unknown, settled by a read, never charged twice
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"delay","delay_s":3,"count":1,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'`
SELECT mono_charge('2348011111113', 5000, 'After a timeout', 'FAULTTIMEOUT01') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'unknown' FROM mono.fund_requests
                                   WHERE reference = 'FAULTTIMEOUT01')$$, '5 seconds'),
          'a timeout after the body was sent makes the row unknown');
SELECT ok(last_error LIKE 'request failed while waiting for the response%',
          'last_error names the phase: ' || last_error)
  FROM mono.fund_requests WHERE reference = 'FAULTTIMEOUT01';
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'FAULTTIMEOUT01')$$),
          'the unknown row is settled: awaiting_authorization');
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT set_config('qa.reqs', :'reqs', false) AS ignored \gset
SELECT is((SELECT accepted FROM pg_temp.counts('FAULTTIMEOUT01')), 1,
          'Mono accepted the reference exactly once: no second charge');
SELECT ok((:'reqs'::jsonb -> 'by_path' ->> 'GET /owo/v1/fund-requests')::int >= 1,
          'the settling was done by a read (GET /owo/v1/fund-requests)');
SELECT results_eq($$SELECT http_status, last_error FROM mono.fund_requests WHERE reference = 'FAULTTIMEOUT01'$$,
                  $$VALUES (409, 'Mono already had this reference from an earlier attempt; its redirect_url was not received')$$,
                  'the row says Mono already had the reference (a duplicate answer is a success)');

------------------------------------------------------------------------
-- The connection closed after the body, without an answer
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"close_after_body","count":1,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'`
SELECT mono_charge('2348011111114', 5000, 'After a closed connection', 'FAULTCLOSED001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'FAULTCLOSED001')$$),
          'close_after_body: the charge is settled in awaiting_authorization');
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT set_config('qa.reqs', :'reqs', false) AS ignored \gset
SELECT is((SELECT accepted FROM pg_temp.counts('FAULTCLOSED001')), 1, 'accepted exactly once');
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/fund-requests&limit=50'`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'log'::jsonb) e
            WHERE e -> 'body' ->> 'reference' = 'FAULTCLOSED001' AND e ->> 'fault' = 'close_after_body'),
          1::bigint, 'the fault did hit this charge');

------------------------------------------------------------------------
-- A 202 whose body is not JSON
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"invalid_json","count":1,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'`
SELECT mono_charge('2348011111115', 5000, 'After invalid JSON', 'FAULTBADJSON01') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'FAULTBADJSON01')$$),
          'invalid JSON: the charge is settled in awaiting_authorization');
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT set_config('qa.reqs', :'reqs', false) AS ignored \gset
SELECT is((SELECT accepted FROM pg_temp.counts('FAULTBADJSON01')), 1, 'accepted exactly once');

------------------------------------------------------------------------
-- 400: final, keeps Mono's message, HTTP status and trace_id
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"400","count":1,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'`
SELECT mono_charge('2348011111116', 5000, 'Refused with 400', 'FAULT400000001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.fund_requests
                                   WHERE reference = 'FAULT400000001')$$),
          'HTTP 400: the charge fails');
SELECT results_eq($$SELECT attempts, http_status, last_error, redirect_url FROM mono.fund_requests
                     WHERE reference = 'FAULT400000001'$$,
                  $$VALUES (1, 400, 'Bad request', NULL::text)$$,
                  'at once (one attempt), with HTTP 400 and Mono''s message');
SELECT ok(trace_id ~ '^[0-9a-f-]{36}$', 'Mono''s trace_id is kept: ' || coalesce(trace_id, 'NULL'))
  FROM mono.fund_requests WHERE reference = 'FAULT400000001';
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/fund-requests&limit=50'`
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT set_config('qa.reqs', :'reqs', false) AS ignored \gset
SELECT results_eq($$SELECT * FROM pg_temp.counts('FAULT400000001')$$, $$VALUES (1, 0)$$,
                  'sent once, never retried');

------------------------------------------------------------------------
-- 400 with field errors: a description Mono finds empty (mono_charge
-- refuses every blank description, so Mono's answer is injected)
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"400","count":1,"method":"POST","path_prefix":"/owo/v1/fund-requests","message":"Invalid payload","errors":[{"field":"description","message":"description is required"}]}'`
SELECT mono_charge('2348011111117', 5000, 'Fields', 'FAULTFIELDS001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.fund_requests
                                   WHERE reference = 'FAULTFIELDS001')$$),
          'a request Mono rejects with field errors fails');
SELECT results_eq($$SELECT http_status, last_error, error_details FROM mono.fund_requests
                     WHERE reference = 'FAULTFIELDS001'$$,
                  $$VALUES (400, 'Invalid payload (description: description is required)',
                            '[{"field": "description", "message": "description is required"}]'::jsonb)$$,
                  'it keeps HTTP 400, Mono''s message with the field, and the field errors as error_details');
SELECT ok(trace_id ~ '^[0-9a-f-]{36}$', 'and the trace_id')
  FROM mono.fund_requests WHERE reference = 'FAULTFIELDS001';

-- a link Mono rejects: the user is not active and no BVN was given
\set ignored `"$MONO_TEST_LIB"/sim user 2348099999999 not_found`
SELECT mono_link_beneficiary('2348099999999', 'Ada Obi', '000013', '0123456789', NULL,
                             5000, 'First charge of a refused link') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.beneficiaries
                                   WHERE phone = '2348099999999')$$),
          'a link Mono rejects (no BVN for a user not found) fails');
SELECT results_eq($$SELECT http_status, last_error, error_details -> 0 ->> 'field', trace_id IS NOT NULL
                      FROM mono.beneficiaries WHERE phone = '2348099999999'$$,
                  $$VALUES (400, 'Invalid payload (bvn: bvn is required when the user status is not_found)', 'bvn', true)$$,
                  'the link keeps HTTP 400, the message naming the field, error_details and trace_id');
SELECT results_eq($$SELECT status::text, last_error FROM mono.fund_requests WHERE phone = '2348099999999'$$,
                  $$VALUES ('failed', 'Invalid payload (bvn: bvn is required when the user status is not_found)')$$,
                  'its first fund request follows: failed, with the same message');

------------------------------------------------------------------------
-- Nothing listens: a refused connection is retried (the request never left)
------------------------------------------------------------------------
ALTER SYSTEM SET mono_pay.api_url = 'http://127.0.0.1:1';
SELECT mono_test.reload() AS reloaded \gset
SELECT pg_sleep(0.3) AS slept \gset
SELECT mono_charge('2348011111118', 5000, 'While Mono is unreachable', 'FAULTREFUSED01') AS ignored \gset
-- (attempts counts a claim: wait until that attempt's outcome is recorded too)
SELECT ok(mono_test.wait_until($$(SELECT attempts >= 2 AND status <> 'sending' FROM mono.fund_requests
                                   WHERE reference = 'FAULTREFUSED01')$$),
          'a refused connection is retried');
SELECT results_eq($$SELECT status::text, last_error LIKE 'request failed while connecting%' FROM mono.fund_requests
                     WHERE reference = 'FAULTREFUSED01'$$,
                  $$VALUES ('queued', true)$$,
                  'the row waits in queued (not unknown: nothing reached Mono), saying it could not connect');
ALTER SYSTEM RESET mono_pay.api_url;
SELECT mono_test.reload() AS reloaded \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'FAULTREFUSED01')$$, '15 seconds'),
          'once Mono is reachable again the charge is sent');
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT set_config('qa.reqs', :'reqs', false) AS ignored \gset
SELECT results_eq($$SELECT * FROM pg_temp.counts('FAULTREFUSED01')$$, $$VALUES (1, 1)$$,
                  'received once, accepted once');

------------------------------------------------------------------------
-- Retries run out: max_attempts = 3 against a permanent 500
------------------------------------------------------------------------
ALTER SYSTEM SET mono_pay.max_attempts = 3;
SELECT mono_test.reload() AS reloaded \gset
SELECT pg_sleep(0.3) AS slept \gset
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"500","count":100,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'`
SELECT mono_charge('2348011111119', 5000, 'Against a permanent 500', 'FAULTGIVEUP001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.fund_requests
                                   WHERE reference = 'FAULTGIVEUP001')$$),
          'retries exhausted: failed');
SELECT results_eq($$SELECT attempts, last_error FROM mono.fund_requests WHERE reference = 'FAULTGIVEUP001'$$,
                  $$VALUES (3, 'gave up after 3 attempts: HTTP 500: Internal server error')$$,
                  'after 3 attempts, saying "gave up after 3 attempts" and the last error');
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT set_config('qa.reqs', :'reqs', false) AS ignored \gset
SELECT results_eq($$SELECT * FROM pg_temp.counts('FAULTGIVEUP001')$$, $$VALUES (3, 0)$$,
                  'the simulator received exactly 3 attempts');

-- the same for a link (with a first charge)
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"500","count":100,"method":"POST","path_prefix":"/owo/v1/beneficiaries"}'`
SELECT mono_link_beneficiary('2348055555555', 'Ada Obi', '000013', '0123456789', '22212345678',
                             5000, 'First charge of a link that gives up') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.beneficiaries
                                   WHERE phone = '2348055555555')$$),
          'a link against a permanent 500 fails too');
SELECT results_eq($$SELECT attempts, last_error LIKE 'gave up after 3 attempts: %', bvn::text
                      FROM mono.beneficiaries WHERE phone = '2348055555555'$$,
                  $$VALUES (3, true, NULL::text)$$,
                  'after 3 attempts, saying so; the BVN is not kept once the link has failed');
SELECT results_eq($$SELECT status::text, last_error LIKE 'gave up after 3 attempts: %'
                      FROM mono.fund_requests WHERE phone = '2348055555555'$$,
                  $$VALUES ('failed', true)$$,
                  'its first fund request fails with it');

ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset
\set ignored `"$MONO_TEST_LIB"/sim clear-faults`

------------------------------------------------------------------------
-- mono_worker_status() remembers the latest error
------------------------------------------------------------------------
SELECT ok(running, 'the worker is still running after all that') FROM mono_worker_status();

------------------------------------------------------------------------
-- Nothing is left in the outbox
------------------------------------------------------------------------
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 0 FROM mono.fund_requests
                                   WHERE status IN ('queued', 'sending', 'unknown'))$$),
          'no fund request is left in the outbox');
SELECT is(array_agg(reference::text ORDER BY reference), ARRAY['FAULT400000001', 'FAULTFIELDS001', 'FAULTGIVEUP001'],
          'exactly the three charges refused or given up on failed (besides the links'' first charges)')
  FROM mono.fund_requests WHERE status = 'failed' AND link_id IS NULL;
\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT is(count(*), 0::bigint, 'no reference was ever accepted twice')
  FROM jsonb_each(:'reqs'::jsonb -> 'by_reference') r WHERE (r.value ->> 'accepted')::int > 1;

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql

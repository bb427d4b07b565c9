-- 04_user_status: mono_user_status() against the simulator: the statuses
-- Mono reports, not_found as a result (HTTP 200 or 404), phone
-- normalisation, and bad phones refused before anything is sent.
\ir ../lib/tap.psql

\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim user 2348012345678 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348022222222 pending_activation`
\set ignored `"$MONO_TEST_LIB"/sim user 2348033333333 pending_activiation`

BEGIN;
SELECT plan(24);

-- rows before the calls (the database may hold rows of other tests)
SELECT (SELECT count(*) FROM mono.beneficiaries) + (SELECT count(*) FROM mono.fund_requests)
       AS rows_before \gset

------------------------------------------------------------------------
-- Statuses
------------------------------------------------------------------------
SELECT results_eq($$SELECT phone, "exists", status FROM mono_user_status('2348012345678')$$,
                  $$VALUES ('2348012345678', true, 'active')$$,
                  'an active user is reported active');
SELECT results_eq($$SELECT phone, "exists", status FROM mono_user_status('2348022222222')$$,
                  $$VALUES ('2348022222222', true, 'pending_activation')$$,
                  'a user pending activation is reported pending_activation');
SELECT results_eq($$SELECT phone, "exists", status FROM mono_user_status('2348033333333')$$,
                  $$VALUES ('2348033333333', true, 'pending_activation')$$,
                  'Mono''s misspelling pending_activiation is reported as pending_activation');
SELECT results_eq($$SELECT phone, "exists", status FROM mono_user_status('2348099999999')$$,
                  $$VALUES ('2348099999999', false, 'not_found')$$,
                  'an unknown phone (HTTP 200, status not_found) is a result: exists false, not_found');

------------------------------------------------------------------------
-- not_found answered as HTTP 404
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim config '{"not_found_as_404": true}'`
\set n0 `"$MONO_TEST_LIB"/sim count 'GET /owo/v1/users/status'`
SELECT results_eq($$SELECT phone, "exists", status FROM mono_user_status('2348099999999')$$,
                  $$VALUES ('2348099999999', false, 'not_found')$$,
                  'an unknown phone answered with HTTP 404 is a result too: exists false, not_found');
\set n1 `"$MONO_TEST_LIB"/sim count 'GET /owo/v1/users/status'`
SELECT is(:n1 - :n0, 1, 'that answer came from the simulator (one request)');
SELECT results_eq($$SELECT phone, "exists", status FROM mono_user_status('2348012345678')$$,
                  $$VALUES ('2348012345678', true, 'active')$$,
                  'a known user is still active while not_found comes as 404');
\set ignored `"$MONO_TEST_LIB"/sim config '{"not_found_as_404": false}'`

------------------------------------------------------------------------
-- Phone normalisation: every accepted form is sent as 234XXXXXXXXXX
------------------------------------------------------------------------
SELECT results_eq($$SELECT phone, status FROM mono_user_status('+2348012345678')$$,
                  $$VALUES ('2348012345678', 'active')$$,
                  '+2348012345678 is normalised to 2348012345678');
SELECT results_eq($$SELECT phone, status FROM mono_user_status('08012345678')$$,
                  $$VALUES ('2348012345678', 'active')$$,
                  'the local form 08012345678 is normalised to 2348012345678');
SELECT results_eq($$SELECT phone, status FROM mono_user_status('2348012345678')$$,
                  $$VALUES ('2348012345678', 'active')$$,
                  '2348012345678 stays 2348012345678');

\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/users/status&limit=3'`
SELECT is((SELECT array_agg(e #>> '{query,phone}') FROM jsonb_array_elements(:'log'::jsonb) e),
          ARRAY['2348012345678', '2348012345678', '2348012345678'],
          'the simulator received phone=2348012345678 for all three forms');
SELECT is((SELECT array_agg(DISTINCT e #>> '{headers,mono-sec-key}') FROM jsonb_array_elements(:'log'::jsonb) e),
          ARRAY['<redacted>'],
          'each request carried the right mono-sec-key (the simulator redacts a correct key)');

------------------------------------------------------------------------
-- Bad phones: SQLSTATE 22023 naming the value, and nothing is sent
------------------------------------------------------------------------
\set n0 `"$MONO_TEST_LIB"/sim count 'GET /owo/v1/users/status'`
SELECT throws_ok($$SELECT * FROM mono_user_status('abc')$$,
                 '22023', 'invalid phone number "abc"', 'letters are refused');
SELECT throws_ok($$SELECT * FROM mono_user_status('123')$$,
                 '22023', 'invalid phone number "123"', 'a short number is refused');
SELECT throws_ok($$SELECT * FROM mono_user_status('')$$,
                 '22023', 'invalid phone number ""', 'an empty phone is refused');
SELECT throws_ok($$SELECT * FROM mono_user_status('2348012345678999')$$,
                 '22023', 'invalid phone number "2348012345678999"', 'a number with extra digits is refused');
SELECT throws_ok($$SELECT * FROM mono_user_status('+23480123456x8')$$,
                 '22023', 'invalid phone number "+23480123456x8"', 'a letter inside the number is refused');
SELECT throws_ok($$SELECT * FROM mono_user_status('2358012345678')$$,
                 '22023', 'invalid phone number "2358012345678"', 'a 13-digit number outside +234 is refused');
SELECT throws_ok($$SELECT * FROM mono_user_status('8012345678')$$,
                 '22023', 'invalid phone number "8012345678"', 'ten digits without 0 or 234 are refused');
SELECT is(r.hint, 'Use the forms 2348012345678, +2348012345678 or 08012345678.',
          'the error hints at the accepted forms')
  FROM mono_test.run($$SELECT * FROM mono_user_status('abc')$$) r;

-- NULL: an error like any other bad phone, and no call
SELECT throws_ok($$SELECT * FROM mono_user_status(NULL)$$,
                 '22023', 'phone must not be null', 'a NULL phone is refused');
\set n1 `"$MONO_TEST_LIB"/sim count 'GET /owo/v1/users/status'`
SELECT is(:n1 - :n0, 0, 'no request reached the simulator for any bad or NULL phone');

------------------------------------------------------------------------
-- Nothing stays behind: a status check writes no row
------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM mono.beneficiaries) + (SELECT count(*) FROM mono.fund_requests),
          :rows_before::bigint, 'checking statuses queued no link and no fund request');
SELECT results_eq($$SELECT status FROM mono_user_status('08033333333')$$,
                  $$VALUES ('pending_activation')$$,
                  'a later call still works (no state left over by the errors above)');

SELECT * FROM finish();
ROLLBACK;

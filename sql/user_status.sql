--
-- mono_user_status(): what a user sees, against the Mono simulator.
-- Needs MONO_SIM_URL and MONO_TEST_LIB in the environment (test/run sets them).
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS mono_pay CASCADE;
CREATE EXTENSION mono_pay;
RESET client_min_messages;

-- the simulator knows three users
\! "$MONO_TEST_LIB/sim" reset
\! "$MONO_TEST_LIB/sim" user 2348012345678 active
\! "$MONO_TEST_LIB/sim" user 2348022222222 pending_activation
\! "$MONO_TEST_LIB/sim" user 2348033333333 pending_activiation

-- the three statuses; Mono's misspelling "pending_activiation" is corrected
SELECT * FROM mono_user_status('2348012345678');
SELECT * FROM mono_user_status('2348022222222');
SELECT * FROM mono_user_status('2348033333333');

-- an unknown phone is a result, not an error
SELECT * FROM mono_user_status('2348099999999');

-- ... also when Mono answers it with HTTP 404
\! "$MONO_TEST_LIB/sim" config '{"not_found_as_404": true}'
SELECT * FROM mono_user_status('2348099999999');
\! "$MONO_TEST_LIB/sim" config '{"not_found_as_404": false}'

-- phone forms: international with +, local with 0, and plain digits
SELECT phone, status FROM mono_user_status('+2348012345678');
SELECT phone, status FROM mono_user_status('08012345678');
SELECT phone, status FROM mono_user_status('2348012345678');

-- several phones at once
SELECT s.*
  FROM unnest(ARRAY['08012345678', '08022222222', '08099999999']) AS p(phone),
       LATERAL mono_user_status(p.phone) AS s;

-- bad phones: an error naming the value, with the accepted forms as hint
\set VERBOSITY default
SELECT * FROM mono_user_status('abc');
SELECT * FROM mono_user_status('');
SELECT * FROM mono_user_status('+23480123456x8');
SELECT * FROM mono_user_status('2348012345678999');

-- NULL is refused like any other bad phone
SELECT * FROM mono_user_status(NULL);

-- none of the bad phones reached Mono: the 11 calls so far are the good ones above
\! "$MONO_TEST_LIB/sim" count 'GET /owo/v1/users/status'

-- errors from Mono (their detail carries a trace_id that changes every run,
-- hence terse verbosity below)
\set VERBOSITY terse
SET mono_pay.secret_key = 'sk_wrong_key_0003';
SELECT * FROM mono_user_status('2348012345678');
RESET mono_pay.secret_key;

\! "$MONO_TEST_LIB/sim" fault '{"kind":"500","count":1}'
SELECT * FROM mono_user_status('2348012345678');

\! "$MONO_TEST_LIB/sim" fault '{"kind":"invalid_json","count":1}'
\set VERBOSITY default
SELECT * FROM mono_user_status('2348012345678');

SET mono_pay.request_timeout = '300ms';
\! "$MONO_TEST_LIB/sim" fault '{"kind":"delay","count":1,"delay_s":2}'
\set VERBOSITY terse
SELECT * FROM mono_user_status('2348012345678');
RESET mono_pay.request_timeout;
\set VERBOSITY default

-- and after all that, the same call works
SELECT * FROM mono_user_status('2348012345678');

DROP EXTENSION mono_pay;

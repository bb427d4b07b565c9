-- 05_errors: how a failed call to Mono reaches the user: the SQLSTATE, a
-- message that says what happened (and in which phase), a hint, and never
-- the key. Each error is provoked by one simulator fault or setting.
\ir ../lib/tap.psql

\set ignored `"$MONO_TEST_LIB"/sim reset && "$MONO_TEST_LIB"/sim user 2348012345678 active`

BEGIN;
SELECT plan(25);

------------------------------------------------------------------------
-- A key Mono refuses: HTTP 401
------------------------------------------------------------------------
SET LOCAL mono_pay.secret_key = 'sk_wrong_key_0002';
CREATE TEMP TABLE e_auth ON COMMIT DROP AS
SELECT * FROM mono_test.run($$SELECT * FROM mono_user_status('2348012345678')$$);
RESET mono_pay.secret_key;

SELECT is(code, '28000', 'a key Mono refuses (HTTP 401) raises 28000') FROM e_auth;
SELECT ok(message ILIKE '%authentication%', 'its message says authentication failed: ' || message) FROM e_auth;
SELECT ok(position('sk_wrong_key_0002' IN concat(message, detail, hint)) = 0,
          'its message, detail and hint do not contain the key') FROM e_auth;
SELECT ok(hint LIKE '%mono_pay.secret_key%', 'its hint names the setting to fix') FROM e_auth;
SELECT results_eq($$SELECT status FROM mono_user_status('2348012345678')$$, $$VALUES ('active')$$,
                  'with the configured key the same call works');

------------------------------------------------------------------------
-- No key at all: refused before anything is sent
------------------------------------------------------------------------
\set n0 `"$MONO_TEST_LIB"/sim count 'GET /owo/v1/users/status'`
SET LOCAL mono_pay.secret_key = '';
CREATE TEMP TABLE e_nokey ON COMMIT DROP AS
SELECT * FROM mono_test.run($$SELECT * FROM mono_user_status('2348012345678')$$);
RESET mono_pay.secret_key;
\set n1 `"$MONO_TEST_LIB"/sim count 'GET /owo/v1/users/status'`
SELECT is(code, '55000', 'an empty mono_pay.secret_key raises 55000 (object not in prerequisite state)') FROM e_nokey;
SELECT is(message, 'mono_pay.secret_key is not set', 'its message says the key is not set') FROM e_nokey;
SELECT is(:n1 - :n0, 0, 'and no request was sent without a key');

------------------------------------------------------------------------
-- Mono fails: HTTP 500, 429
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"500","count":1,"path_prefix":"/owo/v1/users/status"}'`
CREATE TEMP TABLE e_500 ON COMMIT DROP AS
SELECT * FROM mono_test.run($$SELECT * FROM mono_user_status('2348012345678')$$);
SELECT is(code, '38000', 'HTTP 500 from Mono raises 38000 (external routine exception)') FROM e_500;
SELECT is(message, 'Mono API error: Internal server error', 'its message is Mono''s message') FROM e_500;
SELECT ok(detail LIKE 'HTTP status 500, trace_id %', 'its detail gives the HTTP status and Mono''s trace_id') FROM e_500;

\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"429","count":1,"retry_after":7,"path_prefix":"/owo/v1/users/status"}'`
CREATE TEMP TABLE e_429 ON COMMIT DROP AS
SELECT * FROM mono_test.run($$SELECT * FROM mono_user_status('2348012345678')$$);
SELECT is(code, '53400', 'HTTP 429 from Mono raises 53400 (configuration limit exceeded)') FROM e_429;
SELECT ok(hint ILIKE '%rate limit%', 'its hint says Mono is rate limiting') FROM e_429;

------------------------------------------------------------------------
-- The network: timeouts and dropped connections name their phase
------------------------------------------------------------------------
SET LOCAL mono_pay.request_timeout = '300ms';
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"delay","count":1,"delay_s":2,"path_prefix":"/owo/v1/users/status"}'`
CREATE TEMP TABLE e_timeout ON COMMIT DROP AS
SELECT * FROM mono_test.run($$SELECT * FROM mono_user_status('2348012345678')$$);
RESET mono_pay.request_timeout;
SELECT is(code, '08006', 'mono_pay.request_timeout passing raises 08006 (connection failure)') FROM e_timeout;
SELECT ok(message LIKE '%waiting for the response%', 'its message names the phase: ' || message) FROM e_timeout;
SELECT ok(hint LIKE '%mono_pay.request_timeout%', 'its hint names the timeout setting') FROM e_timeout;

\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"close_after_body","count":1,"path_prefix":"/owo/v1/users/status"}'`
CREATE TEMP TABLE e_closed ON COMMIT DROP AS
SELECT * FROM mono_test.run($$SELECT * FROM mono_user_status('2348012345678')$$);
SELECT is(code, '08006', 'a connection closed without an answer raises 08006') FROM e_closed;
SELECT ok(message LIKE '%closed%', 'its message says the connection was closed: ' || message) FROM e_closed;

-- nothing listens on port 1 of the loopback
SET LOCAL mono_pay.api_url = 'http://127.0.0.1:1';
CREATE TEMP TABLE e_refused ON COMMIT DROP AS
SELECT * FROM mono_test.run($$SELECT * FROM mono_user_status('2348012345678')$$);
RESET mono_pay.api_url;
SELECT is(code, '08006', 'a refused connection raises 08006') FROM e_refused;
SELECT ok(message LIKE '%connecting%', 'its message names the phase: ' || message) FROM e_refused;

------------------------------------------------------------------------
-- Mono answers something that is not JSON
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"invalid_json","count":1,"path_prefix":"/owo/v1/users/status"}'`
CREATE TEMP TABLE e_json ON COMMIT DROP AS
SELECT * FROM mono_test.run($$SELECT * FROM mono_user_status('2348012345678')$$);
SELECT is(code, '22P02', 'a body that is not JSON raises 22P02 (invalid text representation)') FROM e_json;
SELECT ok(message LIKE '%invalid JSON%', 'its message says invalid JSON: ' || message) FROM e_json;
SELECT ok(detail LIKE '%<html>oops</html>%', 'its detail shows the start of the body') FROM e_json;

------------------------------------------------------------------------
-- statement_timeout (and so Ctrl-C) interrupts a call in flight
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"delay","count":1,"delay_s":3,"path_prefix":"/owo/v1/users/status"}'`
SET LOCAL statement_timeout = '300ms';
CREATE TEMP TABLE e_cancel ON COMMIT DROP AS
SELECT * FROM mono_test.run($$SELECT * FROM mono_user_status('2348012345678')$$);
RESET statement_timeout;
SELECT is(code, '57014', 'statement_timeout cancels a call waiting on Mono (57014)') FROM e_cancel;

-- every fault armed above was used, so each error above came from its fault
\set faults `"$MONO_TEST_LIB"/sim get faults`
SELECT is(:'faults'::jsonb -> 'faults', '[]'::jsonb, 'every armed fault was consumed');

SELECT * FROM finish();
ROLLBACK;

-- 21_webhook_security: mono_handle_webhook() refuses anything it should not
-- trust: a wrong, missing or partial secret, no secret configured, a body
-- that is not JSON, has no event, or is larger than
-- mono_pay.webhook_max_size. Each is an error, mono.webhook_events and the
-- Direct Charge rows are unchanged, and no error text shows the secret.
\ir setup.psql


SELECT plan(31);

-- a request the events below would change if they were accepted
SELECT mono_charge('2348011111111', 5000, 'Guarded', 'GUARDED0000001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests)$$),
          'setup: a request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/GUARDED0000001/approve`
\set hooks `"$MONO_TEST_LIB"/sim get 'webhooks?since=0'`
-- the real owo.fundrequest.created body Mono would send
SELECT (:'hooks'::jsonb -> 'webhooks' -> 0 ->> 'body') AS body \gset
SELECT is(:'body'::jsonb ->> 'event', 'owo.fundrequest.created', 'setup: a real webhook body from the simulator');

CREATE TEMP TABLE refused (label text, code text, message text, detail text, hint text);
-- Call mono_handle_webhook and record the error it raises.
CREATE FUNCTION pg_temp.try(label text, body text, secret text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO refused
    SELECT label, r.code, r.message, r.detail, r.hint
      FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', body, secret)) r
$$;

------------------------------------------------------------------------
-- The secret
------------------------------------------------------------------------
SELECT pg_temp.try('wrong secret', :'body', 'whsec_not_the_one');
SELECT pg_temp.try('NULL secret', :'body', NULL);
SELECT pg_temp.try('empty secret', :'body', '');
SELECT pg_temp.try('a prefix of the secret', :'body', left(:'webhook_secret', length(:'webhook_secret') - 1));
SELECT pg_temp.try('the secret and one more character', :'body', :'webhook_secret' || 'x');
SELECT pg_temp.try('the secret in other case', :'body', upper(:'webhook_secret'));
SELECT pg_temp.try('the secret with a trailing space', :'body', :'webhook_secret' || ' ');

SELECT results_eq($$SELECT label, code, message FROM refused ORDER BY label$$,
                  $$VALUES ('NULL secret', '28000', 'invalid webhook secret'),
                           ('a prefix of the secret', '28000', 'invalid webhook secret'),
                           ('empty secret', '28000', 'invalid webhook secret'),
                           ('the secret and one more character', '28000', 'invalid webhook secret'),
                           ('the secret in other case', '28000', 'invalid webhook secret'),
                           ('the secret with a trailing space', '28000', 'invalid webhook secret'),
                           ('wrong secret', '28000', 'invalid webhook secret')$$,
                  'a wrong, NULL, empty, partial, longer, re-cased or padded secret: 28000 invalid webhook secret');
SELECT ok(hint LIKE '%401%', 'the hint says to answer Mono with 401: ' || hint) FROM refused WHERE label = 'wrong secret';
SELECT is(count(*), 0::bigint, 'no error text contains the configured secret')
  FROM refused WHERE position(:'webhook_secret' IN concat(message, detail, hint)) > 0;

-- no secret configured (a superuser session may SET it: PGC_SUSET)
BEGIN;
SET LOCAL mono_pay.webhook_secret = '';
SELECT pg_temp.try('no secret configured', :'body', :'webhook_secret');
SELECT pg_temp.try('no secret configured, empty secret given', :'body', '');
SELECT pg_temp.try('no secret configured, NULL secret given', :'body', NULL);
COMMIT;
SELECT results_eq($$SELECT code, message FROM refused WHERE label LIKE 'no secret configured%' ORDER BY label$$,
                  $$VALUES ('55000', 'mono_pay.webhook_secret is not set'),
                           ('55000', 'mono_pay.webhook_secret is not set'),
                           ('55000', 'mono_pay.webhook_secret is not set')$$,
                  'with no secret configured every call is refused (55000), even an empty or NULL secret');
SELECT ok(hint LIKE '%webhook secret%', 'its hint says where the secret comes from: ' || hint)
  FROM refused WHERE label = 'no secret configured';

-- no secret configured cluster-wide (ALTER SYSTEM + reload)
ALTER SYSTEM SET mono_pay.webhook_secret = '';
SELECT mono_test.reload() AS reloaded \gset
SELECT pg_sleep(0.3) AS slept \gset
SELECT is(current_setting('mono_pay.webhook_secret'), '', 'setup: the configured secret is now empty');
SELECT pg_temp.try('no secret in postgresql.auto.conf', :'body', :'webhook_secret');
ALTER SYSTEM RESET mono_pay.webhook_secret;
SELECT mono_test.reload() AS reloaded \gset
SELECT pg_sleep(0.3) AS slept \gset
SELECT is(code, '55000', 'the same when the secret is emptied in the configuration file and reloaded')
  FROM refused WHERE label = 'no secret in postgresql.auto.conf';

------------------------------------------------------------------------
-- The body
------------------------------------------------------------------------
SELECT pg_temp.try('malformed JSON', '{"event": "owo.fundrequest.created", "data": {', :'webhook_secret');
SELECT pg_temp.try('not JSON at all', 'event=owo.fundrequest.created', :'webhook_secret');
SELECT pg_temp.try('empty body', '', :'webhook_secret');
SELECT pg_temp.try('duplicate keys', '{"event": "owo.fundrequest.created", "event": "owo.fundrequest.expired", "data": {}}', :'webhook_secret');
SELECT pg_temp.try('no event', '{"event_id": "evt_qa_noevent1", "data": {"id": "frq_1"}}', :'webhook_secret');
SELECT pg_temp.try('empty event', '{"event": "", "event_id": "evt_qa_noevent2", "data": {}}', :'webhook_secret');
SELECT pg_temp.try('event not a string', '{"event": 42, "event_id": "evt_qa_noevent3", "data": {}}', :'webhook_secret');
SELECT pg_temp.try('an array', '[{"event": "owo.fundrequest.created"}]', :'webhook_secret');
SELECT pg_temp.try('a JSON string', '"owo.fundrequest.created"', :'webhook_secret');
SELECT pg_temp.try('NULL body', NULL, :'webhook_secret');

SELECT results_eq($$SELECT label, code FROM refused
                    WHERE label IN ('malformed JSON', 'not JSON at all', 'empty body', 'duplicate keys')
                    ORDER BY label$$,
                  $$VALUES ('duplicate keys', '22P02'), ('empty body', '22P02'),
                           ('malformed JSON', '22P02'), ('not JSON at all', '22P02')$$,
                  'malformed, non-JSON, empty and ambiguous (duplicate keys) bodies: 22P02');
SELECT is(message, 'webhook body is not valid JSON', 'the message says the body is not valid JSON')
  FROM refused WHERE label = 'malformed JSON';
SELECT ok(detail IS NOT NULL AND detail <> '', 'the detail says where the JSON breaks: ' || detail)
  FROM refused WHERE label = 'malformed JSON';
SELECT results_eq($$SELECT label, code, message FROM refused
                    WHERE label IN ('no event', 'empty event', 'event not a string', 'an array')
                    ORDER BY label$$,
                  $$VALUES ('an array', '22023', 'webhook body has no "event"'),
                           ('empty event', '22023', 'webhook body has no "event"'),
                           ('event not a string', '22023', 'webhook body has no "event"'),
                           ('no event', '22023', 'webhook body has no "event"')$$,
                  'a body without a usable "event" (missing, empty, not a string, not an object): 22023');
SELECT ok(code IN ('22P02', '22023'), 'a bare JSON string is refused: ' || code || ' ' || message)
  FROM refused WHERE label = 'a JSON string';
SELECT ok(code IS NOT NULL, 'a NULL body is refused (' || code || ': ' || message || ')')
  FROM refused WHERE label = 'NULL body';
SELECT ok(code = '22004' OR code = '22023', 'with a NULL/invalid-argument SQLSTATE') FROM refused WHERE label = 'NULL body';

-- the secret is checked before the body is even looked at
SELECT pg_temp.try('malformed JSON, wrong secret', '{"event": ', 'whsec_not_the_one');
SELECT is(code, '28000', 'a malformed body with a wrong secret is refused for the secret (nothing parsed)')
  FROM refused WHERE label = 'malformed JSON, wrong secret';

-- size
SET mono_pay.webhook_max_size = '1kB';
SELECT jsonb_build_object('event', 'owo.fundrequest.created', 'event_id', 'evt_qa_big00001',
                          'data', jsonb_build_object('id', 'frq_big', 'reference', 'BIGBODY0000001',
                                                     'description', repeat('x', 1100)))::text AS big \gset
SELECT pg_temp.try('oversized body', :'big', :'webhook_secret');
SELECT results_eq($$SELECT code, message FROM refused WHERE label = 'oversized body'$$,
                  format($$VALUES ('54000', 'webhook body of %s bytes is larger than mono_pay.webhook_max_size (1024 bytes)')$$,
                         octet_length(:'big')),
                  'a body larger than mono_pay.webhook_max_size: 54000 naming both sizes');
SELECT ok(hint LIKE '%mono_pay.webhook_max_size%', 'the hint names the setting') FROM refused WHERE label = 'oversized body';
SELECT pg_temp.try('oversized body, wrong secret', :'big', 'whsec_not_the_one');
SELECT is(code, '28000', 'an oversized body with a wrong secret is refused for the secret')
  FROM refused WHERE label = 'oversized body, wrong secret';
SELECT jsonb_build_object('event', 'acme.qa.fits', 'event_id', 'evt_qa_fits00001',
                          'data', jsonb_build_object('pad', repeat('x', 900)))::text AS fits \gset
SELECT cmp_ok(octet_length(:'fits'), '<=', 1024, 'setup: a body just under the limit');
SELECT is(mono_handle_webhook(:'fits', :'webhook_secret'), 'ignored', 'a body within the limit is accepted');
RESET mono_pay.webhook_max_size;
DELETE FROM mono.webhook_events WHERE event_id = 'evt_qa_fits00001';

------------------------------------------------------------------------
-- Nothing was stored or changed by any refused call
------------------------------------------------------------------------
SELECT is(count(*), 0::bigint, 'mono.webhook_events is unchanged: no refused event was stored') FROM mono.webhook_events;
SELECT results_eq($$SELECT status::text, mono_id FROM mono.fund_requests$$,
                  $$VALUES ('awaiting_authorization', NULL::text)$$,
                  'the fund request is unchanged');
SELECT is(count(*), 0::bigint, 'no error text of any refused call contains the secret')
  FROM refused WHERE position(:'webhook_secret' IN concat(message, detail, hint)) > 0;
SELECT is(count(*), 0::bigint, 'every refused call raised an error') FROM refused WHERE code IS NULL;

-- and the real body with the right secret is accepted, once
SELECT is(mono_handle_webhook(:'body', :'webhook_secret'), 'applied', 'the real body with the right secret is applied');
SELECT is(mono_handle_webhook(:'body', :'webhook_secret'), 'duplicate', 'and a second delivery is a duplicate');
SELECT is(count(*), 1::bigint, 'one event is stored') FROM mono.webhook_events;
SELECT is(status::text, 'created', 'the request moved to created') FROM mono.fund_requests;

-- who may call it
SET client_min_messages = warning;
DROP ROLE IF EXISTS mono_qa_nobody;
RESET client_min_messages;
CREATE ROLE mono_qa_nobody NOLOGIN;
SELECT is(r.code, '42501', 'a role without a grant cannot call mono_handle_webhook()')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', :'body', :'webhook_secret'), 'mono_qa_nobody') r;
DROP ROLE mono_qa_nobody;

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql
DROP TABLE refused;

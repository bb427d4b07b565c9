-- 75_hostile: the attacks of the hostile-input review, each refused or
-- absorbed: free text past Mono's limits, blank values of every kind,
-- schedules in the past, ignored arguments, trigger keys given twice,
-- error messages cut inside a character, webhook times read with the
-- session's TimeZone/DateStyle, valid JSON with huge numbers, a reference
-- Mono holds for another request, a polled event naming a Mono id another
-- row holds, secrets set per role, and secrets/BVNs in failing statements
-- (99_logs then checks the server log).
\ir setup.psql

SET TimeZone = 'UTC';
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS t75 CASCADE;
RESET client_min_messages;
-- the worker must not send what this file stages by hand
ALTER SYSTEM SET mono_pay.enabled = off;
SELECT mono_test.reload() AS reloaded \gset

SELECT plan(36);

------------------------------------------------------------------------
-- Free text: at most what Mono takes; one blank rule
------------------------------------------------------------------------
SELECT is(r.code, '22023', 'a description of 50 MB is refused (22023)')
  FROM mono_test.run($$SELECT mono_charge('2348012345678', 500, 'big ' || repeat('x', 50000000))$$) r;
SELECT is(r.code, '22023', 'a description of 256 characters is refused (22023)')
  FROM mono_test.run($$SELECT mono_charge('2348012345678', 500, repeat('é', 256))$$) r;
SELECT is(r.code, NULL, 'a description of 255 characters is accepted')
  FROM mono_test.run($$SELECT mono_charge('2348012345678', 500, repeat('é', 255))$$) r;
SELECT results_eq($$SELECT r.code FROM (VALUES
        (E'\u00a0\u00a0'), (E'\u0001\u0002'), (E'\u3164\u3164'), (E'\u0301\u0308'),
        (E'\u115f\u1160'), (E'\u200b\u2060'), (E'\ufeff '), (E'\uffa0\u3000')) AS v(t),
        LATERAL mono_test.run(format('SELECT mono_charge(%L, 500, %L)', '2348012345678', v.t)) r$$,
    $$VALUES ('22023'), ('22023'), ('22023'), ('22023'), ('22023'), ('22023'), ('22023'), ('22023')$$,
    'descriptions of no-break spaces, controls, Hangul fillers, combining marks, zero-width marks only: 22023');
SELECT results_eq($$SELECT r.code FROM (VALUES (E'\u00a0\u00a0\u00a0'), (E'\u0007\u0008'), (E'\u3164\u3164'), (E'\u0301\u0301')) AS v(t),
        LATERAL mono_test.run(format('SELECT mono_link_beneficiary(%L, %L, %L, %L)',
                                     '2348012345678', v.t, '000013', '0123456789')) r$$,
    $$VALUES ('22023'), ('22023'), ('22023'), ('22023')$$,
    'account names of no-break spaces, controls, fillers or combining marks only: 22023');
SELECT is(r.code, NULL, 'a name with a combining mark on a letter is accepted')
  FROM mono_test.run($$SELECT mono_link_beneficiary('2348012345679', E'Ade\u0301 Obi', '000013', '0123456789')$$) r;
SELECT is(mono.is_blank(E'\u3164 \u0301'), true, 'mono.is_blank() (the domains'' rule) agrees');

------------------------------------------------------------------------
-- Schedules: from today (UTC) on, ten years at most
------------------------------------------------------------------------
SELECT is(r.code, '22023', 'a start_date of 0001-01-01 is refused')
  FROM mono_test.run($$SELECT mono_charge('2348012345678', 500, 'Daily', NULL, 'day', 1, '0001-01-01')$$) r;
SELECT is(r.code, '22023', 'a start_date of yesterday is refused')
  FROM mono_test.run($$SELECT mono_charge('2348012345678', 500, 'Daily', NULL, 'day', 1, now() - interval '1 day')$$) r;
SELECT is(r.code, '22023', 'an end_date 20 years ahead is refused')
  FROM mono_test.run($$SELECT mono_charge('2348012345678', 500, 'Daily', NULL, 'day', 1, now(), now() + interval '20 years')$$) r;
SELECT is(r.code, NULL, 'a start at the beginning of today (UTC) is accepted')
  FROM mono_test.run($$SELECT mono_charge('2348012345678', 500, 'Daily', NULL, 'day', 1, date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')$$) r;
-- a request from before this release, backdated by hand: planning is bounded
SELECT mono_test.backdate(id, '2000-01-01') AS old_daily
  FROM mono_charge('2348012345678', 500, 'Legacy daily', 'LEGACYDAILY001', 'day', 1, now()) \gset
SELECT cmp_ok((SELECT count(*) FROM mono.schedule WHERE fund_request_id = :old_daily), '<=', 400::bigint,
              'a daily plan from the year 2000 plans at most 400 instalments at once');
SELECT lives_ok('SELECT mono.maintain()', 'upkeep runs over it');
SELECT cmp_ok((SELECT count(*) FROM mono.schedule WHERE fund_request_id = :old_daily), '<=', 800::bigint,
              'and extends it by at most 400 per sweep');

------------------------------------------------------------------------
-- Ignored or ambiguous arguments
------------------------------------------------------------------------
SELECT is(r.code, '22023', 'an interval for a one-time charge is refused, not ignored')
  FROM mono_test.run($$SELECT mono_charge('2348012345678', 500, 'Once', NULL, NULL, 3)$$) r;
CREATE SCHEMA t75;
CREATE TABLE t75.orders (a text, b text, amount bigint, note text);
CREATE TRIGGER charge AFTER INSERT ON t75.orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=a', 'phone=b', 'amount=amount', 'description=note');
SELECT is(r.code, '22023', 'a trigger key given twice (phone=a, phone=b) is refused')
  FROM mono_test.run($$INSERT INTO t75.orders VALUES ('2348012345678', '2348099999999', 500, 'x')$$) r;
SELECT is(r.message, 'invalid reference "' || repeat('é', 30) || '..."',
          'a long value in an error message is cut between characters (60 bytes: 30 of these)')
  FROM mono_test.run($$SELECT mono_charge('2348012345678', 500, 'x', repeat('é', 100))$$) r;

------------------------------------------------------------------------
-- Webhooks: times, numbers, secrets
------------------------------------------------------------------------
SELECT mono_charge('2348012345678', 5000000, 'Big order', 'BIGORDER000001') AS ignored \gset
UPDATE mono.fund_requests SET status = 'awaiting_authorization' WHERE reference = 'BIGORDER000001';
SELECT mono_charge('2348012345678', 5000, 'Small order', 'SMALLORDER0001') AS ignored \gset
UPDATE mono.fund_requests SET status = 'approved', mono_id = 'frq_small75' WHERE reference = 'SMALLORDER0001';
SET TimeZone = 'Pacific/Kiritimati';
SET DateStyle = 'SQL, DMY';
SELECT is(mono_handle_webhook('{"event":"owo.payment.successful","event_id":"evt_75_time","data":{"id":"pay_75_time","fund_request":"frq_small75","amount":5000,"status":"successful","processed_at":"2026-03-04T05:06:07Z","extra":1e400,"huge":99999999999999999999999}}', :'webhook_secret'),
          'applied', 'a body with 1e400 and a 23-digit integer in fields mono_pay does not need is applied');
RESET TimeZone;
RESET DateStyle;
SET TimeZone = 'UTC';
SELECT is(processed_at, '2026-03-04 05:06:07+00'::timestamptz,
          'processed_at is read as ISO 8601 UTC, whatever TimeZone (+14) and DateStyle (DMY)')
  FROM mono.payments WHERE mono_id = 'pay_75_time';
SELECT is(mono_handle_webhook(format('{"event":"owo.payment.failed","event_id":"evt_75_%s","data":{"id":"pay_75_%s","fund_request":"frq_small75","amount":5,"status":"failed","processed_at":"%s"}}', v, v, v), :'webhook_secret'),
          'ignored', format('processed_at "%s" is not taken', v))
  FROM unnest(ARRAY['yesterday', 'infinity', '04/03/2026']) AS v;
SELECT results_eq($$SELECT count(*) FILTER (WHERE outcome = 'rejected' AND error LIKE '%data.processed_at%')::int,
                           (SELECT count(*) FROM mono.payments WHERE mono_id LIKE 'pay_75_%' AND mono_id <> 'pay_75_time')::int
                      FROM mono.webhook_events WHERE event_id IN ('evt_75_yesterday', 'evt_75_infinity', 'evt_75_04/03/2026')$$,
                  $$VALUES (3, 0)$$, 'each is stored as rejected, its error naming data.processed_at, and no payment is written');
SELECT is(mono_handle_webhook('{"event":"owo.payment.successful","event_id":"evt_75_amount","data":{"id":"pay_75_amount","fund_request":"frq_small75","amount":1e400,"status":"successful"}}', :'webhook_secret'),
          'ignored', 'an amount of 1e400 is not taken');
SELECT ok(error LIKE '%data.amount%', 'the rejected event''s error names data.amount')
  FROM mono.webhook_events WHERE event_id = 'evt_75_amount';
SELECT is(mono_handle_webhook('{"event":"owo.fundrequest.created","event_id":"evt_75_hash","data":{"id":"frq_other75","reference":"BIGORDER000001","phone":"2348012345678","type":"onetime","amount":100}}',
                              mono_test.hmac(:'webhook_secret', '{"event":"owo.fundrequest.created","event_id":"evt_75_hash","data":{"id":"frq_other75","reference":"BIGORDER000001","phone":"2348012345678","type":"onetime","amount":100}}')),
          'ignored', 'the secret may be passed as hmac-sha256:<hex> of the body keyed with it (the event itself is refused: next test)');
SELECT results_eq($$SELECT status::text, mono_id, last_error LIKE 'Mono holds reference BIGORDER000001 for another request%' FROM mono.fund_requests WHERE reference = 'BIGORDER000001'$$,
                  $$VALUES ('failed', NULL::text, true)$$,
                  'a reference Mono holds with another amount (100 vs 5,000,000 kobo) is never adopted: our request fails, saying so');
SELECT is(r.code, '28000', 'a wrong hmac-sha256: value is refused like a wrong secret')
  FROM mono_test.run($$SELECT mono_handle_webhook('{"event":"owo.x"}', 'hmac-sha256:' || repeat('0', 64))$$) r;
SELECT is(r.code, '28000', 'sha256:00 (the request that restarted 0.2.0''s cluster) is refused like a wrong secret')
  FROM mono_test.run($$SELECT mono_handle_webhook('{}', 'sha256:00')$$) r;
SELECT is(r.code, '28000', 'the bare sha256: digest of the secret is no longer accepted')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', '{"event":"owo.x","event_id":"evt_75_digest"}',
                            'sha256:' || encode(sha256(convert_to(:'webhook_secret', 'UTF8')), 'hex'))) r;
SELECT is(r.code, '28000', 'an hmac-sha256: value of one body does not verify another')
  FROM mono_test.run(format('SELECT mono_handle_webhook(%L, %L)', '{"event":"owo.x","event_id":"evt_75_other"}',
                            mono_test.hmac(:'webhook_secret', '{"event":"owo.x","event_id":"evt_75_one"}'))) r;
SELECT is(mono_handle_webhook('{"event":"owo.x","event_id":"evt_75_upper"}',
                              'hmac-sha256:' || upper(substr(mono_test.hmac(:'webhook_secret', '{"event":"owo.x","event_id":"evt_75_upper"}'), 13))),
          'ignored', 'the hex of hmac-sha256: may be upper case');

------------------------------------------------------------------------
-- Polling: an event naming a Mono id another row holds is set aside
------------------------------------------------------------------------
SELECT mono_charge('2348012345678', 7000, 'Third order', 'THIRDORDER0001') AS ignored \gset
UPDATE mono.fund_requests SET status = 'awaiting_authorization' WHERE reference = 'THIRDORDER0001';
SELECT lives_ok($$SELECT mono.apply_owo_events('[{"event":"owo.fundrequest.created","data":{"id":"frq_small75","reference":"THIRDORDER0001","phone":"2348012345678","type":"onetime","amount":7000}},
                                               {"event":"owo.fundrequest.approved","data":{"id":"frq_small75"}}]')$$,
                'polled events naming a Mono id that another row holds raise nothing');
SELECT results_eq($$SELECT outcome::text, error LIKE '23505:%' FROM mono.webhook_events WHERE event_id LIKE 'poll:%'$$,
                  $$VALUES ('rejected', true)$$,
                  'the one that cannot be stored is kept aside with its error; the next one is applied');

------------------------------------------------------------------------
-- Secrets and BVNs
------------------------------------------------------------------------
SELECT is(r.code, '42501', 'ALTER ROLE ... SET mono_pay.secret_key is refused (pg_db_role_setting is public)')
  FROM mono_test.run($$ALTER ROLE postgres SET mono_pay.secret_key = 'sk_75_role'$$) r;
SELECT is(r.code, '42501', 'ALTER DATABASE ... SET mono_pay.webhook_secret is refused')
  FROM mono_test.run(format('ALTER DATABASE %I SET mono_pay.webhook_secret = %L', current_database(), 'whsec_75_db')) r;
-- failing calls with a literal secret and a literal BVN: 99_logs checks
-- that neither reached the server log (the functions log no STATEMENT)
\set ON_ERROR_STOP 0
SELECT mono_handle_webhook('not json', :'webhook_secret');
SELECT mono_link_beneficiary('2348012345678', ' ', '000013', '0123456789', '22299887766');
-- the same statement fails after the function returned (issue 23): the
-- error is raised outside it, without its log_min_error_statement
SELECT (mono_link_beneficiary('2348012345671', 'Ada Obi', '000013', '0123456789', '22299887755')).id
       / (random() * 0)::int;
SELECT mono_handle_webhook('{"event": "mono.test.outside", "data": {}}', :'webhook_secret')
       || (1 / (random() * 0)::int)::text;
\set ON_ERROR_STOP 1

ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset
\ir clean.psql
SELECT * FROM finish();

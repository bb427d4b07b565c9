-- 14_wait_status: mono_wait() returns the row once the worker has sent it
-- (after COMMIT), refuses to wait in the transaction that queued the
-- request (with a hint to COMMIT first), and gives up at its timeout;
-- mono_worker_status() shows the worker running and counts the outbox.
\ir setup.psql


SELECT plan(29);

------------------------------------------------------------------------
-- mono_worker_status(): the worker is there
------------------------------------------------------------------------
SELECT results_eq($$SELECT running, state, database FROM mono_worker_status()$$,
                  $$VALUES (true, 'running', 'mono_test')$$,
                  'mono_worker_status(): running, in database mono_test');
SELECT is(s.pid, a.pid, 'its pid is the mono_pay worker''s in pg_stat_activity')
  FROM mono_worker_status() s, pg_stat_activity a WHERE a.backend_type = 'mono_pay worker';
SELECT results_eq($$SELECT queued, sending, unknown, awaiting_authorization FROM mono_worker_status()$$,
                  $$VALUES (0::bigint, 0::bigint, 0::bigint, 0::bigint)$$,
                  'an empty outbox counts zero everywhere');
SELECT sent_total AS sent0 FROM mono_worker_status() \gset

------------------------------------------------------------------------
-- mono_wait() after COMMIT returns the redirect_url
-- (each charge below has its own phone: Mono takes a phone's next prompt
-- only once its earlier one is answered, and these go unanswered)
------------------------------------------------------------------------
SELECT mono_charge('2348011111111', 5000, 'Waited for', 'WAIT0000000001') AS ignored \gset
SELECT results_eq($$SELECT status::text, redirect_url LIKE 'https://wa.me/%' FROM mono_wait('WAIT0000000001')$$,
                  $$VALUES ('awaiting_authorization', true)$$,
                  'mono_wait() after COMMIT returns the row with the redirect_url');
SELECT is(w.redirect_url, f.redirect_url, 'the same redirect_url as in mono.fund_requests')
  FROM mono_wait('WAIT0000000001') w, mono.fund_requests f WHERE f.reference = 'WAIT0000000001';
SELECT ok(sent_total >= :sent0 + 1, 'sent_total counts the request') FROM mono_worker_status();
SELECT is(awaiting_authorization, 1::bigint, 'the outbox counts it awaiting authorization')
  FROM mono_worker_status();

-- a slow Mono: mono_wait waits for it
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"delay","delay_s":0.7,"count":1,"method":"POST"}'`
SELECT mono_charge('2348011111112', 5000, 'Waited for, slowly', 'WAIT0000000002') AS ignored \gset
SELECT clock_timestamp() AS t0 \gset
SELECT results_eq($$SELECT status::text FROM mono_wait('WAIT0000000002', '10 seconds')$$,
                  $$VALUES ('awaiting_authorization')$$,
                  'mono_wait() waits while Mono is slow, and returns the accepted row');
SELECT ok(clock_timestamp() - :'t0'::timestamptz BETWEEN interval '0.6 seconds' AND interval '5 seconds',
          'it waited about as long as Mono took');

------------------------------------------------------------------------
-- mono_wait() in the transaction that queued the request
------------------------------------------------------------------------
BEGIN;
SELECT mono_charge('2348011111113', 5000, 'Not committed yet', 'WAIT0000000003') AS ignored \gset
CREATE TEMP TABLE same_tx AS SELECT * FROM mono_test.run($$SELECT * FROM mono_wait('WAIT0000000003', '1 second')$$);
SELECT is(code, '55000', 'mono_wait() in the queuing transaction raises 55000') FROM same_tx;
SELECT is(message, 'mono_wait("WAIT0000000003") called in the transaction that queued the request',
          'its message says why') FROM same_tx;
SELECT ok(hint LIKE 'COMMIT first%', 'its hint says to COMMIT first: ' || hint) FROM same_tx;
SELECT ok(detail LIKE '%only after the transaction that queued it commits%', 'its detail explains') FROM same_tx;
SELECT ok(clock_timestamp() - now() < interval '0.9 seconds', 'it fails at once, without waiting out the timeout');
COMMIT;
SELECT results_eq($$SELECT status::text FROM mono_wait('WAIT0000000003')$$, $$VALUES ('awaiting_authorization')$$,
                  'after COMMIT the same call works');

------------------------------------------------------------------------
-- mono_wait() errors and timeout
------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM mono_wait('NOSUCHREF00001')$$, 'P0002',
                 'no fund request with reference "NOSUCHREF00001"', 'an unknown reference raises P0002');
SELECT throws_ok($$SELECT * FROM mono_wait(NULL)$$, '22023', NULL, 'a NULL reference is refused (22023)');
SELECT throws_ok($$SELECT * FROM mono_wait('WAIT0000000001', NULL)$$, '22023', NULL, 'a NULL timeout is refused (22023)');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT throws_ok($$SELECT * FROM mono_wait('WAIT0000000001')$$, '55000', NULL,
                 'mono_wait() refuses REPEATABLE READ (it could not see the worker''s commits)');
ROLLBACK;

-- the worker disabled: the request stays queued; mono_wait gives up at the timeout
ALTER SYSTEM SET mono_pay.enabled = off;
SELECT mono_test.reload() AS reloaded \gset
SELECT pg_sleep(0.3) AS slept \gset
SELECT mono_charge('2348011111114', 5000, 'While the worker is disabled', 'WAIT0000000004') AS ignored \gset
SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', '22212345678',
                             5000, 'First charge, worker disabled') AS ignored \gset
SELECT clock_timestamp() AS t0 \gset
SELECT results_eq($$SELECT status::text FROM mono_wait('WAIT0000000004', '400 milliseconds')$$,
                  $$VALUES ('queued')$$,
                  'at its timeout mono_wait() returns the row as it is (still queued)');
SELECT ok(clock_timestamp() - :'t0'::timestamptz BETWEEN interval '0.4 seconds' AND interval '2 seconds',
          'after waiting out the timeout');
SELECT results_eq($$SELECT running, queued, awaiting_authorization FROM mono_worker_status()$$,
                  $$VALUES (true, 3::bigint, 3::bigint)$$,
                  'mono_worker_status() counts the queued charge, link and first charge, and the three awaiting');
SELECT is(in_flight, 0, 'nothing is in flight while disabled') FROM mono_worker_status();
SELECT pg_sleep(3 * 0.2) AS slept \gset
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?limit=500'`
SELECT is(count(*), 0::bigint, 'with mono_pay.enabled = off nothing is sent')
  FROM jsonb_array_elements(:'log'::jsonb) e
 WHERE e -> 'body' ->> 'reference' = 'WAIT0000000004' OR e -> 'body' ->> 'phone' = '2348022222222';

ALTER SYSTEM RESET mono_pay.enabled;
SELECT mono_test.reload() AS reloaded \gset
SELECT results_eq($$SELECT status::text FROM mono_wait('WAIT0000000004')$$, $$VALUES ('awaiting_authorization')$$,
                  'enabled again, the worker sends the queued charge');
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.beneficiaries
                                   WHERE phone = '2348022222222')$$),
          'and the queued link');
SELECT results_eq($$SELECT queued, sending, unknown, awaiting_authorization FROM mono_worker_status()$$,
                  $$VALUES (0::bigint, 0::bigint, 0::bigint, 6::bigint)$$,
                  'the outbox counts: nothing queued, six awaiting (four charges, a link and its first charge)');

------------------------------------------------------------------------
-- who may call them
------------------------------------------------------------------------
SET client_min_messages = warning;
DROP ROLE IF EXISTS mono_qa_nobody;
RESET client_min_messages;
CREATE ROLE mono_qa_nobody NOLOGIN;
SELECT is(r.code, '42501', 'a role without a grant cannot call mono_wait()')
  FROM mono_test.run($$SELECT * FROM mono_wait('WAIT0000000001')$$, 'mono_qa_nobody') r;
SELECT is(r.code, '42501', 'nor mono_worker_status()')
  FROM mono_test.run($$SELECT * FROM mono_worker_status()$$, 'mono_qa_nobody') r;
DROP ROLE mono_qa_nobody;

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql

-- 56_personal_data: no full BVN and no full phone number where mono_pay
-- keeps what Mono sent (issue 22, item 10). Mono's real-time
-- mono.events.account_updated carries an 11-digit bvn (its own sample,
-- doc/mono-api.md §4): mono.webhook_events keeps the event with the BVN
-- masked to its last 4 digits, in body and in raw (raw stays valid JSON,
-- equal to body). With mono_pay.http_log on, the worker's reads that name a
-- phone (?phone=, here a link's polling read) are logged with the phone
-- masked.
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348073100001 active`
DELETE FROM mono.webhook_events WHERE body::text LIKE '%c56\_%';
DELETE FROM mono.accounts WHERE account_id LIKE 'c56\_%';

SELECT plan(11);

------------------------------------------------------------------------
-- The BVN of Mono's real-time account_updated
------------------------------------------------------------------------
\set body `sed -e 's/"AVAILABLE | PARTIAL | UNAVAILABLE"/"AVAILABLE"/' -e 's/"SUCCESSFUL | FAILED | REAUTHORISATION_REQUIRED"/"SUCCESSFUL"/' -e 's/66e2d530c293212b39d34aa8/c56_sample/' "$MONO_ROOT"/test/samples/connect.mono.events.account_updated.realtime.json`
SELECT ok(position('22000000003' IN :'body') > 0, 'Mono''s sample carries the full BVN 22000000003');
SELECT is(mono_handle_webhook(:'body', :'connect_webhook_secret'), 'applied',
          'the real-time account_updated is verified and applied');
SELECT is((SELECT count(*)::int FROM mono.webhook_events
            WHERE body::text LIKE '%22000000003%' OR raw LIKE '%22000000003%'), 0,
          'mono.webhook_events keeps no full BVN, in body or raw');
SELECT results_eq($$SELECT body #>> '{data,account,bvn}', raw::jsonb = body
                      FROM mono.webhook_events WHERE body #>> '{data,account,_id}' = 'c56_sample'$$,
                  $$VALUES ('*******0003', true)$$,
                  'the BVN is masked to its last 4 digits; raw is still the JSON of body');
SELECT ok((SELECT raw LIKE '%"bvn": "*******0003"%' AND raw LIKE '%"job_id": "68c9928e2f51b0693d5fffeb"%'
             FROM mono.webhook_events WHERE body #>> '{data,account,_id}' = 'c56_sample'),
          'raw keeps Mono''s text (its spacing) apart from the masked digits');
SELECT is((SELECT balance FROM mono.accounts WHERE account_id = 'c56_sample'), 17542::bigint,
          'the event''s facts were applied (the balance)');

-- a BVN as a number, under a key in capitals, deeper in the body
\set wh `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"mono.events.account_updated","data":{"account":{"_id":"c56_number","BVN":22000000004,"holder":{"bvn":"22000000005"}},"meta":{"data_status":"AVAILABLE"}}}'`
SELECT is(mono_handle_webhook(:'wh'::jsonb ->> 'body', :'connect_webhook_secret'), 'applied',
          'an event with a numeric BVN and a nested one is applied');
SELECT results_eq($$SELECT body #>> '{data,account,BVN}', body #>> '{data,account,holder,bvn}',
                           raw NOT LIKE '%22000000004%' AND raw NOT LIKE '%22000000005%'
                      FROM mono.webhook_events WHERE body #>> '{data,account,_id}' = 'c56_number'$$,
                  $$VALUES ('*******0004', '*******0005', true)$$,
                  'both are masked, in body and raw');

------------------------------------------------------------------------
-- Phones in mono.http_log paths
------------------------------------------------------------------------
ALTER SYSTEM SET mono_pay.http_log = on;
SELECT mono_test.reload() AS reloaded \gset
SELECT mono_link_beneficiary('2348073100001', 'Ada Obi', '000013', '0123456789') AS ignored \gset
SELECT mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.beneficiaries
                                WHERE phone = '2348073100001')$$) AS sent \gset
-- its polling read (by the phone's list) made due now, not a minute later
UPDATE mono.beneficiaries SET next_poll_at = now() WHERE phone = '2348073100001';
SELECT ok(mono_test.wait_until($$(SELECT count(*) > 0 FROM mono.http_log
                                   WHERE path LIKE '/owo/v1/beneficiaries?phone=%0001&%')$$, '20 seconds'),
          'the link''s polling read names the phone, and is logged in mono.http_log');
SELECT is((SELECT count(*)::int FROM mono.http_log WHERE path LIKE '%2348073100001%'), 0,
          'no path in mono.http_log holds the full phone');
SELECT ok((SELECT bool_and(path ~ 'phone=\*+[0-9]{4}($|&)') AND bool_or(path ~ 'phone=\*{9}0001($|&)')
             FROM mono.http_log WHERE path LIKE '%phone=%'),
          'the phone is masked to its last 4 digits (phone=*********0001)');
SELECT diag(string_agg(DISTINCT path, ', ')) FROM mono.http_log WHERE path LIKE '%phone=%';
ALTER SYSTEM RESET mono_pay.http_log;
SELECT mono_test.reload() AS reloaded \gset

SELECT * FROM finish();

-- leave nothing behind for the worker to send, poll or refresh during later files
DELETE FROM mono.accounts WHERE account_id LIKE 'c56\_%';
\ir clean.psql

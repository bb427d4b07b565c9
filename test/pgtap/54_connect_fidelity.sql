-- 54_connect_fidelity: Connect as Mono documents it (issue 11).
--   4  FAILED, UNAVAILABLE and PARTIAL accounts can be refreshed
--      (mono_account_sync(id, true), made by the worker after COMMIT)
--      within the 5-minute limit; reading data
--      that was not retrieved stays gated; PROCESSING is not refreshed
--   8  a real-time refresh sends both x-realtime and x-real-time
--   9  credits/debits: transactions_count per month and in total
--  11  the legacy events mono.events.reauthorisation_required and
--      mono.events.sync_failed set the account's sync_status
--  12  webhook bodies are kept exactly as received (mono.webhook_events.raw),
--      but for a BVN, masked (56_personal_data)
--  13  mono_pay.track_webhook_accounts: off, an account first seen in a
--      webhook is recorded but not tracked; on, it is tracked
-- and every connect.* sample of Mono's (test/samples/, each with its .src)
-- fed through mono_handle_webhook or served by the simulator, with the
-- rows it leads to. Placeholder values of a sample ("AVAILABLE | PARTIAL |
-- UNAVAILABLE") are replaced with one value, as the samples' README says.
--
-- No surrounding transaction: the worker must see what each sync commits.
\ir ../lib/tap.psql

\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c54_failed","balance":1,"data_status":"FAILED","retrieved_data":[],"pending_new_transactions":[{"id":"f9","amount":300,"type":"debit","date":"2025-05-02T00:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c54_unavail","balance":1,"data_status":"UNAVAILABLE","retrieved_data":[]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c54_partial","balance":4242,"data_status":"PARTIAL","retrieved_data":["identity","balance"]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c54_proc","balance":1,"data_status":"PROCESSING","retrieved_data":[]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c54_flows","flows_shape":"transactions_count","transactions":[{"id":"w1","amount":700,"type":"debit","date":"2025-06-03T00:00:00Z"},{"id":"w2","amount":300,"type":"debit","date":"2025-06-09T00:00:00Z"},{"id":"w3","amount":50,"type":"debit","date":"2025-07-01T00:00:00Z"}]}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c54_txs"}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c54_txv1"}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"c54_enq","data_status":"AVAILABLE"}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"6972325w62ta67u33f88840a"}'`
\set ignored `"$MONO_TEST_LIB"/sim post accounts '{"id":"6631279bdedfbd"}'`

DELETE FROM mono.accounts WHERE account_id LIKE 'c54\_%' OR account_id IN
    ('6972325w62ta67u33f88840a', '6631279bdedfbd', '65203b27f6323a96a4a', '681b12e922f90e2319dea1a',
     '6979274350b9c321c14524b1', '60770aa8c5878a2af69ed849', '68c985839212c1cdb5d2c18',
     '697527435Ab9c368c14524b2', '5f171a530295e231abca1153', '697926f050B9c321c1451dda',
     '5f171a5301abca1153', '66e2d530c293212b39d34aa8', '5fbcde8f8699984153e65537');
DELETE FROM mono.account_flows WHERE account_id LIKE 'c54\_%';
DELETE FROM mono.account_flow_totals WHERE account_id LIKE 'c54\_%';
SET mono_pay.track_webhook_accounts = off;

SELECT plan(61);

------------------------------------------------------------------------
-- 4. Refreshes out of FAILED, UNAVAILABLE and PARTIAL; the reading gate stays
------------------------------------------------------------------------
CREATE TEMP TABLE rt (label text PRIMARY KEY, a mono.accounts);
INSERT INTO rt SELECT 'failed', s FROM mono_account_sync('c54_failed', true) s;
INSERT INTO rt SELECT 'unavail', s FROM mono_account_sync('c54_unavail', true) s;
INSERT INTO rt SELECT 'partial', s FROM mono_account_sync('c54_partial', true) s;
SET client_min_messages = warning;
INSERT INTO rt SELECT 'proc', s FROM mono_account_sync('c54_proc', true) s;
RESET client_min_messages;
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 3 FROM mono.accounts WHERE last_refresh_at IS NOT NULL
                                    AND account_id IN ('c54_failed', 'c54_unavail', 'c54_partial'))$$),
          'each asked for a refresh, which the worker made after COMMIT');
\set n_failed `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c54_failed/transactions'`
\set n_unavail `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c54_unavail/transactions'`
\set n_partial `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c54_partial/transactions'`
\set n_proc `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c54_proc/transactions'`
SELECT is(ARRAY[:n_failed, :n_unavail, :n_partial], ARRAY[1, 1, 1],
          'mono_account_sync(id, true) refreshes FAILED, UNAVAILABLE and PARTIAL accounts: one real-time call each');
SELECT results_eq($$SELECT label, a.data_status, a.job_id IS NOT NULL, a.last_refresh_at IS NOT NULL,
                           a.job_status
                      FROM rt JOIN mono.accounts a ON a.account_id = (rt.a).account_id
                     WHERE label <> 'proc' ORDER BY label$$,
                  $$VALUES ('failed', 'FAILED', true, true, 'finished'),
                           ('partial', 'PARTIAL', true, true, 'finished'),
                           ('unavail', 'UNAVAILABLE', true, true, 'finished')$$,
                  'each records its refresh job');
SELECT results_eq($$SELECT has_new_data, next_step FROM mono.accounts WHERE account_id = 'c54_failed'$$,
                  $$VALUES (true, 'details')$$,
                  'the FAILED account''s refresh found new data, yet details (not transactions) come next: its data is not read');
SELECT is(:n_proc, 0, 'a PROCESSING account is not refreshed (Mono is still linking it)');
SELECT results_eq($$SELECT job_id, last_refresh_at, refresh_requested_at FROM mono.accounts WHERE account_id = 'c54_proc'$$,
                  $$VALUES (NULL::text, NULL::timestamptz, NULL::timestamptz)$$, 'and records no refresh, nor a request');
SELECT is(r.code, '53400', 'a second refresh of the FAILED account within 5 minutes is refused before any call')
  FROM mono_test.run($$SELECT mono_account_sync('c54_failed', true)$$) r;
\set n_failed2 `"$MONO_TEST_LIB"/sim count-realtime 'GET /v2/accounts/c54_failed/transactions'`
SELECT is(:n_failed2, 1, 'no second real-time call reached Mono');
\set n_plain `"$MONO_TEST_LIB"/sim count 'GET /v2/accounts/c54_failed/transactions'`
SELECT is(:n_plain - :n_failed2, 0, 'and the FAILED account''s transactions were never pulled');
SELECT is((SELECT count(*)::int FROM mono.transactions
            WHERE account_id IN ('c54_failed', 'c54_unavail', 'c54_partial')), 0,
          'nothing of theirs is stored in mono.transactions');

------------------------------------------------------------------------
-- 8. Both spellings of the real-time header
------------------------------------------------------------------------
\set log_rt `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c54_unavail/transactions&limit=1'`
SELECT is(:'log_rt'::jsonb -> 0 -> 'headers' ->> 'x-realtime', 'true', 'the refresh sends x-realtime: true (Mono''s guide)');
SELECT is(:'log_rt'::jsonb -> 0 -> 'headers' ->> 'x-real-time', 'true', 'and x-real-time: true (Mono''s API reference)');

------------------------------------------------------------------------
-- 9. transactions_count, per month and in total
------------------------------------------------------------------------
\set ignored `echo '{"status":"successful","data":{"total":1250000,"transactions_count":14,"history":[{"period":"2025-06","amount":500000,"transactions_count":6},{"period":"2025-07","amount":750000,"transactions_count":8}]}}' | "$MONO_TEST_LIB"/sim canned /v2/accounts/c54_flows/credits -`
SELECT results_eq($$SELECT period, amount, transaction_count, source FROM mono_inflow('c54_flows') ORDER BY period$$,
                  $$VALUES ('2025-06-01'::date, 500000::bigint, 6, 'api'), ('2025-07-01', 750000, 8, 'api')$$,
                  'the public model''s body (transactions_count per month): the counts are read');
SELECT results_eq($$SELECT amount, transaction_count FROM mono.account_flow_totals
                     WHERE account_id = 'c54_flows' AND direction = 'inflow'$$,
                  $$VALUES (1250000::bigint, 14)$$,
                  'and the totals (total, transactions_count) are kept in mono.account_flow_totals');
SELECT results_eq($$SELECT period, amount, transaction_count FROM mono_outflow('c54_flows') ORDER BY period$$,
                  $$VALUES ('2025-06-01'::date, 1000::bigint, 2), ('2025-07-01', 50, 1)$$,
                  'the simulator''s transactions_count shape: counts per month');
SELECT results_eq($$SELECT amount, transaction_count FROM mono.account_flow_totals
                     WHERE account_id = 'c54_flows' AND direction = 'outflow'$$,
                  $$VALUES (1050::bigint, 3)$$, 'and in total');

------------------------------------------------------------------------
-- 12. The body exactly as received
------------------------------------------------------------------------
\set raw '{"event": "mono.events.account_updated",  "data": {"meta": {"data_status": "AVAILABLE"},\n "account": {"_id": "c54_raw", "balance": 150, "rate": 1.50, "b": 1, "a": 2}}}'
SELECT is(mono_handle_webhook(:'raw', :'connect_webhook_secret'), 'applied', 'a body with odd spacing is applied');
SELECT is((SELECT raw FROM mono.webhook_events WHERE body -> 'data' -> 'account' ->> '_id' = 'c54_raw'), :'raw',
          'mono.webhook_events.raw is the body byte for byte: spacing, key order, 1.50');
SELECT isnt((SELECT body::text FROM mono.webhook_events WHERE body -> 'data' -> 'account' ->> '_id' = 'c54_raw'), :'raw',
            'beside its parsed form, which is not');
SELECT is((SELECT event_id FROM mono.webhook_events WHERE body -> 'data' -> 'account' ->> '_id' = 'c54_raw'),
          'sha256:' || encode(sha256(convert_to(:'raw', 'UTF8')), 'hex'),
          'without event_id, it is de-duplicated on the hash of the raw body');

------------------------------------------------------------------------
-- 13. mono_pay.track_webhook_accounts
------------------------------------------------------------------------
SELECT is((SELECT boot_val FROM pg_settings WHERE name = 'mono_pay.track_webhook_accounts'), 'off',
          'mono_pay.track_webhook_accounts is off by default');
SELECT is(mono_handle_webhook('{"event":"mono.events.account_connected","data":{"id":"c54_untracked","meta":{"data_status":"PROCESSING"}}}',
                              :'connect_webhook_secret'), 'applied', 'off: account_connected of an unknown account is applied');
SELECT results_eq($$SELECT tracked, data_status, next_sync_at FROM mono.accounts WHERE account_id = 'c54_untracked'$$,
                  $$VALUES (false, 'PROCESSING', NULL::timestamptz)$$,
                  'the account is recorded, but not tracked: the worker will not call Mono for it');
SET mono_pay.track_webhook_accounts = on;
SELECT is(mono_handle_webhook('{"event":"mono.events.account_connected","data":{"id":"c54_tracked","meta":{"data_status":"PROCESSING"}}}',
                              :'connect_webhook_secret'), 'applied', 'on: account_connected of another unknown account');
SELECT results_eq($$SELECT tracked, next_sync_at IS NOT NULL FROM mono.accounts WHERE account_id = 'c54_tracked'$$,
                  $$VALUES (true, true)$$, 'that account is tracked');
RESET mono_pay.track_webhook_accounts;
-- (its first transactions page will be Mono's sample, see below)
\set ignored `"$MONO_TEST_LIB"/sim canned /v2/accounts/c54_txs/transactions "$MONO_ROOT"/test/samples/connect.GET-v2-accounts-id-transactions.response.json`
SELECT results_eq($$SELECT tracked FROM mono_account_sync('c54_txs')$$, $$VALUES (true)$$,
                  'an account the application syncs is tracked whatever the setting');

------------------------------------------------------------------------
-- Mono's REST samples, served verbatim by the simulator
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim canned /v2/accounts/6972325w62ta67u33f88840a "$MONO_ROOT"/test/samples/connect.GET-v2-accounts-id.response.json`
SELECT results_eq($$SELECT name, account_number, currency, balance, type, institution, customer_id, data_status,
                           retrieved_data, auth_method, ref
                      FROM mono_account_sync('6972325w62ta67u33f88840a')$$,
                  $$VALUES ('Samuel Olamide', '1234567890', 'NGN', 73573::bigint, 'SAVINGS',
                            '{"name": "GTBank", "bank_code": "058", "type": "PERSONAL_BANKING"}'::jsonb,
                            '682dd53a74682beb490a0ed4', 'AVAILABLE', ARRAY['identity', 'balance', 'transactions'],
                            'internet_banking', '4055877-T')$$,
                  'sample GET /v2/accounts/{id} (connect-link): every field lands in mono.accounts');
\set ignored `"$MONO_TEST_LIB"/sim canned /v2/accounts/6631279bdedfbd "$MONO_ROOT"/test/samples/connect.GET-v2-accounts-id.response.reauth-variant.json '{}' 's/"AVAILABLE | PARTIAL | UNAVAILABLE"/"PARTIAL"/'`
SELECT results_eq($$SELECT balance, institution ->> 'bank_code', data_status, retrieved_data
                      FROM mono_account_sync('6631279bdedfbd')$$,
                  $$VALUES (22644::bigint, '058', 'PARTIAL', ARRAY['identity', 'balance', 'transactions'])$$,
                  'sample GET /v2/accounts/{id} (reauth-link, camelCase bankCode, as PARTIAL): read');
\set ignored `"$MONO_TEST_LIB"/sim canned /v2/accounts/65203b27f6323a96a4a "$MONO_ROOT"/test/samples/connect.GET-v1-accounts-id.legacy.json`
SELECT throws_ok($$SELECT mono_account_sync('65203b27f6323a96a4a')$$, '22P02',
                 'Mono''s answer for account "65203b27f6323a96a4a" has no account details',
                 'sample legacy v1 flat account body: refused as not a v2 answer');
SELECT is((SELECT count(*)::int FROM mono.accounts WHERE account_id = '65203b27f6323a96a4a'), 0,
          'and nothing is stored for it');

SELECT ok(mono_test.wait_until($$(SELECT count(*) = 2 FROM mono.transactions WHERE account_id = 'c54_txs')
                                 AND (SELECT transactions_synced_at IS NOT NULL FROM mono.accounts
                                       WHERE account_id = 'c54_txs')$$),
          'sample GET /v2/accounts/{id}/transactions: the worker pulls it (and the next page its meta.next names)');
SELECT results_eq($$SELECT id, narration, amount, type, balance, date, category FROM mono.transactions
                     WHERE account_id = 'c54_txs' ORDER BY id$$,
                  $$VALUES ('66141bbff58d2687e7d91234', 'PG00001', 500::bigint, 'debit', 1500::bigint,
                            '2023-12-14T00:02:00.500Z'::timestamptz, 'unknown'),
                           ('66141bbff58d2687e7d91235', '0000132312091322123456789012345 NIP TRANSFER', 1000, 'debit',
                            2000, '2023-12-09T13:23:00.100Z', 'bank_charges')$$,
                  'both transactions are stored as Mono sent them');
\set log_tx `"$MONO_TEST_LIB"/sim get 'requests/log?path=/v2/accounts/c54_txs/transactions&limit=10'`
SELECT is((SELECT array_agg(e -> 'query' ->> 'page' ORDER BY ord) FROM jsonb_array_elements(:'log_tx'::jsonb)
             WITH ORDINALITY x(e, ord)), ARRAY['1', '2'], 'page 1, then page 2 (the sample''s meta.next)');

\set ignored `"$MONO_TEST_LIB"/sim canned /v2/accounts/c54_txv1/transactions "$MONO_ROOT"/test/samples/connect.GET-accounts-id-transactions.legacy-v1.json`
SELECT lives_ok($$SELECT mono_account_sync('c54_txv1')$$, 'another account is synced');
SELECT ok(mono_test.wait_until($$(SELECT transactions_synced_at IS NOT NULL FROM mono.accounts
                                   WHERE account_id = 'c54_txv1')$$),
          'sample legacy v1 transactions (paging, _id): pulled');
SELECT results_eq($$SELECT id, amount, type, balance, category FROM mono.transactions
                     WHERE account_id = 'c54_txv1' ORDER BY id$$,
                  $$VALUES ('62a05bc04112ea670bd09812', 147085::bigint, 'debit', 1021841::bigint, 'online_transactions'),
                           ('62a05bc04112ea670bd13465', 300009, 'credit', 1168926, 'transfer')$$,
                  'its _id items are stored');

\set ignored `"$MONO_TEST_LIB"/sim canned /v2/accounts/c54_enq/transactions "$MONO_ROOT"/test/samples/connect.realtime.enqueued.response.json '{"x-job-id":"job_c54enq","x-job-status":"processing"}'`
SELECT count(mono_account_sync('c54_enq', true)) AS ignored \gset
SELECT mono_test.wait_until($$(SELECT last_refresh_at IS NOT NULL AND transactions_synced_at IS NOT NULL
                                FROM mono.accounts WHERE account_id = 'c54_enq')$$) AS refreshed \gset
SELECT results_eq($$SELECT job_id, job_status, refresh_pending, has_new_data FROM mono.accounts WHERE account_id = 'c54_enq'$$,
                  $$VALUES ('job_c54enq', 'processing', false, false)$$,
                  'sample "sync is enqueued" (data null) answering the refresh the worker made first: the job is recorded (processing), and the first pull, after it, settles it');

------------------------------------------------------------------------
-- Mono's webhook samples through mono_handle_webhook
------------------------------------------------------------------------
CREATE TEMP TABLE fed (label text PRIMARY KEY, raw text, answer text);
INSERT INTO mono.accounts (account_id, tracked, sync_status)
VALUES ('697527435Ab9c368c14524b2', false, 'REAUTHORISATION_REQUIRED');

\set s `cat "$MONO_ROOT"/test/samples/connect.mono.events.account_connected.json`
INSERT INTO fed VALUES ('connected', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
\set s `cat "$MONO_ROOT"/test/samples/connect.mono.events.account_connected.legacy.json`
INSERT INTO fed VALUES ('connected legacy', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
\set s `cat "$MONO_ROOT"/test/samples/connect.mono.events.account_connected.sept2025.json`
INSERT INTO fed VALUES ('connected sept2025', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
\set s `cat "$MONO_ROOT"/test/samples/connect.mono.events.account_unlinked.json`
INSERT INTO fed VALUES ('unlinked', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
\set s `cat "$MONO_ROOT"/test/samples/connect.mono.events.account_reauthorized.json`
INSERT INTO fed VALUES ('reauthorized', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
\set s `sed 's/"AVAILABLE | PARTIAL | UNAVAILABLE"/"PARTIAL"/' "$MONO_ROOT"/test/samples/connect.mono.events.account_updated.json`
INSERT INTO fed VALUES ('updated', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
\set s `sed 's/"AVAILABLE | PARTIAL | UNAVAILABLE"/"AVAILABLE"/' "$MONO_ROOT"/test/samples/connect.mono.events.account_updated.account_match.json`
INSERT INTO fed VALUES ('updated account_match', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
\set s `cat "$MONO_ROOT"/test/samples/connect.mono.events.account_updated.legacy-2022.json`
INSERT INTO fed VALUES ('updated legacy-2022', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
\set s `sed -e 's/"AVAILABLE | PARTIAL | UNAVAILABLE"/"AVAILABLE"/' -e 's/"SUCCESSFUL | FAILED | REAUTHORISATION_REQUIRED"/"SUCCESSFUL"/' "$MONO_ROOT"/test/samples/connect.mono.events.account_updated.realtime.json`
INSERT INTO fed VALUES ('updated realtime', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
\set s `cat "$MONO_ROOT"/test/samples/connect.mono.accounts.jobs.update.processing.json`
INSERT INTO fed VALUES ('jobs processing', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
SELECT results_eq($$SELECT job_id, job_status FROM mono.accounts WHERE account_id = '681b12e922f90e2319dea1a'$$,
                  $$VALUES ('681b431edb122e972b21fd4c', 'processing')$$,
                  'sample jobs.update processing: the job and its status are recorded');
SELECT is(mono_handle_webhook(:'s', :'connect_webhook_secret'), 'duplicate',
          'the same jobs.update again (no event_id) is a duplicate, by its body''s hash');
\set s `cat "$MONO_ROOT"/test/samples/connect.mono.accounts.jobs.update.finished.json`
INSERT INTO fed VALUES ('jobs finished', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
SELECT is((SELECT job_status FROM mono.accounts WHERE account_id = '681b12e922f90e2319dea1a'), 'finished',
          'sample jobs.update finished: the job is finished');
\set s `cat "$MONO_ROOT"/test/samples/connect.mono.accounts.jobs.update.failed.json`
INSERT INTO fed VALUES ('jobs failed', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));
\set s `cat "$MONO_ROOT"/test/samples/connect.mono.events.reauthorisation_required.legacy.json`
INSERT INTO fed VALUES ('reauthorisation_required legacy', :'s', mono_handle_webhook(:'s', :'connect_webhook_secret'));

SELECT is((SELECT count(*)::int FROM fed), 13, 'all 13 connect.* webhook samples were fed');
SELECT is_empty($$SELECT label, answer FROM fed WHERE answer <> 'applied'$$, 'every one is applied');
SELECT is_empty($$SELECT label FROM fed f
                   WHERE NOT EXISTS (SELECT 1 FROM mono.webhook_events e
                                      WHERE e.raw = replace(f.raw, '"bvn": "22000000003"', '"bvn": "*******0003"'))$$,
                'every one is stored exactly as received (raw), but the real-time sample''s BVN, masked');

SELECT results_eq($$SELECT data_status, auth_method, ref, customer_id, tracked FROM mono.accounts
                     WHERE account_id = '6979274350b9c321c14524b1'$$,
                  $$VALUES ('PROCESSING', 'internet_banking', '4055877-T', '6961439d7716b67eba2d068a', false)$$,
                  'account_connected: data status, auth method, ref and customer recorded; not tracked (setting off)');
SELECT results_eq($$SELECT data_status, customer_id FROM mono.accounts WHERE account_id = '68c985839212c1cdb5d2c18'$$,
                  $$VALUES (NULL::text, '67abe55f29135f8af8002cc')$$,
                  'account_connected of Sept 2025 (customer as a string, empty meta): the customer is recorded');
SELECT results_eq($$SELECT unlinked, tracked FROM mono.accounts WHERE account_id = '60770aa8c5878a2af69ed849'$$,
                  $$VALUES (true, false)$$,
                  'account_connected (legacy, data.id only), then account_unlinked (data.account.id): unlinked');
SELECT is((SELECT sync_status FROM mono.accounts WHERE account_id = '697527435Ab9c368c14524b2'), NULL,
          'account_reauthorized clears REAUTHORISATION_REQUIRED');
SELECT results_eq($$SELECT name, account_number, currency, balance, type, institution, auth_method, data_status,
                           retrieved_data, ref
                      FROM mono.accounts WHERE account_id = '697926f050B9c321c1451dda'$$,
                  $$VALUES ('Samuel Olamide', '0131883461', 'NGN', 22967::bigint, 'Tier 3 Savings Account',
                            '{"name": "ALAT by WEMA", "bank_code": "035", "type": "PERSONAL_BANKING"}'::jsonb,
                            'internet_banking', 'PARTIAL', ARRAY['identity', 'balance', 'transactions'], '4055877-T')$$,
                  'account_updated (as PARTIAL, balance retrieved): the camelCase account is recorded');
SELECT results_eq($$SELECT balance, ref, data_status FROM mono.accounts WHERE account_id = '5f171a530295e231abca1153'$$,
                  $$VALUES (22644::bigint, '180400887A', 'AVAILABLE')$$,
                  'account_updated with account_match: recorded');
SELECT results_eq($$SELECT balance, data_status, retrieved_data, auth_method FROM mono.accounts
                     WHERE account_id = '5f171a5301abca1153'$$,
                  $$VALUES (22644::bigint, 'AVAILABLE', '{}'::text[], 'internet_banking')$$,
                  'account_updated of 2022 (no retrieved_data): recorded');
SELECT results_eq($$SELECT job_id, job_status, has_new_data, sync_status, balance, institution ->> 'bank_code'
                      FROM mono.accounts WHERE account_id = '66e2d530c293212b39d34aa8'$$,
                  $$VALUES ('68c9928e2f51b0693d5fffeb', 'finished', true, 'SUCCESSFUL', 17542::bigint, '000018')$$,
                  'real-time account_updated (no event_id): job finished with new data, 6-digit bank code');
SELECT results_eq($$SELECT job_status, last_error FROM mono.accounts WHERE account_id = '681b12e922f90e2319dea1a'$$,
                  $$VALUES ('failed', 'real-time refresh job 681b431edb122e972b21fd4c failed at Mono')$$,
                  'sample jobs.update failed: the job failed, and last_error says so');

------------------------------------------------------------------------
-- 11. Legacy events set the account's state
------------------------------------------------------------------------
SELECT results_eq($$SELECT sync_status, tracked FROM mono.accounts WHERE account_id = '5fbcde8f8699984153e65537'$$,
                  $$VALUES ('REAUTHORISATION_REQUIRED', false)$$,
                  'mono.events.reauthorisation_required (legacy sample): sync_status REAUTHORISATION_REQUIRED');
SELECT is(mono_handle_webhook('{"event":"mono.events.reauthorisation_required","data":{"account":{"_id":"c54_txs"}}}',
                              :'connect_webhook_secret'), 'applied', 'the same event for a tracked account');
SELECT results_eq($$SELECT sync_status, (mono.account_next_step(a)).step FROM mono.accounts a WHERE account_id = 'c54_txs'$$,
                  $$VALUES ('REAUTHORISATION_REQUIRED', 'details')$$,
                  'its sync_status shows it, and the worker starts no refresh for it');
SELECT is(mono_handle_webhook('{"event":"mono.events.sync_failed","data":{"account":{"_id":"c54_txs"}}}',
                              :'connect_webhook_secret'), 'applied', 'mono.events.sync_failed is applied');
SELECT results_eq($$SELECT sync_status, last_error FROM mono.accounts WHERE account_id = 'c54_txs'$$,
                  $$VALUES ('FAILED', 'Mono reported that a sync of the account failed')$$,
                  'sync_status FAILED, and last_error says why');
SELECT is(mono_handle_webhook('{"event":"mono.events.sync_failed","timestamp":"2020-01-01T00:00:00Z","data":{"account":{"_id":"c54_txv1"}}}',
                              :'connect_webhook_secret'), 'applied', 'a sync_failed from 2020');
SELECT is((SELECT sync_status FROM mono.accounts WHERE account_id = 'c54_txv1'), NULL,
          'older than the stored details, it changes nothing');
SELECT is(mono_handle_webhook('{"event":"mono.events.sync_failed","data":{"id":"c54_newfail"}}',
                              :'connect_webhook_secret'), 'applied', 'sync_failed with data.id for an unknown account');
SELECT results_eq($$SELECT sync_status, tracked FROM mono.accounts WHERE account_id = 'c54_newfail'$$,
                  $$VALUES ('FAILED', false)$$, 'records it, untracked');

SELECT * FROM finish();

DELETE FROM mono.accounts WHERE account_id LIKE 'c54\_%';

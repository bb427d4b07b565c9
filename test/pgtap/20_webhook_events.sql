-- 20_webhook_events: the ten owo event types, with bodies the simulator
-- produced, applied through mono_handle_webhook(); an unknown type is stored
-- and ignored; every event delivered three times is applied once; a
-- shuffled full history of a recurring request ends in the same rows as the
-- ordered one; late events (approved after active, anything after
-- completed, expired or cancelled) are stored but change nothing.
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348011111111 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348022222222 active`
SET TimeZone = 'UTC';

SELECT plan(66);

-- Deliver, in listing order and each in its own call (as an endpoint would),
-- the webhooks of a /_sim/webhooks answer.
CREATE FUNCTION pg_temp.deliver(hooks jsonb)
RETURNS TABLE (n bigint, seq int, event_id text, event text, answer text)
LANGUAGE plpgsql AS $$
DECLARE
    w jsonb;
BEGIN
    n := 0;
    FOR w IN SELECT value FROM jsonb_array_elements(hooks -> 'webhooks') LOOP
        n := n + 1;
        seq := (w ->> 'seq')::int;
        event := (w ->> 'body')::jsonb ->> 'event';
        event_id := (w ->> 'body')::jsonb ->> 'event_id';
        answer := mono_handle_webhook(w ->> 'body', w -> 'headers' ->> 'mono-webhook-secret');
        RETURN NEXT;
    END LOOP;
END;
$$;
CREATE TEMP TABLE delivered (batch text, n bigint, seq int, event_id text, event text, answer text);

-- A webhook body built here (for late and unknown events), delivered directly.
CREATE FUNCTION pg_temp.hook(event text, data jsonb, event_id text DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$
    SELECT mono_handle_webhook(jsonb_build_object('event', event, 'event_id',
                                   coalesce(event_id, 'evt_qa_' || md5(random()::text)),
                                   'timestamp', '2026-01-01T00:00:00.000Z', 'data', data)::text,
                               current_setting('qa.secret'))
$$;
SELECT set_config('qa.secret', :'webhook_secret', false) AS ignored \gset

\set next 0

------------------------------------------------------------------------
-- owo.beneficiary.linked, owo.fundrequest.created, owo.fundrequest.approved
------------------------------------------------------------------------
SELECT mono_link_beneficiary('2348011111111', 'Ada Obi', '000013', '0123456789', NULL,
                             150000, 'Welcome box') AS ignored \gset
SELECT reference AS first_ref FROM mono.fund_requests WHERE link_id IS NOT NULL \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.beneficiaries)$$),
          'setup: a link with a first charge awaits the customer');

\set ignored `"$MONO_TEST_LIB"/sim post beneficiaries/2348011111111/approve`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'link', * FROM pg_temp.deliver(:'hooks');
SELECT is(array_agg(event || ' ' || answer ORDER BY n),
          ARRAY['owo.beneficiary.linked applied', 'owo.fundrequest.created applied',
                'owo.fundrequest.approved applied'],
          'the customer completes the link: linked, created, approved, each applied')
  FROM delivered WHERE batch = 'link';
SELECT results_eq($$SELECT status::text, mono_id LIKE 'ben_%', linked_at IS NOT NULL FROM mono.beneficiaries$$,
                  $$VALUES ('linked', true, true)$$,
                  'owo.beneficiary.linked: the link is linked with its ben_ id');
SELECT results_eq(format($$SELECT status::text, mono_id LIKE 'frq_%%', beneficiary_mono_id = (SELECT mono_id FROM mono.beneficiaries)
                             FROM mono.fund_requests WHERE reference = %L$$, :'first_ref'),
                  $$VALUES ('approved', true, true)$$,
                  'owo.fundrequest.created then .approved: the request has its frq_ id, the ben_ id, status approved');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE outcome = 'applied' AND applied_at IS NOT NULL)
                      FROM mono.webhook_events$$,
                  $$VALUES (3::bigint, 3::bigint)$$,
                  'the three events are stored, outcome applied, applied_at set');
SELECT is(w.body, (SELECT (h ->> 'body')::jsonb FROM jsonb_array_elements(:'hooks'::jsonb -> 'webhooks') h
                    WHERE (h ->> 'body')::jsonb ->> 'event' = 'owo.beneficiary.linked'),
          'the event is stored raw (the body as received)')
  FROM mono.webhook_events w WHERE w.event = 'owo.beneficiary.linked';
SELECT ok(event_id LIKE 'evt_%', 'and under Mono''s event_id') FROM mono.webhook_events WHERE event = 'owo.beneficiary.linked';

------------------------------------------------------------------------
-- owo.fundrequest.processing, owo.payment.failed, owo.payment.successful,
-- owo.fundrequest.completed
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/:first_ref/processing`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/:first_ref/debit '{"status":"failed","message":"Insufficient funds","processed_at":"2026-03-01T10:00:00Z"}'`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'processing', * FROM pg_temp.deliver(:'hooks');
SELECT is(array_agg(event || ' ' || answer ORDER BY n),
          ARRAY['owo.fundrequest.processing applied', 'owo.payment.failed applied'],
          'processing, then a failed debit: both applied')
  FROM delivered WHERE batch = 'processing';
SELECT is(status::text, 'processing', 'owo.fundrequest.processing: status processing')
  FROM mono.fund_requests WHERE reference = :'first_ref';
SELECT results_eq(format($$SELECT p.status::text, p.amount::bigint, p.message, p.processed_at, p.mono_id LIKE 'pay_%%',
                                  p.fund_request_id = f.id, p.session_id IS NOT NULL
                             FROM mono.payments p, mono.fund_requests f WHERE f.reference = %L$$, :'first_ref'),
                  $$VALUES ('failed', 150000::bigint, 'Insufficient funds', '2026-03-01 10:00:00+00'::timestamptz,
                            true, true, true)$$,
                  'owo.payment.failed: a failed payment row with Mono''s message, tied to the request');
SELECT is(status::text, 'processing', 'a failed debit does not end the request')
  FROM mono.fund_requests WHERE reference = :'first_ref';

\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/:first_ref/debit '{"status":"successful","processed_at":"2026-03-02T10:00:00Z","session_id":"090405260302100000123456789012"}'`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'paid', * FROM pg_temp.deliver(:'hooks');
SELECT is(array_agg(event || ' ' || answer ORDER BY n),
          ARRAY['owo.payment.successful applied', 'owo.fundrequest.completed applied'],
          'a successful debit of a one-time request: payment.successful and completed, applied')
  FROM delivered WHERE batch = 'paid';
SELECT results_eq(format($$SELECT p.status::text, p.amount::bigint, p.currency, p.processed_at, p.session_id, p.reference IS NOT NULL
                             FROM mono.payments p JOIN mono.fund_requests f ON f.id = p.fund_request_id
                            WHERE f.reference = %L AND p.status = 'successful'$$, :'first_ref'),
                  $$VALUES ('successful', 150000::bigint, 'NGN', '2026-03-02 10:00:00+00'::timestamptz,
                            '090405260302100000123456789012', true)$$,
                  'owo.payment.successful: the payment with amount, currency, processed_at, session_id and its own reference');
SELECT is(status::text, 'completed', 'owo.fundrequest.completed: status completed')
  FROM mono.fund_requests WHERE reference = :'first_ref';

------------------------------------------------------------------------
-- owo.fundrequest.active (recurring), payments matched to instalments
------------------------------------------------------------------------
SELECT mono_charge('2348011111111', 20000, 'Weekly box', 'WEEKLYBOX00001', 'week', 1,
                   date_trunc('second', now()) - interval '1 hour',
                   date_trunc('second', now()) + interval '20 days') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'WEEKLYBOX00001')$$),
          'setup: a weekly request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/WEEKLYBOX00001/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/WEEKLYBOX00001/debit '{"status":"successful"}'`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'recurring', * FROM pg_temp.deliver(:'hooks');
SELECT is(array_agg(event || ' ' || answer ORDER BY n),
          ARRAY['owo.fundrequest.created applied', 'owo.fundrequest.approved applied',
                'owo.fundrequest.active applied', 'owo.payment.successful applied'],
          'a recurring request: created, approved, active, then a debit, each applied')
  FROM delivered WHERE batch = 'recurring';
SELECT is(status::text, 'active', 'owo.fundrequest.active: status active (a debit does not complete a recurring request)')
  FROM mono.fund_requests WHERE reference = 'WEEKLYBOX00001';
SELECT results_eq($$SELECT s.seq::int, s.status::text, p.status::text FROM mono.schedule s
                     JOIN mono.fund_requests f ON f.id = s.fund_request_id
                     LEFT JOIN mono.payments p ON p.id = s.payment_id
                    WHERE f.reference = 'WEEKLYBOX00001' ORDER BY s.seq$$,
                  $$VALUES (1, 'paid', 'successful'), (2, 'upcoming', NULL), (3, 'upcoming', NULL)$$,
                  'the debit pays the first of three instalments');

------------------------------------------------------------------------
-- owo.fundrequest.expired: Mono names only its own id; the event waits
-- (unmatched) until the id is learned, then applies
------------------------------------------------------------------------
SELECT mono_charge('2348022222222', 7000, 'Never authorised', 'EXPIREDREQ0001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'EXPIREDREQ0001')$$),
          'setup: a request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/EXPIREDREQ0001/expire`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'expired', * FROM pg_temp.deliver(:'hooks');
SELECT is(array_agg(event || ' ' || answer ORDER BY n), ARRAY['owo.fundrequest.expired ignored'],
          'owo.fundrequest.expired for a request whose Mono id is unknown yet: stored, not applied now')
  FROM delivered WHERE batch = 'expired';
SELECT is(outcome, 'unmatched', 'it is stored as unmatched, waiting for the id')
  FROM mono.webhook_events WHERE event = 'owo.fundrequest.expired';
SELECT is(status::text, 'awaiting_authorization', 'the request is unchanged for now')
  FROM mono.fund_requests WHERE reference = 'EXPIREDREQ0001';
-- the created event that names both the reference and the id (what a read would show)
\set st `"$MONO_TEST_LIB"/sim get state`
SELECT pg_temp.hook('owo.fundrequest.created',
                    (SELECT f - 'status' - 'accepted_at' FROM jsonb_array_elements(:'st'::jsonb -> 'fund_requests') f
                      WHERE f ->> 'reference' = 'EXPIREDREQ0001')) AS answer \gset
SELECT is(:'answer'::text, 'applied', 'once the id is learned (owo.fundrequest.created)...');
SELECT results_eq($$SELECT status::text, mono_id LIKE 'frq_%' FROM mono.fund_requests WHERE reference = 'EXPIREDREQ0001'$$,
                  $$VALUES ('expired', true)$$,
                  '...the waiting owo.fundrequest.expired is applied: status expired');
SELECT results_eq($$SELECT outcome::text, applied_at IS NOT NULL FROM mono.webhook_events WHERE event = 'owo.fundrequest.expired'$$,
                  $$VALUES ('applied', true)$$,
                  'and its stored event now says applied');

------------------------------------------------------------------------
-- owo.beneficiary.unlinked (the customer unlinks in WhatsApp): the link
-- ends, and with it its active recurring requests
------------------------------------------------------------------------
SELECT mono_id AS ben1 FROM mono.beneficiaries WHERE phone = '2348011111111' \gset
SELECT json_build_object('id', :'ben1')::text AS unlink_body \gset
\set ignored `curl -sf -H "mono-sec-key: $MONO_SECRET_KEY" -H 'Content-Type: application/json' -d :'unlink_body' "$MONO_SIM_URL/owo/v1/beneficiaries/unlink"`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'unlinked', * FROM pg_temp.deliver(:'hooks');
SELECT is(array_agg(event || ' ' || answer ORDER BY n), ARRAY['owo.beneficiary.unlinked applied'],
          'owo.beneficiary.unlinked: applied')
  FROM delivered WHERE batch = 'unlinked';
SELECT results_eq($$SELECT status::text, unlinked_at IS NOT NULL FROM mono.beneficiaries WHERE phone = '2348011111111'$$,
                  $$VALUES ('unlinked', true)$$, 'the link is unlinked');
SELECT is(status::text, 'cancelled', 'its active recurring request is cancelled')
  FROM mono.fund_requests WHERE reference = 'WEEKLYBOX00001';
SELECT is(status::text, 'completed', 'its completed one-time request stays completed')
  FROM mono.fund_requests WHERE reference = :'first_ref';

-- all ten owo event types went through mono_handle_webhook and were applied
SELECT is(array_agg(DISTINCT event ORDER BY event),
          ARRAY['owo.beneficiary.linked', 'owo.beneficiary.unlinked', 'owo.fundrequest.active',
                'owo.fundrequest.approved', 'owo.fundrequest.completed', 'owo.fundrequest.created',
                'owo.fundrequest.expired', 'owo.fundrequest.processing', 'owo.payment.failed',
                'owo.payment.successful'],
          'all ten owo event types were applied')
  FROM mono.webhook_events WHERE outcome = 'applied';

------------------------------------------------------------------------
-- An unlink sent by mono_unlink_beneficiary() ends the link's recurring
-- requests too (Mono cancels them, mono-api.md §2.3)
------------------------------------------------------------------------
SELECT mono_link_beneficiary('2348022222222', 'Bola Ade', '000013', '1234567890') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.beneficiaries
                                   WHERE phone = '2348022222222')$$),
          'setup: a second link awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post beneficiaries/2348022222222/approve`
-- the link's webhooks first: Mono sends the phone's next prompt only once
-- the customer has answered this one
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'link2', * FROM pg_temp.deliver(:'hooks');
SELECT mono_charge('2348022222222', 30000, 'Monthly plan', 'MONTHLYPLAN001', 'month', 1,
                   date_trunc('second', now()) + interval '1 day') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'MONTHLYPLAN001')$$),
          'setup: a monthly request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/MONTHLYPLAN001/approve`
-- its start date is tomorrow: Mono sends active then; the simulator is told it came
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/MONTHLYPLAN001/activate`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'link2', * FROM pg_temp.deliver(:'hooks');
SELECT results_eq($$SELECT b.status::text, f.status::text, f.beneficiary_mono_id = b.mono_id
                      FROM mono.beneficiaries b JOIN mono.fund_requests f ON f.phone = b.phone
                     WHERE b.phone = '2348022222222' AND f.reference = 'MONTHLYPLAN001'$$,
                  $$VALUES ('linked', 'active', true)$$,
                  'setup: linked, and the monthly request is active on that link');
SELECT is(status::text, 'queued', 'mono_unlink_beneficiary() queues the unlink')
  FROM mono_unlink_beneficiary('2348022222222');
SELECT ok(mono_test.wait_until($$(SELECT status = 'unlinked' FROM mono.beneficiaries
                                   WHERE phone = '2348022222222')$$),
          'the worker unlinks it');
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'unlink2', * FROM pg_temp.deliver(:'hooks');
\set st `"$MONO_TEST_LIB"/sim get state`
SELECT is((SELECT f ->> 'status' FROM jsonb_array_elements(:'st'::jsonb -> 'fund_requests') f
            WHERE f ->> 'reference' = 'MONTHLYPLAN001'), 'cancelled',
          'Mono cancelled the link''s monthly request');
SELECT is(status::text, 'cancelled',
          'after the unlink (and Mono''s owo.beneficiary.unlinked webhook) the monthly request is cancelled here too')
  FROM mono.fund_requests WHERE reference = 'MONTHLYPLAN001';

------------------------------------------------------------------------
-- Unknown event types: stored, ignored
------------------------------------------------------------------------
SELECT count(*) AS ev0 FROM mono.webhook_events \gset
-- (a fund request status Mono does not document is kept in mono_status,
-- issue 11: for an id not known yet it waits as unmatched, like any status)
SELECT is(pg_temp.hook('owo.fundrequest.paused', jsonb_build_object('id', 'frq_qa_paused')), 'ignored',
          'an owo event type Mono does not document (owo.fundrequest.paused) for an unknown id is answered ignored');
SELECT is(pg_temp.hook('acme.order.shipped', '{"order": 1}'), 'ignored',
          'an event type of another product is ignored');
SELECT results_eq($$SELECT event, outcome::text, applied_at FROM mono.webhook_events
                    WHERE event IN ('owo.fundrequest.paused', 'acme.order.shipped') ORDER BY id$$,
                  $$VALUES ('owo.fundrequest.paused', 'unmatched', NULL::timestamptz),
                           ('acme.order.shipped', 'ignored', NULL::timestamptz)$$,
                  'both are stored: the paused one waits for its id (unmatched), the other is ignored');

------------------------------------------------------------------------
-- Every event delivered three times: applied once, then duplicate
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim user 2348033333333 active`
SELECT mono_charge('2348033333333', 9000, 'Delivered three times', 'DUPLICATES0001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'DUPLICATES0001')$$),
          'setup: a request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim config '{"webhooks_duplicate": 3}'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/DUPLICATES0001/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/DUPLICATES0001/debit '{"status":"successful"}'`
\set ignored `"$MONO_TEST_LIB"/sim post webhooks/emit '{"event":"acme.legacy.ping","event_id":null,"data":{"n":1}}'`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
\set ignored `"$MONO_TEST_LIB"/sim config '{"webhooks_duplicate": 1}'`
INSERT INTO delivered SELECT 'dup', * FROM pg_temp.deliver(:'hooks');
SELECT is(count(*), 15::bigint, 'five events, each listed three times') FROM delivered WHERE batch = 'dup';
SELECT is(array_agg(event || ': ' || answers ORDER BY first_n),
          ARRAY['owo.fundrequest.created: applied duplicate duplicate',
                'owo.fundrequest.approved: applied duplicate duplicate',
                'owo.payment.successful: applied duplicate duplicate',
                'owo.fundrequest.completed: applied duplicate duplicate',
                'acme.legacy.ping: ignored duplicate duplicate'],
          'each is applied (or ignored) once, then answered duplicate')
  FROM (SELECT event, min(n) AS first_n, string_agg(answer, ' ' ORDER BY n) AS answers
          FROM delivered WHERE batch = 'dup' GROUP BY event, coalesce(event_id, event)) s;
SELECT is(count(*), 5::bigint, 'the five events are stored once each')
  FROM mono.webhook_events WHERE id > :ev0 + 2;
SELECT ok(event_id LIKE 'sha256:%', 'an event without event_id is de-duplicated by a hash of its body: ' || event_id)
  FROM mono.webhook_events WHERE event = 'acme.legacy.ping';
SELECT results_eq($$SELECT f.status::text, count(p.id) FROM mono.fund_requests f LEFT JOIN mono.payments p ON p.fund_request_id = f.id
                     WHERE f.reference = 'DUPLICATES0001' GROUP BY f.status$$,
                  $$VALUES ('completed', 1::bigint)$$,
                  'the request is completed with exactly one payment');

------------------------------------------------------------------------
-- A full recurring history, ordered and shuffled: the same final rows
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim user 2348044444444 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348055555555 active`
SELECT date_trunc('hour', now()) - interval '20 days' AS hist_start \gset
SELECT mono_test.backdate(id, :'hist_start', :'hist_start'::timestamptz + interval '20 days') AS ignored
  FROM mono_charge('2348044444444', 25000, 'History, in order', 'HISTORYORDERED1', 'week', 1, now()) \gset
SELECT mono_test.backdate(id, :'hist_start', :'hist_start'::timestamptz + interval '20 days') AS ignored
  FROM mono_charge('2348055555555', 25000, 'History, shuffled', 'HISTORYSHUFFLE1', 'week', 1, now()) \gset
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 2 FROM mono.fund_requests
                                   WHERE reference LIKE 'HISTORY%' AND status = 'awaiting_authorization')$$),
          'setup: two identical weekly requests (three instalments, 16 days ago to 2 days ago) await the customer');
SELECT to_char(:'hist_start'::timestamptz + interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS pay1,
       to_char(:'hist_start'::timestamptz + interval '7 days 1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS fail2,
       to_char(:'hist_start'::timestamptz + interval '7 days 3 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS pay2 \gset
SELECT json_build_object('status', 'successful', 'processed_at', :'pay1')::text AS d_pay1,
       json_build_object('status', 'failed', 'processed_at', :'fail2', 'message', 'Insufficient funds')::text AS d_fail2,
       json_build_object('status', 'successful', 'processed_at', :'pay2')::text AS d_pay2 \gset
-- the ordered history
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYORDERED1/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYORDERED1/debit :'d_pay1'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYORDERED1/debit :'d_fail2'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYORDERED1/processing`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYORDERED1/debit :'d_pay2'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYORDERED1/complete`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'ordered', * FROM pg_temp.deliver(:'hooks');
-- the same history of the other request, delivered shuffled
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYSHUFFLE1/approve`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYSHUFFLE1/debit :'d_pay1'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYSHUFFLE1/debit :'d_fail2'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYSHUFFLE1/processing`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYSHUFFLE1/debit :'d_pay2'`
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HISTORYSHUFFLE1/complete`
\set ignored `"$MONO_TEST_LIB"/sim config '{"webhooks_shuffle_seed": 7}'`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
\set ignored `"$MONO_TEST_LIB"/sim config '{"webhooks_shuffle_seed": null}'`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'shuffled', * FROM pg_temp.deliver(:'hooks');

SELECT is(count(*), 8::bigint, 'each history has eight events (created, approved, active, three debits, processing, completed)')
  FROM delivered WHERE batch = 'shuffled';
SELECT isnt(array_agg(seq ORDER BY n), array_agg(seq ORDER BY seq), 'the shuffled history was delivered out of order')
  FROM delivered WHERE batch = 'shuffled';
SELECT diag('shuffled: ' || string_agg(replace(event, 'owo.', '') || ' ' || answer, ', ' ORDER BY n))
  FROM delivered WHERE batch = 'shuffled';

-- the final rows of each, without ids and references
CREATE FUNCTION pg_temp.history(ref text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'status', f.status, 'has_mono_id', f.mono_id IS NOT NULL,
        'payments', (SELECT jsonb_agg(jsonb_build_array(p.status, p.amount, p.processed_at, p.message,
                                                        p.instalment_seq) ORDER BY p.processed_at, p.status)
                       FROM mono.payments p WHERE p.fund_request_id = f.id),
        'schedule', (SELECT jsonb_agg(jsonb_build_array(s.seq, s.due_at, s.status, p.status, p.processed_at)
                                      ORDER BY s.seq)
                       FROM mono.schedule s LEFT JOIN mono.payments p ON p.id = s.payment_id
                      WHERE s.fund_request_id = f.id))
      FROM mono.fund_requests f WHERE f.reference = ref
$$;
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 2 FROM mono.schedule s JOIN mono.fund_requests f ON f.id = s.fund_request_id
                                   WHERE f.reference LIKE 'HISTORY%' AND s.seq = 3 AND s.status = 'missed')$$),
          'the unpaid third instalments are marked missed by the worker');
SELECT is(pg_temp.history('HISTORYSHUFFLE1'), pg_temp.history('HISTORYORDERED1'),
          'the shuffled history ends in the same request, payments and schedule as the ordered one');
SELECT is(pg_temp.history('HISTORYORDERED1') -> 'status', '"completed"', 'both are completed');
SELECT results_eq($$SELECT s.status::text FROM mono.schedule s JOIN mono.fund_requests f ON f.id = s.fund_request_id
                     WHERE f.reference = 'HISTORYSHUFFLE1' ORDER BY s.seq$$,
                  $$VALUES ('paid'), ('paid'), ('missed')$$,
                  'instalments: paid, paid (failed then paid), missed');
SELECT is(count(*), 3::bigint, 'the shuffled request has its three payments')
  FROM mono.payments p JOIN mono.fund_requests f ON f.id = p.fund_request_id WHERE f.reference = 'HISTORYSHUFFLE1';
SELECT is(count(*), 0::bigint, 'no shuffled event is left unmatched')
  FROM mono.webhook_events w JOIN delivered d ON d.event_id = w.event_id
 WHERE d.batch = 'shuffled' AND w.outcome = 'unmatched';

------------------------------------------------------------------------
-- Late events: stored, but they never move a row backwards
------------------------------------------------------------------------
SELECT mono_id AS weekly_id FROM mono.fund_requests WHERE reference = 'WEEKLYBOX00001' \gset
SELECT mono_id AS first_id FROM mono.fund_requests WHERE reference = :'first_ref' \gset
SELECT mono_id AS expired_id FROM mono.fund_requests WHERE reference = 'EXPIREDREQ0001' \gset
SELECT mono_id AS hist_id FROM mono.fund_requests WHERE reference = 'HISTORYORDERED1' \gset

-- approved after active
\set ignored `"$MONO_TEST_LIB"/sim user 2348066666666 active`
SELECT mono_charge('2348066666666', 5000, 'Active plan', 'ACTIVEPLAN0001', 'day', 1,
                   date_trunc('second', now()) + interval '1 day') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'ACTIVEPLAN0001')$$),
          'setup: a daily request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/ACTIVEPLAN0001/approve`
-- its start date is tomorrow: Mono sends active then; the simulator is told it came
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/ACTIVEPLAN0001/activate`
\set hooks `"$MONO_TEST_LIB"/sim get "webhooks?since=:next"`
SELECT :'hooks'::jsonb ->> 'next' AS next \gset
INSERT INTO delivered SELECT 'active', * FROM pg_temp.deliver(:'hooks');
SELECT mono_id AS active_id, updated_at AS active_updated FROM mono.fund_requests WHERE reference = 'ACTIVEPLAN0001' \gset
SELECT is(pg_temp.hook('owo.fundrequest.approved', jsonb_build_object('id', :'active_id', 'status', 'approved')),
          'ignored', 'an approved arriving after active is answered ignored');
SELECT results_eq($$SELECT status::text, updated_at FROM mono.fund_requests WHERE reference = 'ACTIVEPLAN0001'$$,
                  format($$VALUES ('active', %L::timestamptz)$$, :'active_updated'),
                  'the request stays active, untouched');
SELECT is(outcome, 'stale', 'the late approved is stored as stale')
  FROM mono.webhook_events WHERE body -> 'data' ->> 'id' = :'active_id' AND event = 'owo.fundrequest.approved'
 ORDER BY id DESC LIMIT 1;

-- anything after completed, expired, cancelled
SELECT clock_timestamp() AS t_late \gset
CREATE TEMP TABLE late (ref text, mono_id text, event text, answer text);
INSERT INTO late
SELECT r.ref, r.mono_id, e.event,
       pg_temp.hook(e.event, jsonb_build_object('id', r.mono_id, 'status', split_part(e.event, '.', 3)))
  FROM (VALUES (:'first_ref', :'first_id'), ('EXPIREDREQ0001', :'expired_id'),
               ('WEEKLYBOX00001', :'weekly_id'), ('HISTORYORDERED1', :'hist_id')) r(ref, mono_id),
       (VALUES ('owo.fundrequest.approved'), ('owo.fundrequest.processing'), ('owo.fundrequest.active'),
               ('owo.fundrequest.completed'), ('owo.fundrequest.expired')) e(event);
SELECT is(array_agg(DISTINCT answer), ARRAY['ignored'],
          'approved, processing, active, completed, expired after completed, expired or cancelled: all ignored')
  FROM late;
SELECT results_eq($$SELECT reference::text, status::text FROM mono.fund_requests
                    WHERE reference IN (SELECT ref FROM late) ORDER BY reference::text COLLATE "C"$$,
                  format($$VALUES ('EXPIREDREQ0001', 'expired'), ('HISTORYORDERED1', 'completed'),
                                  ('WEEKLYBOX00001', 'cancelled'), (%L, 'completed')$$, :'first_ref'),
                  'completed stays completed, expired stays expired, cancelled stays cancelled');
SELECT is(count(*), 20::bigint, 'the twenty late events are stored, each as stale')
  FROM mono.webhook_events WHERE body -> 'data' ->> 'id' IN (SELECT mono_id FROM late)
   AND received_at >= :'t_late' AND outcome = 'stale';
SELECT is(pg_temp.hook('owo.beneficiary.linked', jsonb_build_object('id', :'ben1', 'phone', '2348011111111',
                                                                   'name', 'Ada Obi')),
          'ignored', 'a linked arriving after the unlink is ignored');
SELECT is(status::text, 'unlinked', 'the link stays unlinked') FROM mono.beneficiaries WHERE mono_id = :'ben1';
SELECT is(pg_temp.hook('owo.payment.successful',
                       (SELECT body -> 'data' FROM mono.webhook_events WHERE event = 'owo.payment.successful'
                         ORDER BY id LIMIT 1)),
          'ignored', 'a payment already known (same payment id, new event_id) is ignored');
SELECT is(count(*), 1::bigint, 'and not stored as a second payment')
  FROM mono.payments WHERE mono_id = (SELECT body -> 'data' ->> 'id' FROM mono.webhook_events
                                       WHERE event = 'owo.payment.successful' ORDER BY id LIMIT 1);

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql
DROP TABLE delivered, late;

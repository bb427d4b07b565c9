-- 10_direct_charge: the real worker against the simulator. One-time and
-- recurring charges reach awaiting_authorization with Mono's redirect_url;
-- the bodies Mono received match mono-api.md §2.2-§2.4 field for field; a
-- link (with and without a first charge) and its first fund request; the
-- BVN is forgotten once Mono has it; an unlink sends {"id": ...}.
--
-- Statements run in autocommit: the worker only sees committed rows.
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348011111111 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348022222222 active`
-- one phone per request: Mono takes a phone's next prompt (a request or a
-- link) only once its earlier one is answered, and these go unanswered
\set ignored `"$MONO_TEST_LIB"/sim user 2348022222223 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348022222224 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348055555555 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348033333333 not_found`

SELECT plan(49);

-- Deliver, in order and each in its own call, the webhooks listed in hooks
-- (a /_sim/webhooks answer); returns one row per webhook.
CREATE FUNCTION pg_temp.deliver(hooks jsonb)
RETURNS TABLE (event text, answer text)
LANGUAGE plpgsql AS $$
DECLARE
    w jsonb;
BEGIN
    FOR w IN SELECT value FROM jsonb_array_elements(hooks -> 'webhooks') LOOP
        event := (w ->> 'body')::jsonb ->> 'event';
        answer := mono_handle_webhook(w ->> 'body', w -> 'headers' ->> 'mono-webhook-secret');
        RETURN NEXT;
    END LOOP;
END;
$$;

------------------------------------------------------------------------
-- A one-time charge
------------------------------------------------------------------------
SELECT is(status, 'queued', 'mono_charge() returns the queued row')
  FROM mono_charge('+2348055555555', 150000, 'Order 1001: two boxes', 'ONETIME0000001');
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization'
                                     FROM mono.fund_requests WHERE reference = 'ONETIME0000001')$$),
          'the worker sends it after COMMIT: awaiting_authorization');
SELECT alike(redirect_url, 'https://wa.me/%', 'the row keeps the simulator''s wa.me redirect_url')
  FROM mono.fund_requests WHERE reference = 'ONETIME0000001';
SELECT results_eq($$SELECT attempts, http_status, last_error, mono_id FROM mono.fund_requests
                     WHERE reference = 'ONETIME0000001'$$,
                  $$VALUES (1, 202, NULL::text, NULL::text)$$,
                  'one attempt, HTTP 202, no error, no Mono id yet (Mono gives none in a 202)');
SELECT ok(accepted_at IS NOT NULL, 'accepted_at is set when Mono accepts the request')
  FROM mono.fund_requests WHERE reference = 'ONETIME0000001';

\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/fund-requests&limit=50'`
CREATE TEMP TABLE sent AS
SELECT e -> 'body' AS body, e -> 'headers' AS headers, e ->> 'method' AS method,
       (e ->> 'status')::int AS status
  FROM jsonb_array_elements(:'log'::jsonb) e;

SELECT is(body, '{"phone": "2348055555555", "reference": "ONETIME0000001", "type": "onetime",
                  "description": "Order 1001: two boxes", "amount": 150000, "currency": "NGN"}'::jsonb,
          'the one-time body is §2.4 field for field (phone normalised from +234..., no schedule)')
  FROM sent WHERE body ->> 'reference' = 'ONETIME0000001';
SELECT is(jsonb_typeof(body -> 'amount') || ':' || (body ->> 'amount'), 'number:150000',
          'amount is sent as an integer number of kobo (no quotes, no decimals)')
  FROM sent WHERE body ->> 'reference' = 'ONETIME0000001';
SELECT is(headers ->> 'mono-sec-key', '<redacted>', 'the request carried the right mono-sec-key')
  FROM sent WHERE body ->> 'reference' = 'ONETIME0000001';
SELECT is(headers ->> 'content-type', 'application/json', 'the body is sent as application/json')
  FROM sent WHERE body ->> 'reference' = 'ONETIME0000001';

------------------------------------------------------------------------
-- Recurring charges: with and without end_date; a generated reference
------------------------------------------------------------------------
SELECT is(type, 'recurring', 'a charge with a period is recurring')
  FROM mono_charge('2348022222222', 250000, 'Monthly plan', 'RECURRING000001', 'month', 1,
                   '2031-01-31 09:00:00+00', '2031-12-31 09:00:00+00');
SELECT is(type, 'recurring', 'an open-ended recurring charge (no end_date) is accepted')
  FROM mono_charge('2348022222223', 5000, 'Weekly box', 'RECURRING000002', 'week', 2,
                   '2031-03-01 10:30:00+01');
SELECT mono_charge('2348022222224', 123456789012345, 'A very large amount') AS gen \gset
SELECT ok((:'gen'::mono.fund_requests).reference ~ '^[A-Za-z0-9]{8,32}$',
          'a reference is generated when none is given: ' || (:'gen'::mono.fund_requests).reference);
SELECT (:'gen'::mono.fund_requests).reference AS genref \gset

SELECT ok(mono_test.wait_until($$(SELECT count(*) = 3 FROM mono.fund_requests
                                   WHERE phone IN ('2348022222222', '2348022222223', '2348022222224')
                                     AND status = 'awaiting_authorization')$$),
          'all three reach awaiting_authorization');
SELECT is(count(DISTINCT redirect_url), 3::bigint, 'each has its own redirect_url')
  FROM mono.fund_requests WHERE phone IN ('2348022222222', '2348022222223', '2348022222224')
                             AND redirect_url LIKE 'https://wa.me/%';

\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/fund-requests&limit=50'`
TRUNCATE sent;
INSERT INTO sent
SELECT e -> 'body', e -> 'headers', e ->> 'method', (e ->> 'status')::int
  FROM jsonb_array_elements(:'log'::jsonb) e;

SELECT is(body, '{"phone": "2348022222222", "reference": "RECURRING000001", "type": "recurring",
                  "description": "Monthly plan", "amount": 250000, "currency": "NGN",
                  "schedule": {"period": "month", "interval": 1,
                               "start_date": "2031-01-31",
                               "end_date": "2031-12-31"}}'::jsonb,
          'the recurring body is §2.4 field for field, with schedule{period, interval, start_date, end_date}')
  FROM sent WHERE body ->> 'reference' = 'RECURRING000001';
SELECT is(body, '{"phone": "2348022222223", "reference": "RECURRING000002", "type": "recurring",
                  "description": "Weekly box", "amount": 5000, "currency": "NGN",
                  "schedule": {"period": "week", "interval": 2,
                               "start_date": "2031-03-01"}}'::jsonb,
          'an open-ended one has no end_date, and its start_date is sent as its UTC day')
  FROM sent WHERE body ->> 'reference' = 'RECURRING000002';
SELECT is(jsonb_typeof(body -> 'schedule' -> 'interval') || ':' || (body -> 'schedule' ->> 'interval'),
          'number:2', 'the schedule interval is an integer')
  FROM sent WHERE body ->> 'reference' = 'RECURRING000002';
SELECT is(body ->> 'amount', '123456789012345', 'a large amount is sent exactly, as an integer')
  FROM sent WHERE body ->> 'reference' = :'genref';
SELECT is(body ->> 'reference', :'genref', 'the generated reference is the one sent to Mono')
  FROM sent WHERE body ->> 'reference' = :'genref';

\set reqs `"$MONO_TEST_LIB"/sim get requests`
SELECT is((SELECT count(*) FROM jsonb_each(:'reqs'::jsonb -> 'by_reference') r
            WHERE (r.value ->> 'received')::int = 1 AND (r.value ->> 'accepted')::int = 1),
          4::bigint, 'the four charges were each received and accepted exactly once');

------------------------------------------------------------------------
-- A link without a first charge (BVN given)
------------------------------------------------------------------------
BEGIN;
SELECT is(status, 'queued', 'mono_link_beneficiary() returns the queued link')
  FROM mono_link_beneficiary('08033333333', 'Ada Obi', '000013', '0123456789', '22212345678');
SELECT is(bvn, '22212345678', 'the BVN is kept while the link waits to be sent')
  FROM mono.beneficiaries WHERE phone = '2348033333333';
COMMIT;
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization'
                                     FROM mono.beneficiaries WHERE phone = '2348033333333')$$),
          'the link reaches awaiting_authorization');
SELECT results_eq($$SELECT bvn::text, redirect_url LIKE 'https://wa.me/%', http_status
                      FROM mono.beneficiaries WHERE phone = '2348033333333'$$,
                  $$VALUES (NULL::text, true, 202)$$,
                  'once Mono accepted the link the BVN is NULL; the redirect_url is kept');

\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/beneficiaries/link&limit=50'`
SELECT is((SELECT e -> 'body' FROM jsonb_array_elements(:'log'::jsonb) e
            WHERE e -> 'body' ->> 'phone' = '2348033333333'),
          '{"phone": "2348033333333", "bvn": "22212345678",
            "fund_beneficiary": {"name": "Ada Obi", "nip_code": "000013",
                                 "account_number": "0123456789"}}'::jsonb,
          'the link body is §2.2 field for field (phone, bvn, fund_beneficiary), without fund_request');
SELECT is(count(*), 0::bigint, 'no fund request was created for a link without a first charge')
  FROM mono.fund_requests WHERE phone = '2348033333333';

------------------------------------------------------------------------
-- A link with a first charge (no BVN: the user is active at Mono)
------------------------------------------------------------------------
BEGIN;
SELECT is(status, 'queued', 'a link with a first charge is queued')
  FROM mono_link_beneficiary('2348011111111', 'Chidi Okeke', '000016', '9876543210', NULL,
                             75000, 'Welcome box');
SELECT results_eq($$SELECT f.type::text, f.amount::bigint, f.description::text, f.status::text, f.link_id = b.id
                      FROM mono.fund_requests f JOIN mono.beneficiaries b ON b.phone = f.phone
                     WHERE f.phone = '2348011111111' AND f.link_id IS NOT NULL$$,
                  $$VALUES ('onetime', 75000::bigint, 'Welcome box', 'queued', true)$$,
                  'the first charge has its own row in mono.fund_requests, tied to its link');
SELECT reference AS firstref FROM mono.fund_requests WHERE phone = '2348011111111' AND link_id IS NOT NULL \gset
COMMIT;
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization'
                                     FROM mono.beneficiaries WHERE phone = '2348011111111')$$),
          'the link with a first charge reaches awaiting_authorization');
SELECT results_eq(format($$SELECT f.status::text, f.redirect_url = b.redirect_url, f.accepted_at IS NOT NULL
                             FROM mono.fund_requests f JOIN mono.beneficiaries b ON b.id = f.link_id
                            WHERE f.reference = %L$$, :'firstref'),
                  $$VALUES ('awaiting_authorization', true, true)$$,
                  'its first fund request follows the link: awaiting_authorization, same redirect_url');

\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/beneficiaries/link&limit=50'`
SELECT is((SELECT e -> 'body' FROM jsonb_array_elements(:'log'::jsonb) e
            WHERE e -> 'body' ->> 'phone' = '2348011111111'),
          jsonb_build_object('phone', '2348011111111',
                             'fund_beneficiary', '{"name": "Chidi Okeke", "nip_code": "000016",
                                                   "account_number": "9876543210"}'::jsonb,
                             'fund_request', jsonb_build_object('reference', :'firstref',
                                 'type', 'onetime', 'description', 'Welcome box',
                                 'amount', 75000, 'currency', 'NGN')),
          'the link body embeds the first fund request (§2.4 without phone), and no bvn key');
\set n_fr `"$MONO_TEST_LIB"/sim count 'POST /owo/v1/fund-requests'`
SELECT is(:n_fr, 4, 'the first charge travelled inside the link: no separate POST /owo/v1/fund-requests');

------------------------------------------------------------------------
-- The customer completes the link in WhatsApp: linked, first request approved
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim post beneficiaries/2348011111111/approve`
\set hooks `"$MONO_TEST_LIB"/sim get 'webhooks?since=0'`
SELECT is(array_agg(answer ORDER BY ordinality), ARRAY['applied', 'applied', 'applied'],
          'the linked, created and approved webhooks are applied')
  FROM pg_temp.deliver(:'hooks') WITH ORDINALITY;
SELECT results_eq($$SELECT status::text, mono_id LIKE 'ben_%', bvn::text, linked_at IS NOT NULL
                      FROM mono.beneficiaries WHERE phone = '2348011111111'$$,
                  $$VALUES ('linked', true, NULL::text, true)$$,
                  'the link is linked, with Mono''s ben_ id');
SELECT results_eq(format($$SELECT f.status::text, f.mono_id LIKE 'frq_%%', f.beneficiary_mono_id = b.mono_id
                             FROM mono.fund_requests f JOIN mono.beneficiaries b ON b.id = f.link_id
                            WHERE f.reference = %L$$, :'firstref'),
                  $$VALUES ('approved', true, true)$$,
                  'the first fund request follows the link: approved, with its frq_ id and the link''s ben_ id');

------------------------------------------------------------------------
-- Unlink: sends {"id": <ben_ id>}, ends unlinked
------------------------------------------------------------------------
SELECT mono_id AS ben_id FROM mono.beneficiaries WHERE phone = '2348011111111' \gset
SELECT results_eq($$SELECT action::text, status::text FROM mono_unlink_beneficiary('2348011111111')$$,
                  $$VALUES ('unlink', 'queued')$$,
                  'mono_unlink_beneficiary() queues the unlink');
SELECT ok(mono_test.wait_until($$(SELECT status = 'unlinked'
                                     FROM mono.beneficiaries WHERE phone = '2348011111111')$$),
          'the unlink reaches unlinked');
SELECT ok(unlinked_at IS NOT NULL AND last_error IS NULL, 'unlinked_at is set, no error')
  FROM mono.beneficiaries WHERE phone = '2348011111111';
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/beneficiaries/unlink&limit=50'`
SELECT results_eq(format($$SELECT e -> 'body', (e ->> 'status')::int FROM jsonb_array_elements(%L::jsonb) e$$, :'log'),
                  format($$VALUES (jsonb_build_object('id', %L::text), 200)$$, :'ben_id'),
                  'exactly one unlink was sent, with the body {"id": <ben_ id>}');
\set hooks `"$MONO_TEST_LIB"/sim get 'webhooks?since=3'`
SELECT is(array_agg(answer), ARRAY['ignored'],
          'Mono''s owo.beneficiary.unlinked webhook that follows is stored but changes nothing')
  FROM pg_temp.deliver(:'hooks');
SELECT is(status, 'unlinked', 'the link stays unlinked')
  FROM mono.beneficiaries WHERE phone = '2348011111111';
SELECT lives_ok($$SELECT mono_link_beneficiary('2348011111111', 'Chidi Okeke', '000016', '9876543210')$$,
                'the phone can be linked again once unlinked');

------------------------------------------------------------------------
-- Unlinking a link that was never sent: nothing to tell Mono
------------------------------------------------------------------------
BEGIN;
SELECT mono_link_beneficiary('2348044444444', 'Bola Ade', '000013', '0123456789') AS ignored \gset
SELECT is(action, 'unlink', 'a link can be unlinked in the transaction that queued it')
  FROM mono_unlink_beneficiary('2348044444444');
COMMIT;
SELECT ok(mono_test.wait_until($$(SELECT status NOT IN ('queued', 'sending', 'unknown')
                                     FROM mono.beneficiaries WHERE phone = '2348044444444')$$),
          'the worker settles that row');
SELECT is(status, 'unlinked', 'a link unlinked before it was ever sent ends unlinked, not failed')
  FROM mono.beneficiaries WHERE phone = '2348044444444';
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path_prefix=/owo/v1/beneficiaries&limit=100'`
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'log'::jsonb) e
            WHERE e -> 'body' ->> 'phone' = '2348044444444' OR e -> 'body' ->> 'id' = ''),
          0::bigint, 'and neither a link nor an unlink with an empty id was sent for it');

------------------------------------------------------------------------
-- Nothing left in the outbox; every status change was logged as a NOTIFY
-- target (the notify triggers exist on both tables)
------------------------------------------------------------------------
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 0 FROM mono.beneficiaries
                                   WHERE status IN ('queued', 'sending', 'unknown'))$$),
          'no link is left in the outbox');
SELECT is(count(*), 0::bigint, 'no fund request is left in the outbox')
  FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown');
SELECT is(count(*), 0::bigint, 'no fund request failed')
  FROM mono.fund_requests WHERE status = 'failed';

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql
DROP TABLE sent;

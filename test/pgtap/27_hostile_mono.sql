-- 27_hostile_mono (issue 22, items 5 and 6): a broken or hostile Mono.
-- Answers that name another request's id, amount or type for ours are
-- refused with a clear error and not applied; a redirect_url that is not
-- https:// is never stored; an ignored ?phone= filter is seen and its
-- reads are counted and paced; large list pages cost no lasting memory.
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348011111111 active`
\set ignored `"$MONO_TEST_LIB"/sim user 2348022222222 active`
\set ignored `"$MONO_TEST_LIB"/sim config '{"webhooks_drop": true}'`
ALTER SYSTEM SET mono_pay.poll_base = '300ms';
ALTER SYSTEM SET mono_pay.poll_max = '1s';
SELECT mono_test.reload() AS reloaded \gset
SET TimeZone = 'UTC';

SELECT plan(13);

-- A figure of mono.worker_counters() (0 with a library that has none: 0.2.0)
CREATE FUNCTION pg_temp.counter(p_name text) RETURNS float8 LANGUAGE plpgsql AS $f$
DECLARE
    v float8;
BEGIN
    IF to_regprocedure('mono.worker_counters()') IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE 'SELECT value FROM mono.worker_counters() WHERE name = $1' INTO v USING p_name;
    RETURN v;
END;
$f$;

------------------------------------------------------------------------
-- A redirect_url that is not https:// is never stored
------------------------------------------------------------------------
\set ignored `"$MONO_TEST_LIB"/sim post canned '{"method":"POST","path":"/owo/v1/fund-requests","status":202,"body":"{\"status\":\"successful\",\"message\":\"ok\",\"data\":{\"redirect_url\":\"javascript:alert(document.cookie)\"}}"}'`
SELECT mono_charge('2348011111111', 5000, 'Hostile link', 'HOSTILELINK0001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'HOSTILELINK0001')$$),
          'the request is accepted');
SELECT is(redirect_url, NULL, 'a javascript: redirect_url is not stored')
  FROM mono.fund_requests WHERE reference = 'HOSTILELINK0001';
SELECT ok(last_error LIKE 'Mono''s redirect_url is not an https:// link and was not stored%',
          'last_error says why: ' || last_error)
  FROM mono.fund_requests WHERE reference = 'HOSTILELINK0001';

------------------------------------------------------------------------
-- An answer for our request naming another amount and type is refused
------------------------------------------------------------------------
SELECT mono_charge('2348022222222', 7000, 'Weekly plan', 'HOSTILEPLAN0001', 'week', 1,
                   current_date + 1) AS ignored \gset
SELECT mono_charge('2348022222222', 3000, 'Other one', 'HOSTILEOTHER001') AS ignored \gset
-- one prompt per phone: the one-time request goes once the customer has
-- answered the recurring one's
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'HOSTILEPLAN0001')$$),
          'setup: a recurring request awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HOSTILEPLAN0001/approve`
SELECT ok(mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests
                                   WHERE reference = 'HOSTILEOTHER001')$$),
          'setup: once it is approved, a one-time request of the same phone awaits the customer');
\set ignored `"$MONO_TEST_LIB"/sim post fund-requests/HOSTILEOTHER001/approve`
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 2 FROM mono.fund_requests
                                   WHERE phone = '2348022222222' AND mono_id IS NOT NULL
                                     AND status IN ('approved', 'active'))$$),
          'setup: both are approved, with their Mono ids, by polling');
SELECT mono_id AS plan_id FROM mono.fund_requests WHERE reference = 'HOSTILEPLAN0001' \gset
SELECT mono_id AS other_id FROM mono.fund_requests WHERE reference = 'HOSTILEOTHER001' \gset
SELECT format('{"method":"GET","path":"/owo/v1/fund-requests/%s","status":200,"count":50,"body":%s}',
              :'plan_id', to_jsonb(format('{"status":"successful","data":{"id":"%s","reference":"HOSTILEPLAN0001","phone":"2348022222222","type":"onetime","amount":1,"status":"completed"}}', :'plan_id'))) AS canned_plan \gset
\set ignored `"$MONO_TEST_LIB"/sim post canned :'canned_plan'`
SELECT format('{"method":"GET","path":"/owo/v1/fund-requests/%s/payments","status":200,"count":50,"body":%s}',
              :'plan_id', to_jsonb(format('{"status":"successful","data":[{"id":"pay_hostile000001","reference":"PAYHOSTILE","fund_request":"%s","status":"successful","amount":3000,"currency":"NGN","processed_at":"2026-01-01T10:00:00Z"}],"pagination":{"offset":0,"limit":100,"has_more":false}}', :'other_id'))) AS canned_pay \gset
\set ignored `"$MONO_TEST_LIB"/sim post canned :'canned_pay'`
SELECT ok(mono_test.wait_until($$(SELECT count(*) >= 2 FROM mono.webhook_events WHERE outcome = 'rejected')$$),
          'the answers naming another amount, type or fund request are kept aside as rejected');
SELECT isnt(status::text, 'completed', 'the recurring request is not finalised by an answer naming a one-time amount of 1')
  FROM mono.fund_requests WHERE reference = 'HOSTILEPLAN0001';
SELECT is(count(*), 0::bigint, 'no payment is moved onto the other request')
  FROM mono.payments WHERE mono_id = 'pay_hostile000001';
SELECT ok(bool_and(error LIKE '% names %'), 'each with a clear error: ' || string_agg(error, ' | '))
  FROM mono.webhook_events WHERE outcome = 'rejected';

------------------------------------------------------------------------
-- An ignored ?phone= filter: seen, counted, and large pages cost no
-- lasting memory
------------------------------------------------------------------------
SELECT pg_temp.counter('list_pages_read') AS pages_before \gset
\set ignored `"$MONO_TEST_LIB"/sim config '{"phone_filter_ignored": true, "page_padding": 8000, "page_extra_items": 99}'`
SELECT count(mono_charge('23480555' || lpad(n::text, 5, '0'), 5100, 'Filter ignored',
                         'FILTERIGNORED' || lpad(n::text, 3, '0'))) AS queued
  FROM generate_series(1, 60) n \gset
SELECT ok(mono_test.wait_until($$(SELECT pg_temp.counter('phone_filter_ignored') > 0)$$),
          'mono.worker_counters() counts the pages where Mono ignored ?phone=');
SELECT ok(pg_temp.counter('list_pages_read') > :pages_before,
          format('and the list pages read (%s)', pg_temp.counter('list_pages_read')));
SELECT pid AS worker_pid FROM mono_worker_status() \gset
SELECT pg_sleep(3) AS slept \gset
SELECT diag(substring(pg_read_file('/proc/' || :worker_pid || '/status') FROM 'RssAnon:\s+[0-9]+ kB')
            || ' of the worker after the hostile pages');
SELECT ok((substring(pg_read_file('/proc/' || :worker_pid || '/status') FROM 'RssAnon:\s+([0-9]+) kB'))::bigint < 64 * 1024,
          format('after reading pages of ~900 kB, the worker''s private memory stays small (%s)',
                 substring(pg_read_file('/proc/' || :worker_pid || '/status') FROM 'RssAnon:\s+[0-9]+ kB')));

SELECT * FROM finish();
\ir clean.psql

-- 71_text_as_data: text that looks like SQL, JSON or format strings (quotes,
-- '; DROP TABLE mono.fund_requests; --, "}, backslashes, \u0000-like text,
-- control characters, emoji, a 60 kB UTF-8 description) is data. It is
-- stored as given, reaches the simulator as properly encoded JSON (the
-- simulator's parsed body equals what was stored), comes back in the
-- webhooks and is stored there intact; nothing is ever executed (every
-- table is still there, nothing else changed).
\ir setup.psql

-- one phone per charge: Mono takes a phone's next prompt only once none of
-- its earlier ones awaits the customer (23480711000NN: mono_charge, 23480712000NN: the trigger)
\set ignored `for i in $(seq -w 1 15); do for p in 1 2; do "$MONO_TEST_LIB"/sim user "2348071${p}000$i" active; done; done`
SET client_min_messages = warning;
DROP TABLE IF EXISTS t71_orders;
RESET client_min_messages;

SELECT plan(16);

CREATE TEMP TABLE texts (n int PRIMARY KEY, label text, txt text);
INSERT INTO texts VALUES
 (1, 'SQL injection', $t$'; DROP TABLE mono.fund_requests; --$t$),
 (2, 'JSON breaker', $t$"}$t$),
 (3, 'JSON object text', $t${"event":"owo.fundrequest.completed","data":{"id":"frq_x"}}$t$),
 (4, 'backslashes', $t$C:\new\table \\ \$t$),
 (5, 'a \u0000-like escape', $t$abc\u0000def \x00 %00$t$),
 (6, 'newline, tab, CR', E'line one\nline two\ttabbed\rreturn'),
 (7, 'control characters', E'bell\x07 esc\x1b del\x7f unit\x1f'),
 (8, 'emoji and a ZWJ family', '💳 Pay ✅ 👨‍👩‍👧 for Ọ̀rẹ́'),
 (9, 'format strings', '%s %d %n %x {0} ${HOME} $(id) `id`'),
 (10, 'quotes of every kind', $t$' '' " "" ` ‘ ’ “ ” $$ $1$t$),
 (11, 'HTML', '<script>alert("x")</script>&amp;'),
 (12, 'Unicode separators, BOM, RTL override', E'a\u2028b\u2029c\ufeffd\u202eRTL'),
 (13, 'a lone quote', ''''),
 (14, 'SQL comments', '/* comment */ -- rest; SELECT pg_sleep(10);'),
 (15, 'the longest description: 255 characters of UTF-8 (Yoruba, CJK, emoji)',
     left(repeat('Ọ̀rẹ́ 漢字 💳 ', 30), 255));

SELECT is(char_length(txt), 255, 'the long description has 255 characters (Mono''s limit)')
  FROM texts WHERE n = 15;

-- charges with each text as description (and in a link's first charge)
SELECT count(mono_charge('23480711000' || lpad(n::text, 2, '0'), 1000 + n, txt, 'TEXT71D' || lpad(n::text, 2, '0')))
  AS queued FROM texts \gset
SELECT mono_link_beneficiary('2348071000002', $n$O'Brien "Bob" \ 💳 --$n$, '000013', '0123456789',
                             '22212345678', 777, (SELECT txt FROM texts WHERE n = 1)) AS ignored \gset
-- and through a trigger
CREATE TABLE t71_orders (phone text, amount bigint, note text, ref text);
CREATE TRIGGER charge AFTER INSERT ON t71_orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note', 'reference=ref');
INSERT INTO t71_orders SELECT '23480712000' || lpad(n::text, 2, '0'), 2000 + n, txt, 'TEXT71T' || lpad(n::text, 2, '0') FROM texts;

SELECT is(count(*), 0::bigint, 'every text was stored exactly as given (mono_charge and the trigger)')
  FROM texts t
  LEFT JOIN mono.fund_requests d ON d.reference = 'TEXT71D' || lpad(t.n::text, 2, '0') AND d.description = t.txt
  LEFT JOIN mono.fund_requests g ON g.reference = 'TEXT71T' || lpad(t.n::text, 2, '0') AND g.description = t.txt
 WHERE d.id IS NULL OR g.id IS NULL;
SELECT is(account_name::text, $n$O'Brien "Bob" \ 💳 --$n$, 'the account name is stored as given')
  FROM mono.beneficiaries WHERE phone = '2348071000002';

SELECT ok(mono_test.wait_until($$(SELECT count(*) = 0 FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown'))
                                 AND (SELECT status = 'awaiting_authorization' FROM mono.beneficiaries)$$, '20 seconds'),
          'the worker sent them all');
SELECT is(string_agg(DISTINCT status, ','), 'awaiting_authorization', 'and Mono accepted them all (none failed)')
  FROM mono.fund_requests;

------------------------------------------------------------------------
-- What the simulator parsed is what was stored
------------------------------------------------------------------------
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path_prefix=/owo/v1/&limit=200'`
CREATE TEMP TABLE received AS
SELECT e -> 'body' AS body, e ->> 'path' AS path FROM jsonb_array_elements(:'log'::jsonb) e
 WHERE e ->> 'method' = 'POST';
SELECT is(count(*), 0::bigint, 'every body the simulator received was JSON (none arrived as raw text)')
  FROM received WHERE jsonb_typeof(body) <> 'object';
SELECT is_empty($$
    SELECT f.reference FROM mono.fund_requests f
     WHERE f.link_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM received r
                        WHERE r.path = '/owo/v1/fund-requests'
                          AND r.body ->> 'reference' = f.reference
                          AND r.body ->> 'description' = f.description)$$,
    'for every charge the simulator received description = the stored description, byte for byte');
SELECT is((SELECT r.body -> 'fund_beneficiary' ->> 'name' FROM received r WHERE r.path = '/owo/v1/beneficiaries/link'),
          $n$O'Brien "Bob" \ 💳 --$n$, 'the link''s account name arrived intact');
SELECT is((SELECT r.body -> 'fund_request' ->> 'description' FROM received r WHERE r.path = '/owo/v1/beneficiaries/link'),
          (SELECT txt FROM texts WHERE n = 1), 'the first charge inside the link arrived intact');
SELECT is((SELECT octet_length(r.body ->> 'description') FROM received r WHERE r.body ->> 'reference' = 'TEXT71D15'),
          (SELECT octet_length(txt) FROM texts WHERE n = 15), 'the 60 kB description arrived whole');

------------------------------------------------------------------------
-- And back: the created webhooks carry the descriptions; stored intact
------------------------------------------------------------------------
\set ignored `for i in 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15; do "$MONO_TEST_LIB"/sim post "fund-requests/TEXT71D$i/approve" >/dev/null; done`
\set delivered `"$MONO_TEST_LIB"/deliver-webhooks --quiet`
SELECT is(:'delivered'::text, 'next=30', 'the 30 webhooks (created and approved for each) were delivered without an error');
SELECT is_empty($$
    SELECT t.label FROM texts t
     WHERE NOT EXISTS (SELECT 1 FROM mono.webhook_events w
                        WHERE w.event = 'owo.fundrequest.created'
                          AND w.body -> 'data' ->> 'reference' = 'TEXT71D' || lpad(t.n::text, 2, '0')
                          AND w.body -> 'data' ->> 'description' = t.txt
                          AND w.outcome = 'applied')$$,
    'each created webhook was stored with the description intact, and applied');
SELECT is(count(*), 15::bigint, 'the fund requests moved on to approved')
  FROM mono.fund_requests WHERE reference LIKE 'TEXT71D%' AND status = 'approved';

-- a webhook whose identifiers look like SQL is stored as data
SELECT is(mono_handle_webhook($b${"event":"owo.x'); DROP TABLE mono.webhook_events; --","event_id":"evt_'\"; DELETE FROM mono.fund_requests; --","data":{"id":"'; TRUNCATE mono.payments; --"}}$b$,
                              :'webhook_secret'),
          'ignored', 'a webhook whose event and event_id are SQL is stored and ignored');
SELECT is(event_id, $e$evt_'"; DELETE FROM mono.fund_requests; --$e$, 'its event_id is stored as given')
  FROM mono.webhook_events WHERE event LIKE 'owo.x%';

------------------------------------------------------------------------
-- Nothing was executed
------------------------------------------------------------------------
SELECT is(count(*), 0::bigint, 'every mono table is still there, and no request is missing')
  FROM (SELECT to_regclass('mono.fund_requests') AS a, to_regclass('mono.webhook_events') AS b,
               to_regclass('mono.payments') AS c,
               (SELECT count(*) FROM mono.fund_requests) AS n) s
 WHERE a IS NULL OR b IS NULL OR c IS NULL OR n <> 31;

SELECT * FROM finish();
DROP TABLE t71_orders;

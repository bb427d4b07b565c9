-- 73_bvn: the BVN never survives in the database once Mono has answered the
-- link (doc/mono-api.md, doc/design.md principle 7: "The BVN is never kept after it has been
-- sent"). Links go every way a link can go: accepted; with a first charge
-- and the connection closed after the body (unknown, settled by a read,
-- sent again, accepted); refused with a 400 (failed); accepted, linked by
-- the webhook and unlinked. Afterwards no row of any table of schema mono
-- (webhook_events bodies, error_details, last_error and http_log included)
-- holds any of the BVNs, nor does the planner's statistics (pg_statistic,
-- shown to readers of the table in pg_stats) after an ANALYZE that ran
-- while links were queued, nor the server log. The simulator did receive
-- each BVN (so there was something to erase).
\ir ../lib/tap.psql
\getenv tmp MONO_TMP

\set ignored `"$MONO_TEST_LIB"/sim reset`
\set ignored `"$MONO_TEST_LIB"/sim user 2348073000001 not_found`
\set ignored `"$MONO_TEST_LIB"/sim user 2348073000002 pending_activation`
\set ignored `"$MONO_TEST_LIB"/sim user 2348073000003 not_found`
ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset
SELECT mono_test.wait_until('(SELECT in_flight = 0 FROM mono_worker_status())', '15 seconds') AS idle \gset
TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
         mono.webhook_events RESTART IDENTITY CASCADE;

SELECT plan(11);

CREATE TEMP TABLE bvns (phone text, bvn text, how text);
INSERT INTO bvns VALUES
  ('2348073000001', '22273000011', 'accepted, linked by webhook, then unlinked'),
  ('2348073000002', '22273000012', 'with a first charge; connection closed after the body; settled'),
  ('2348073000003', '22273000013', 'refused by Mono with a 400'),
  ('2348073000004', '22273000014', 'queued while an ANALYZE ran'),
  ('2348073000005', '22273000015', 'queued while an ANALYZE ran'),
  ('2348073000006', '22273000016', 'queued while an ANALYZE ran');

-- links 4-6 wait in the queue (sending paused) while the table is analysed,
-- as autovacuum would on a busy table
ALTER SYSTEM SET mono_pay.enabled = off;
SELECT mono_test.reload() AS reloaded \gset
SELECT pg_sleep(0.5) AS slept \gset
SELECT count(mono_link_beneficiary(phone, 'Ada Obi', '000013', '0123456789', bvn))
  FROM bvns WHERE phone >= '2348073000004' \gset
ANALYZE mono.beneficiaries;
ALTER SYSTEM RESET mono_pay.enabled;
SELECT mono_test.reload() AS reloaded \gset

\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"close_after_body","count":1,"method":"POST","path_prefix":"/owo/v1/beneficiaries/link"}'`
SELECT mono_link_beneficiary('2348073000002', 'Bayo Ade', '000014', '0123456780', '22273000012',
                             5000, 'First charge') AS ignored \gset
SELECT mono_test.wait_until($$(SELECT status NOT IN ('queued', 'sending', 'unknown') FROM mono.beneficiaries
                                WHERE phone = '2348073000002')$$, '20 seconds') AS settled \gset
SELECT diag(format('link 2: %s (HTTP %s: %s)', status, http_status, last_error))
  FROM mono.beneficiaries WHERE phone = '2348073000002';
SELECT is(status::text, 'awaiting_authorization',
          'link 2 (with a first charge): the connection closed after the body; the link is still accepted, not failed')
  FROM mono.beneficiaries WHERE phone = '2348073000002';
\set ignored `"$MONO_TEST_LIB"/sim fault '{"kind":"400","count":1,"method":"POST","path_prefix":"/owo/v1/beneficiaries/link"}'`
SELECT mono_link_beneficiary('2348073000003', 'Chi Eze', '000015', '0123456781', '22273000013') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'failed' FROM mono.beneficiaries WHERE phone = '2348073000003')$$),
          'link 3: refused by Mono (400): failed');
SELECT mono_link_beneficiary('2348073000001', 'Ada Obi', '000013', '0123456789', '22273000011') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT count(*) = 6 FROM mono.beneficiaries WHERE status IN ('awaiting_authorization', 'failed'))$$),
          'every link has been answered by Mono');
\set ignored `"$MONO_TEST_LIB"/sim post beneficiaries/2348073000001/approve`
\set ignored `"$MONO_TEST_LIB"/deliver-webhooks --quiet`
SELECT ok(mono_test.wait_until($$(SELECT status = 'linked' FROM mono.beneficiaries WHERE phone = '2348073000001')$$),
          'link 1: linked by its webhook');
SELECT mono_unlink_beneficiary('2348073000001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status = 'unlinked' FROM mono.beneficiaries WHERE phone = '2348073000001')$$),
          'link 1: unlinked');
\set ignored `"$MONO_TEST_LIB"/deliver-webhooks --quiet`

-- the simulator did receive every BVN
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/beneficiaries/link&limit=50'`
CREATE TEMP TABLE simlog AS SELECT e FROM jsonb_array_elements(:'log'::jsonb) e;
SELECT is_empty($$SELECT b.bvn FROM bvns b
                   WHERE NOT EXISTS (SELECT 1 FROM simlog WHERE e -> 'body' ->> 'bvn' = b.bvn)$$,
                'the simulator received each of the six BVNs');

------------------------------------------------------------------------
-- No table, no column
------------------------------------------------------------------------
CREATE TEMP TABLE found (relation text, bvn text);
DO $$
DECLARE
    r record;
    b record;
    n bigint;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
              WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind IN ('r', 'm')
    LOOP
        FOR b IN SELECT bvn FROM bvns LOOP
            EXECUTE format('SELECT count(*) FROM %s t WHERE t::text LIKE %L', r.rel, '%' || b.bvn || '%') INTO n;
            IF n > 0 THEN
                INSERT INTO found VALUES (r.rel::text, b.bvn);
            END IF;
        END LOOP;
    END LOOP;
END;
$$;
SELECT cmp_ok((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'mono'::regnamespace AND relkind = 'r'), '>=', 9,
              'every table of schema mono was searched (including webhook_events, http_log)');
SELECT is_empty($$SELECT relation || ' holds ' || bvn FROM found$$,
                'no row of any table of schema mono holds a BVN (bvn column, webhook bodies, error_details, last_error, http_log)');
SELECT is(count(*), 0::bigint, 'mono.beneficiaries.bvn is NULL on every answered link')
  FROM mono.beneficiaries WHERE bvn IS NOT NULL;

------------------------------------------------------------------------
-- The planner's statistics: ANALYZE copied values of the bvn column into
-- pg_statistic (pg_stats shows them to anyone who may read the table)
------------------------------------------------------------------------
SELECT is_empty($$SELECT s.attname || ': ' || b.bvn FROM pg_stats s, bvns b
                   WHERE s.schemaname = 'mono'
                     AND (s.most_common_vals::text LIKE '%' || b.bvn || '%'
                          OR s.histogram_bounds::text LIKE '%' || b.bvn || '%')$$,
                'no BVN survives in the planner statistics (pg_stats) of schema mono');
SELECT diag('pg_stats of mono.beneficiaries.bvn: most_common_vals ' || coalesce(most_common_vals::text, 'NULL')
            || ', histogram_bounds ' || coalesce(histogram_bounds::text, 'NULL')
            || ' (attstattarget ' || (SELECT attstattarget FROM pg_attribute
                                       WHERE attrelid = 'mono.beneficiaries'::regclass AND attname = 'bvn') || ')')
  FROM pg_stats WHERE schemaname = 'mono' AND tablename = 'beneficiaries' AND attname = 'bvn';

------------------------------------------------------------------------
-- The server log
------------------------------------------------------------------------
SELECT is_empty(format($$SELECT b.bvn FROM bvns b WHERE position(b.bvn IN pg_read_file(%L)) > 0$$,
                       :'tmp' || '/postgres.log'),
                'the server log holds no BVN');

SELECT * FROM finish();

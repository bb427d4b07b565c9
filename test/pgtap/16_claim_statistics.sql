-- 16_claim_statistics: the claim's per-phone probe (mono.phone_is_free())
-- stays a look-up of the phone index whatever the planner's statistics say.
-- After ANALYZE saw a batch of one phone's rows (an INSERT ... SELECT of
-- orders of one customer, a test run), PostgreSQL took every row for a
-- match of any phone, and each probe scanned the whole table: a burst's
-- claim became quadratic (bench/README.md, issue 26). Measured by what
-- the probes read (pg_stat_xact_user_tables), in one transaction rolled
-- back (the worker never sees these rows).
\ir setup.psql

SELECT plan(4);

SELECT ok((SELECT 'n_distinct=-1' = ANY (attoptions) FROM pg_attribute
            WHERE attrelid = 'mono.fund_requests'::regclass AND attname = 'phone'),
          'mono.fund_requests.phone is planned as if every row had its own phone');

BEGIN;
-- the statistics of a batch of one phone's queued rows
INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
SELECT 'STATONE' || lpad(i::text, 10, '0'), '2348012345678', 5000, 'one phone', 'onetime'
  FROM generate_series(1, 3000) i;
ANALYZE mono.fund_requests;
DELETE FROM mono.fund_requests;
-- then a burst of other phones
INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
SELECT 'STATMANY' || lpad(i::text, 10, '0'), '23481' || lpad(i::text, 8, '0'), 5000, 'a burst', 'onetime'
  FROM generate_series(1, 3000) i;

CREATE TEMP TABLE scans AS
SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relid = 'mono.fund_requests'::regclass;
-- 200 probes, as a claim of 200 rows makes (the outer scan: one seq scan);
-- the figures are kept in psql variables and checked after the ROLLBACK
-- (pgTAP's own count of tests run would be rolled back with them)
SELECT (SELECT count(*) FILTER (WHERE free)
          FROM (SELECT mono.phone_is_free(phone, id) AS free
                  FROM mono.fund_requests ORDER BY id LIMIT 200) p) AS free_phones \gset
SELECT x.seq_scan - s.seq_scan AS seq_scans, x.idx_scan - s.idx_scan AS idx_scans
  FROM pg_stat_xact_user_tables x, scans s
 WHERE x.relid = 'mono.fund_requests'::regclass \gset
ROLLBACK;

SELECT is(:free_phones::bigint, 200::bigint, 'each phone of the burst is free');
SELECT cmp_ok(:seq_scans::bigint, '<=', 1::bigint,
              'after the statistics of one phone''s batch, no probe scans the table');
SELECT cmp_ok(:idx_scans::bigint, '>=', 200::bigint, 'each probe looks the phone up in its index');

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql

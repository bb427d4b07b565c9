-- 08_comments: psql describes mono_pay (issue 24). Every public function
-- (mono_* in the extension's schema), every table and view of schema mono,
-- and every column of them has a COMMENT (sql/parts/95_comments.code.sql),
-- so that \df+ and \d+ say what each is; and the upgrade script brings the
-- same comments (an upgraded database is checked by e2e 80's schema diff).
\ir ../lib/tap.psql

BEGIN;
SELECT plan(5);

-- the extension's public functions without a comment
SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_proc p
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mono_pay'
     WHERE p.pronamespace = e.extnamespace AND p.proname LIKE 'mono\_%'
       AND obj_description(p.oid, 'pg_proc') IS NULL$$,
    'every public function (mono_* in the extension''s schema) has a comment');

SELECT cmp_ok((SELECT count(*)::int FROM pg_proc p JOIN pg_extension e ON e.extname = 'mono_pay'
                WHERE p.pronamespace = e.extnamespace AND p.proname LIKE 'mono\_%'), '>=', 13,
              'the public functions are found (the check above is not vacuous)');

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c
     WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
       AND obj_description(c.oid, 'pg_class') IS NULL$$,
    'every table and view of schema mono has a comment');

SELECT is_empty($$
    SELECT c.oid::regclass::text || '.' || a.attname FROM pg_class c
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
       AND col_description(c.oid, a.attnum) IS NULL$$,
    'every column of the tables and views of schema mono has a comment');

SELECT matches(obj_description('mono'::regnamespace, 'pg_namespace'),
               'Functions in this schema are internal',
               'schema mono''s comment states the public/internal rule');

SELECT * FROM finish();
ROLLBACK;

-- 02_privileges: nothing is granted to PUBLIC (doc/design.md principle 7), so a
-- fresh role can neither read the tables nor call the functions, the
-- SECURITY DEFINER ones included.
\ir ../lib/tap.psql

BEGIN;
SELECT plan(15);

CREATE ROLE mono_nobody NOLOGIN;

------------------------------------------------------------------------
-- Catalog: PUBLIC holds no privilege
------------------------------------------------------------------------
SELECT ok(NOT has_schema_privilege('public', 'mono', 'USAGE'),
          'PUBLIC has no USAGE on schema mono');
SELECT ok(NOT has_schema_privilege('public', 'mono', 'CREATE'),
          'PUBLIC has no CREATE on schema mono');

SELECT is_empty($$
    SELECT c.oid::regclass::text
      FROM pg_class c
     WHERE c.relnamespace = 'mono'::regnamespace
       AND CASE WHEN c.relkind IN ('r', 'p', 'v', 'm', 'f') THEN
           (has_table_privilege('public', c.oid,
                'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
            OR has_any_column_privilege('public', c.oid, 'SELECT, INSERT, UPDATE, REFERENCES')) END
$$, 'PUBLIC has no privilege on any table or view of schema mono');

SELECT is_empty($$
    SELECT c.oid::regclass::text
      FROM pg_class c
     WHERE c.relnamespace = 'mono'::regnamespace
       AND CASE WHEN c.relkind = 'S'   -- (the planner may test rows of any kind first)
                THEN has_sequence_privilege('public', c.oid, 'USAGE, SELECT, UPDATE') END
$$, 'PUBLIC has no privilege on any sequence of schema mono');

-- The extension's functions: pg_depend knows them. has_function_privilege
-- also counts the default EXECUTE of a NULL proacl.
CREATE TEMP TABLE ext_functions ON COMMIT DROP AS
SELECT p.oid, p.oid::regprocedure::text AS signature, p.prosecdef, p.proacl
  FROM pg_depend d
  JOIN pg_proc p ON p.oid = d.objid
 WHERE d.classid = 'pg_proc'::regclass
   AND d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mono_pay')
   AND d.deptype = 'e';

SELECT cmp_ok((SELECT count(*)::int FROM ext_functions), '>=', 7,
              'the extension''s functions are found (so the checks below see them)');

SELECT is_empty($$
    SELECT signature FROM ext_functions
     WHERE has_function_privilege('public', oid, 'EXECUTE')
$$, 'PUBLIC may EXECUTE no function of mono_pay');

SELECT is_empty($$
    SELECT signature FROM ext_functions f
     WHERE f.proacl IS NULL
        OR EXISTS (SELECT 1 FROM aclexplode(f.proacl) a WHERE a.grantee = 0)
$$, 'no function of mono_pay has a default (NULL) ACL or a grant to PUBLIC');

SELECT is_empty($$
    SELECT signature FROM ext_functions
     WHERE has_function_privilege('mono_nobody', oid, 'EXECUTE')
$$, 'a fresh role may EXECUTE no function of mono_pay');

------------------------------------------------------------------------
-- Behaviour: a fresh role is refused (42501) everywhere
------------------------------------------------------------------------
SELECT is(r.code, '42501', 'a fresh role cannot read mono.fund_requests')
  FROM mono_test.run('SELECT * FROM mono.fund_requests', 'mono_nobody') r;
SELECT is(r.code, '42501', 'a fresh role cannot insert a fund request directly')
  FROM mono_test.run($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
                        VALUES ('privRef00001', '2348012345678', 100, 'x', 'onetime')$$,
                     'mono_nobody') r;
SELECT is(r.code, '42501', 'a fresh role cannot read the mono.inflow view')
  FROM mono_test.run('SELECT * FROM mono.inflow', 'mono_nobody') r;
SELECT is(r.code, '42501', 'a fresh role cannot call mono_user_status()')
  FROM mono_test.run($$SELECT * FROM mono_user_status('2348012345678')$$, 'mono_nobody') r;
SELECT is(r.code, '42501', 'a fresh role cannot call mono_charge() (SECURITY DEFINER)')
  FROM mono_test.run($$SELECT mono_charge('2348012345678', 150000, 'Order 1')$$, 'mono_nobody') r;
SELECT is(r.code, '42501', 'a fresh role cannot call mono_worker_status() (SECURITY DEFINER)')
  FROM mono_test.run('SELECT * FROM mono_worker_status()', 'mono_nobody') r;

-- and an explicit grant is what opens a function (the README's recipe)
GRANT EXECUTE ON FUNCTION mono_user_status(text) TO mono_nobody;
SELECT is(r.code, '22023', 'after GRANT EXECUTE the role reaches mono_user_status()''s own checks')
  FROM mono_test.run($$SELECT * FROM mono_user_status('not a phone')$$, 'mono_nobody') r;

SELECT * FROM finish();
ROLLBACK;

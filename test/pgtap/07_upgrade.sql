-- 07_upgrade: ALTER EXTENSION mono_pay UPDATE from 0.1.0 (the last release)
-- to 0.3.0 (through the released 0.1.0 -> 0.2.0 script) gives the schema a fresh CREATE EXTENSION gives: the same
-- columns (types, defaults, NOT NULL), functions (arguments, results,
-- bodies, settings), views, triggers and indexes in schema mono and the
-- extension's functions. The fresh install is this run's database (mono_pay
-- is created only in mono_pay.database_name; 0.1.0's script had no such
-- rule), the upgraded one a scratch database, dropped at the end. Before
-- the update, this library's functions refuse the old objects (issue 24).
-- 0.1.0's install script is the fixture test/upgrade/mono_pay--0.1.0.sql
-- (make install-upgrade-fixture, which test/run runs).
\ir ../lib/tap.psql

DROP DATABASE IF EXISTS mono_upgrade_old;
CREATE DATABASE mono_upgrade_old;

-- The schema's description, one line per object, sorted, per kind.
\set describe 'SELECT kind, string_agg(line, E''\\n'' ORDER BY line) AS lines FROM ( SELECT ''column'' AS kind, format(''%s.%s %s %s %s'', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) AS line FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE n.nspname = ''mono'' AND c.relkind IN (''r'', ''v'') AND a.attnum > 0 AND NOT a.attisdropped UNION ALL SELECT ''function'', format(''%s(%s) %s %s %s'', p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), md5(p.prosrc), p.proconfig) FROM pg_proc p JOIN pg_depend dep ON dep.objid = p.oid AND dep.classid = ''pg_proc''::regclass AND dep.deptype = ''e'' JOIN pg_extension e ON e.oid = dep.refobjid AND e.extname = ''mono_pay'' UNION ALL SELECT ''view'', c.relname || '' '' || md5(pg_get_viewdef(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ''mono'' AND c.relkind = ''v'' UNION ALL SELECT ''trigger'', pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ''mono'' AND NOT t.tgisinternal UNION ALL SELECT ''index'', pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ''mono'' UNION ALL SELECT ''grant'', format(''%s %s'', p.oid::regprocedure, p.proacl) FROM pg_proc p JOIN pg_depend dep ON dep.objid = p.oid AND dep.classid = ''pg_proc''::regclass AND dep.deptype = ''e'' JOIN pg_extension e ON e.oid = dep.refobjid AND e.extname = ''mono_pay'' ) x GROUP BY kind ORDER BY kind'

\c mono_upgrade_old
SET client_min_messages = warning;
CREATE EXTENSION mono_pay VERSION '0.1.0';
-- (issue 24) this library refuses to run against 0.1.0's objects: the error
-- of mono_charge() before the update, as sqlstate|message|detail|hint
CREATE FUNCTION pg_temp.charge_error() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_state text; v_message text; v_detail text; v_hint text;
BEGIN
    PERFORM mono_charge('2348012345678', 5000, 'before the update', 'UPG07REFUSED1');
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                            v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    RETURN concat_ws('|', v_state, v_message, v_detail, v_hint);
END;
$$;
SELECT pg_temp.charge_error() AS refused_before \gset
ALTER EXTENSION mono_pay UPDATE TO '0.3.0';
SELECT extversion AS old_version FROM pg_extension WHERE extname = 'mono_pay' \gset
SELECT reference || ' ' || status AS charged_after
  FROM mono_charge('2348012345678', 5000, 'after the update', 'UPG07CHARGED1') \gset
SELECT json_object_agg(kind, lines)::text AS old_schema FROM (:describe) s \gset
\c mono_test
SELECT json_object_agg(kind, lines)::text AS new_schema FROM (:describe) s \gset
-- (pgTAP keeps its plan per session: planned after the last \c)
SELECT plan(8);

SELECT is(:'refused_before'::text,
          '55000|mono_charge() cannot run: the SQL objects of mono_pay do not match its library|'
          'The extension installed in this database is 0.1.0; the library is 0.3.0.|Run ALTER EXTENSION mono_pay UPDATE.',
          'before the update, mono_charge() refuses 0.1.0''s objects: 55000, both versions, and the fix');
SELECT is(:'charged_after'::text, 'UPG07CHARGED1 queued', 'after ALTER EXTENSION UPDATE, mono_charge() queues the request');
SELECT is(:'old_version'::text, '0.3.0', 'ALTER EXTENSION ... UPDATE TO ''0.3.0'' reaches 0.3.0 (through the released 0.1.0 -> 0.2.0)');
CREATE TEMP TABLE described AS
SELECT o.key AS kind, o.value AS upgraded, n.value AS fresh
  FROM json_each_text(:'old_schema'::json) o
  FULL JOIN json_each_text(:'new_schema'::json) n USING (key);
-- the lines of one kind that only one side has, for the diagnostics
CREATE FUNCTION pg_temp.difference(p_kind text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(side || ' ' || line, E'\n' ORDER BY line, side), 'none')
      FROM (SELECT 'upgraded only:' AS side, l AS line
              FROM described, regexp_split_to_table(upgraded, E'\n') l WHERE kind = p_kind
            EXCEPT
            SELECT 'upgraded only:', l FROM described, regexp_split_to_table(fresh, E'\n') l WHERE kind = p_kind
            UNION ALL
            (SELECT 'fresh only:', l FROM described, regexp_split_to_table(fresh, E'\n') l WHERE kind = p_kind
             EXCEPT
             SELECT 'fresh only:', l FROM described, regexp_split_to_table(upgraded, E'\n') l WHERE kind = p_kind)) d
$$;
SELECT is(pg_temp.difference('column'), 'none', 'the same columns (types, NOT NULL, defaults)');
SELECT is(pg_temp.difference('function'), 'none', 'the same functions (arguments, results, bodies, settings)');
SELECT is(pg_temp.difference('view') || E'\n' || pg_temp.difference('trigger'), E'none\nnone', 'the same views and triggers');
SELECT is(pg_temp.difference('index'), 'none', 'the same indexes');
SELECT is(pg_temp.difference('grant'), 'none', 'the same privileges on the extension''s functions');

DROP DATABASE mono_upgrade_old;
SELECT * FROM finish();

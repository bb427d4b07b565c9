-- 72_roles: the roles of the README's "Roles and grants", granted exactly as
-- documented there (an application, an analyst, a monitoring role):
--   - the application can charge, link, wait, take webhooks, charge from a
--     trigger of its own table, and read its rows;
--   - it cannot read either secret by any path (SHOW, current_setting,
--     pg_settings, pg_file_settings, pg_read_file, pg_db_role_setting,
--     error texts, mono.http_log), cannot change mono_pay.api_url (SET, SET
--     LOCAL, set_config, ALTER ROLE/DATABASE ... SET, a function's SET
--     clause; ALTER SYSTEM, which cannot run in a transaction, is tried in
--     test/e2e/74_listen_and_paths.sh), cannot call the internal functions of schema
--     mono, and cannot write to the tables or take their sequences;
--   - no function of the application runs with the extension owner's
--     privileges, whatever search_path it sets (a trigger of its own table
--     included);
--   - PUBLIC holds no privilege on any mono_pay object (types and domains
--     keep PostgreSQL's default USAGE: listed, not failed); every SECURITY
--     DEFINER function pins search_path, with pg_temp last.
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348072000001 active`
-- a request sent before (for mono_wait), and a call logged in mono.http_log
SELECT mono_charge('2348072000001', 5000, 'Sent before', 'ROLES72SENT') AS ignored \gset
SELECT mono_test.wait_until($$(SELECT status = 'awaiting_authorization' FROM mono.fund_requests)$$) AS sent \gset

BEGIN;
SELECT plan(55);

------------------------------------------------------------------------
-- The README's roles, granted exactly as documented
------------------------------------------------------------------------
CREATE ROLE mono_shop LOGIN;
GRANT USAGE ON SCHEMA mono TO mono_shop;
GRANT SELECT ON mono.beneficiaries, mono.fund_requests, mono.payments,
               mono.schedule, mono.instalments TO mono_shop;
GRANT EXECUTE ON FUNCTION
    mono_user_status(text),
    mono_link_beneficiary(text, text, text, text, text, bigint, text),
    mono_charge(text, bigint, text, text, text, integer, timestamptz, timestamptz, text),
    mono_unlink_beneficiary(text),
    mono_wait(text, interval),
    mono_handle_webhook(text, text),
    mono_account_sync(text, boolean)
  TO mono_shop;
GRANT EXECUTE ON FUNCTION mono_charge_trigger() TO mono_shop;

CREATE ROLE mono_analyst LOGIN;
GRANT USAGE ON SCHEMA mono TO mono_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA mono TO mono_analyst;

CREATE ROLE mono_monitoring LOGIN;
GRANT EXECUTE ON FUNCTION mono_worker_status() TO mono_monitoring;

-- the application owns a schema of its own (where its orders live)
CREATE SCHEMA shop AUTHORIZATION mono_shop;

------------------------------------------------------------------------
-- What the application can do
------------------------------------------------------------------------
SELECT is(r.code, NULL, 'the application can charge: ' || coalesce(r.message, 'ok'))
  FROM mono_test.run($$SELECT reference FROM mono_charge('2348072000001', 500, 'From the app', 'ROLES72APP1')$$, 'mono_shop') r;
SELECT is(r.code, NULL, 'it can queue a recurring charge: ' || coalesce(r.message, 'ok'))
  FROM mono_test.run($$SELECT reference FROM mono_charge('2348072000001', 500, 'Monthly', 'ROLES72APP2', 'month', 1, now())$$, 'mono_shop') r;
SELECT is(r.code, NULL, 'it can link: ' || coalesce(r.message, 'ok'))
  FROM mono_test.run($$SELECT status FROM mono_link_beneficiary('2348072000009', 'Ada Obi', '000013', '0123456789', '22212345678')$$, 'mono_shop') r;
SELECT results_eq($$SELECT r.code, r.output FROM mono_test.run('SELECT status FROM mono_wait(''ROLES72SENT'', ''1 second'')', 'mono_shop') r$$,
                  $$VALUES (NULL::text, 'awaiting_authorization')$$, 'it can wait for a request');
SELECT results_eq($$SELECT r.code, r.output FROM mono_test.run('SELECT reference FROM mono.fund_requests WHERE reference = ''ROLES72SENT''', 'mono_shop') r$$,
                  $$VALUES (NULL::text, 'ROLES72SENT')$$, 'it can read its rows');
SELECT results_eq($$SELECT r.code, r.output FROM mono_test.run('SELECT count(*) >= 0 FROM mono.instalments', 'mono_shop') r$$,
                  $$VALUES (NULL::text, 'true')$$, 'it can read mono.instalments');
SELECT results_eq($$SELECT r.code, r.output FROM mono_test.run('SELECT "exists" FROM mono_user_status(''2348072000001'')', 'mono_shop') r$$,
                  $$VALUES (NULL::text, 'true')$$, 'it can ask for a user''s status');
SELECT is(r.code, '28000', 'it can hand over webhooks (a wrong secret is refused with 28000)')
  FROM mono_test.run($$SELECT mono_handle_webhook('{"event":"owo.x"}', 'nope')$$, 'mono_shop') r;
-- a table of its own whose rows are charged
SET LOCAL ROLE mono_shop;
CREATE TABLE shop.orders (phone text, amount bigint, note text, period text, start_at timestamptz);
CREATE TRIGGER charge AFTER INSERT ON shop.orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note',
                                         'period=period', 'start_date=start_at');
RESET ROLE;
SELECT is(r.code, NULL, 'its own table''s trigger charges on INSERT: ' || coalesce(r.message, 'ok'))
  FROM mono_test.run($$INSERT INTO shop.orders VALUES ('2348072000001', 700, 'Order 72', NULL, NULL)$$, 'mono_shop') r;

------------------------------------------------------------------------
-- The secrets: not by any path
------------------------------------------------------------------------
SELECT is(r.code, '42501', 'SHOW mono_pay.secret_key: refused')
  FROM mono_test.run('SHOW mono_pay.secret_key', 'mono_shop') r;
SELECT is(r.code, '42501', 'SHOW mono_pay.webhook_secret: refused')
  FROM mono_test.run('SHOW mono_pay.webhook_secret', 'mono_shop') r;
SELECT is(r.code, '42501', 'current_setting(''mono_pay.secret_key'', true): refused')
  FROM mono_test.run($$SELECT current_setting('mono_pay.secret_key', true)$$, 'mono_shop') r;
SELECT is(r.code, '42501', 'current_setting(''mono_pay.webhook_secret''): refused')
  FROM mono_test.run($$SELECT current_setting('mono_pay.webhook_secret')$$, 'mono_shop') r;
SELECT is(r.output, '0', 'pg_settings has no row for either secret')
  FROM mono_test.run($$SELECT count(*) FROM pg_settings WHERE name LIKE 'mono_pay.%secret%'$$, 'mono_shop') r;
SELECT ok(r.code IS NULL AND position(:'secret_key' IN r.output) = 0 AND position(:'webhook_secret' IN r.output) = 0,
          'SHOW ALL shows neither secret')
  FROM mono_test.run('SHOW ALL', 'mono_shop') r;
SELECT is(r.code, '42501', 'pg_file_settings: refused')
  FROM mono_test.run($$SELECT setting FROM pg_file_settings WHERE name LIKE 'mono_pay.%'$$, 'mono_shop') r;
SELECT is(r.code, '42501', 'pg_read_file(''postgresql.conf''): refused')
  FROM mono_test.run($$SELECT pg_read_file('postgresql.conf')$$, 'mono_shop') r;
SELECT is(r.code, '42501', 'pg_read_file(''postgresql.auto.conf''): refused')
  FROM mono_test.run($$SELECT pg_read_file('postgresql.auto.conf')$$, 'mono_shop') r;
SELECT is(r.output, '0', 'pg_db_role_setting (readable by everyone) holds no secret')
  FROM mono_test.run(format($$SELECT count(*) FROM pg_db_role_setting, unnest(setconfig) c
                              WHERE c LIKE 'mono_pay.%%secret%%' OR c LIKE %L OR c LIKE %L$$,
                            '%' || :'secret_key' || '%', '%' || :'webhook_secret' || '%'), 'mono_shop') r;
SELECT is(r.code, '42501', 'mono.http_log is not readable by the application (not in its grants)')
  FROM mono_test.run('SELECT * FROM mono.http_log', 'mono_shop') r;
SELECT ok(r.code IS NULL AND r.output::int > 0, 'the analyst can read mono.http_log (' || coalesce(r.output, r.message) || ' rows)')
  FROM mono_test.run('SELECT count(*) FROM mono.http_log', 'mono_analyst') r;
SELECT is(r.output, '0', 'and no row of it, nor of any other mono table, holds a secret')
  FROM mono_test.run(format($$
      SELECT count(*) FROM pg_class c
       WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind IN ('r', 'v')
         AND (xpath('/row/n/text()', query_to_xml(format(
                'SELECT count(*) AS n FROM %%s t WHERE t::text LIKE %%L OR t::text LIKE %%L',
                c.oid::regclass, %L, %L), false, true, '')))[1]::text::int > 0$$,
      '%' || :'secret_key' || '%', '%' || :'webhook_secret' || '%'), 'mono_analyst') r;
SELECT is(r.output, '0', 'no function''s SET clause (pg_proc.proconfig, readable by everyone) holds a secret')
  FROM mono_test.run(format($$SELECT count(*) FROM pg_proc, unnest(proconfig) c WHERE c LIKE %L OR c LIKE %L$$,
                            '%' || :'secret_key' || '%', '%' || :'webhook_secret' || '%'), 'mono_shop') r;
-- the error texts the application can provoke
CREATE TEMP TABLE provoked ON COMMIT DROP AS
SELECT s.label, mono_test.error_text(s.stmt, 'mono_shop') AS txt
  FROM (VALUES
    ('wrong webhook secret', $$SELECT mono_handle_webhook('{"event":"owo.x"}', 'whsec_guess')$$),
    ('empty webhook secret', $$SELECT mono_handle_webhook('{"event":"owo.x"}', '')$$),
    ('webhook secret with one more character', format('SELECT mono_handle_webhook(''{"event":"owo.x"}'', %L)', :'webhook_secret' || 'x')),
    ('SHOW secret_key', 'SHOW mono_pay.secret_key'),
    ('SET secret_key', $$SET mono_pay.secret_key = 'mine'$$),
    ('SET api_url', $$SET mono_pay.api_url = 'http://127.0.0.1:9'$$),
    ('internal function', $$SELECT mono.maintain()$$),
    ('direct write', $$UPDATE mono.fund_requests SET status = 'completed'$$),
    ('bad account id', $$SELECT mono_account_sync('a b')$$)
  ) AS s (label, stmt);
SELECT is_empty($$SELECT label FROM provoked WHERE txt IS NULL$$, 'each of those statements raised an error');
SELECT is_empty(format($$SELECT label FROM provoked WHERE txt LIKE %L OR txt LIKE %L$$,
                       '%' || :'secret_key' || '%', '%' || :'webhook_secret' || '%'),
                'no error text the application can provoke contains a secret');

------------------------------------------------------------------------
-- mono_pay.api_url (and ca_bundle): not changeable by the application
------------------------------------------------------------------------
SELECT is(r.code, '42501', 'SET mono_pay.api_url: refused')
  FROM mono_test.run($$SET mono_pay.api_url = 'http://127.0.0.1:9'$$, 'mono_shop') r;
SELECT is(r.code, '42501', 'SET LOCAL mono_pay.api_url: refused')
  FROM mono_test.run($$SET LOCAL mono_pay.api_url = 'http://127.0.0.1:9'$$, 'mono_shop') r;
SELECT is(r.code, '42501', 'set_config(''mono_pay.api_url'', ...): refused')
  FROM mono_test.run($$SELECT set_config('mono_pay.api_url', 'http://127.0.0.1:9', false)$$, 'mono_shop') r;
SELECT is(r.code, '42501', 'ALTER ROLE (itself) SET mono_pay.api_url: refused')
  FROM mono_test.run($$ALTER ROLE mono_shop SET mono_pay.api_url = 'http://127.0.0.1:9'$$, 'mono_shop') r;
SELECT is(r.code, '42501', 'ALTER DATABASE ... SET mono_pay.api_url: refused')
  FROM mono_test.run($$ALTER DATABASE mono_test SET mono_pay.api_url = 'http://127.0.0.1:9'$$, 'mono_shop') r;
SELECT is(r.code, '42501', 'a function of its own with SET mono_pay.api_url: refused')
  FROM mono_test.run($$CREATE FUNCTION pg_temp.redirect() RETURNS int LANGUAGE sql
                        SET mono_pay.api_url = 'http://127.0.0.1:9' AS 'SELECT 1'$$, 'mono_shop') r;
SELECT is(r.code, '42501', 'SET mono_pay.ca_bundle: refused')
  FROM mono_test.run($$SET mono_pay.ca_bundle = '/tmp/mine.pem'$$, 'mono_shop') r;
SELECT is(r.code, '42501', 'SET mono_pay.secret_key (to capture what is sent): refused')
  FROM mono_test.run($$SET mono_pay.secret_key = 'sk_mine'$$, 'mono_shop') r;

------------------------------------------------------------------------
-- The internal functions of schema mono: not callable
------------------------------------------------------------------------
SELECT cmp_ok((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'mono'::regnamespace), '>=', 20,
              'schema mono has its internal functions (so the check below sees them)');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                   WHERE p.pronamespace = 'mono'::regnamespace
                     AND (has_function_privilege('mono_shop', p.oid, 'EXECUTE')
                          OR has_function_privilege('mono_analyst', p.oid, 'EXECUTE')
                          OR has_function_privilege('mono_monitoring', p.oid, 'EXECUTE'))$$,
                'none of the README''s roles may EXECUTE any function of schema mono');
SELECT results_eq($$
    SELECT s.f, r.code
      FROM (VALUES ('mono.apply_owo_event', $q$SELECT mono.apply_owo_event('owo.fundrequest.completed', '{"id":"frq_x"}')$q$),
                   ('mono.ingest_webhook', $q$SELECT mono.ingest_webhook('evt_forged', 'owo.fundrequest.completed', '{"data":{"id":"frq_x"}}')$q$),
                   ('mono.maintain', $q$SELECT mono.maintain()$q$),
                   ('mono.advance_fund_request', $q$SELECT mono.advance_fund_request(1, 'completed')$q$),
                   ('mono.apply_payment', $q$SELECT mono.apply_payment('{"id":"pay_forged","amount":1}', 'successful')$q$),
                   ('mono.replay_unmatched', $q$SELECT mono.replay_unmatched('frq_x')$q$),
                   ('mono.plan_instalments', $q$SELECT mono.plan_instalments(1, now())$q$),
                   ('mono.record_account_outcomes', $q$SELECT mono.record_account_outcomes('[]', 'sync')$q$),
                   ('mono.apply_connect_event', $q$SELECT mono.apply_connect_event('mono.events.account_unlinked', '{}')$q$),
                   ('mono.wake_worker', $q$SELECT mono.wake_worker()$q$),
                   ('mono.backoff', $q$SELECT mono.backoff(1)$q$),
                   ('mono.setting_interval', $q$SELECT mono.setting_interval('approval_window')$q$)) AS s (f, stmt),
           LATERAL mono_test.run(s.stmt, 'mono_shop') r ORDER BY 1$$,
    $$VALUES ('mono.advance_fund_request', '42501'), ('mono.apply_connect_event', '42501'),
             ('mono.apply_owo_event', '42501'), ('mono.apply_payment', '42501'),
             ('mono.backoff', '42501'), ('mono.ingest_webhook', '42501'), ('mono.maintain', '42501'),
             ('mono.plan_instalments', '42501'), ('mono.record_account_outcomes', '42501'),
             ('mono.replay_unmatched', '42501'), ('mono.setting_interval', '42501'),
             ('mono.wake_worker', '42501')$$,
    'calling the state machine, the upkeep, the recorders or the wake directly: 42501 each');
SELECT is(r.code, '42501', 'the application cannot call mono_worker_status() (monitoring''s grant)')
  FROM mono_test.run('SELECT * FROM mono_worker_status()', 'mono_shop') r;
SELECT is(r.code, NULL, 'the monitoring role can')
  FROM mono_test.run('SELECT running FROM mono_worker_status()', 'mono_monitoring') r;
SELECT is(r.code, '42501', 'the analyst cannot charge (it calls nothing that sends)')
  FROM mono_test.run($$SELECT mono_charge('2348072000001', 500, 'x')$$, 'mono_analyst') r;

------------------------------------------------------------------------
-- The tables: no direct writes
------------------------------------------------------------------------
SELECT is_empty($$SELECT c.oid::regclass || ' by ' || r.rolname FROM pg_class c,
                         (VALUES ('mono_shop'), ('mono_analyst'), ('mono_monitoring')) r(rolname)
                   WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind IN ('r', 'p', 'v')
                     AND (has_table_privilege(r.rolname, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                          OR has_any_column_privilege(r.rolname, c.oid, 'INSERT, UPDATE'))$$,
                'none of the README''s roles may write to any table of schema mono');
SELECT is_empty($$SELECT c.oid::regclass || ' by ' || r.rolname FROM pg_class c,
                         (VALUES ('mono_shop'), ('mono_analyst'), ('mono_monitoring')) r(rolname)
                   WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind = 'S'
                     AND has_sequence_privilege(r.rolname, c.oid, 'USAGE, UPDATE')$$,
                'nor use any of its sequences');
SELECT results_eq($$
    SELECT s.label, r.code
      FROM (VALUES ('UPDATE fund_requests', $q$UPDATE mono.fund_requests SET status = 'completed'$q$),
                   ('DELETE fund_requests', $q$DELETE FROM mono.fund_requests$q$),
                   ('INSERT fund_requests', $q$INSERT INTO mono.fund_requests (reference, phone, amount, description, type) VALUES ('FORGED00001', '2348072000001', 1, 'x', 'onetime')$q$),
                   ('INSERT payments', $q$INSERT INTO mono.payments (mono_id, amount, status) VALUES ('pay_forged', 1, 'successful')$q$),
                   ('UPDATE beneficiaries', $q$UPDATE mono.beneficiaries SET status = 'linked'$q$),
                   ('TRUNCATE webhook_events', $q$TRUNCATE mono.webhook_events$q$),
                   ('UPDATE schedule', $q$UPDATE mono.schedule SET status = 'paid'$q$),
                   ('nextval', $q$SELECT nextval('mono.fund_requests_id_seq')$q$),
                   ('setval', $q$SELECT setval('mono.fund_requests_id_seq', 1)$q$),
                   ('SELECT FOR UPDATE', $q$SELECT 1 FROM mono.fund_requests FOR UPDATE$q$),
                   ('LOCK', $q$LOCK TABLE mono.fund_requests IN ACCESS EXCLUSIVE MODE$q$),
                   ('CREATE in mono', $q$CREATE TABLE mono.mine (x int)$q$)) AS s (label, stmt),
           LATERAL mono_test.run(s.stmt, 'mono_shop') r ORDER BY 1$$,
    $$VALUES ('CREATE in mono', '42501'), ('DELETE fund_requests', '42501'), ('INSERT fund_requests', '42501'),
             ('INSERT payments', '42501'), ('LOCK', '42501'), ('SELECT FOR UPDATE', '42501'),
             ('TRUNCATE webhook_events', '42501'), ('UPDATE beneficiaries', '42501'),
             ('UPDATE fund_requests', '42501'), ('UPDATE schedule', '42501'), ('nextval', '42501'),
             ('setval', '42501')$$,
    'writing, locking, taking ids or creating in schema mono as the application: 42501 each');
SELECT is(r.code, '42501', 'the analyst cannot write either (UPDATE fund_requests)')
  FROM mono_test.run($$UPDATE mono.fund_requests SET status = 'completed'$$, 'mono_analyst') r;

------------------------------------------------------------------------
-- No code of the application runs with the extension owner's privileges
-- (a function shadowing now(), first in the search_path it sets)
------------------------------------------------------------------------
SELECT set_config('qa.whsec', :'webhook_secret', true) AS ignored \gset
SET LOCAL ROLE mono_shop;
CREATE TABLE shop.seen (who text, superuser boolean, via text);
CREATE FUNCTION shop.now() RETURNS timestamptz LANGUAGE sql AS $$
    INSERT INTO shop.seen SELECT current_user, (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user),
                                 pg_catalog.current_setting('qa.via', true);
    SELECT pg_catalog.now()
$$;
SET LOCAL search_path = shop, pg_catalog;
SELECT pg_catalog.set_config('qa.via', 'mono_charge', true) AS ignored \gset
SELECT public.mono_charge('2348072000001', 500, 'Monthly, direct', 'ROLES72EVIL1', 'month', 1,
                          pg_catalog.now()) AS ignored \gset
SELECT pg_catalog.set_config('qa.via', 'mono_handle_webhook', true) AS ignored \gset
SELECT public.mono_handle_webhook('{"event":"owo.fundrequest.created","event_id":"evt_roles72","data":{"id":"frq_roles72","reference":"ROLES72EVIL1"}}',
                                  pg_catalog.current_setting('qa.whsec')) AS ignored \gset
SELECT pg_catalog.set_config('qa.via', 'mono_charge_trigger', true) AS ignored \gset
INSERT INTO shop.orders VALUES ('2348072000001', 500, 'Monthly, from a trigger', 'month', pg_catalog.now());
RESET search_path;
RESET ROLE;
SELECT is(count(*), 2::bigint, 'setup: both recurring requests were queued (their schedules planned)')
  FROM mono.fund_requests WHERE description IN ('Monthly, direct', 'Monthly, from a trigger');
SELECT diag('ran as: ' || coalesce(string_agg(format('%s (superuser %s) via %s', who, superuser, via), '; '), 'nobody'))
  FROM shop.seen;
SELECT is_empty($$SELECT via || ' ran shop.now() as ' || who FROM shop.seen WHERE who <> 'mono_shop'$$,
                'no code of the application ran as another role (mono_charge, mono_handle_webhook, a charging trigger)');

------------------------------------------------------------------------
-- PUBLIC holds nothing; SECURITY DEFINER functions pin search_path
------------------------------------------------------------------------
CREATE TEMP TABLE ext_objects ON COMMIT DROP AS
SELECT d.classid, d.objid FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mono_pay');
SELECT ok(NOT has_schema_privilege('public', 'mono', 'USAGE') AND NOT has_schema_privilege('public', 'mono', 'CREATE'),
          'PUBLIC has neither USAGE nor CREATE on schema mono');
SELECT is_empty($$SELECT c.oid::regclass::text FROM pg_class c
                   WHERE c.relnamespace = 'mono'::regnamespace
                     AND (c.relacl IS NULL AND c.relkind IN ('r', 'v', 'S', 'm', 'p')
                          OR EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0))$$,
                'no relation or sequence of schema mono has a default ACL or a grant to PUBLIC');
SELECT is_empty($$SELECT c.oid::regclass || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                   WHERE c.relnamespace = 'mono'::regnamespace AND a.attacl IS NOT NULL
                     AND EXISTS (SELECT 1 FROM aclexplode(a.attacl) x WHERE x.grantee = 0)$$,
                'no column of schema mono is granted to PUBLIC');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                   WHERE p.oid IN (SELECT objid FROM ext_objects WHERE classid = 'pg_proc'::regclass)
                     AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0))$$,
                'no function of mono_pay is executable by PUBLIC (no NULL ACL, no PUBLIC grant)');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                   WHERE p.pronamespace = 'mono'::regnamespace
                     AND p.oid NOT IN (SELECT objid FROM ext_objects WHERE classid = 'pg_proc'::regclass)$$,
                'every function of schema mono belongs to the extension (none was added by someone else)');
SELECT diag('types and domains of mono_pay with PostgreSQL''s default USAGE for PUBLIC (harmless: '
            || 'a type gives no access to data): '
            || coalesce(string_agg(t.oid::regtype::text, ', ' ORDER BY t.typname), 'none'))
  FROM pg_type t
 WHERE t.oid IN (SELECT objid FROM ext_objects WHERE classid = 'pg_type'::regclass)
   AND (t.typacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(t.typacl) a WHERE a.grantee = 0));
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                   WHERE p.oid IN (SELECT objid FROM ext_objects WHERE classid = 'pg_proc'::regclass)
                     AND p.prosecdef
                     AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')$$,
                'every SECURITY DEFINER function of mono_pay has a pinned search_path (proconfig)');
SELECT is_empty($$SELECT p.oid::regprocedure || ': ' || c FROM pg_proc p, unnest(p.proconfig) c
                   WHERE p.oid IN (SELECT objid FROM ext_objects WHERE classid = 'pg_proc'::regclass)
                     AND p.prosecdef AND c LIKE 'search\_path=%'
                     AND (c NOT LIKE '%pg\_temp' OR c NOT LIKE 'search\_path=pg\_catalog%')$$,
                'and it starts with pg_catalog and ends with pg_temp (a temp schema cannot shadow anything)');
SELECT cmp_ok((SELECT count(*)::int FROM pg_proc p
                WHERE p.oid IN (SELECT objid FROM ext_objects WHERE classid = 'pg_proc'::regclass) AND p.prosecdef),
              '>=', 8, 'the SECURITY DEFINER functions are found (so the checks above see them)');
SELECT diag('SECURITY DEFINER: ' || string_agg(p.proname || ' ' || array_to_string(p.proconfig, ','), '; ' ORDER BY p.proname))
  FROM pg_proc p WHERE p.oid IN (SELECT objid FROM ext_objects WHERE classid = 'pg_proc'::regclass) AND p.prosecdef;

------------------------------------------------------------------------
-- NOTIFY mono_pay: any role can listen and notify (PostgreSQL has no
-- privilege on channels), so payloads must carry nothing private and
-- applications must treat them as hints
------------------------------------------------------------------------
CREATE ROLE mono_nobody NOLOGIN;
SELECT is(r.code, NULL, 'a role with no grant at all can still LISTEN mono_pay (a PostgreSQL limit)')
  FROM mono_test.run('LISTEN mono_pay', 'mono_nobody') r;
SELECT is(r.code, NULL, 'and can NOTIFY mono_pay with a forged payload: applications must re-read the row')
  FROM mono_test.run($$NOTIFY mono_pay, '{"table":"fund_requests","id":1,"reference":"ROLES72SENT","status":"completed"}'$$, 'mono_nobody') r;

SELECT * FROM finish();
ROLLBACK;

-- 77_receiver: the webhook receiver's SQL surface when it does not run
-- (mono_pay.webhook_listen empty, as in the test cluster): its settings and
-- their defaults, mono_receiver_status() (one row, not running, counters
-- at 0, nothing for PUBLIC), and the TLS settings hidden from non-superusers.
-- What it does when it runs: test/e2e/90_receiver.sh to 93_receiver_tls.sh.
\ir ../lib/tap.psql

BEGIN;
SELECT plan(8);

SELECT is(current_setting('mono_pay.webhook_listen'), '', 'webhook_listen is empty by default: no receiver');
SELECT is(current_setting('mono_pay.webhook_path'), '/mono/webhooks', 'webhook_path defaults to /mono/webhooks');
SELECT is(string_agg(name || '=' || setting || coalesce(unit, '') || ':' || context, ' ' ORDER BY name),
          'mono_pay.webhook_idle_timeout=30s:postmaster mono_pay.webhook_max_connections=100:postmaster mono_pay.webhook_max_header_size=16384B:postmaster mono_pay.webhook_read_timeout=10000ms:sighup mono_pay.webhook_receivers=1:postmaster',
          'the bounds on clients, their defaults and when they apply')
  FROM pg_settings
 WHERE name IN ('mono_pay.webhook_idle_timeout', 'mono_pay.webhook_max_connections',
                'mono_pay.webhook_max_header_size', 'mono_pay.webhook_read_timeout',
                'mono_pay.webhook_receivers');

SELECT is((SELECT row(running, pid, listen, path, tls, connections, processes)::text FROM mono_receiver_status()),
          '(f,,,/mono/webhooks,f,0,0)', 'mono_receiver_status(): not running, no pid, no listen address, no process');
SELECT is((SELECT connections_total + applied + duplicate + ignored + rejected_unauthorized
                  + rejected_too_large + rejected_not_json + rejected_method + rejected_not_found
                  + rejected_unavailable + rejected_connection_limit + rejected_timeout
                  + rejected_header_too_large FROM mono_receiver_status()),
          0::bigint, 'and every counter at 0');
SELECT is((SELECT count(*) FROM mono_receiver_status()), 1::bigint, 'one row');

CREATE ROLE mono_nobody76 NOLOGIN;
SELECT is(r.code, '42501', 'a fresh role cannot call mono_receiver_status()')
  FROM mono_test.run('SELECT * FROM mono_receiver_status()', 'mono_nobody76') r;
SELECT is(r.code, '42501', 'nor read mono_pay.webhook_tls_key (superuser only)')
  FROM mono_test.run($$SELECT current_setting('mono_pay.webhook_tls_key')$$, 'mono_nobody76') r;

SELECT * FROM finish();
ROLLBACK;

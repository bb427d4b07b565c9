#!/usr/bin/env bash
# test/e2e/80_upgrade.sh: 0.1.0 → 0.2.0 → 0.3.0 the way a user upgrades. A
# database runs 0.1.0 (the install script of the last release,
# test/upgrade/mono_pay--0.1.0.sql) with links,
# one-time and recurring requests, payments, schedules, webhooks and
# accounts in it; the new library is installed (the test cluster already
# runs it) and the worker pointed at that database:
#   - until ALTER EXTENSION UPDATE, the worker waits and says why (a new
#     library never runs its SQL against the older objects), sending nothing,
#     and the library's functions refuse to run (issue 24): the 0.1.0 rows
#     are therefore written with 0.1.0's own SQL (its tables, triggers and
#     PL/pgSQL functions), as 0.1.0's C functions wrote them;
#   - ALTER EXTENSION mono_pay UPDATE keeps every row of every mono table
#     (each row's old columns and values are all still there), but masks
#     a full BVN in webhook_events and a phone in http_log paths;
#   - the upgraded schema is the one a fresh 0.3.0 install makes (tables,
#     columns, constraints, indexes, triggers, functions, views, grants;
#     the upgrade's new domain rules are NOT VALID: old rows that break
#     them are kept, not refused);
#   - the worker carries on: queued rows are sent, webhooks applied.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 13

# 0.1.0's install script is a test fixture (test/upgrade/), not installed
# by `make install`: into the cluster's extension directory with it
make -s -C "$MONO_ROOT" install-upgrade-fixture PG_CONFIG="$PG_CONFIG" >/dev/null

up=mono_upgrade80
# the fresh 0.3.0 install to compare with: the run's own database (mono_pay
# is created only in mono_pay.database_name; 0.1.0 had no such rule)
fresh=$PGDATABASE
t7_fresh
t7_sql "DROP DATABASE IF EXISTS $up" -d postgres >/dev/null
t7_sql "CREATE DATABASE $up" -d postgres >/dev/null
t7_sql "CREATE EXTENSION mono_pay VERSION '0.1.0'" -d $up >/dev/null
is "$(t7_sql "SELECT extversion FROM pg_extension WHERE extname = 'mono_pay'" -d $up)" 0.1.0 "0.1.0 installs from its release script"

# A webhook through mono_handle_webhook (0.3.0): hook EVENT ID DATA_JSON
hook() {
	t7_sql "SELECT mono_handle_webhook(jsonb_build_object('event', '$1', 'event_id', '$2',
	        'timestamp', '2026-12-01T10:00:00Z', 'data', '$3'::jsonb)::text, '$MONO_WEBHOOK_SECRET')" -d $up >/dev/null
}
# The same through 0.1.0's mono.ingest_webhook(), as 0.1.0's mono_handle_webhook stored it
old_hook() {
	t7_sql "SELECT mono.ingest_webhook('$2', '$1', jsonb_build_object('event', '$1', 'event_id', '$2',
	        'timestamp', '2026-12-01T10:00:00Z', 'data', '$3'::jsonb))" -d $up >/dev/null
}

# ---- what a 0.1.0 database holds (0.1.0's mono_charge() inserted these
# rows; its trigger plan_schedule plans the recurring request's instalments)
for p in 2348080000001 2348080000002 2348080000003; do sim user $p active; done
t7_sql "INSERT INTO mono.beneficiaries (phone, account_name, nip_code, account_number, bvn)
        VALUES ('2348080000001', 'Ada Obi', '000014', '0123456789', '22211100080')" -d $up >/dev/null
t7_sql "INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
        VALUES ('UPG80ONE1', '2348080000002', 25000, 'Upgrade one-time', 'onetime'),
               ('UPG80ONE2', '2348080000002', 26000, 'Upgrade one-time', 'onetime')" -d $up >/dev/null
t7_sql "INSERT INTO mono.fund_requests (reference, phone, amount, description, type, period, \"interval\",
                                        start_date, end_date)
        VALUES ('UPG80REC1', '2348080000003', 50000, 'Upgrade monthly', 'recurring', 'month', 1,
                now() + interval '1 hour', now() + interval '1 year')" -d $up >/dev/null
# the worker sent UPG80ONE2 and UPG80REC1 (as 0.1.0's worker leaves them), Mono answered with webhooks
t7_sql "UPDATE mono.fund_requests SET status = 'awaiting_authorization', accepted_at = now(), attempts = 1
        WHERE reference IN ('UPG80ONE2', 'UPG80REC1')" -d $up >/dev/null
old_hook owo.fundrequest.created evt80c1 '{"id":"frq_up80one2","reference":"UPG80ONE2","phone":"2348080000002","type":"onetime","amount":26000,"currency":"NGN"}'
old_hook owo.fundrequest.approved evt80a1 '{"id":"frq_up80one2","reference":"UPG80ONE2","status":"approved"}'
old_hook owo.payment.successful evt80p1 '{"id":"pay_up80one2","reference":"tx80one2","fund_request":"frq_up80one2","status":"successful","amount":26000,"currency":"NGN","processed_at":"2026-12-01T10:01:00Z"}'
old_hook owo.fundrequest.created evt80c2 '{"id":"frq_up80rec1","reference":"UPG80REC1","phone":"2348080000003","type":"recurring","amount":50000,"currency":"NGN"}'
old_hook owo.fundrequest.approved evt80a2 '{"id":"frq_up80rec1","reference":"UPG80REC1","status":"approved"}'
old_hook owo.payment.successful evt80p2 '{"id":"pay_up80rec1","reference":"tx80rec1","fund_request":"frq_up80rec1","status":"successful","amount":50000,"currency":"NGN","processed_at":"2026-12-01T10:02:00Z"}'
old_hook owo.payment.successful evt80p3 '{"id":"pay_up80orphan","reference":"tx80orph","fund_request":"frq_nobody80","status":"successful","amount":700,"currency":"NGN","processed_at":"2026-12-01T10:03:00Z"}'
old_hook owo.fundrequest.unknown_kind evt80u1 '{"id":"frq_up80one2"}'
# an account mono_account_sync() stored, with a transaction
t7_sql "INSERT INTO mono.accounts (account_id, balance, currency, data_status, last_synced_at)
        VALUES ('acc80up', 900, 'NGN', 'AVAILABLE', now());
        INSERT INTO mono.transactions (account_id, id, amount, type, date)
        VALUES ('acc80up', 't80a', 400, 'debit', '2026-11-02T08:00:00Z')" -d $up >/dev/null
counts=$(t7_sql "SELECT (SELECT count(*) FROM mono.beneficiaries) || ' ' || (SELECT count(*) FROM mono.fund_requests) || ' ' ||
                        (SELECT count(*) FROM mono.payments) || ' ' || (SELECT count(*) FROM mono.schedule) || ' ' ||
                        (SELECT count(*) FROM mono.webhook_events) || ' ' || (SELECT count(*) FROM mono.accounts) || ' ' ||
                        (SELECT count(*) FROM mono.transactions)" -d $up)
diag "0.1.0 rows (links requests payments instalments webhooks accounts transactions): $counts"
ok "[ '$(echo "$counts" | awk '$1 == 1 && $2 == 3 && $3 == 3 && $4 >= 2 && $5 >= 8 && $6 == 1 { print "y" }')' = y ]" \
	"0.1.0 holds a link, 3 requests, 3 payments, a schedule, webhooks and an account"

# every row of every mono table, as jsonb, kept aside
t7_sql "CREATE TABLE public.before80 (tab text, row_data jsonb);
        DO \$\$ DECLARE t text; BEGIN
          FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'mono' LOOP
            EXECUTE format('INSERT INTO public.before80 SELECT %L, to_jsonb(x) FROM mono.%I x', t, t);
          END LOOP; END \$\$" -d $up >/dev/null

# personal data 0.1.0 kept whole (issue 22b): a real-time account_updated
# with Mono's 11-digit bvn, a logged read naming a phone (after the
# snapshot: the upgrade masks them, as it must)
t7_sql "INSERT INTO mono.webhook_events (event_id, event, body, outcome)
        VALUES ('sha256:up80bvn', 'mono.events.account_updated',
                '{\"event\":\"mono.events.account_updated\",\"data\":{\"account\":{\"_id\":\"acc80up\",\"bvn\":\"22000000080\"}}}', 'applied');
        INSERT INTO mono.http_log (method, path, http_status)
        VALUES ('GET', '/owo/v1/beneficiaries?phone=2348080000001&limit=100&offset=0', 200)" -d $up >/dev/null

# ---- the new library meets the old objects
sent0=$(sim total)
t7_sql "ALTER SYSTEM SET mono_pay.database_name = '$up'" >/dev/null
cluster_restart
warned=no
for _ in $(seq 1 150); do
	grep -q "extension \"mono_pay\" 0.1.0 is installed in database \"$up\", the library is 0.3.0" "$MONO_TMP/postgres.log" &&
		warned=yes && break
	sleep 0.2
done
is "$warned" yes "the worker waits for ALTER EXTENSION UPDATE: one warning tells the operator"
sleep 2
is "$(sim total)" "$sent0" "and sends nothing meanwhile"
refused=$(t7_sql "SELECT * FROM mono_worker_status()" -d $up 2>&1 || true)
said=no
grep -q 'ERROR:  mono_worker_status() cannot run: the SQL objects of mono_pay do not match its library' <<<"$refused" &&
	grep -q 'DETAIL:  The extension installed in this database is 0.1.0; the library is 0.3.0.' <<<"$refused" &&
	grep -q 'HINT:  Run ALTER EXTENSION mono_pay UPDATE.' <<<"$refused" && said=yes
is "$said" yes "the library's functions refuse the old objects (issue 24), naming both versions"

# ---- the upgrade
ok "t7_sql 'ALTER EXTENSION mono_pay UPDATE' -d $up" "ALTER EXTENSION mono_pay UPDATE succeeds"
is "$(t7_sql "SELECT extversion FROM pg_extension WHERE extname = 'mono_pay'" -d $up)" 0.3.0 "the database is at 0.3.0"
lost=$(t7_sql "DO \$\$ DECLARE t text; n bigint; k bigint; bad text := ''; BEGIN
          FOR t IN SELECT DISTINCT tab FROM public.before80 LOOP
            EXECUTE format('SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM mono.%I x WHERE to_jsonb(x) @> b.row_data))
                              FROM public.before80 b WHERE b.tab = %L', t, t) INTO n, k;
            IF n <> k THEN bad := bad || format('%s: %s of %s rows changed or lost; ', t, n - k, n); END IF;
          END LOOP;
          RAISE NOTICE 'lost:%', bad; END \$\$" -d $up 2>&1 | sed -n 's/.*lost://p')
is "$lost" "" "every row of every mono table is intact (each keeps all its old columns' values)"
is "$(t7_sql "SELECT (SELECT body #>> '{data,account,bvn}' FROM mono.webhook_events WHERE event_id = 'sha256:up80bvn')
               || ' ' || (SELECT string_agg(path, ' ') FROM mono.http_log WHERE path LIKE '%phone=%')" -d $up)" \
	"*******0080 /owo/v1/beneficiaries?phone=*********0001&limit=100&offset=0" \
	"the upgrade masks the BVN 0.1.0 kept in a webhook body, and the phone in an http_log path"

# ---- the same schema as a fresh install
signature() {
	t7_sql "
	SELECT 'rel ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(c.relacl::text, '')
	  FROM pg_class c WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind IN ('r', 'v', 'S', 'i')
	UNION ALL
	SELECT 'col ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
	  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
	 WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind IN ('r', 'v')
	UNION ALL
	SELECT 'con ' || CASE WHEN conrelid <> 0 THEN conrelid::regclass::text ELSE contypid::regtype::text END || ' ' || conname || ' '
	       || replace(pg_get_constraintdef(oid), ' NOT VALID', '')
	  FROM pg_constraint WHERE connamespace = 'mono'::regnamespace
	UNION ALL
	SELECT 'idx ' || pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
	 WHERE c.relnamespace = 'mono'::regnamespace
	UNION ALL
	SELECT 'trg ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	 WHERE c.relnamespace = 'mono'::regnamespace AND NOT t.tgisinternal
	UNION ALL
	SELECT 'view ' || c.relname || ' ' || md5(pg_get_viewdef(c.oid)) FROM pg_class c
	 WHERE c.relnamespace = 'mono'::regnamespace AND c.relkind = 'v'
	UNION ALL
	SELECT 'fn ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid)) || ' ' || coalesce(p.proacl::text, '')
	       || ' ' || coalesce(p.proconfig::text, '')
	  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
	  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mono_pay'
	 WHERE p.prokind IN ('f', 'p')
	UNION ALL
	SELECT 'member ' || pg_describe_object(d.classid, d.objid, 0)
	  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mono_pay' WHERE d.deptype = 'e'
	UNION ALL
	SELECT 'schema ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname = 'mono'
	ORDER BY 1" -d "$1"
}
signature $fresh >"$MONO_TMP/schema80.fresh"
signature $up >"$MONO_TMP/schema80.upgraded"
schema_diff=$(diff "$MONO_TMP/schema80.fresh" "$MONO_TMP/schema80.upgraded" || true)
[ -z "$schema_diff" ] || diag "fresh (<) vs upgraded (>):
$schema_diff"
lines=$(wc -l <"$MONO_TMP/schema80.fresh")
same=$([ -z "$schema_diff" ] && echo yes || echo no)
ok "[ $lines -gt 300 ] && [ $same = yes ]" "the upgraded schema is a fresh 0.3.0 install's ($lines catalog lines compared)"

# ---- the worker carries on
ok "PGDATABASE=$up wait_for \"SELECT count(*) = 1 FROM mono.fund_requests WHERE reference = 'UPG80ONE1' AND status = 'awaiting_authorization'\" 30" \
	"the worker sends the request queued under 0.1.0"
ok "PGDATABASE=$up wait_for \"SELECT count(*) = 1 FROM mono.beneficiaries WHERE phone = '2348080000001' AND status = 'awaiting_authorization'\" 30" \
	"and the link queued under 0.1.0"
hook owo.payment.successful evt80p4 '{"id":"pay_up80rec2","reference":"tx80rec2","fund_request":"frq_up80rec1","status":"successful","amount":50000,"currency":"NGN","processed_at":"2026-12-02T10:02:00Z"}'
is "$(t7_sql "SELECT count(*) FROM mono.payments WHERE fund_request_id = (SELECT id FROM mono.fund_requests WHERE reference = 'UPG80REC1')" -d $up)" 2 \
	"a webhook after the upgrade is applied to the request made under 0.1.0"

t7_sql "ALTER SYSTEM RESET mono_pay.database_name" >/dev/null
cluster_restart
t7_sql "DROP DATABASE $up WITH (FORCE)" -d postgres >/dev/null
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'mono_pay worker' AND datname = current_database()" 30 || true
t7_restore
done_testing

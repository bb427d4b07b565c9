#!/usr/bin/env bash
# test/e2e/85_ha_restore.sh: pg_dump and pg_restore, and the restored copy
# (issue 12). A dump taken with work in every state (links, sent and
# queued charges, a recurring plan with paid and failed instalments,
# payments, webhooks) is restored into a fresh cluster with the same
# database name: pg_restore exits 0 (plain, -1 and -j 2), every row of every
# mono table is back, sequences continue, and the copy's worker pauses
# (sends nothing, reads nothing) until a superuser's mono_resume(). Also:
# CREATE EXTENSION in the wrong database fails and names the setting.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=8_ha.bash
. "$here/8_ha.bash"

plan 16

t7_fresh
# --- the original: work in every state ----------------------------------
ha_cluster
create_test_db mono_test
# one phone per charge: Mono takes a phone's next prompt only once its
# earlier one is answered
for p in 2348082000001 2348082000003 2348082000101 2348082000102 2348082000103 2348082000104 2348082000105; do
	sim user $p active >/dev/null
done
t7_sql "SELECT mono_charge('2348082000001', 5000, 'Sent before the dump', 'HARSENT00001')" >/dev/null
# a weekly plan that started 8 days ago (backdated in the transaction that queues it)
t7_sql "DO \$\$ DECLARE v bigint; BEGIN
          SELECT id INTO v FROM mono_charge('2348082000003', 20000, 'Weekly plan', 'HARWEEK00001', 'week', 1, now());
          DELETE FROM mono.schedule WHERE fund_request_id = v;
          UPDATE mono.fund_requests SET start_date = now() - interval '8 days' WHERE id = v;
          PERFORM mono.plan_instalments(v, now() + interval '1 year');
        END \$\$" >/dev/null
t7_sql "SELECT mono_link_beneficiary('2348082000002', 'Ada Obi', '000013', '0123456789', '12345678901')" >/dev/null
wait_for "SELECT count(*) = 2 FROM mono.fund_requests WHERE status = 'awaiting_authorization'" 30 ||
	bail_out "the original did not send its charges"
sim post fund-requests/HARWEEK00001/approve >/dev/null
sim post fund-requests/HARWEEK00001/debit "{\"status\":\"successful\",\"processed_at\":\"$(date -u -d '-8 days +1 hour' +%FT%TZ)\"}" >/dev/null
sim post fund-requests/HARWEEK00001/debit "{\"status\":\"failed\",\"processed_at\":\"$(date -u -d '-1 days +1 hour' +%FT%TZ)\"}" >/dev/null
"$MONO_TEST_LIB/deliver-webhooks" --quiet >/dev/null
wait_for "SELECT count(*) = 2 FROM mono.payments" 30 || bail_out "the payments were not recorded"
# work queued at dump time: the worker is off
t7_set enabled off
wait_for "SELECT in_flight = 0 FROM mono_worker_status()" 30
t7_sql "SELECT count(mono_charge('23480820001' || lpad(i::text, 2, '0'), 100 + i, 'Queued at dump time', 'HARQUEUED' || lpad(i::text, 3, '0')))
          FROM generate_series(1, 5) i" >/dev/null
diag "original: $(t7_sql "SELECT string_agg(status || '=' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) n FROM mono.fund_requests GROUP BY 1) s")"
diag "schedule: $(t7_sql "SELECT string_agg(seq || ':' || status, ' ' ORDER BY seq) FROM mono.schedule")"
ok "[ \"\$(t7_sql \"SELECT count(DISTINCT status) FROM mono.schedule\")\" -ge 2 ]" \
	"the original's schedule has instalments in more than one status"

# --- a fresh cluster, same database name; its worker is running ---------
ha_move
before=$(ha_requests)
rc=0
ha_restore mono_test "$DUMP" || rc=$?
is "$rc" 0 "pg_restore exits 0"
ha_digest >"$MONO_TMP/restored.digest"
ok "diff \"$ORIG_TMP/original.digest\" \"$MONO_TMP/restored.digest\"" \
	"every row of every mono table is back (schedules with their statuses and payments), sequences too"
ok "wait_for \"SELECT state LIKE 'paused: a restored or cloned copy%' FROM mono_worker_status()\" 30" \
	"the restored copy's worker pauses, and its state says why"
diag "restored: $(t7_sql "SELECT state FROM mono_worker_status()")"
sleep 1.5
is "$(ha_requests)" "$before" "the paused copy sent and read nothing"
is "$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE status = 'queued'")" 5 \
	"the rows queued at dump time are still queued"
like "$(t7_sql "SELECT mono_resume()")" "resumed: " "a superuser's mono_resume() confirms the copy"
ok "wait_for \"SELECT count(*) = 5 FROM mono.fund_requests WHERE reference LIKE 'HARQUEUED%' AND status = 'awaiting_authorization'\" 30" \
	"then the worker sends the rows queued at dump time"
like "$(t7_sql "SELECT state FROM mono_worker_status()")" "running" "and its state says running"
is "$(t7_sql "SELECT (mono_charge('2348082000001', 999, 'After the restore')).id > max(id) FROM mono.fund_requests")" t \
	"the fund request sequence continues after the restored ids"
is "$(t7_sql "SELECT count(*) FROM mono.node_identity WHERE recorded_by = 'mono_resume'")" 1 \
	"mono_resume() recorded the copy's own identity"

# --- pg_restore -1 and -j 2, into other databases of the copy -----------
for mode in "-1" "-j 2"; do
	db=mono_restore_$(echo "$mode" | tr -dc 'a-z0-9')
	t7_sql "CREATE DATABASE $db" -d postgres >/dev/null
	rc=0
	# shellcheck disable=SC2086
	ha_restore "$db" "$DUMP" $mode || rc=$?
	ha_digest "$db" >"$MONO_TMP/$db.digest"
	ok "[ $rc -eq 0 ] && diff \"$ORIG_TMP/original.digest\" \"$MONO_TMP/$db.digest\"" \
		"pg_restore $mode exits 0 and brings every row back"
done
like "$(t7_sql "SELECT state FROM mono_worker_status()" -d mono_restore_1)" "not serving this database" \
	"mono_worker_status() in another database says that no worker serves it"

# --- CREATE EXTENSION in the wrong database -----------------------------
t7_sql "CREATE DATABASE mono_elsewhere" -d postgres >/dev/null
err=$(sql "CREATE EXTENSION mono_pay" -d mono_elsewhere 2>&1 || true)
like "$err" "mono_pay can only be created in database \"mono_test\" (mono_pay.database_name)" \
	"CREATE EXTENSION in another database fails and names mono_pay.database_name"
is "$(t7_sql "SELECT count(*) FROM pg_extension WHERE extname = 'mono_pay'" -d mono_elsewhere)" 0 \
	"and creates nothing"

done_testing

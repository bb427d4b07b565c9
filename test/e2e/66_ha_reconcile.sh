#!/usr/bin/env bash
# test/e2e/66_ha_reconcile.sh: after a promotion, reconcile at once
# (issue 23b). An asynchronous failover without mono_pay.standby_names
# loses charges the old primary sent: Mono holds them, the promoted standby
# does not. Its worker reads Mono's list of fund requests when it starts
# and mono.orphans lists every one of them (kind unknown_reference, with
# the Mono id, amount, phone and status), before any customer acts (no
# webhook is delivered, no payment made), each once.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=8_ha.bash
. "$here/8_ha.bash"

plan 7

t7_fresh

# Charges TAG + i for i in FIRST..LAST, committed locally: ha_charges TAG FIRST LAST
ha_charges() {
	t7_sql "SET synchronous_commit = local;
	        SELECT count(mono_charge('23480820000' || lpad((i % 50)::text, 2, '0'), 1000 + i,
	                                 '$1 charge ' || i, '$1' || lpad(i::text, 6, '0')))
	          FROM generate_series($2, $3) i" >/dev/null
}

# The references the simulator accepted (one a line, sorted): sim_refs TAG
sim_refs() {
	t7_ref_counts | awk -v t="$1" 'index($1, t) == 1 && $3 > 0 { print $1 }'
}

ha_cluster "mono_pay.standby_names = ''" && create_test_db mono_test || bail_out "no cluster"
standby_init s1 && standby_start s1 &&
	wait_for "SELECT count(*) = 1 FROM pg_stat_replication WHERE application_name = 's1' AND state = 'streaming'" 30 ||
	bail_out "standby s1 does not stream"
ha_charges HAR 1 10
wait_for "SELECT count(*) = 10 FROM mono.fund_requests WHERE reference LIKE 'HAR%' AND status = 'awaiting_authorization'" 30 ||
	bail_out "the first charges were not sent"
wait_for "SELECT bool_and(replay_lsn = pg_current_wal_lsn()) FROM pg_stat_replication" 30 || true
# the standby stalls (its WAL receiver stopped); the primary goes on sending
wr=$(standby_sql s1 "SELECT pid FROM pg_stat_wal_receiver")
[ -n "$wr" ] || bail_out "no WAL receiver on s1"
kill -STOP "$wr"
echo "$wr" >>"$MONO_TMP/stopped.pids"
ha_charges HAR 11 40
wait_for "SELECT count(*) = 40 FROM mono.fund_requests WHERE reference LIKE 'HAR%' AND status = 'awaiting_authorization'" 30 ||
	bail_out "the charges were not sent"
# customers act on some of the lost ones before the failover (Mono shows a
# fund request in its reads only once its customer acted: doc/mono-api.md);
# their webhooks stay undelivered. HAR000036-40 nobody touches.
for i in $(seq 11 30); do sim post "fund-requests/HAR0000$i/approve" >/dev/null; done
for i in $(seq 31 35); do sim post "fund-requests/HAR0000$i/expire" >/dev/null; done
sim post fund-requests/HAR000001/approve >/dev/null
# the primary's host is lost; the standby is promoted
cluster_stop immediate
kill -KILL "$wr" 2>/dev/null || true
for _ in $(seq 1 300); do
	standby_sql s1 "SELECT 1" >/dev/null 2>&1 && break
	sleep 0.1
done
standby_promote s1
export PGDATA=$(standby_dir s1) PGPORT=$(standby_port s1)
wait_for "SELECT NOT pg_is_in_recovery()" 30 || bail_out "s1 was not promoted"

a=$(t7_accept_summary 'HAR%')
diag "after the failover: $a"
ok "[ \"$(t7_field "$a" unknown_to_db)\" -ge 30 ]" "the failover lost charges Mono holds"
sim_refs HAR >"$MONO_TMP/lost.all"
t7_sql "SELECT reference FROM mono.fund_requests WHERE reference LIKE 'HAR%'" | sort >"$MONO_TMP/known"
comm -23 <(sort "$MONO_TMP/lost.all") "$MONO_TMP/known" | grep -v '^HAR00003[6-9]$\|^HAR000040$' >"$MONO_TMP/lost"
lost=$(wc -l <"$MONO_TMP/lost")
ok "wait_for \"SELECT count(*) = $lost FROM mono.orphans WHERE kind = 'unknown_reference' AND reference LIKE 'HAR%'\" 60" \
	"mono.orphans lists every lost charge Mono shows, with no webhook delivered and no payment made"
diag "$(grep -E 'mono_pay|ERROR|WARNING' "$MONO_TMP/standby_s1.postgres.log" | tail -n 8)"
diag "seal: $(tr '\n' ' ' <"$PGDATA/mono_pay.node" 2>&1)"
t7_sql "SELECT reference FROM mono.orphans WHERE kind = 'unknown_reference' AND reference LIKE 'HAR%'" | sort >"$MONO_TMP/listed"
ok "diff -u \"$MONO_TMP/lost\" \"$MONO_TMP/listed\"" "exactly the references the database lacks"
is "$(t7_sql "SELECT count(*) FROM mono.orphans o WHERE kind = 'unknown_reference' AND reference LIKE 'HAR%'
               AND mono_id LIKE 'frq_%' AND amount = 1000 + substr(reference, 4)::int
               AND detail IN ('approved', 'expired')")" "$lost" \
	"each with Mono's id, the amount and Mono's status"
is "$(t7_sql "SELECT count(*) FROM mono.payments") $(t7_sql "SELECT count(*) FROM mono.webhook_events")" "0 0" \
	"found by the reconciliation alone (no payment, no event)"
ok "grep -q 'reconciled with Mono after a promotion' \"$MONO_TMP/standby_s1.postgres.log\"" \
	"the log says so"
# each once: a restart of the promoted node does not read them again
standby_stop s1 && standby_start s1 || bail_out "s1 did not restart"
t7_wait_worker "" 30 >/dev/null
sleep 2
is "$(t7_sql "SELECT count(*) FROM mono.orphans WHERE kind = 'unknown_reference' AND reference LIKE 'HAR%'")" "$lost" \
	"listed once (a restart does not list them again)"
done_testing

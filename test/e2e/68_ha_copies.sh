#!/usr/bin/env bash
# test/e2e/68_ha_copies.sh: physical copies, a psql restore, binary-upgrade
# mode and a database owner's settings (issue 23). With rows queued and the
# simulator reachable, each of these starts as a primary with the worker
# enabled and sends nothing until mono_resume(): a pg_basebackup copy, a
# PITR restore (base backup + archived WAL, recovery_target_time), a copy of
# the stopped cluster's directory, a psql restore of a plain dump (watched
# from the first row on). Under binary-upgrade mode (postgres -b, as
# pg_upgrade starts its servers) no worker runs. These keep sending: the
# original after kill -9 and a restart, and a promoted named standby. A
# database owner who is not a superuser cannot pause the worker or time its
# sends out with ALTER DATABASE ... SET.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 21

t7_fresh
HA_DIRS=()
COPIES=()
RUN_ENV=("$MONO_TMP" "$PGDATA" "$PGPORT")

# Stop every cluster of this test, remove their directories, and go back to
# the run's cluster (for t7_cleanup).
ha_cleanup() {
	local d
	for d in "${COPIES[@]}" "${HA_DIRS[@]/%//data}" "${HA_DIRS[@]/%//standby_s1}"; do
		[ -f "$d/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1
	done
	for d in "${HA_DIRS[@]}"; do rm -rf "$d"; done
	export MONO_TMP=${RUN_ENV[0]} PGDATA=${RUN_ENV[1]} PGPORT=${RUN_ENV[2]}
	t7_cleanup
}
trap ha_cleanup EXIT

# Every request the simulator received so far.
ha_requests() {
	sim get requests | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["by_path"].values()))'
}

# A fresh cluster of our own (sets MONO_TMP, PGDATA, PGPORT): ha_cluster
ha_cluster() {
	MONO_TMP=$(mktemp -d /tmp/mono_ha.XXXXXX)
	chmod 755 "$MONO_TMP"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$MONO_TMP"
	HA_DIRS+=("$MONO_TMP")
	export MONO_TMP PGDATA=$MONO_TMP/data
	unset PGPORT
	cluster_init
	cluster_start
}

# Start the data directory DIR as a primary on a port of its own, with the
# worker enabled, and print the port: copy_start DIR
copy_start() {
	local dir=$1 port
	port=$(free_port)
	COPIES+=("$dir")
	rm -f "$dir/postmaster.pid" "$dir/standby.signal"
	printf "port = %s\nmono_pay.enabled = on\nmono_pay.standby_names = ''\narchive_mode = off\n" "$port" | as_pg tee -a "$dir/postgresql.auto.conf" >/dev/null
	as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir.log" -w -t 120 start >>"$MONO_TMP/pg_ctl.log" 2>&1 ||
		{ tail -n 20 "$dir.log" >&2; bail_out "the copy $dir did not start"; }
	echo "$port"
}

# Watch the copy on PORT for 3 s: the simulator's count must not move and
# the state must say paused; then check its queued rows: copy_check PORT WHAT
copy_check() {
	local port=$1 what=$2 before state
	before=$3
	PGPORT=$port wait_for "SELECT state LIKE 'paused:%' FROM mono_worker_status()" 30 >/dev/null 2>&1 || true
	sleep 3
	state=$(sql "SELECT state FROM mono_worker_status()" -p "$port")
	diag "$what: $state"
	is "$(ha_requests)" "$before" "$what started as a primary with the worker enabled: the simulator saw no request"
	ok "[ \"\$(sql \"SELECT state LIKE 'paused:%' AND (SELECT count(*) FROM mono.fund_requests WHERE status = 'queued') = 3 FROM mono_worker_status()\" -p $port)\" = t ]" \
		"$what: the worker says paused, and the 3 queued rows are still queued"
}

# --- the original, with a named streaming standby and a WAL archive -----
ARCH=/tmp/mono_arch.$$
MONO_PG_CONF="archive_mode = on
archive_command = 'cp %p $ARCH/%f'
mono_pay.standby_names = 's1'"
mkdir -p "$ARCH" && chmod 777 "$ARCH"
ha_cluster
HA_DIRS+=("$ARCH")
ORIG=$PGDATA
create_test_db mono_test
standby_init s1 && standby_start s1
wait_for "SELECT count(*) = 1 FROM pg_stat_replication WHERE application_name = 's1'" 30
# one phone per charge: Mono takes a phone's next prompt only once its
# earlier one is answered, and these customers never answer
for p in 2348083000001 2348083000002 2348083000003 2348083000004 2348083000101 2348083000102 2348083000103; do
	sim user $p active >/dev/null
done
t7_sql "SELECT mono_charge('2348083000001', 5000, 'Before the copies', 'HACOPY00001')" >/dev/null
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'HACOPY00001'\" 30" \
	"the original sends (its standby s1 streams)"
grep -q "mono_pay worker: sending to $MONO_SIM_URL" "$MONO_TMP/postgres.log"
is "$?" 0 "the log says where the worker sends once it may"
as_pg "$PG_BIN/pg_basebackup" -h "$MONO_TMP" -p "$PGPORT" -U postgres -D "$MONO_TMP/pitr_base" -X stream --no-sync -c fast ||
	bail_out "the base backup for PITR failed"
t7_sql "ALTER SYSTEM SET mono_pay.enabled = off" >/dev/null
reload_conf
t7_sql "SELECT count(mono_charge('23480830001' || lpad(i::text, 2, '0'), 100 + i, 'Queued when copied', 'HACOPYQ' || lpad(i::text, 4, '0')))
          FROM generate_series(1, 3) i" >/dev/null
sleep 1.1
target=$(t7_sql "SELECT clock_timestamp()")
sleep 1.1
t7_sql "CREATE TABLE pitr_mark ()" >/dev/null # a commit after the target
walfile=$(t7_sql "SELECT pg_walfile_name(pg_switch_wal())")
wait_for "SELECT last_archived_wal >= '$walfile' FROM pg_stat_archiver" 30 ||
	diag "the archive is behind: $(t7_sql "SELECT last_archived_wal FROM pg_stat_archiver") < $walfile"
wait_for "SELECT replay_lsn >= pg_current_wal_lsn() FROM pg_stat_replication WHERE application_name = 's1'" 30

# --- a pg_basebackup copy started as a primary --------------------------
before=$(ha_requests)
as_pg "$PG_BIN/pg_basebackup" -h "$MONO_TMP" -p "$PGPORT" -U postgres -D "$MONO_TMP/copy_bb" -X stream --no-sync -c fast ||
	bail_out "pg_basebackup failed"
port=$(copy_start "$MONO_TMP/copy_bb")
copy_check "$port" "a pg_basebackup copy" "$before"
like "$(sql "SELECT mono_resume()" -p "$port")" "resumed: " "mono_resume() on the copy"
ok "PGPORT=$port wait_for \"SELECT count(*) = 3 FROM mono.fund_requests WHERE status = 'awaiting_authorization' AND reference LIKE 'HACOPYQ%'\" 30" \
	"then the copy sends its queued rows"
diag "copy after mono_resume(): $(sql "SELECT state || ' / ' || coalesce(last_error, '') FROM mono_worker_status()" -p "$port") $(sql "SELECT string_agg(status::text, ',') FROM mono.fund_requests" -p "$port")"
as_pg "$PG_BIN/pg_ctl" -D "$MONO_TMP/copy_bb" -m fast -w stop >/dev/null

# --- a PITR restore ------------------------------------------------------
before=$(ha_requests)
as_pg cp -a "$MONO_TMP/pitr_base" "$MONO_TMP/copy_pitr"
printf "restore_command = 'cp %s/%%f %%p'\nrecovery_target_time = '%s'\nrecovery_target_action = 'promote'\n" "$ARCH" "$target" |
	as_pg tee -a "$MONO_TMP/copy_pitr/postgresql.auto.conf" >/dev/null
as_pg touch "$MONO_TMP/copy_pitr/recovery.signal"
port=$(copy_start "$MONO_TMP/copy_pitr")
copy_check "$port" "a PITR restore" "$before"
as_pg "$PG_BIN/pg_ctl" -D "$MONO_TMP/copy_pitr" -m fast -w stop >/dev/null

# --- a copy of the stopped cluster's directory ---------------------------
before=$(ha_requests)
cluster_stop fast
as_pg cp -a "$ORIG" "$MONO_TMP/copy_dir"
cluster_start
port=$(copy_start "$MONO_TMP/copy_dir")
copy_check "$port" "a copy of the stopped cluster's directory" "$before"
as_pg "$PG_BIN/pg_ctl" -D "$MONO_TMP/copy_dir" -m fast -w stop >/dev/null

# --- binary-upgrade mode (how pg_upgrade starts its servers) -------------
before=$(ha_requests)
t7_sql "ALTER SYSTEM SET mono_pay.enabled = on" >/dev/null
t7_sql "ALTER SYSTEM SET mono_pay.standby_names = ''" >/dev/null
cluster_stop fast
as_pg "$PG_BIN/pg_ctl" -D "$ORIG" -l "$MONO_TMP/binary_upgrade.log" -o "-b" -w -t 60 start >>"$MONO_TMP/pg_ctl.log" 2>&1 ||
	bail_out "postgres -b did not start"
sleep 3
is "$(t7_sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'mono_pay%'")" 0 \
	"binary-upgrade mode (postgres -b): no mono_pay process runs"
is "$(ha_requests)" "$before" "and the simulator saw no request, with 3 rows queued and the worker enabled"
cluster_stop fast
cluster_start

# --- the original keeps sending: after kill -9 and a restart -------------
ok "wait_for \"SELECT count(*) = 3 FROM mono.fund_requests WHERE status = 'awaiting_authorization' AND reference LIKE 'HACOPYQ%'\" 30" \
	"the original, restarted, sends its queued rows"
diag "original: $(t7_sql "SELECT state || ' / ' || coalesce(last_error, '') FROM mono_worker_status()") $(t7_sql "SELECT string_agg(status::text, ',') FROM mono.fund_requests")"
pm=$(head -n 1 "$ORIG/postmaster.pid")
kill -9 "$pm"
for _ in $(seq 1 100); do
	as_pg "$PG_BIN/pg_ctl" -D "$ORIG" -l "$MONO_TMP/postgres.log" -w -t 60 start >>"$MONO_TMP/pg_ctl.log" 2>&1 && break
	sleep 0.3
done
t7_sql "SELECT mono_charge('2348083000002', 7000, 'After kill -9', 'HACOPYK0001')" >/dev/null
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'HACOPYK0001'\" 30" \
	"the original after kill -9 of the postmaster and a restart keeps sending"

# --- a database owner who is not a superuser -----------------------------
t7_sql "CREATE ROLE mono_owner LOGIN; ALTER DATABASE mono_test OWNER TO mono_owner" >/dev/null
for setting in "mono_pay.request_timeout = '1ms'" "statement_timeout = '1ms'" "default_transaction_read_only = on"; do
	PGOPTIONS="-c statement_timeout=0 -c default_transaction_read_only=off" \
		sql "ALTER DATABASE mono_test SET $setting" -U mono_owner >/dev/null
done
OLD_PGOPTIONS=${PGOPTIONS:-}
export PGOPTIONS="$OLD_PGOPTIONS -c default_transaction_read_only=off -c statement_timeout=0"
is "$(t7_sql "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'mono_test' AND array_length(s.setconfig, 1) = 3")" 1 \
	"the database owner (not a superuser) set read-only and 1 ms timeouts on the worker's database"
worker=$(t7_worker_pid)
t7_sql "SELECT pg_terminate_backend($worker)" >/dev/null
t7_wait_worker "$worker" 30 >/dev/null
t7_sql "SELECT mono_charge('2348083000003', 7100, 'Owner settings', 'HACOPYO0001')" >/dev/null
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'HACOPYO0001'\" 30" \
	"a database owner's ALTER DATABASE SET (read-only, 1 ms timeouts) changes nothing the restarted worker does"
like "$(grep 'ignores default_transaction_read_only set per database' "$MONO_TMP/postgres.log" | tail -n 1)" "keeps \"off\"" \
	"the log says which database settings the worker ignored"
t7_sql "ALTER DATABASE mono_test RESET ALL" >/dev/null
export PGOPTIONS=$OLD_PGOPTIONS
# s1 must have the RESET before the crash below, or the promoted node keeps
# the owner's read-only and 1 ms settings for this script's own sessions
lsn=$(t7_sql "SELECT pg_current_wal_lsn()")
PGPORT=$(standby_port s1) wait_for "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn" 30 ||
	diag "s1 did not replay the RESET in 30 s"

# --- a promoted named standby keeps sending ------------------------------
# (this script's own sessions override what the owner set above, should
# the promoted node still carry it: the worker ignores it, tests 16-17)
export PGOPTIONS="$OLD_PGOPTIONS -c default_transaction_read_only=off -c statement_timeout=0"
cluster_stop immediate
standby_promote s1
S1PORT=$(standby_port s1)
ok "PGPORT=$S1PORT wait_for \"SELECT state = 'running' OR state LIKE 'waiting for a standby%' FROM mono_worker_status()\" 30" \
	"the promoted named standby does not pause"
diag "promoted s1: $(sql "SELECT state FROM mono_worker_status()" -p "$S1PORT")"
sql "SELECT mono_charge('2348083000004', 7200, 'After the failover', 'HACOPYF0001')" -p "$S1PORT" >/dev/null
ok "PGPORT=$S1PORT wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'HACOPYF0001'\" 30" \
	"the promoted named standby sends (its mono_pay.standby_names names only itself: no wait)"

# --- a psql restore of a plain dump: nothing at any moment --------------
sql "UPDATE mono.fund_requests SET status = 'queued', next_attempt_at = now() WHERE reference LIKE 'HACOPY%'" -p "$S1PORT" >/dev/null
# a large mono.http_log: its COPY comes after mono.fund_requests' and before
# mono.node_identity's in the dump, and takes seconds (the window of 0.2.0)
sql "INSERT INTO mono.http_log (method, path, http_status, duration_ms)
     SELECT 'GET', '/v2/accounts/acc_' || i, 200, 1.5 FROM generate_series(1, 300000) i" -p "$S1PORT" >/dev/null
as_pg "$PG_BIN/pg_dump" -h "$MONO_TMP" -p "$S1PORT" -U postgres -Fp -f "$MONO_TMP/plain.sql" mono_test
standby_stop s1 fast
cp "$MONO_TMP/plain.sql" /tmp/mono_plain.$$.sql && chmod 644 /tmp/mono_plain.$$.sql
MONO_PG_CONF=
ha_cluster
# the extension is there already (the dump says CREATE EXTENSION IF NOT
# EXISTS), and its worker runs
create_test_db mono_test
wait_for "SELECT state = 'running' FROM mono_worker_status()" 30
before=$(ha_requests)
"$PG_BIN/psql" -X -q -d mono_test -f /tmp/mono_plain.$$.sql >/dev/null 2>"$MONO_TMP/plain_restore.err"
rm -f /tmp/mono_plain.$$.sql
sleep 3
is "$(ha_requests)" "$before" "a psql restore of a plain dump with rows queued: the simulator saw no request"
like "$(t7_sql "SELECT state FROM mono_worker_status()")" "paused: " "and the restored database's worker says paused"

done_testing

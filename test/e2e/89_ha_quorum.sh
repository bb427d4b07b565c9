#!/usr/bin/env bash
# test/e2e/89_ha_quorum.sh: a 3-node cluster with a quorum
# mono_pay.standby_names (issue 23). With 'ANY 2 (s1, s2)': the forms of
# synchronous_standby_names are accepted and bad ones refused; charges are
# sent while both standbys stream; with one down nothing is sent, the state
# and a WARNING say why, and sending resumes when it is back; an empty
# setting while standbys stream is warned about; after a crash
# of the primary during a burst, every reference Mono received is on both
# standbys (promoting either orphans nothing); a partitioned old primary
# whose other standby still follows it sends nothing.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 14

t7_fresh
HA_DIRS=()
RUN_ENV=("$MONO_TMP" "$PGDATA" "$PGPORT")

# Stop every cluster of this test and go back to the run's (for t7_cleanup).
ha_cleanup() {
	local d
	for d in "${HA_DIRS[@]/%//data}" "${HA_DIRS[@]/%//standby_s1}" "${HA_DIRS[@]/%//standby_s2}"; do
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

# The references of every fund request Mono accepted, one per line.
mono_refs() {
	sim get requests | python3 -c 'import json,sys
d = json.load(sys.stdin).get("by_reference", {})
print("\n".join(sorted(r for r in d if r.startswith("HAQ"))))'
}

# How many of the references on stdin the node on PORT does not know: orphans PORT
orphans() {
	local n=0 ref
	while read -r ref; do
		[ -n "$ref" ] || continue
		[ "$(sql "SELECT count(*) FROM mono.fund_requests WHERE reference = '$ref'" -p "$1")" = 1 ] || n=$((n + 1))
	done
	echo "$n"
}

MONO_TMP=$(mktemp -d /tmp/mono_ha.XXXXXX)
chmod 755 "$MONO_TMP"
[ "$(id -u)" -eq 0 ] && chown postgres: "$MONO_TMP"
HA_DIRS+=("$MONO_TMP")
export MONO_TMP PGDATA=$MONO_TMP/data
unset PGPORT
MONO_PG_CONF="mono_pay.standby_names = 'ANY 2 (s1, s2)'" cluster_init
cluster_start
create_test_db mono_test
for s in s1 s2; do standby_init "$s" && standby_start "$s"; done
wait_for "SELECT count(*) = 2 FROM pg_stat_replication" 30
sim user 2348084000001 active >/dev/null
sim user 2348084000002 active >/dev/null

# --- the forms --------------------------------------------------------------
err=$(sql "ALTER SYSTEM SET mono_pay.standby_names = 'ANY 3 (s1, s2)'" 2>&1 || true)
like "$err" "count of a quorum must be between 1 and the number of names" "ANY 3 of two names is refused, with the reason"
err=$(sql "ALTER SYSTEM SET mono_pay.standby_names = 'FIRST 1 (s1, s2'" 2>&1 || true)
like "$err" "must end with" "an unclosed list is refused"
rc=0
sql "ALTER SYSTEM SET mono_pay.standby_names = 'FIRST 1 (s1, \"s2\")'" >/dev/null || rc=$?
sql "ALTER SYSTEM RESET mono_pay.standby_names" >/dev/null
is "$rc" 0 "FIRST 1 (s1, \"s2\") is accepted"

# --- empty while standbys stream: the state and the log say so ---------------
t7_set standby_names ''
ok "wait_for \"SELECT state LIKE 'running (warning: 2 standbys stream from this node and mono_pay.standby_names is empty%' FROM mono_worker_status()\" 30" \
	"mono_pay.standby_names empty with 2 streaming standbys: the state warns"
like "$(grep 'standbys stream from this node and mono_pay.standby_names is empty' "$MONO_TMP/postgres.log" | tail -n 1)" "WARNING:" \
	"and so does a WARNING in the log"
t7_sql "ALTER SYSTEM RESET mono_pay.standby_names" >/dev/null
reload_conf

# --- both stream: sent; one down: nothing, and the log says so --------------
t7_sql "SELECT mono_charge('2348084000001', 1000, 'Both stream', 'HAQ0000001')" >/dev/null
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'HAQ0000001'\" 30" \
	"ANY 2 (s1, s2): a charge is sent while both standbys stream"
standby_stop s2 fast
wait_for "SELECT count(*) = 1 FROM pg_stat_replication" 30
before=$(ha_requests)
# (its own phone: HAQ0000001 awaits the customer, and Mono takes a phone's
# next prompt only once its earlier one is answered; the same below)
t7_sql "SELECT mono_charge('2348084000002', 1001, 'One down', 'HAQ0000002')" >/dev/null
ok "wait_for \"SELECT state LIKE 'waiting for a standby: 1 of mono_pay.standby_names (ANY 2 (s1, s2)) connected, 2 needed%' FROM mono_worker_status()\" 30" \
	"with s2 down the state says 1 of 2 needed standbys is connected"
sleep 1
is "$(ha_requests)" "$before" "and nothing is sent"
like "$(grep 'claimed requests are waiting for a standby' "$MONO_TMP/postgres.log" | tail -n 1)" "WARNING:  mono_pay worker: 1 claimed requests are waiting for a standby: 1 of" \
	"a WARNING in the log says that claims wait for a standby"
standby_start s2
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'HAQ0000002'\" 30" \
	"once s2 streams again the charge is sent"

# --- a crash during a burst: both standbys hold every reference Mono has -----
t7_sql "SELECT count(mono_charge('234808410' || lpad(i::text, 4, '0'), 2000 + i, 'Burst', 'HAQ1' || lpad(i::text, 6, '0')))
          FROM generate_series(1, 200) i" >/dev/null
sleep 0.5
cluster_stop immediate
mono_refs >"$MONO_TMP/refs"
diag "Mono received $(wc -l <"$MONO_TMP/refs") references before the crash"
is "$(orphans "$(standby_port s1)" <"$MONO_TMP/refs")" 0 "s1 holds every reference Mono received: promoting s1 orphans nothing"
is "$(orphans "$(standby_port s2)" <"$MONO_TMP/refs")" 0 "s2 holds every reference Mono received: promoting s2 orphans nothing"

# --- a partition: s1 promoted apart, the old primary keeps s2 ---------------
cluster_start
wait_for "SELECT count(*) = 2 FROM pg_stat_replication" 30
# cut s1 off (it no longer follows the old primary) and promote it
echo "primary_conninfo = ''" | as_pg tee -a "$(standby_dir s1)/postgresql.auto.conf" >/dev/null
standby_stop s1 fast && standby_start s1 && standby_promote s1
wait_for "SELECT count(*) = 1 AND bool_and(application_name = 's2') FROM pg_stat_replication" 30
before=$(ha_requests)
t7_sql "SELECT count(mono_charge('234808420' || lpad(i::text, 4, '0'), 3000 + i, 'Zombie', 'HAQ2' || lpad(i::text, 6, '0')))
          FROM generate_series(1, 20) i" >/dev/null
sleep 2
is "$(ha_requests)" "$before" "the partitioned old primary, whose other standby s2 still follows it, sends nothing"
is "$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE reference LIKE 'HAQ2%' AND status IN ('queued', 'sending')")" 20 \
	"its 20 new charges stay claimed or queued"

done_testing

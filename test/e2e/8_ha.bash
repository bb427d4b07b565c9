# test/e2e/8_ha.bash: throwaway clusters for the high-availability and
# restore tests (84, 85, 88). Sourced after 7_lib.bash, never run: prove
# only runs test/e2e/*.sh.
#
#	ha_cluster ["conf line" ...]	# a fresh cluster of the test's own,
#				# started (sets MONO_TMP, PGDATA, PGPORT); it, its
#				# standbys and SIGSTOPped pids are cleaned up at exit
#	ha_digest [DB]		# one line per mono table: rows and a digest
#	ha_move			# dump mono_test, stop, a fresh cluster with an
#				# empty mono_test (DUMP, ORIG_TMP: the original's)
#	ha_restore DB FILE [OPTION ...]	# pg_restore into DB (exit status)
#	ha_requests		# every request the simulator received so far

HA_DIRS=()
RUN_ENV=("$MONO_TMP" "$PGDATA" "$PGPORT")
HA_TABLES="beneficiaries fund_requests payments schedule webhook_events accounts transactions account_flows http_log"

# Stop every cluster of this test, remove their directories, and go back to
# the run's cluster (for t7_cleanup).
ha_cleanup() {
	local d s
	for d in "${HA_DIRS[@]}"; do
		MONO_TMP=$d
		for s in "$d"/data "$d"/standby_*; do
			[ -f "$s/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$s" -m immediate -w -t 30 stop >/dev/null 2>&1
		done
		# shellcheck disable=SC2046
		kill -CONT $(cat "$d"/stopped.pids 2>/dev/null) 2>/dev/null || true
		rm -rf "$d"
	done
	export MONO_TMP=${RUN_ENV[0]} PGDATA=${RUN_ENV[1]} PGPORT=${RUN_ENV[2]}
	t7_cleanup
}
trap ha_cleanup EXIT

# A fresh cluster of our own with extra postgresql.conf lines, started
# (sets MONO_TMP, PGDATA, PGPORT): ha_cluster ["line" ...]
ha_cluster() {
	MONO_TMP=$(mktemp -d /tmp/mono_ha.XXXXXX)
	chmod 755 "$MONO_TMP"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$MONO_TMP"
	HA_DIRS+=("$MONO_TMP")
	export MONO_TMP PGDATA=$MONO_TMP/data
	unset PGPORT
	MONO_PG_CONF=$(printf '%s\n' "$@") cluster_init
	cluster_start
}

# One line per mono table: name, row count, and a digest of its rows; then
# the sequences' last values.
ha_digest() {
	local t db=${1:-mono_test}
	for t in $HA_TABLES; do
		t7_sql "SELECT '$t', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))
		          FROM mono.$t x" -d "$db"
	done
	t7_sql "SELECT 'sequences', string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename)
	          FROM pg_sequences WHERE schemaname = 'mono'" -d "$db"
}

# Digest and dump (pg_dump -Fc) database mono_test of the current cluster,
# stop it, and start a fresh cluster with an empty mono_test: ha_move
# (sets DUMP, ORIG_TMP, and the new cluster's MONO_TMP, PGDATA, PGPORT; the
# digest is $ORIG_TMP/original.digest)
ha_move() {
	ha_digest >"$MONO_TMP/original.digest"
	DUMP=$MONO_TMP/mono_test.dump
	as_pg "$PG_BIN/pg_dump" -h "$MONO_TMP" -p "$PGPORT" -U postgres -Fc -f "$DUMP" mono_test || return 1
	chmod 644 "$DUMP"
	ORIG_TMP=$MONO_TMP
	cluster_stop fast
	ha_cluster
	t7_sql "CREATE DATABASE mono_test" -d postgres >/dev/null
}

# pg_restore into database DB of the current cluster; its output goes to
# $MONO_TMP/restore_DB.log, its first errors to the TAP comments; returns
# pg_restore's exit status: ha_restore DB FILE [OPTION ...]
ha_restore() {
	local db=$1 dump=$2 rc=0
	shift 2
	as_pg "$PG_BIN/pg_restore" -h "$MONO_TMP" -p "$PGPORT" -U postgres "$@" -d "$db" "$dump" \
		>"$MONO_TMP/restore_$db.log" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || diag "$(grep -m 5 'error' "$MONO_TMP/restore_$db.log")"
	return "$rc"
}

# Every request the simulator received so far.
ha_requests() {
	sim get requests | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["by_path"].values()))'
}

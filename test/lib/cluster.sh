# test/lib/cluster.sh: a throwaway PostgreSQL 15 cluster with mono_pay
# preloaded, the Mono simulator, and small helpers to talk to both.
#
# Source it from bash (test/run, test/demo, test/e2e/*.sh):
#
#	. test/lib/cluster.sh
#	mono_fresh_env		# (run/demo only) ignore PG*/MONO_* of the caller
#	mono_tmp_init		# temp dir for the cluster, logs and port files
#	sim_start		# simulator on a free port; exports MONO_SIM_URL
#	cluster_init		# initdb + postgresql.conf (needs MONO_SIM_URL)
#	cluster_start		# exports PGHOST PGPORT PGUSER PGDATABASE
#	create_test_db mono_test --pgtap   # database + mono_pay (+ pgTAP, helpers)
#	sql "SELECT 1"		# unaligned, tuples only, stops on error
#	sql "SELECT 1" -d postgres	# extra psql options after the SQL
#	wait_for "SELECT count(*) = 1 FROM mono.fund_requests" 10
#	sim user 2348012345678 active	# test/lib/sim: reset, fault, count, ...
#	cluster_conf "mono_pay.max_attempts = 3"   # append + reload
#	cluster_restart immediate	# smart | fast (default) | immediate (a crash)
#	sim_stop; sim_start	# a restarted simulator keeps its port
#	standby_init s1		# pg_basebackup -R of the cluster, own port, application_name s1
#	standby_start s1; standby_sql s1 "SELECT 1"; standby_promote s1; standby_stop s1 [mode]
#	mono_cleanup [keep]	# stop both; remove the temp dir unless keep
#
# E2E scripts also source test/lib/tap.sh (plan, ok, is, like, done_testing).
#
# State lives in exported variables (MONO_TMP, PGDATA, PGHOST, PGPORT,
# MONO_SIM_URL, ...) and in files of $MONO_TMP, so scripts started by
# test/run (the e2e tests) can source this file again and restart the
# cluster or the simulator of the run they belong to.
#
# Messages go to stderr, so TAP scripts keep a clean stdout.
#
# Settings (environment, with defaults):
#	MONO_DB			database the worker connects to (mono_test)
#	MONO_SECRET_KEY		API key the simulator expects (sk_test_mono_pay)
#	MONO_WEBHOOK_SECRET	webhook secret (whsec_test_mono_pay)
#	MONO_CONNECT_SECRET_KEY	the connect app's key (sk_test_mono_pay_connect)
#	MONO_CONNECT_WEBHOOK_SECRET	the connect app's webhook secret
#				(whsec_test_mono_pay_connect)
#	MONO_PG_CONF		extra postgresql.conf lines for cluster_init
#	MONO_SIM_ARGS		extra simulator arguments for sim_start

MONO_ROOT=${MONO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MONO_TEST_LIB=${MONO_TEST_LIB:-$MONO_ROOT/test/lib}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_CONFIG=${PG_CONFIG:-$PG_BIN/pg_config}
MONO_DB=${MONO_DB:-mono_test}
MONO_SECRET_KEY=${MONO_SECRET_KEY:-sk_test_mono_pay}
MONO_WEBHOOK_SECRET=${MONO_WEBHOOK_SECRET:-whsec_test_mono_pay}
MONO_CONNECT_SECRET_KEY=${MONO_CONNECT_SECRET_KEY:-sk_test_mono_pay_connect}
MONO_CONNECT_WEBHOOK_SECRET=${MONO_CONNECT_WEBHOOK_SECRET:-whsec_test_mono_pay_connect}
export MONO_ROOT MONO_TEST_LIB PG_BIN PG_CONFIG MONO_DB MONO_SECRET_KEY MONO_WEBHOOK_SECRET
export MONO_CONNECT_SECRET_KEY MONO_CONNECT_WEBHOOK_SECRET

# Print a message on stderr (a TAP comment, harmless anywhere).
mono_say() {
	echo "# $*" >&2
}

# Print an error on stderr and return 1.
mono_fail() {
	echo "# ERROR: $*" >&2
	return 1
}

# Forget any cluster or simulator named by the caller's environment (a
# developer's PGPORT, an outer run's MONO_TMP): test/run and test/demo start
# from here, e2e scripts do not (they reuse their run's).
mono_fresh_env() {
	unset MONO_TMP MONO_SIM_PORT MONO_SIM_URL PGDATA \
		PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE \
		PGSERVICE PGSERVICEFILE PGOPTIONS PGSSLMODE PGTARGETSESSIONATTRS
}

# Create the run's temp dir (once), owned by the OS user running postgres.
mono_tmp_init() {
	if [ -n "${MONO_TMP:-}" ] && [ -d "$MONO_TMP" ]; then
		return 0
	fi
	# /tmp, not $TMPDIR: the postgres user must reach it, and the unix
	# socket path must stay short
	MONO_TMP=$(mktemp -d /tmp/mono_pay.XXXXXX)
	chmod 755 "$MONO_TMP"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$MONO_TMP"
	fi
	export MONO_TMP
	export PGDATA=$MONO_TMP/data
}

# Run a command as the OS user that owns the cluster (postgres when root).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$MONO_TMP" && runuser -u postgres -- "$@")
	else
		(cd "$MONO_TMP" && "$@")
	fi
}

# A free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ----------------------------------------------------------------------
# The Mono simulator
# ----------------------------------------------------------------------

# Start test/mono_sim.py; reuses MONO_SIM_PORT when set (a restart keeps
# the URL that postgresql.conf names). Exports MONO_SIM_URL.
sim_start() {
	local port_file=$MONO_TMP/sim.port _ pid
	[ -n "${MONO_TMP:-}" ] || mono_fail "sim_start: call mono_tmp_init first" || return 1
	[ -f "$MONO_ROOT/test/mono_sim.py" ] || mono_fail "sim_start: test/mono_sim.py is missing" || return 1
	rm -f "$port_file"
	# shellcheck disable=SC2086
	python3 "$MONO_ROOT/test/mono_sim.py" --port "${MONO_SIM_PORT:-0}" \
		--port-file "$port_file" --secret-key "$MONO_SECRET_KEY" \
		--webhook-secret "$MONO_WEBHOOK_SECRET" \
		--connect-secret-key "$MONO_CONNECT_SECRET_KEY" \
		--connect-webhook-secret "$MONO_CONNECT_WEBHOOK_SECRET" ${MONO_SIM_ARGS:-} \
		>>"$MONO_TMP/sim.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$MONO_TMP/sim.pid"
	for _ in $(seq 1 300); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$MONO_TMP/sim.log" >&2 || true
			mono_fail "the simulator exited at start (log: $MONO_TMP/sim.log)"
			return 1
		fi
		if [ -s "$port_file" ]; then
			MONO_SIM_PORT=$(cat "$port_file")
			MONO_SIM_URL=http://127.0.0.1:$MONO_SIM_PORT
			if curl -sf --max-time 2 "$MONO_SIM_URL/_sim/health" >/dev/null 2>&1; then
				export MONO_SIM_PORT MONO_SIM_URL
				return 0
			fi
		fi
		sleep 0.05
	done
	mono_fail "the simulator did not answer /_sim/health within 15 s (log: $MONO_TMP/sim.log)"
}

# Is this pid our simulator (and not a recycled pid)?
sim_pid_is_ours() {
	grep -q mono_sim.py "/proc/$1/cmdline" 2>/dev/null
}

# Stop the simulator started by sim_start (in this or a parent script).
sim_stop() {
	local pid _
	[ -n "${MONO_TMP:-}" ] && [ -f "$MONO_TMP/sim.pid" ] || return 0
	pid=$(cat "$MONO_TMP/sim.pid")
	rm -f "$MONO_TMP/sim.pid"
	sim_pid_is_ours "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		sim_pid_is_ours "$pid" || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# Call a simulator endpoint: sim METHOD PATH [JSON]; prints the answer.
# (The same as the test/lib/sim command that psql scripts use.)
sim() {
	"$MONO_TEST_LIB/sim" "$@"
}

# ----------------------------------------------------------------------
# The PostgreSQL cluster
# ----------------------------------------------------------------------

# initdb a fresh cluster in $PGDATA with mono_pay preloaded.
cluster_init() {
	[ -n "${MONO_SIM_URL:-}" ] || mono_fail "cluster_init: start the simulator first (MONO_SIM_URL)" || return 1
	PGPORT=$(free_port)
	export PGPORT
	as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust \
		--no-locale -E UTF8 --no-sync >"$MONO_TMP/initdb.log" 2>&1 ||
		{ cat "$MONO_TMP/initdb.log" >&2; mono_fail "initdb failed"; return 1; }
	as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null <<EOF

# ---- mono_pay test cluster (test/lib/cluster.sh) ----
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$MONO_TMP'
shared_preload_libraries = 'mono_pay'
mono_pay.api_url = '$MONO_SIM_URL'
mono_pay.secret_key = '$MONO_SECRET_KEY'
mono_pay.webhook_secret = '$MONO_WEBHOOK_SECRET'
mono_pay.connect_secret_key = '$MONO_CONNECT_SECRET_KEY'
mono_pay.connect_webhook_secret = '$MONO_CONNECT_WEBHOOK_SECRET'
mono_pay.database_name = '$MONO_DB'
mono_pay.retry_base = '200ms'
mono_pay.poll_interval = '200ms'
mono_pay.request_timeout = '2s'
mono_pay.http_log = on
fsync = off
synchronous_commit = off
full_page_writes = off
max_prepared_transactions = 10
lc_messages = 'C'
log_min_messages = warning
log_line_prefix = '%m [%p] %q%a '
${MONO_PG_CONF:-}
EOF
}

# Start the cluster and wait until it accepts connections.
cluster_start() {
	export PGHOST=$MONO_TMP PGUSER=postgres PGDATABASE=${PGDATABASE:-$MONO_DB}
	PGPORT=${PGPORT:-$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$PGDATA/postgresql.conf" | tail -n 1)}
	export PGPORT
	if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$MONO_TMP/postgres.log" \
		-w -t 60 start >>"$MONO_TMP/pg_ctl.log" 2>&1; then
		tail -n 30 "$MONO_TMP/postgres.log" >&2 || true
		mono_fail "the cluster did not start (log: $MONO_TMP/postgres.log)"
		return 1
	fi
}

# Stop the cluster: cluster_stop [smart|fast|immediate] (default fast).
cluster_stop() {
	local mode=${1:-fast}
	[ -n "${PGDATA:-}" ] && [ -f "$PGDATA/postmaster.pid" ] || return 0
	as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m "$mode" -w -t 60 stop \
		>>"$MONO_TMP/pg_ctl.log" 2>&1 && return 0
	mono_say "pg_ctl stop -m $mode failed; stopping immediately"
	as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop \
		>>"$MONO_TMP/pg_ctl.log" 2>&1
}

# Restart the cluster: cluster_restart [smart|fast|immediate] (immediate
# is a crash as far as the data is concerned: recovery runs at start).
cluster_restart() {
	cluster_stop "${1:-fast}" && cluster_start
}

# Append settings to postgresql.conf and reload: cluster_conf "key = 'v'" ...
cluster_conf() {
	local line
	for line in "$@"; do
		echo "$line" | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
	done
	sql "SELECT pg_reload_conf()" -d postgres >/dev/null
}

# ----------------------------------------------------------------------
# Physical standbys of the cluster (high-availability tests)
# ----------------------------------------------------------------------

# The data directory of standby NAME: standby_dir NAME
standby_dir() {
	echo "$MONO_TMP/standby_$1"
}

# The port of standby NAME: standby_port NAME
standby_port() {
	cat "$MONO_TMP/standby_$1.port"
}

# Make standby NAME of the running cluster with pg_basebackup -R, on a free
# port of its own, streaming with application_name NAME: standby_init NAME
standby_init() {
	local name=$1 dir port
	dir=$(standby_dir "$name")
	port=$(free_port)
	as_pg "$PG_BIN/pg_basebackup" -h "$MONO_TMP" -p "$PGPORT" -U postgres -D "$dir" \
		-R -X stream --no-sync -c fast >>"$MONO_TMP/standby_$name.log" 2>&1 ||
		{ tail -n 20 "$MONO_TMP/standby_$name.log" >&2; mono_fail "pg_basebackup of standby $name failed"; return 1; }
	printf "port = %s\nprimary_conninfo = 'host=%s port=%s user=postgres application_name=%s'\n" \
		"$port" "$MONO_TMP" "$PGPORT" "$name" | as_pg tee -a "$dir/postgresql.auto.conf" >/dev/null
	echo "$port" >"$MONO_TMP/standby_$name.port"
}

# Start standby NAME and wait until it accepts connections: standby_start NAME
standby_start() {
	as_pg "$PG_BIN/pg_ctl" -D "$(standby_dir "$1")" -l "$MONO_TMP/standby_$1.postgres.log" \
		-w -t 60 start >>"$MONO_TMP/pg_ctl.log" 2>&1 ||
		{ tail -n 30 "$MONO_TMP/standby_$1.postgres.log" >&2; mono_fail "standby $1 did not start"; return 1; }
}

# Stop standby NAME: standby_stop NAME [smart|fast|immediate] (default fast)
standby_stop() {
	local dir
	dir=$(standby_dir "$1")
	[ -f "$dir/postmaster.pid" ] || return 0
	as_pg "$PG_BIN/pg_ctl" -D "$dir" -m "${2:-fast}" -w -t 60 stop >>"$MONO_TMP/pg_ctl.log" 2>&1
}

# Promote standby NAME and wait until it is a primary: standby_promote NAME
standby_promote() {
	as_pg "$PG_BIN/pg_ctl" -D "$(standby_dir "$1")" -w -t 60 promote >>"$MONO_TMP/pg_ctl.log" 2>&1
}

# Run SQL on standby NAME, as sql does: standby_sql NAME "SQL" [psql options]
standby_sql() {
	local name=$1
	shift
	sql "$@" -p "$(standby_port "$name")"
}

# ----------------------------------------------------------------------
# Talking to the cluster
# ----------------------------------------------------------------------

# Run SQL and print unaligned tuples: sql "SELECT ..." [psql options...]
# (e.g. sql "SELECT 1" -d postgres). Fails on any SQL error.
sql() {
	local q=$1
	shift
	timeout "${MONO_SQL_TIMEOUT:-120}" "$PG_BIN/psql" -X -q -A -t \
		-v ON_ERROR_STOP=1 -c "$q" "$@"
}

# Reload the configuration and wait (10 s at most) until the worker has
# read it, so that what commits next is handled with the new settings.
reload_conf() {
	local before
	before=$(sql "SELECT clock_timestamp()")
	sql "SELECT pg_reload_conf()" >/dev/null
	wait_for "SELECT coalesce(config_loaded_at > '$before', true) FROM mono_worker_status()" 10
}

# Wait until a boolean query returns true: wait_for "SQL" [SECONDS] (default 10).
wait_for() {
	local q=$1 secs=${2:-10} end
	end=$(($(date +%s%N) + secs * 1000000000))
	while :; do
		if [ "$(sql "$q" 2>/dev/null || true)" = t ]; then
			return 0
		fi
		if [ "$(date +%s%N)" -ge "$end" ]; then
			mono_say "wait_for: still not true after ${secs}s: $q"
			return 1
		fi
		sleep 0.05
	done
}

# Create a database with mono_pay (and, for tests, pgTAP and the SQL helpers):
# create_test_db NAME [--pgtap]
create_test_db() {
	local db=$1
	sql "CREATE DATABASE $db" -d postgres >/dev/null
	sql "CREATE EXTENSION mono_pay" -d "$db" >/dev/null
	if [ "${2:-}" = --pgtap ]; then
		sql "CREATE EXTENSION pgtap" -d "$db" >/dev/null
		timeout 60 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" \
			-f "$MONO_TEST_LIB/helpers.sql" >/dev/null
	fi
}

# Say where the logs are (on failure).
mono_show_logs() {
	mono_say "temp dir kept: $MONO_TMP"
	mono_say "  postgres log:  $MONO_TMP/postgres.log"
	mono_say "  simulator log: $MONO_TMP/sim.log"
}

# Stop everything; remove the temp dir unless told to keep it: mono_cleanup [keep]
mono_cleanup() {
	local d
	sim_stop || true
	cluster_stop fast || true
	for d in "${MONO_TMP:-/nonexistent}"/standby_*/; do
		[ -f "$d/postmaster.pid" ] || continue
		as_pg "$PG_BIN/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	done
	if [ -n "${MONO_TMP:-}" ] && [ -d "$MONO_TMP" ]; then
		if [ "${1:-}" = keep ]; then
			mono_show_logs
		else
			rm -rf "$MONO_TMP"
		fi
	fi
}

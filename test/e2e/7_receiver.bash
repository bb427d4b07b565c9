# test/e2e/7_receiver.bash: start and stop the webhook receiver program
# (mono_pay_receiver, installed into $PG_BIN) for the receiver's tests
# (test/e2e/9*_receiver*.sh). Sourced after 7_lib.bash.
#
#	t7_receiver_start [--FLAG VALUE ...]	start it on a free port, connected
#		as the role mono_receiver (EXECUTE on mono_handle_webhook only),
#		/healthz and /metrics on another free port; point the simulator's
#		--webhook-url at it; exports RX_PORT RX_URL RX_STATUS RX_PID
#	t7_receiver_run [--FLAG VALUE ...]	(re)start only the program (same ports)
#	t7_receiver_stop			stop it, the simulator back without --webhook-url
#	t7_rx KIND				a counter of /metrics (applied, unauthorized, ...)
#	t7_post URL CURL_ARGS...		POST with curl; prints "STATUS BODY"

# The role the receiver logs in as: EXECUTE on the ingest function, nothing else.
t7_receiver_role() {
	t7_sql "DO \$\$ BEGIN
	          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mono_receiver') THEN
	            CREATE ROLE mono_receiver LOGIN;
	          END IF;
	        END \$\$;
	        GRANT EXECUTE ON FUNCTION mono_handle_webhook(text, text) TO mono_receiver" >/dev/null
}

# Start the program (RX_PORT, RX_STATUS_PORT kept), wait for /healthz (fd 7,
# a test's bystander session, is not inherited): t7_receiver_run [FLAGS]
t7_receiver_run() {
	local _
	"$PG_BIN/mono_pay_receiver" --listen "127.0.0.1:$RX_PORT" --status-listen "127.0.0.1:$RX_STATUS_PORT" \
		--conninfo "host=127.0.0.1 port=$PGPORT dbname=$PGDATABASE user=mono_receiver" "$@" \
		>>"$MONO_TMP/receiver.log" 2>&1 </dev/null 7>&- &
	RX_PID=$!
	export RX_PID
	for _ in $(seq 1 200); do
		curl -s --max-time 2 -o /dev/null "$RX_STATUS/healthz" && return 0
		kill -0 "$RX_PID" 2>/dev/null || break
		sleep 0.05
	done
	tail -n 5 "$MONO_TMP/receiver.log" >&2
	return 1
}

# The program, then the simulator delivering to it with retries: t7_receiver_start [FLAGS]
t7_receiver_start() {
	t7_receiver_role
	RX_PORT=$(free_port)
	RX_STATUS_PORT=$(free_port)
	RX_URL=http://127.0.0.1:$RX_PORT/mono/webhooks
	RX_STATUS=http://127.0.0.1:$RX_STATUS_PORT
	export RX_PORT RX_STATUS_PORT RX_URL RX_STATUS
	t7_receiver_run "$@" || t7_gone "mono_pay_receiver did not start (log: $MONO_TMP/receiver.log)"
	sim_stop
	MONO_SIM_ARGS="--webhook-url $RX_URL --webhook-workers 4 --webhook-retry-base 0.05 ${RX_SIM_ARGS:-}" sim_start ||
		t7_gone "the simulator did not restart"
}

# Stop the program (SIGTERM; it ends its connections cleanly).
t7_receiver_kill() {
	local _
	[ -n "${RX_PID:-}" ] || return 0
	kill -TERM "$RX_PID" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		kill -0 "$RX_PID" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL "$RX_PID" 2>/dev/null || true
}

# Back to no receiver, the simulator without --webhook-url.
t7_receiver_stop() {
	t7_receiver_kill
	RX_PID=
	[ -d "${PGDATA:-/nonexistent}" ] || return 0
	sim_stop
	MONO_SIM_ARGS= sim_start || true
	t7_restore
}

# A counter of the receiver's /metrics page: t7_rx KIND (also "open", "up")
t7_rx() {
	local page
	page=$(curl -s --max-time 5 "$RX_STATUS/metrics")
	case "$1" in
	open) echo "$page" | sed -n 's/^mono_pay_receiver_connections_open //p' ;;
	up) echo "$page" | sed -n 's/^mono_pay_receiver_database_up //p' ;;
	*) echo "$page" | sed -n "s/^mono_pay_receiver_events_total{kind=\"$1\"} //p" ;;
	esac
}

# POST with curl (10 s at most); prints the status code, a space, the body:
# t7_post URL [CURL_ARGS ...]
t7_post() {
	local url=$1 out
	shift
	out=$(curl -s --max-time 10 -o "$MONO_TMP/t7_post.body" -w "%{http_code}" "$@" "$url" 2>/dev/null) || true
	echo "$out $(cat "$MONO_TMP/t7_post.body" 2>/dev/null)"
	rm -f "$MONO_TMP/t7_post.body"
}

# A field of the simulator's delivery counts (by_NNN: answers of status NNN):
# t7_deliveries FIELD
t7_deliveries() {
	sim get webhooks/deliveries | python3 -c 'import json,sys
d = json.load(sys.stdin)
f = sys.argv[1]
print(d["by_status"].get(f[3:], 0) if f.startswith("by_") else d[f])' "$1"
}

# Wait (30 s at most) until at least COUNT deliveries were answered 200:
# t7_wait_count COUNT
t7_wait_count() {
	local _
	for _ in $(seq 1 600); do
		[ "$(t7_deliveries delivered)" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# The count of deliveries answered 200 once none waits (30 s at most): the
# base a storm's count starts from, so that a late delivery of an event made
# before the storm is not counted as one of it. t7_settled_deliveries
t7_settled_deliveries() {
	local _
	for _ in $(seq 1 600); do
		[ "$(t7_deliveries pending)" = 0 ] && break
		sleep 0.05
	done
	t7_deliveries delivered
}

# Wait (120 s at most: twice the simulator's retry span) until BASE + N
# deliveries were answered 200 and none waits: t7_wait_delivered BASE N
t7_wait_delivered() {
	local end=$(($(date +%s) + 120))
	while [ "$(date +%s)" -lt "$end" ]; do
		[ "$(t7_deliveries delivered)" -ge $(($1 + $2)) ] && [ "$(t7_deliveries pending)" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}

# The database's witnesses, before a test's violence: the postmaster's pid,
# the server log's count of abnormal ends, and a bystander psql session kept
# open on fd 7 (t7_receiver_run does not pass fd 7 on). t7_witness_start
t7_witness_start() {
	T7_POSTMASTER=$(head -n 1 "$PGDATA/postmaster.pid")
	T7_ABNORMAL=$(t7_abnormal)
	rm -f "$MONO_TMP/bystander.in"
	mkfifo "$MONO_TMP/bystander.in"
	"$PG_BIN/psql" -X -At -f "$MONO_TMP/bystander.in" >"$MONO_TMP/bystander.out" 2>&1 &
	T7_BYSTANDER=$!
	exec 7>"$MONO_TMP/bystander.in"
	echo "SELECT 'pid:' || pg_backend_pid();" >&7
}

# Lines of the server log that tell of a process ended abnormally (a crash restart).
t7_abnormal() {
	grep -c 'terminated by signal\|terminating any other active server processes\|all server processes terminated' \
		"$MONO_TMP/postgres.log" || true
}

# Ask the bystander once more and end it (in the test's own shell, not in
# $(...)); sets T7_SAME ("same" when the same backend answered both times)
# and T7_AFTER ("POSTMASTER_NOW ABNORMAL_SINCE"): t7_witness_end
t7_witness_end() {
	echo "SELECT 'alive:' || pg_backend_pid();" >&7
	exec 7>&-
	wait "$T7_BYSTANDER"
	T7_SAME=$(tr '\n' ' ' <"$MONO_TMP/bystander.out" | sed 's/pid:\([0-9]*\) alive:\1 /same/')
	T7_AFTER="$(head -n 1 "$PGDATA/postmaster.pid") $(($(t7_abnormal) - T7_ABNORMAL))"
}

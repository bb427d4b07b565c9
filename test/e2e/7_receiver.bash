# test/e2e/7_receiver.bash: start and stop the webhook receiver for the
# receiver's tests (test/e2e/78_*.sh, 79_*.sh). Sourced after 7_lib.bash.
#
#	t7_receiver_start [NAME VALUE ...]	listen on a free port (mono_pay.NAME
#		settings too), restart the cluster, point the simulator's
#		--webhook-url at the receiver; exports RX_PORT RX_URL
#	t7_receiver_stop			undo it all (also at exit)
#	t7_rx NAME				a column of mono_receiver_status()
#	t7_post URL CURL_ARGS...		POST with curl; prints "STATUS BODY"

# Settings, then a restart (they are postmaster settings), then the simulator
# delivering to the receiver with retries: t7_receiver_start [NAME VALUE ...]
t7_receiver_start() {
	local scheme=http
	RX_PORT=$(free_port)
	t7_sql "ALTER SYSTEM SET mono_pay.webhook_listen = '127.0.0.1:$RX_PORT'" >/dev/null
	while [ $# -ge 2 ]; do
		t7_sql "ALTER SYSTEM SET mono_pay.$1 = '$2'" >/dev/null
		[ "$1" = webhook_tls_cert ] && scheme=https
		shift 2
	done
	cluster_restart fast || t7_gone "the cluster did not restart with the receiver"
	RX_URL=$scheme://127.0.0.1:$RX_PORT/mono/webhooks
	export RX_PORT RX_URL
	sim_stop
	MONO_SIM_ARGS="--webhook-url $RX_URL --webhook-workers 4 --webhook-retry-base 0.05 ${RX_SIM_ARGS:-}" sim_start ||
		t7_gone "the simulator did not restart"
}

# Back to no receiver, the simulator without --webhook-url.
t7_receiver_stop() {
	[ -d "${PGDATA:-/nonexistent}" ] || return 0
	sim_stop
	MONO_SIM_ARGS= sim_start || true
	t7_restore
	cluster_restart fast >/dev/null 2>&1 || true
}

# A column of mono_receiver_status(): t7_rx NAME
t7_rx() {
	t7_sql "SELECT $1 FROM mono_receiver_status()"
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

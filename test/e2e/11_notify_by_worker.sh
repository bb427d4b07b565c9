#!/usr/bin/env bash
# test/e2e/11_notify_by_worker.sh: mono_pay.notify_by_worker = on. The
# transactions that apply webhooks hand their NOTIFY mono_pay to the first
# worker, which sends them just after they commit: the same payloads, each
# once, in commit order per row, from the worker's pid; nothing for a
# ROLLBACK or a rolled-back savepoint; PREPARE TRANSACTION still refuses
# them. A transaction sends its own when they are too many for the ring
# (over 256 kB).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

N=40
trap 't7_restore; t7_cleanup' EXIT

# Start a psql that LISTENs on mono_pay in DATABASE and prints what arrives
# (it checks every 0.1 s, for 60 s at most) into FILE: listen_start FILE [DATABASE]
listen_start() {
	local file=$1 db=${2:-$PGDATABASE}
	{
		echo "LISTEN mono_pay;"
		for _ in $(seq 1 600); do echo "SELECT pg_sleep(0.1);"; done
	} | PGAPPNAME=mono_qa_nbw timeout 70 "$PG_BIN/psql" -X -q -A -t -d "$db" >"$file" 2>&1 &
	LISTENER=$!
	wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'mono_qa_nbw'
	            AND query LIKE '%pg_sleep%'" 10 >/dev/null
}

# Stop the listener once FILE holds COUNT payloads (20 s at most): listen_stop FILE COUNT
listen_stop() {
	local end=$(($(date +%s) + 20))
	while [ "$(date +%s)" -lt "$end" ] && [ "$(payloads "$1" | wc -l)" -lt "$2" ]; do
		sleep 0.1
	done
	sleep 0.3 # anything beyond COUNT would show up too
	kill "$LISTENER" 2>/dev/null
	wait "$LISTENER" 2>/dev/null || true
}

# Run the SQL script on stdin, one statement after another (autocommit
# unless it says BEGIN), stopping at the first error: sql_script [psql options]
sql_script() {
	timeout 120 "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

# The payloads psql printed, one per line; with "pid", "PID payload" lines.
payloads() {
	if [ "${2:-}" = pid ]; then
		sed -n 's/^Asynchronous notification "mono_pay" with payload "\(.*\)" received from server process with PID \([0-9]*\)\.$/\2 \1/p' "$1"
	else
		sed -n 's/^Asynchronous notification "mono_pay" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' "$1"
	fi
}

# The distinct pids that sent the notifications in FILE.
senders() {
	payloads "$1" pid | cut -d' ' -f1 | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# SQL calling mono_handle_webhook with a successful payment of fund request
# frq_nbw_K, event and payment id TAG: webhook K TAG
webhook() {
	echo "SELECT mono_handle_webhook('{\"event\":\"owo.payment.successful\",\"event_id\":\"evt_nbw_$2\",\"timestamp\":\"2026-01-01T10:00:00.000Z\",\"data\":{\"id\":\"pay_nbw_$2\",\"reference\":\"dbtnbw$2\",\"fund_request\":\"frq_nbw_$1\",\"status\":\"successful\",\"amount\":5000,\"currency\":\"NGN\",\"processed_at\":\"2026-01-01T10:00:00.000Z\"}}', '$MONO_WEBHOOK_SECRET');"
}

plan 13

t7_fresh
t7_set notify_by_worker on
# N approved one-time requests that Mono knows as frq_nbw_1 .. frq_nbw_N
t7_sql "INSERT INTO mono.fund_requests (reference, phone, amount, description, type, status, mono_id)
        SELECT 'NBWREF' || lpad(i::text, 6, '0'), '2348012345678', 5000, 'x', 'onetime', 'approved', 'frq_nbw_' || i
          FROM generate_series(1, $N) i" >/dev/null
worker=$(t7_wait_worker "" 30)

# ----------------------------------------------------------------------
# N webhooks, each its own transaction, handed to the worker
# ----------------------------------------------------------------------
out=$MONO_TMP/nbw.$$.1
listen_start "$out"
for i in $(seq 1 "$N"); do webhook "$i" "$i"; done | sql_script >/dev/null
expected=$(t7_sql "SELECT count(*) FROM mono.payments")
listen_stop "$out" "$expected"
is "$expected" "$N" "the $N webhooks stored $N payments"
is "$(payloads "$out" | wc -l)" "$expected" "every status change and payment of the $N webhooks is notified ($expected)"
is "$(payloads "$out" | sort -u | wc -l)" "$expected" "each once"
is "$(senders "$out")" "$worker" "all from the worker's pid ($worker)"
is "$(payloads "$out" | python3 -c '
import json, sys
pays = sorted(json.loads(l)["reference"] for l in sys.stdin if json.loads(l)["table"] == "payments")
print(len(pays), pays[0], pays[-1])')" "$N dbtnbw1 dbtnbw9" "the payments' payloads name their references"
# ----------------------------------------------------------------------
# ROLLBACK, a rolled-back savepoint, PREPARE TRANSACTION
# ----------------------------------------------------------------------
t7_sql "UPDATE mono.fund_requests SET status = 'approved' WHERE mono_id IN ('frq_nbw_1', 'frq_nbw_2', 'frq_nbw_3')" >/dev/null
out=$MONO_TMP/nbw.$$.2
listen_start "$out"
{
	echo "BEGIN;"
	webhook 1 r1
	echo "ROLLBACK;"
	echo "BEGIN;"
	echo "SAVEPOINT a;"
	webhook 2 r2
	echo "ROLLBACK TO SAVEPOINT a;"
	webhook 3 r3
	echo "COMMIT;"
} | sql_script >/dev/null
listen_stop "$out" 2
is "$(payloads "$out" | python3 -c '
import json, sys
print(" ".join(sorted("%s:%s" % (p["table"], p["reference"]) for p in map(json.loads, sys.stdin))))')" \
	"payments:dbtnbwr3" "only what committed is notified: nothing of the ROLLBACK nor of the rolled-back savepoint"
is "$(t7_sql "SELECT count(*) FROM mono.payments WHERE mono_id IN ('pay_nbw_r1', 'pay_nbw_r2')")" 0 "(what was rolled back is not stored either)"
prepare=$( {
	echo "BEGIN;"
	webhook 4 p4
	echo "PREPARE TRANSACTION 'mono_nbw';"
} | sql_script 2>&1 >/dev/null)
like "$prepare" "cannot PREPARE a transaction that has executed LISTEN, UNLISTEN, or NOTIFY" \
	"PREPARE TRANSACTION refuses a transaction with notifications, as it refuses NOTIFY"
is "$(t7_sql "SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'mono_nbw'")" 0 "(nothing was prepared)"

# ----------------------------------------------------------------------
# too many for the ring: the transaction sends its own
# ----------------------------------------------------------------------
out=$MONO_TMP/nbw.$$.3
listen_start "$out"
big=$(t7_sql "SELECT pg_backend_pid(), count(mono_handle_webhook(
          '{\"event\":\"owo.payment.successful\",\"event_id\":\"evt_nbw_big' || i || '\",\"timestamp\":\"2026-01-01T10:00:00.000Z\",\"data\":{\"id\":\"pay_nbw_big' || i || '\",\"reference\":\"dbtnbwbig' || i || '\",\"fund_request\":\"frq_nbw_unknown' || i || '\",\"status\":\"successful\",\"amount\":5000,\"currency\":\"NGN\"}}',
          '$MONO_WEBHOOK_SECRET')) FROM generate_series(1, 1500) i GROUP BY 1" -F ' ')
big_pid=${big%% *}
listen_stop "$out" 3000
is "$(payloads "$out" | wc -l) $(senders "$out")" "3000 $big_pid" \
	"1,500 orphan payments in one transaction (over 256 kB of notifications): 3,000, sent by that transaction itself"

# ----------------------------------------------------------------------
# the SQL triggers' notifications (mono.notify) take the same road
# ----------------------------------------------------------------------
out=$MONO_TMP/nbw.$$.4
listen_start "$out"
webhook unknown1 o1 | sql_script >/dev/null
listen_stop "$out" 2
is "$(payloads "$out" | python3 -c '
import json, sys
print(" ".join(json.loads(l)["table"] for l in sys.stdin))')" "payments orphans" \
	"a payment of an unknown request: the payment, then the orphan (mono.notify_orphan), in the transaction's order"
is "$(senders "$out")" "$worker" "both by the worker"
is "$(t7_sql "SELECT count(*) FROM mono.webhook_events WHERE event_id LIKE 'evt\_nbw\_%'")" $((N + 1 + 1500 + 1)) \
	"(every committed event is stored: $N + 1 + 1,500 + 1)"

done_testing

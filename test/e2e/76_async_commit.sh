#!/usr/bin/env bash
# test/e2e/76_async_commit.sh: a charge the worker has sent must survive a
# crash, whatever synchronous_commit the application uses. With
# synchronous_commit = off (the test cluster's setting, and a common tuning)
# COMMIT returns before the commit record is on disk; the worker sees the
# row at once and sends it; a crash before the WAL writer's next flush then
# loses the row, while Mono has the charge ("nothing is lost" broken, and
# the customer is asked to pay for a request the database does not know).
# The worker can prevent it by making its claim durable before it sends
# (the claim's commit record follows the charge's in the WAL).
# Here wal_writer_delay is 10 s so that the window is wide (and the WAL
# writer is kept out of hibernation, in which every asynchronous commit
# wakes it); the cluster is stopped in immediate mode (a crash) right after
# the simulator accepted the charge.
#   A. synchronous_commit = off in the application's session
#   B. synchronous_commit = on (the control: the row must survive)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 5

t7_fresh
t7_sql "ALTER SYSTEM SET wal_writer_delay = '10s'" >/dev/null
t7_sql "ALTER SYSTEM SET wal_writer_flush_after = '64MB'" >/dev/null
reload_conf

# Charge REF to PHONE with synchronous_commit MODE, wait until the simulator
# accepted it, crash the cluster at once, start it again; prints whether the
# row survived ("t"/"f") and its status. (A phone each: Mono takes a phone's
# next prompt only once its earlier one is answered.)
charge_and_crash() {
	local ref=$1 mode=$2 phone=$3 _ acc=0
	# wake the WAL writer from hibernation now (an asynchronous commit does),
	# so that it is back on its 10 s cycle when the charge commits: a
	# hibernating WAL writer is woken by every asynchronous commit
	sql "SET synchronous_commit = off; SELECT txid_current()" >/dev/null
	sleep 0.5
	sql "SET synchronous_commit = $mode; SELECT mono_charge('$phone', 7600, 'Crash test', '$ref')" >/dev/null
	for _ in $(seq 1 200); do
		acc=$(sim get requests | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_reference"].get(sys.argv[1], {}).get("accepted", 0))' "$ref")
		[ "$acc" -ge 1 ] && break
		sleep 0.01
	done
	cluster_stop immediate
	cluster_start
	echo "$acc $(t7_sql "SELECT count(*) = 1 FROM mono.fund_requests WHERE reference = '$ref'") $(t7_sql "SELECT coalesce(max(status), '(no row)') FROM mono.fund_requests WHERE reference = '$ref'")"
}

a=$(charge_and_crash ASYNC76OFF off 2348076000001)
diag "synchronous_commit = off: accepted by the simulator, row kept, status: $a"
is "${a%% *}" 1 "A: the simulator accepted the charge before the crash"
is "$(echo "$a" | cut -d' ' -f2)" t "A: after the crash the database still has the charge Mono accepted (synchronous_commit = off)"

b=$(charge_and_crash ASYNC76ON on 2348076000002)
diag "synchronous_commit = on: accepted by the simulator, row kept, status: $b"
is "${b%% *}" 1 "B: the simulator accepted the charge before the crash"
is "$(echo "$b" | cut -d' ' -f2)" t "B: after the crash the database still has it (synchronous_commit = on)"
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'ASYNC76ON'\" 15" \
	"B: and settles it in awaiting_authorization (not sent twice: a read, then a 409)"

t7_sql "ALTER SYSTEM RESET wal_writer_delay" >/dev/null
t7_sql "ALTER SYSTEM RESET wal_writer_flush_after" >/dev/null
done_testing

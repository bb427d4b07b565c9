#!/usr/bin/env bash
# test/e2e/87_ha_read_only.sh: a read-only primary (pg_auto_failover's
# demotion phase: default_transaction_read_only = on, then a reload) makes
# the worker wait, not crash-loop: the same process stays, its state says
# why, nothing is sent; once the node is writable again it sends (issue 12).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 5

# Reset what this test set, even when the node is still read-only.
ro_cleanup() {
	PGOPTIONS="${PGOPTIONS:-} -c default_transaction_read_only=off" \
		sql "ALTER SYSTEM RESET default_transaction_read_only" >/dev/null 2>&1 || true
	t7_cleanup
}
trap ro_cleanup EXIT

t7_fresh
# one phone per charge: Mono takes a phone's next prompt only once its
# earlier one is answered
for i in 1 2 3; do sim user 234808400000$i active >/dev/null; done
t7_set enabled off
t7_sql "SELECT count(mono_charge('234808400000' || i, 300 + i, 'Read-only phase', 'HARO' || lpad(i::text, 6, '0')))
          FROM generate_series(1, 3) i" >/dev/null
wait_for "SELECT running AND state NOT LIKE 'waiting%' FROM mono_worker_status()" 30
pid=$(t7_wait_worker "" 30)
t7_sql "ALTER SYSTEM SET default_transaction_read_only = on" >/dev/null
t7_set enabled on
ok "wait_for \"SELECT state LIKE 'waiting: default_transaction_read_only is on%' FROM mono_worker_status()\" 20" \
	"on a read-only node the worker waits, and its state says why"
sleep 2.5	# the old worker crash-looped once a second here
is "$(t7_worker_pid)" "$pid" "the same worker process: no crash, no restart"
is "$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE reference LIKE 'HARO%' AND status = 'queued'")" 3 \
	"nothing was claimed or sent while the node was read-only"
PGOPTIONS="${PGOPTIONS:-} -c default_transaction_read_only=off" \
	sql "ALTER SYSTEM RESET default_transaction_read_only" >/dev/null
reload_conf
ok "wait_for \"SELECT count(*) = 3 FROM mono.fund_requests WHERE reference LIKE 'HARO%' AND status = 'awaiting_authorization'\" 30" \
	"writable again, the worker sends what waited"
is "$(t7_worker_pid)" "$pid" "by the same process"
done_testing

#!/usr/bin/env bash
# test/e2e/21_crash_restart.sh: the cluster restarts (fast and immediate
# mode) with charges still queued, and with charges in flight to a slow
# Mono. Nothing committed is lost, nothing is sent twice: each reference is
# accepted by Mono exactly once.
#
# The test cluster runs with synchronous_commit = off; the application's
# transactions here use synchronous_commit = on, as an application that
# tells its customer "queued" must.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/cluster.sh
. "$here/../lib/cluster.sh"
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"
export PGDATABASE=${PGDATABASE:-mono_test}
[ -n "${MONO_SIM_URL:-}" ] && [ -n "${PGPORT:-}" ] && [ -n "${PGDATA:-}" ] ||
	bail_out "run me with test/run (MONO_SIM_URL, PGPORT and PGDATA are not set)"

# Whatever happens: the cluster up, no leftover setting, no fault.
cleanup() {
	"$PG_BIN/pg_isready" -q -t 2 || cluster_start >/dev/null 2>&1 || true
	sql "ALTER SYSTEM RESET ALL" >/dev/null 2>&1 || true
	sql "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
	sim clear-faults >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Queue N charges with references PREFIX000001..., phones 2348 + 9 digits
# from FIRST_PHONE + 1 on: queue PREFIX N FIRST_PHONE (each charge its own
# phone: Mono takes a phone's next prompt only once its earlier one is
# answered, and these customers never answer)
queue() {
	PGOPTIONS='-c synchronous_commit=on' sql "SELECT count(mono_charge('2348' || lpad(($3 + i)::text, 9, '0'), 1000 + i,
		'Restart test charge ' || i, '$1' || lpad(i::text, 6, '0'))) FROM generate_series(1, $2) i" >/dev/null
}

# What Mono saw of the references starting with PREFIX: refs PREFIX KIND
refs() {
	sim get requests | python3 -c '
import json, sys
d = json.load(sys.stdin)["by_reference"]
refs = {k: v for k, v in d.items() if k.startswith(sys.argv[1])}
kind = sys.argv[2]
if kind == "received":
    print(len(refs))
elif kind == "accepted_once":
    print(sum(1 for v in refs.values() if v["accepted"] == 1))
elif kind == "accepted_twice":
    print(sum(1 for v in refs.values() if v["accepted"] > 1))
elif kind == "resent":
    print(sum(1 for v in refs.values() if v["received"] > 1))' "$1" "$2"
}

# Row counts by status of the references starting with PREFIX.
by_status() {
	sql "SELECT string_agg(status || ':' || n, ' ' ORDER BY status) FROM (SELECT status::text, count(*) n
	     FROM mono.fund_requests WHERE reference LIKE '$1%' GROUP BY 1) s"
}

settled="status NOT IN ('queued', 'sending', 'unknown')"

plan 20

sim reset
sql "ALTER SYSTEM RESET ALL" >/dev/null
reload_conf
wait_for "SELECT in_flight = 0 FROM mono_worker_status()" 15 || true
sql "TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
     mono.webhook_events RESTART IDENTITY CASCADE" >/dev/null

# ----------------------------------------------------------------------
# 1. Queued with the worker disabled; fast restart, then immediate restart
# ----------------------------------------------------------------------
sql "ALTER SYSTEM SET mono_pay.enabled = off" >/dev/null
reload_conf
queue QUEUED 200 0
sleep 0.6
is "$(refs QUEUED received)" "0" "with mono_pay.enabled = off, 200 committed charges stay queued and nothing is sent"

cluster_restart fast
ok 'wait_for "SELECT running FROM mono_worker_status()" 20' "after a fast restart the worker runs again"
is "$(by_status QUEUED)" "queued:200" "after a fast restart the 200 charges are still queued"

cluster_restart immediate
ok 'wait_for "SELECT running FROM mono_worker_status()" 20' "after an immediate restart (crash recovery) the worker runs again"
is "$(by_status QUEUED)" "queued:200" "after an immediate restart the 200 charges are still queued"
sleep 0.6
is "$(refs QUEUED received)" "0" "and nothing has been sent while disabled"

sql "ALTER SYSTEM RESET mono_pay.enabled" >/dev/null
reload_conf
ok "wait_for \"SELECT count(*) = 200 FROM mono.fund_requests WHERE reference LIKE 'QUEUED%' AND $settled\" 60" \
	"enabled again, the worker sends them all"
is "$(by_status QUEUED)" "awaiting_authorization:200" "all 200 reach awaiting_authorization"
is "$(refs QUEUED accepted_once)" "200" "Mono accepted each of the 200 references exactly once"
is "$(refs QUEUED accepted_twice)" "0" "none was accepted twice"
diag "$(refs QUEUED resent) of them were sent twice (an ambiguous send settled by a read, answered duplicate)"

# ----------------------------------------------------------------------
# 2. In flight to a slow Mono: immediate restart (a crash), then fast
# ----------------------------------------------------------------------
phones=0
for mode in immediate fast; do
	prefix=$(echo "INFLIGHT$mode" | tr a-z A-Z | cut -c1-12)
	phones=$((phones + 1000))
	sim fault '{"kind":"delay","delay_s":1.5,"count":100000,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'
	queue "$prefix" 200 "$phones"
	if ! wait_for "SELECT count(*) >= 20 FROM mono.fund_requests WHERE reference LIKE '$prefix%' AND status = 'sending'" 15; then
		diag "the batch was not in flight before the restart"
	fi
	diag "$mode restart with $(sql "SELECT count(*) FROM mono.fund_requests WHERE reference LIKE '$prefix%' AND status = 'sending'") rows in sending"
	cluster_restart "$mode"
	sim clear-faults
	ok 'wait_for "SELECT running FROM mono_worker_status()" 20' "$mode restart mid-flight: the worker runs again"
	ok "wait_for \"SELECT count(*) = 200 FROM mono.fund_requests WHERE reference LIKE '$prefix%' AND $settled\" 120" \
		"$mode restart mid-flight: every charge is settled"
	is "$(by_status "$prefix")" "awaiting_authorization:200" "$mode restart mid-flight: none lost, all 200 awaiting_authorization"
	is "$(refs "$prefix" accepted_once)" "200" "$mode restart mid-flight: Mono accepted each of the 200 references exactly once"
	is "$(refs "$prefix" accepted_twice)" "0" "$mode restart mid-flight: none accepted twice"
	diag "$mode restart mid-flight: $(refs "$prefix" resent) references were sent again after the restart"
done

# leave nothing behind for the worker to send or poll during later scripts
sql "TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
     mono.webhook_events RESTART IDENTITY CASCADE" >/dev/null
done_testing

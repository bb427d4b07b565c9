#!/usr/bin/env bash
# test/e2e/20_crash_kill_worker.sh: the worker is killed (pg_terminate_backend)
# while a batch of 500 charges is in flight, part of them slowed by the
# simulator. The postmaster restarts it; every charge reaches a settled
# state, none is lost, and Mono accepts each reference exactly once.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/cluster.sh
. "$here/../lib/cluster.sh"
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"
export PGDATABASE=${PGDATABASE:-mono_test}
[ -n "${MONO_SIM_URL:-}" ] && [ -n "${PGPORT:-}" ] || bail_out "run me with test/run (MONO_SIM_URL and PGPORT are not set)"

N=500

# Leave the simulator without faults, whatever happens.
cleanup() {
	sim clear-faults >/dev/null 2>&1 || true
}
trap cleanup EXIT

plan 12

sim reset
sql "ALTER SYSTEM RESET ALL" >/dev/null
reload_conf
wait_for "SELECT in_flight = 0 FROM mono_worker_status()" 15 || true
sql "TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
     mono.webhook_events RESTART IDENTITY CASCADE" >/dev/null
# the TRUNCATE may have cost the worker a lock timeout (it then restarts in 1 s)
wait_for "SELECT running FROM mono_worker_status()" 20 || true

# the first 200 sends are answered 1 s late (after Mono has processed them)
sim fault '{"kind":"delay","delay_s":1,"count":200,"method":"POST","path_prefix":"/owo/v1/fund-requests"}'

old_pid=$(sql "SELECT pid FROM mono_worker_status()")
isnt "$old_pid" "" "the worker is running (pid $old_pid)"

# $N charges in one committed transaction (synchronous commit: the
# application is told they are durable)
PGOPTIONS='-c synchronous_commit=on' sql "SELECT count(mono_charge('2348' || lpad(i::text, 9, '0'), 1000 + i,
	'Crash test charge ' || i, 'CRASHKILL' || lpad(i::text, 6, '0'))) FROM generate_series(1, $N) i" >/dev/null
is "$(sql "SELECT count(*) FROM mono.fund_requests")" "$N" "$N charges are queued"

# kill the worker while sends are in flight
ok 'wait_for "SELECT count(*) >= 20 FROM mono.fund_requests WHERE status = '"'"'sending'"'"'" 15' \
	"the batch is in flight (rows in sending)"
in_flight=$(sql "SELECT count(*) FROM mono.fund_requests WHERE status = 'sending'")
received=$(sim total)
is "$(sql "SELECT pg_terminate_backend($old_pid)")" "t" "pg_terminate_backend() kills the worker"
diag "killed with $in_flight rows in sending; the simulator had received $received requests"

ok 'wait_for "SELECT running AND pid <> '"$old_pid"' FROM mono_worker_status()" 20' \
	"the postmaster restarts the worker (new pid)"

ok 'wait_for "SELECT count(*) = 0 FROM mono.fund_requests WHERE status IN ('"'"'queued'"'"', '"'"'sending'"'"', '"'"'unknown'"'"')" 120' \
	"every charge leaves the outbox"
is "$(sql "SELECT count(*) FROM mono.fund_requests")" "$N" "none is lost: still $N rows"
is "$(sql "SELECT string_agg(status || ':' || n, ' ') FROM (SELECT status::text, count(*) n FROM mono.fund_requests GROUP BY 1) s")" \
	"awaiting_authorization:$N" "every one settled in awaiting_authorization"

counts=$(sim get requests)
by_ref() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)["by_reference"]
refs = {k: v for k, v in d.items() if k.startswith("CRASHKILL")}
kind = sys.argv[1]
if kind == "refs":
    print(len(refs))
elif kind == "accepted_once":
    print(sum(1 for v in refs.values() if v["accepted"] == 1))
elif kind == "accepted_twice":
    print(sum(1 for v in refs.values() if v["accepted"] > 1))
elif kind == "resent":
    print(sum(1 for v in refs.values() if v["received"] > 1))' "$1" <<<"$counts"
}
is "$(by_ref refs)" "$N" "Mono received every one of the $N references"
is "$(by_ref accepted_once)" "$N" "Mono accepted each reference exactly once (by_reference accepted == 1)"
is "$(by_ref accepted_twice)" "0" "no reference was accepted twice"
resent=$(by_ref resent)
ok "[ $resent -gt 0 ]" "the kill did land mid-flight: $resent references were sent again after the restart (and answered duplicate)"

# leave nothing behind for the worker to send or poll during later scripts
sql "TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
     mono.webhook_events RESTART IDENTITY CASCADE" >/dev/null
done_testing

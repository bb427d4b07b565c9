#!/usr/bin/env bash
# test/e2e/12_worker_statistics.sh: the rows the worker changes reach
# PostgreSQL's table statistics (pg_stat_user_tables), as a backend's do:
# autovacuum decides from them when mono.fund_requests is analysed and
# vacuumed. A background worker reports them only when it says so; before
# issue 26 the worker never did, and autovacuum saw only the applications'
# INSERTs, never the status changes of a burst.
#
# Run by test/run (prove --exec bash test/e2e/*.sh): it uses the run's
# cluster and simulator (PGHOST, PGPORT, MONO_SIM_URL, MONO_TMP).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/cluster.sh
. "$here/../lib/cluster.sh"
# shellcheck source=../lib/tap.sh
. "$here/../lib/tap.sh"
export PGDATABASE=${PGDATABASE:-mono_test}
[ -n "${MONO_SIM_URL:-}" ] && [ -n "${PGPORT:-}" ] || bail_out "run me with test/run (MONO_SIM_URL and PGPORT are not set)"

plan 3

N=40
sim reset
sql "ALTER SYSTEM RESET ALL" >/dev/null
reload_conf
wait_for "SELECT in_flight = 0 FROM mono_worker_status()" 15 || true
sql "TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
     mono.webhook_events RESTART IDENTITY CASCADE" >/dev/null
for i in $(seq 1 $N); do sim user "23480200000$(printf '%02d' "$i")" active >/dev/null; done

# the counters as the statistics system has them now (the TRUNCATE is not counted)
stat() {
	sql "SELECT $1 FROM pg_stat_user_tables WHERE relid = 'mono.fund_requests'::regclass"
}
upd0=$(stat n_tup_upd)
sql "SELECT count(mono_charge('23480200000' || lpad(i::text, 2, '0'), 5000 + i, 'statistics ' || i))
       FROM generate_series(1, $N) i" >/dev/null
ok "wait_for \"SELECT count(*) = $N FROM mono.fund_requests WHERE status = 'awaiting_authorization'\" 30" \
	"the worker sent the $N charges"

# each charge: queued -> sending (the claim), sending -> awaiting_authorization
# (the record): two updates by the worker. Its report comes at most a second
# after its commit.
ok "wait_for \"SELECT n_tup_upd >= $upd0 + 2 * $N FROM pg_stat_user_tables
                WHERE relid = 'mono.fund_requests'::regclass\" 15" \
	"pg_stat_user_tables counts the worker's updates of mono.fund_requests"
diag "n_tup_upd: $upd0 before, $(stat n_tup_upd) after; n_mod_since_analyze $(stat n_mod_since_analyze)"
ok "[ \"\$(stat n_mod_since_analyze)\" -ge $((3 * N)) ]" \
	"autoanalyze sees the worker's changes too (n_mod_since_analyze counts inserts and updates)"

done_testing

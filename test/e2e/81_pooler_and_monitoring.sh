#!/usr/bin/env bash
# test/e2e/81_pooler_and_monitoring.sh: mono_pay behind a real pgbouncer in
# transaction mode (Debian's), and graphed by Debian's
# prometheus-postgres-exporter with contrib/queries.yaml, each as the README
# says to set them up:
#   - mono_charge, the charge-on-INSERT trigger and mono_wait through the
#     pooler, from more clients than it has server connections;
#   - the exporter, connected as a role with only the README's monitoring
#     grants, serves mono_pay's figures, equal to the tables'.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 10

t7_fresh
for i in $(seq 10 29); do sim user "23480810000$i" active; done
for i in $(seq 10 19); do sim user "23480810001$i" active; done
sim user 2348081000200 active

# ---------------------------------------------------------------- pgbouncer
bdir=$MONO_TMP/pgbouncer81
mkdir -p "$bdir"
bport=$(free_port)
cat >"$bdir/pgbouncer.ini" <<EOF
[databases]
$PGDATABASE = host=127.0.0.1 port=$PGPORT dbname=$PGDATABASE
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $bdir/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 100
logfile = $bdir/pgbouncer.log
pidfile = $bdir/pgbouncer.pid
EOF
echo '"postgres" ""' >"$bdir/users.txt"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$bdir"
as_pg /usr/sbin/pgbouncer -d "$bdir/pgbouncer.ini"
stop_pgbouncer() {
	[ -f "$bdir/pgbouncer.pid" ] && kill "$(cat "$bdir/pgbouncer.pid")" 2>/dev/null || true
}
trap 'stop_pgbouncer; t7_restore' EXIT

# SQL through the pooler: pooled "SQL"
# (without test/run's PGOPTIONS: pgbouncer refuses the options startup parameter)
pooled() {
	env -u PGOPTIONS psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$bport" -U postgres -d "$PGDATABASE" -c "$1"
}
for _ in $(seq 1 50); do pooled "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
is "$(pooled "SELECT 1")" 1 "pgbouncer (transaction mode, 2 server connections) is up"

# 20 clients at once, each its own charge
for i in $(seq 10 29); do
	pooled "SELECT reference FROM mono_charge('23480810000$i', 1000 + $i, 'Pooled order', 'POOLED81R$i')" >/dev/null &
done
wait
ok "wait_for \"SELECT count(*) = 20 FROM mono.fund_requests WHERE reference LIKE 'POOLED81R%' AND status = 'awaiting_authorization'\" 30" \
	"20 clients' mono_charge through the pooler: all 20 sent"

# the trigger: a table whose INSERT charges (other phones: Mono takes a
# phone's next prompt only once its earlier one is answered)
t7_sql "CREATE TABLE public.orders81 (id serial, phone text, amount bigint, note text, ref text);
        CREATE TRIGGER charge AFTER INSERT ON public.orders81 FOR EACH ROW
        EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note', 'reference=ref')" >/dev/null
for i in $(seq 10 19); do
	pooled "INSERT INTO public.orders81 (phone, amount, note, ref) VALUES ('23480810001$i', 500, 'Trigger order', 'POOLTRG81R$i')" >/dev/null &
done
wait
ok "wait_for \"SELECT count(*) = 10 FROM mono.fund_requests WHERE reference LIKE 'POOLTRG81R%' AND status = 'awaiting_authorization'\" 30" \
	"10 trigger-charged INSERTs through the pooler: all 10 sent"

# mono_wait: one statement, so one pooled transaction, for its whole wait
is "$(pooled "SELECT status FROM mono_charge('2348081000200', 777, 'Waited order', 'POOLWAIT81R1')" >/dev/null;
      pooled "SELECT status FROM mono_wait('POOLWAIT81R1', '15 seconds')")" awaiting_authorization \
	"mono_wait through the pooler returns the status Mono gave"
is "$(pooled "SELECT count(*) FROM mono.fund_requests WHERE reference LIKE 'POOL%'")" 31 "the pooler's clients see all their rows"
stop_pgbouncer

# ---------------------------------------------------------------- exporter
t7_sql "DROP ROLE IF EXISTS mono_monitor81; CREATE ROLE mono_monitor81 LOGIN;
        GRANT USAGE ON SCHEMA mono TO mono_monitor81;
        GRANT SELECT ON mono.metrics TO mono_monitor81;
        GRANT EXECUTE ON FUNCTION mono_worker_status() TO mono_monitor81;
        GRANT EXECUTE ON FUNCTION mono.worker_counters() TO mono_monitor81" >/dev/null
# two charges that stay queued (sending is paused) and a rejected webhook
t7_set enabled off
t7_sql "SELECT mono_charge('2348081000011', 900, 'Queued order', 'MONITOR81Q1'), mono_charge('2348081000012', 900, 'Queued order', 'MONITOR81Q2')" >/dev/null
t7_start_exporter mono_monitor81 "$MONO_TMP/exporter81.log"
trap 'kill $exporter 2>/dev/null; stop_pgbouncer; t7_restore' EXIT
metrics=
for _ in $(seq 1 100); do
	metrics=$(curl -sf --max-time 5 "http://127.0.0.1:$eport/metrics" || true)
	printf '%s\n' "$metrics" | grep -q '^mono_queue_depth' && break
	sleep 0.1
done
# Value of a metric line matching PATTERN (first one)
metric() {
	printf '%s\n' "$metrics" | grep -E "^$1" | head -n 1 | awk '{print $NF}'
}
diag "exporter: $(printf '%s\n' "$metrics" | grep -c '^mono_') mono_ lines"
is "$(metric 'mono_queue_depth\{kind="charges",.*status="queued"')" 2 \
	"mono_queue_depth{kind=charges,status=queued} is the table's count"
is "$(metric 'mono_queue_depth\{kind="charges",.*status="awaiting_authorization"')" \
	"$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE status = 'awaiting_authorization'")" \
	"mono_queue_depth{status=awaiting_authorization} too"
is "$(metric 'mono_worker_running')" 1 "mono_worker_running is 1"
is "$(metric 'mono_worker_counters_value\{figure="key_refused"')" 0 "mono_worker_counters_value{figure=key_refused} is 0 (issue 22)"
ok "[ \"\$(metric 'mono_oldest_queued_seconds\\{kind=\"charges\"')\" != '' ]" "mono_oldest_queued_seconds{kind=charges} is served"

kill "$exporter" 2>/dev/null || true
t7_sql "DROP TABLE public.orders81; DROP OWNED BY mono_monitor81; DROP ROLE mono_monitor81" >/dev/null
t7_restore
done_testing

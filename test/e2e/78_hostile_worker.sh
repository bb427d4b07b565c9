#!/usr/bin/env bash
# test/e2e/78_hostile_worker.sh: what a hostile row, a hostile read or an
# application's transaction can do to the running worker. Each part failed
# on 0.1.0 (the worker died, waited, or logged every second); the worker
# must now fail or defer the one row and carry on with the others.
#   A. 30 queued rows with a 50 MB description (rows of an upgraded 0.1.0
#      database, written before the 255-character limit): each fails alone,
#      with last_error; the worker never restarts; other charges are sent.
#   B. an application transaction holding a fund request's row, and one
#      holding an account (mono_account_sync in an open transaction): new
#      charges are sent meanwhile, and the held rows are settled after.
#   C. a read naming a Mono id that another row already holds: kept aside
#      as a rejected event with its error; the worker carries on.
#   D. mono_pay.database_name missing at start: one FATAL and one warning,
#      not one a second; the worker connects once the database exists.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 16

t7_fresh
t7_set poll_base 1000 poll_max 1000

# Charge REF to a fresh active user PHONE (prints nothing).
charge() {
	sim user "$1" active
	t7_sql "SELECT mono_charge('$1', 5000, 'Hostile worker test', '$2')" >/dev/null
}

# The status of the request REF.
status_of() {
	t7_sql "SELECT status FROM mono.fund_requests WHERE reference = '$1'"
}

# ---------------------------------------------------------------- A
pid0=$(t7_wait_worker "" 30)
# what a 0.1.0 database may hold: the domain's limit did not exist
t7_sql "ALTER DOMAIN mono.description DROP CONSTRAINT description_check" >/dev/null
for i in $(seq 10 39); do
	t7_sql "INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
	        VALUES ('BIG78ROW$i', '23480780000$i', 100, 'big ' || repeat('x', 50000000), 'onetime')" >/dev/null
done
t7_sql "ALTER DOMAIN mono.description ADD CONSTRAINT description_check
        CHECK (char_length(VALUE) <= 255 AND NOT mono.is_blank(VALUE)) NOT VALID" >/dev/null
charge 2348078100001 OKAY78A01
charge 2348078100002 OKAY78A02
ok "wait_for \"SELECT count(*) = 30 FROM mono.fund_requests WHERE reference LIKE 'BIG78ROW%' AND status = 'failed'\" 60" \
	"A: each 50 MB row fails on its own"
is "$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE reference LIKE 'BIG78ROW%' AND last_error LIKE '%its description is longer than the 255 characters Mono takes'")" 30 \
	"A: and its last_error names the description"
ok "wait_for \"SELECT count(*) = 2 FROM mono.fund_requests WHERE reference LIKE 'OKAY78A%' AND status = 'awaiting_authorization'\" 30" \
	"A: the charges queued with them are sent"
is "$(t7_worker_pid)" "$pid0" "A: the worker never restarted"
is "$(sim get requests | python3 -c 'import json,sys; r=json.load(sys.stdin)["by_reference"]; print(sum(1 for k in r if k.startswith("BIG78")))')" 0 \
	"A: Mono never received one of them"

# ---------------------------------------------------------------- B
charge 2348078200001 HOLD78FR
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'HOLD78FR'\" 30" \
	"B: the request to be held is sent"
sim post accounts '{"id":"acc78hold","balance":700,"transactions":[{"id":"t78","amount":300,"type":"credit","date":"2026-11-02T08:00:00Z"}]}' >/dev/null
t7_set account_refresh_interval 1
t7_sql "SELECT 1 FROM mono_account_sync('acc78hold')" >/dev/null # tracked, due every second
# the application: one transaction holds the request's row, another calls
# mono_account_sync again and stays open; both for 15 s. Meanwhile the
# customer approves (the worker's next read must record it) and the
# account falls due for its refresh every second.
sql "BEGIN; SELECT 1 FROM mono.fund_requests WHERE reference = 'HOLD78FR' FOR UPDATE; SELECT pg_sleep(15); COMMIT" >/dev/null 2>&1 &
holder1=$!
sql "BEGIN; SELECT 1 FROM mono_account_sync('acc78hold'); SELECT pg_sleep(15); COMMIT" >/dev/null 2>&1 &
holder2=$!
wait_for "SELECT count(*) = 2 FROM pg_stat_activity WHERE query LIKE 'BEGIN; SELECT 1 FROM mono%' AND wait_event = 'PgSleep'" 10 || true
sim post fund-requests/HOLD78FR/approve >/dev/null
sleep 3 # the worker's polling read and the account's refresh meet the locks
charge 2348078200002 OKAY78B01
charge 2348078200003 OKAY78B02
ok "wait_for \"SELECT count(*) = 2 FROM mono.fund_requests WHERE reference LIKE 'OKAY78B%' AND status = 'awaiting_authorization'\" 8" \
	"B: charges queued while the rows are held are sent before they are released"
is "$(status_of HOLD78FR)" awaiting_authorization "B: the held request waits for its holder"
wait "$holder1" "$holder2"
released=$(t7_sql "SELECT now()")
ok "wait_for \"SELECT status = 'approved' FROM mono.fund_requests WHERE reference = 'HOLD78FR'\" 15" \
	"B: once released, the held request is settled by the next read"
ok "wait_for \"SELECT last_synced_at > '$released' FROM mono.accounts WHERE account_id = 'acc78hold'\" 15" \
	"B: and the held account is refreshed again"
t7_set account_refresh_interval 3600

# ---------------------------------------------------------------- C
charge 2348078300001 DUPE78AAA
charge 2348078300002 DUPE78BBB
wait_for "SELECT count(*) = 2 FROM mono.fund_requests WHERE reference LIKE 'DUPE78%' AND status = 'awaiting_authorization'" 30 || true
sim post fund-requests/DUPE78AAA/approve >/dev/null
sim post fund-requests/DUPE78BBB/approve >/dev/null
ok "wait_for \"SELECT count(*) = 2 FROM mono.fund_requests WHERE reference LIKE 'DUPE78%' AND mono_id IS NOT NULL\" 30" \
	"C: both requests learn their Mono ids from reads"
# row B now claims A's Mono id; A is to be settled by a read of its reference
mono_a=$(t7_sql "SELECT mono_id FROM mono.fund_requests WHERE reference = 'DUPE78AAA'")
t7_sql "UPDATE mono.fund_requests SET mono_id = NULL, status = 'unknown', next_attempt_at = now() WHERE reference = 'DUPE78AAA';
        UPDATE mono.fund_requests SET mono_id = '$mono_a' WHERE reference = 'DUPE78BBB'" >/dev/null
pid1=$(t7_worker_pid)
# (refused by the worker as naming another request's reference (issue 22),
# or by the database's unique Mono id: either way kept aside, with why)
ok "wait_for \"SELECT count(*) >= 1 FROM mono.webhook_events WHERE outcome = 'rejected' AND mono_ref = '$mono_a' AND (error LIKE '%fund_requests_mono_id%' OR error LIKE '%names another reference%')\" 30" \
	"C: the read that names a Mono id another row holds is kept aside, with its error"
charge 2348078300003 OKAY78C01
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'OKAY78C01'\" 30" \
	"C: the next charge is sent"
is "$(t7_worker_pid)" "$pid1" "C: the worker never restarted"

# ---------------------------------------------------------------- D
log=$MONO_TMP/postgres.log
t7_sql "DROP DATABASE IF EXISTS mono_later" >/dev/null
t7_sql "ALTER SYSTEM SET mono_pay.database_name = 'mono_later'" >/dev/null
from=$(($(wc -l <"$log") + 1))
cluster_restart
sleep 5
fatals=$(tail -n +"$from" "$log" | grep -c 'FATAL:  database "mono_later" does not exist' || true)
warnings=$(tail -n +"$from" "$log" | grep -c 'WARNING:  mono_pay worker: database "mono_later" does not exist' || true)
diag "in 5 s: $fatals FATAL, $warnings WARNING"
ok "[ $fatals -le 1 ] && [ $warnings -eq 1 ]" "D: a missing database gives one warning (and at most one FATAL) in 5 s"
t7_sql "CREATE DATABASE mono_later" >/dev/null
ok "wait_for \"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'mono_pay worker' AND datname = 'mono_later'\" 30" \
	"D: the worker connects once the database exists"
t7_sql "ALTER SYSTEM RESET mono_pay.database_name" >/dev/null
cluster_restart
t7_sql "DROP DATABASE mono_later WITH (FORCE)" >/dev/null
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'mono_pay worker' AND datname = current_database()" 30 || true

t7_restore
done_testing

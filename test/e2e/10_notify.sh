#!/usr/bin/env bash
# test/e2e/10_notify.sh: a LISTEN session receives the mono_pay
# notifications: {table, id, reference, status} for every status change of a
# fund request (sending -> awaiting_authorization once queued, then created,
# approved from a webhook) and of a link, and one per instalment the worker
# marks missed ({table: schedule, id, seq, reference, status: missed}),
# every payment ({table: payments, id, reference, status, fund_request_id})
# and every instalment paid.
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

# Start a session that LISTENs on mono_pay until CONDITION (SQL) holds,
# writing what psql prints to FILE: listen_until FILE CONDITION [SECONDS]
listen_until() {
	local file=$1 cond=$2 secs=${3:-20}
	PGAPPNAME=mono_qa_listener timeout $((secs + 10)) "$PG_BIN/psql" -X -q -A -t \
		-c "LISTEN mono_pay" \
		-c "SELECT mono_test.wait_until(\$qa\$$cond\$qa\$, '$secs seconds')" \
		-c "SELECT 'listener done'" >"$file" 2>&1 &
	LISTENER=$!
	wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'mono_qa_listener'
	            AND state = 'active' AND query LIKE '%wait_until%'" 10
}

# The JSON payloads psql printed, one per line.
payloads() {
	sed -n 's/^Asynchronous notification "mono_pay" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' "$1"
}

# The statuses notified for one row: statuses FILE TABLE FIELD VALUE
statuses() {
	payloads "$1" | python3 -c '
import json, sys
table, field, value = sys.argv[1:4]
out = []
for line in sys.stdin:
    p = json.loads(line)
    if p.get("table") == table and str(p.get(field)) == value:
        out.append(p["status"])
print(" ".join(out))' "$2" "$3" "$4"
}

plan 17

sim reset
sim user 2348011111111 active
sim user 2348022222222 active
sim user 2348033333333 active
sql "ALTER SYSTEM RESET ALL" >/dev/null
# the instalments below are missed after a grace of 1 day (the default is 5 days)
sql "ALTER SYSTEM SET mono_pay.schedule_grace = '1 day'" >/dev/null
reload_conf
wait_for "SELECT in_flight = 0 FROM mono_worker_status()" 15 || true
sql "TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
     mono.webhook_events RESTART IDENTITY CASCADE" >/dev/null

# ----------------------------------------------------------------------
# queued -> sending -> awaiting_authorization, for a charge and a link
# ----------------------------------------------------------------------
out1=$MONO_TMP/notify.$$.1
listen_until "$out1" "(SELECT count(*) = 2 FROM mono.fund_requests WHERE status = 'awaiting_authorization')
	AND (SELECT count(*) = 1 FROM mono.beneficiaries WHERE status = 'awaiting_authorization')"
ok "kill -0 $LISTENER" "a session LISTENs on mono_pay"

ref=NOTIFY00000001
fr_id=$(sql "SELECT id FROM mono_charge('2348011111111', 5000, 'Notified charge', '$ref')")
ben_id=$(sql "SELECT id FROM mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789',
                                                   NULL, 7000, 'Notified first charge')")
first_id=$(sql "SELECT id FROM mono.fund_requests WHERE link_id = $ben_id")
wait "$LISTENER"
is "$(tail -n 1 "$out1")" "listener done" "the listener saw both rows accepted by Mono"

# The row is inserted as queued by the application's transaction; that
# insert is not notified (a NOTIFY there would forbid PREPARE TRANSACTION):
# every change from then on is.
after_insert() {
	sed 's/^queued //'
}
is "$(statuses "$out1" fund_requests id "$fr_id" | after_insert)" "sending awaiting_authorization" \
	"the charge's notifications: sending, then awaiting_authorization"
is "$(statuses "$out1" fund_requests reference "$ref" | after_insert)" "sending awaiting_authorization" \
	"they carry the charge's reference"
is "$(statuses "$out1" beneficiaries id "$ben_id" | after_insert)" "sending awaiting_authorization" \
	"the link's notifications: sending, then awaiting_authorization"
is "$(statuses "$out1" fund_requests id "$first_id" | after_insert)" "sending awaiting_authorization" \
	"the link's first charge is notified as it follows the link"
diag "notified for the charge: $(statuses "$out1" fund_requests id "$fr_id")"
keys=$(payloads "$out1" | python3 -c '
import json, sys
print(" ".join(sorted({",".join(sorted(json.loads(l))) for l in sys.stdin})))')
is "$keys" "id,reference,status,table" "every payload has exactly table, id, reference, status"
like "$(payloads "$out1" | grep "\"fund_requests\",\"id\":${fr_id}[,}]" | head -n 1)" "\"reference\":\"$ref\"" \
	"a payload names the reference: $(payloads "$out1" | grep "\"fund_requests\",\"id\":${fr_id}[,}]" | head -n 1)"
unlike "$(cat "$out1")" "$MONO_SECRET_KEY" "no payload carries the API key"

# ----------------------------------------------------------------------
# A webhook's change, and the worker's missed instalments
# ----------------------------------------------------------------------
rec=NOTIFYRECUR001
out2=$MONO_TMP/notify.$$.2
listen_until "$out2" "(SELECT count(*) = 2 FROM mono.instalments WHERE reference = '$rec' AND status = 'missed')
	AND (SELECT status = 'approved' FROM mono.fund_requests WHERE reference = '$ref')"
# daily from 71 h ago: the instalments of 71 h and 47 h ago are past their
# 1-day grace (missed), the one of 23 h ago is only due
# (its own phone: NOTIFY00000001 still awaits the customer in mono.fund_requests
# until its webhooks come, and Mono takes one prompt per phone at a time)
rec_id=$(sql "SELECT mono_test.backdate(id, date_trunc('second', now()) - interval '71 hours',
                                                date_trunc('second', now()) + interval '2 days')
                 FROM mono_charge('2348033333333', 3000, 'Daily, notified', '$rec', 'day', 1, now())")
sim post "fund-requests/$ref/approve" >/dev/null
# only a plan the customer approved can miss an instalment (issue 22)
wait_for "SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = '$rec'" 15 || true
sim post "fund-requests/$rec/approve" >/dev/null
"$MONO_TEST_LIB/deliver-webhooks" --quiet >/dev/null
wait "$LISTENER"
is "$(tail -n 1 "$out2")" "listener done" "the listener saw the instalments missed and the charge approved"
is "$(statuses "$out2" fund_requests id "$fr_id")" "created approved" \
	"the webhooks' changes are notified too: created, approved"
missed=$(payloads "$out2" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
# one sweep marks them together: the order within it is not a promise
print(" ".join("%s/%s/%s/%s" % (p["id"], p.get("seq"), p.get("reference"), p["status"])
               for p in sorted(rows, key=lambda p: p.get("seq") or 0)
               if p.get("table") == "schedule"))')
is "$missed" "$rec_id/1/$rec/missed $rec_id/2/$rec/missed" \
	"one notification per missed instalment: {table: schedule, id, seq, reference, status: missed}"
is "$(sql "SELECT string_agg(status::text, ' ' ORDER BY seq) FROM mono.schedule WHERE fund_request_id = $rec_id AND due_at < now()")" \
	"missed missed due" "the instalment of 23 h ago is due, not missed (nothing notified for it)"

# ----------------------------------------------------------------------
# A recurring debit: the payment, and the instalment it pays
# ----------------------------------------------------------------------
out3=$MONO_TMP/notify.$$.3
sim post "fund-requests/$rec/approve" >/dev/null
"$MONO_TEST_LIB/deliver-webhooks" --quiet >/dev/null
wait_for "SELECT status IN ('approved', 'active') FROM mono.fund_requests WHERE reference = '$rec'" 20 || true
listen_until "$out3" "(SELECT count(*) = 1 FROM mono.schedule WHERE fund_request_id = $rec_id AND status = 'paid')"
sim post "fund-requests/$rec/debit" '{"status": "successful"}' >/dev/null
"$MONO_TEST_LIB/deliver-webhooks" --quiet >/dev/null
wait "$LISTENER"
is "$(tail -n 1 "$out3")" "listener done" "the listener saw an instalment paid"
pay_id=$(sql "SELECT id FROM mono.payments WHERE fund_request_id = $rec_id")
paid_seq=$(sql "SELECT seq FROM mono.schedule WHERE fund_request_id = $rec_id AND status = 'paid'")
pay_ref=$(sql "SELECT reference FROM mono.payments WHERE id = $pay_id")
is "$(payloads "$out3" | python3 -c '
import json, sys
for l in sys.stdin:
    p = json.loads(l)
    if p.get("table") == "payments":
        print("%s %s %s %s %s" % (p["id"], p["reference"], p["status"], p["fund_request_id"], ",".join(sorted(p))))')" \
	"$pay_id $pay_ref successful $rec_id fund_request_id,id,reference,status,table" \
	"a payment is notified once: {table: payments, id, reference, status, fund_request_id}"
is "$(payloads "$out3" | python3 -c '
import json, sys
print(" ".join("%s/%s/%s" % (p["seq"], p["reference"], p["status"]) for p in map(json.loads, sys.stdin) if p.get("table") == "schedule"))')" \
	"$paid_seq/$rec/paid" "and the instalment it pays: {table: schedule, id, seq, reference, status: paid}"
unlike "$(cat "$out3")" '"amount"' "no payload carries an amount"

rm -f "$out1" "$out2" "$out3"
# leave nothing behind for the worker to send or poll during later scripts
sql "TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
     mono.webhook_events RESTART IDENTITY CASCADE" >/dev/null
done_testing

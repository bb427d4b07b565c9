#!/usr/bin/env bash
# test/e2e/86_ha_orphans.sh: orphans are found, not silent (issue 12). A
# charge Mono holds but the database lost (here: deleted after it was
# sent, as a lost failover or an old restore would) gets webhooks and a
# debit that name a reference and Mono ids the database does not know:
# they are listed in mono.orphans, and a LISTEN mono_pay session hears of
# each ({"table": "orphans", ..., "status": "unmatched"}).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 5

t7_fresh
sim user 2348083000001 active >/dev/null
t7_sql "SELECT mono_charge('2348083000001', 4200, 'Lost by the database', 'HAORPHAN0001')" >/dev/null
wait_for "SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'HAORPHAN0001'" 30 ||
	bail_out "the charge was not sent"
t7_sql "DELETE FROM mono.fund_requests WHERE reference = 'HAORPHAN0001'" >/dev/null
is "$(t7_sql "SELECT count(*) FROM mono.orphans")" 0 "no orphans before Mono speaks of the lost charge"

sim post fund-requests/HAORPHAN0001/approve >/dev/null
sim post fund-requests/HAORPHAN0001/debit '{"status":"successful"}' >/dev/null
PGAPPNAME=mono_ha_listener timeout 40 "$PG_BIN/psql" -X -q -A -t -c "LISTEN mono_pay" \
	-c "SELECT mono_test.wait_until(\$q\$(SELECT count(*) FILTER (WHERE kind = 'payment') >= 1 AND count(*) >= 2 FROM mono.orphans)\$q\$, '25 seconds')" \
	>"$MONO_TMP/orphans.listen" 2>&1 &
listener=$!
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'mono_ha_listener' AND query LIKE '%wait_until%'" 10
"$MONO_TEST_LIB/deliver-webhooks" >"$MONO_TMP/orphans.deliver" 2>&1
diag "$(cat "$MONO_TMP/orphans.deliver")"
wait "$listener" || true
diag "orphans: $(t7_sql "SELECT string_agg(kind || ' ' || coalesce(detail, '') || ' ' || coalesce(reference, ''), '; ' ORDER BY seen_at, kind) FROM mono.orphans")"
ok "[ \"\$(t7_sql \"SELECT count(*) FROM mono.orphans WHERE kind = 'event' AND reference = 'HAORPHAN0001'\")\" -ge 1 ]" \
	"the events naming the unknown reference are listed in mono.orphans"
is "$(t7_sql "SELECT count(*) FROM mono.orphans WHERE kind = 'payment' AND amount = 4200")" 1 \
	"the debit of the unknown fund request is listed, with its amount"
ok "grep -q '\"table\" : \"orphans\", \"kind\" : \"event\"' \"$MONO_TMP/orphans.listen\"" \
	"a LISTEN mono_pay session hears of the unmatched event"
ok "grep -q '\"table\" : \"orphans\", \"kind\" : \"payment\"' \"$MONO_TMP/orphans.listen\"" \
	"and of the payment nobody expected"
done_testing

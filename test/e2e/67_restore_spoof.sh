#!/usr/bin/env bash
# test/e2e/67_restore_spoof.sh: application_name = 'pg_restore', which any
# session can set, gains nothing (issue 23, item 7; doc/ha.md "Restores and
# clones"). What marks a restore is not the name but the rows: an insert
# whose created_at is not now() (a COPY of a dump) records 'restored rows'
# in mono.node_identity and pauses the worker, whatever the session calls
# itself. A session that calls itself pg_restore and charges as an
# application does is sent as any other (the name only skips the reference
# triggers, as pg_restore -j needs).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=8_ha.bash
. "$here/8_ha.bash"

plan 6

t7_fresh
ha_cluster && create_test_db mono_test || bail_out "no cluster"
wait_for "SELECT state = 'running' FROM mono_worker_status()" 30 || bail_out "the worker does not run"
sim user 2348084000001 active >/dev/null
sim user 2348084000002 active >/dev/null

PGAPPNAME=pg_restore t7_sql "SELECT current_setting('application_name'), mono_charge('2348084000001', 5100, 'Spoofed name', 'SPOOF000001')" >"$MONO_TMP/spoof1.out"
like "$(cat "$MONO_TMP/spoof1.out")" "pg_restore|(" "a session sets application_name = 'pg_restore'"
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'SPOOF000001'\" 30" \
	"a charge made normally under that name is sent as any other"
is "$(t7_sql "SELECT count(*) FROM mono.node_identity WHERE recorded_by = 'restored rows'")" 0 \
	"the name alone marks no restore"

before=$(ha_requests)
# (another phone: SPOOF000001 awaits the customer, and Mono takes a phone's
# next prompt only once its earlier one is answered; only the pause may
# hold this row back)
PGAPPNAME=pg_restore t7_sql "INSERT INTO mono.fund_requests (reference, phone, amount, description, type, created_at)
                             VALUES ('SPOOF000002', '2348084000002', 5200, 'An old row', 'onetime', now() - interval '1 day')" >/dev/null
ok "wait_for \"SELECT state LIKE 'paused:%' FROM mono_worker_status()\" 30" \
	"a row with an old created_at, inserted under that name, pauses the worker (a restore)"
sleep 2
is "$(ha_requests)" "$before" "and nothing more reaches Mono"
is "$(t7_sql "SELECT status FROM mono.fund_requests WHERE reference = 'SPOOF000002'")" queued \
	"the row waits, queued, for mono_resume()"
done_testing

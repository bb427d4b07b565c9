#!/usr/bin/env bash
# test/e2e/93_receiver_db_restart.sh: the database restarts during a
# delivery storm. The simulator (4 delivery threads, retrying what was not
# answered 200, as Mono does) delivers N events through mono_pay_receiver;
# a third of the way, PostgreSQL stops (fast) and starts again 2 s later.
# Meanwhile the receiver answers 503 (and /healthz says 503); it reconnects
# with a backoff and logs one line when the outage starts and one when it
# ends, not one per request; afterwards every event is stored once and
# every delivery got its 200 at last (none given up).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=7_receiver.bash
. "$here/7_receiver.bash"

trap 't7_receiver_stop; t7_cleanup' EXIT
N=${MONO_RECEIVER_STORM:-200}

plan 7

t7_fresh
RX_SIM_ARGS="--webhook-retries 8 --webhook-retry-base 0.2" t7_receiver_start
base=$(t7_settled_deliveries)
outages_before=$(grep -c 'database unavailable' "$MONO_TMP/receiver.log" || true)

(for i in $(seq 1 "$N"); do
	sim post webhooks/emit "{\"event\":\"owo.test.restart\",\"event_id\":\"evt93_$i\",\"data\":{\"id\":\"x93\"}}" >/dev/null || exit 1
done) &
storm=$!
# stop the database once a third of them were delivered
t7_wait_count $((base + N / 3)) || true
cluster_stop fast
diag "PostgreSQL stopped after $(($(t7_deliveries delivered) - base)) of $N deliveries"
sleep 1
health=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$RX_STATUS/healthz")
sleep 1
cluster_start || t7_gone "the cluster did not start again"
wait "$storm"
ok "[ $? -eq 0 ]" "the simulator took all $N events"
is "$health" 503 "/healthz answered 503 while the database was down"

t7_wait_delivered "$base" "$N" || true
diag "deliveries: $(sim get webhooks/deliveries | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("deliveries"); print(json.dumps(d))')"
ok "[ $(t7_deliveries by_503) -gt 0 ]" "deliveries during the outage were answered 503 ($(t7_deliveries by_503))"
is "$(($(t7_deliveries delivered) - base)) $(t7_deliveries gave_up)" "$N 0" "every event was answered 200 at last, none given up"
is "$(t7_sql "SELECT count(*), count(DISTINCT event_id) FROM mono.webhook_events WHERE event = 'owo.test.restart'" -F ' ')" \
	"$N $N" "every event is stored, once"
grep 'database' "$MONO_TMP/receiver.log" | tail -n 4 | while read -r line; do diag "receiver: $line"; done
is "$(($(grep -c 'database unavailable' "$MONO_TMP/receiver.log") - outages_before))" 1 \
	"the receiver logged the outage once (not once a request)"
is "$(curl -s --max-time 5 "$RX_STATUS/healthz")" ok "/healthz: ok again"

done_testing

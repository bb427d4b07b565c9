#!/usr/bin/env bash
# test/e2e/92_receiver_kill.sh: kill -9 of mono_pay_receiver during a
# delivery storm loses and doubles nothing, and costs the database nothing.
# The simulator (4 delivery threads, retrying what was not answered 200, as
# Mono does) delivers the payment events of N debits of one approved
# recurring charge; the receiver is killed with SIGKILL while deliveries are
# under way, and started again a second later (as systemd's Restart= does).
# Afterwards: the postmaster is the same, no server process ended
# abnormally, a bystander session is still connected; every event is in
# mono.webhook_events once, every debit is one payment, and every delivery
# got its 200 at last (none given up). (0.2.0's in-server receiver: its
# kill -9 restarted the whole cluster.)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=7_receiver.bash
. "$here/7_receiver.bash"

trap 't7_receiver_stop; t7_cleanup' EXIT
N=${MONO_RECEIVER_STORM:-300}
P=2348080000001
REF=RX80STORM0001

plan 10

t7_fresh
RX_SIM_ARGS="--webhook-retries 8 --webhook-retry-base 0.2" t7_receiver_start
ok "kill -0 $RX_PID" "the receiver runs"
t7_witness_start
postmaster=$T7_POSTMASTER
t7_set poll_base 1h poll_max 1h
sim user "$P" active
t7_sql "SELECT mono_charge('$P', 9000, 'Storm 80', '$REF', 'week', 1, now(), now() + interval '30 weeks')" >/dev/null
wait_for "SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = '$REF'" 20 >/dev/null
sim post "fund-requests/$REF/approve" >/dev/null
wait_for "SELECT mono.fund_request_rank(status) BETWEEN 4 AND 6 FROM mono.fund_requests WHERE reference = '$REF'" 20 >/dev/null
base=$(t7_settled_deliveries)
t7_sql "CHECKPOINT" >/dev/null

# the storm: N debits (N payment events) posted from the background
(for i in $(seq 1 "$N"); do
	sim post "fund-requests/$REF/debit" "{\"status\":\"successful\",\"reference\":\"dbt80$(printf '%06d' "$i")\"}" >/dev/null || exit 1
done) &
storm=$!
# kill the receiver once a third of them were delivered
t7_wait_count $((base + N / 3)) || true
victim=$RX_PID
kill -KILL "$victim"
diag "killed the receiver (pid $victim) after $(($(t7_deliveries delivered) - base)) of $N deliveries"
sleep 1
t7_receiver_run
ok "[ '$victim' != '$RX_PID' ] && kill -0 $RX_PID" "the receiver started again (pid $RX_PID)"
wait "$storm"
ok "[ $? -eq 0 ]" "the simulator took all $N debits"

# every delivery answered 200 in the end
t7_wait_delivered "$base" "$N" || true
diag "deliveries: $(sim get webhooks/deliveries | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("deliveries"); print(json.dumps(d))')"
is "$(($(t7_deliveries delivered) - base)) $(t7_deliveries gave_up)" "$N 0" "every webhook was answered 200 at last, none given up"
ok "[ $(t7_deliveries retried) -gt 0 ]" "some deliveries were cut by the kill and retried"
is "$(t7_sql "SELECT count(*), count(DISTINCT event_id) FROM mono.webhook_events WHERE event = 'owo.payment.successful'" -F ' ')" \
	"$N $N" "every payment event is stored, once"
is "$(t7_sql "SELECT count(*), count(DISTINCT p.mono_id) FROM mono.payments p JOIN mono.fund_requests f ON f.id = p.fund_request_id
               WHERE f.reference = '$REF'" -F ' ')" "$N $N" "every debit is one payment: applied exactly once"
diag "receiver counts (the new process): applied $(t7_rx applied) duplicate $(t7_rx duplicate) unavailable $(t7_rx unavailable)"
is "$(t7_sql "SELECT count(*) FROM mono.webhook_events WHERE event = 'owo.payment.successful' AND outcome <> 'applied'")" 0 \
	"each was applied (none left ignored)"

t7_witness_end
is "$T7_SAME" same "a bystander session stayed connected throughout (the same backend answers)"
is "$T7_AFTER" "$postmaster 0" \
	"the same postmaster; no server process ended abnormally (no crash restart)"

done_testing

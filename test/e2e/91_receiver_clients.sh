#!/usr/bin/env bash
# test/e2e/91_receiver_clients.sh: slow, silent and greedy clients cannot
# exhaust the webhook receiver (mono_pay.webhook_max_connections 10,
# webhook_read_timeout 1.5 s, webhook_max_header_size 8kB), each refusal is
# counted by reason in mono_receiver_status(), and the receiver serves
# normally once they are gone. Clients: test/lib/slow-client (bounded).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=7_receiver.bash
. "$here/7_receiver.bash"

trap 't7_receiver_stop; t7_cleanup' EXIT
SLOW=$MONO_TEST_LIB/slow-client
H=(-H "mono-webhook-secret: $MONO_WEBHOOK_SECRET")

plan 14

t7_fresh
t7_receiver_start webhook_max_connections 10 webhook_read_timeout 1500ms webhook_max_header_size 8kB
ok "wait_for 'SELECT running FROM mono_receiver_status()' 20" "the receiver runs"

# headers past webhook_max_header_size
hdr=$(python3 -c 'print("x" * 12000)')
is "$(t7_post "$RX_URL" "${H[@]}" -H "X-Big: $hdr" --data-binary '{"event":"owo.test"}' | cut -c1-3)" 431 \
	"headers past webhook_max_header_size: 431"
ok "wait_for 'SELECT rejected_header_too_large = 1 FROM mono_receiver_status()' 5" "counted as rejected_header_too_large"

# 15 clients trickling their headers: 5 refused at once, 10 closed at the read timeout
out=$("$SLOW" headers "$RX_PORT" 15 10)
diag "slow headers: $out"
is "$(t7_field "$out" closed_by_server)/$(t7_field "$out" still_open)" "15/0" \
	"15 clients trickling their headers: the receiver closed every one within 10 s"
is "$(t7_rx rejected_connection_limit)" 5 "5 past webhook_max_connections were refused at once (rejected_connection_limit)"
is "$(t7_rx rejected_timeout)" 10 "the 10 others were closed at webhook_read_timeout (rejected_timeout)"

# a body trickled after complete headers; and connections that say nothing
out=$("$SLOW" body "$RX_PORT" 3 10)
diag "slow body: $out; counters: $(t7_sql "SELECT rejected_not_json, rejected_timeout, rejected_unauthorized FROM mono_receiver_status()")"
is "$(t7_field "$out" closed_by_server)" 3 "3 clients trickling their body: closed"
out=$("$SLOW" silent "$RX_PORT" 3 10)
diag "silent: $out"
is "$(t7_field "$out" closed_by_server)/$(t7_field "$out" answered)" "3/0" "3 silent (half-open) clients: closed, nothing answered"
is "$(t7_rx rejected_timeout)" 16 "all 6 counted as rejected_timeout"
is "$(t7_sql "SELECT count(*) FROM mono.webhook_events")" 0 "nothing was stored from any of them"
ok "wait_for 'SELECT connections = 0 FROM mono_receiver_status()' 10" "no connection is left open"

# and the receiver still serves
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary '{"event":"owo.test.after","event_id":"evt79"}')" '200 {"result":"ignored"}' \
	"a webhook after them: 200"
# a large event (100 kB, under the default webhook_max_size of 256kB) goes
# through although a connection's header memory is 8kB
big=$(python3 -c 'print("{\"event\":\"owo.test.big\",\"event_id\":\"evt79big\",\"pad\":\"" + "x" * 100000 + "\"}")')
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary "$big")" '200 {"result":"ignored"}' \
	"a 100 kB event: 200, stored whole"
is "$(t7_rx "applied + duplicate + ignored") $(t7_sql "SELECT max(length(body ->> 'pad')) FROM mono.webhook_events")" "2 100000" \
	"they are the only events answered 200; the large one is stored whole"

done_testing

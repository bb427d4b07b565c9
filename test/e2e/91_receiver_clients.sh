#!/usr/bin/env bash
# test/e2e/91_receiver_clients.sh: slow, silent and greedy clients cannot
# exhaust mono_pay_receiver (--max-per-address 10, --read-timeout 1500,
# --max-header 8192), and cannot starve Mono:
#   1. 100 idle connections from one address (127.0.0.2) while Mono (the
#      simulator, from 127.0.0.1) delivers 40 events: at least 90% of the
#      deliveries are answered 200 at their first attempt (the simulator
#      waits 5 s for an answer), and every event is stored.
#   2. Headers past --max-header: 431. Clients trickling their headers or
#      body, or silent, are closed at the read timeout; those past the
#      per-address limit are refused at once; /metrics counts the timeouts;
#      nothing is stored; no connection is left open; the receiver serves
#      normally afterwards (a 100 kB event included).
# Clients: test/lib/slow-client (bounded) and an inline idle-connection holder.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=7_receiver.bash
. "$here/7_receiver.bash"

trap '[ -n "${holder:-}" ] && kill "$holder" 2>/dev/null; t7_receiver_stop; t7_cleanup' EXIT
SLOW=$MONO_TEST_LIB/slow-client
H=(-H "mono-webhook-secret: $MONO_WEBHOOK_SECRET")
N=40

plan 13

t7_fresh
t7_receiver_start --max-per-address 10 --max-connections 200 --read-timeout 1500 --max-header 8192

# ---- 1. 100 idle connections from one address while Mono delivers ------
python3 - "$RX_PORT" 100 40 >"$MONO_TMP/holder91.out" 2>&1 <<'EOF' &
import socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
held, end = [], time.time() + secs
while time.time() < end:
    # keep N connections open from 127.0.0.2, opening anew what the receiver closes
    held = [s for s in held if s.fileno() >= 0]
    while len(held) < n:
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.settimeout(0.5)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            break
        held.append(s)
    for s in list(held):
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                s.close(); held.remove(s)
        except BlockingIOError:
            pass
        except OSError:
            s.close(); held.remove(s)
    time.sleep(0.05)
print("held", len(held))
EOF
holder=$!
sleep 1
base=$(t7_deliveries attempts)
for i in $(seq 1 $N); do
	sim post webhooks/emit "{\"event\":\"owo.test.starve\",\"event_id\":\"evt91_$i\",\"data\":{\"id\":\"x91\"}}" >/dev/null
done
for _ in $(seq 1 300); do
	[ "$(t7_sql "SELECT count(*) FROM mono.webhook_events WHERE event = 'owo.test.starve'")" -ge $N ] && break
	sleep 0.1
done
first_ok=$(sim get webhooks/deliveries | python3 -c 'import json,sys
d = json.load(sys.stdin)["deliveries"]
print(sum(1 for x in d if (x["event_id"] or "").startswith("evt91_") and x["attempt"] == 1 and x["status"] == 200))')
diag "first attempts answered 200 (within the simulator's 5 s): $first_ok of $N; attempts: $(($(t7_deliveries attempts) - base))"
ok "[ $first_ok -ge $((N * 9 / 10)) ]" "100 idle connections from 127.0.0.2: at least 90% of Mono's deliveries answered 200 at once ($first_ok of $N)"
is "$(t7_sql "SELECT count(*) FROM mono.webhook_events WHERE event = 'owo.test.starve'")" $N "every event is stored"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
holder=

# ---- 2. hostile clients --------------------------------------------------
hdr=$(python3 -c 'print("x" * 12000)')
is "$(t7_post "$RX_URL" "${H[@]}" -H "X-Big: $hdr" --data-binary '{"event":"owo.test"}' | cut -c1-3)" 431 \
	"headers past --max-header: 431"
t0=$(t7_rx timeout)

# 15 clients trickling their headers: 5 refused at once, 10 closed at the read timeout
out=$("$SLOW" headers "$RX_PORT" 15 10)
diag "slow headers: $out"
is "$(t7_field "$out" closed_by_server)/$(t7_field "$out" still_open)" "15/0" \
	"15 clients trickling their headers: the receiver closed every one within 10 s"
is "$(($(t7_rx timeout) - t0))" 10 "the 10 within --max-per-address were closed at --read-timeout (counted: timeout)"

out=$("$SLOW" body "$RX_PORT" 3 10)
diag "slow body: $out"
is "$(t7_field "$out" closed_by_server)" 3 "3 clients trickling their body: closed"
out=$("$SLOW" silent "$RX_PORT" 3 10)
diag "silent: $out"
is "$(t7_field "$out" closed_by_server)/$(t7_field "$out" answered)" "3/0" "3 silent (half-open) clients: closed, nothing answered"
is "$(($(t7_rx timeout) - t0))" 16 "all 16 counted as timeout"
is "$(t7_sql "SELECT count(*) FROM mono.webhook_events WHERE event <> 'owo.test.starve'")" 0 "nothing was stored from any of them"
for _ in $(seq 1 100); do [ "$(t7_rx open)" = 0 ] && break; sleep 0.1; done
is "$(t7_rx open)" 0 "no connection is left open"

# and the receiver still serves
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary '{"event":"owo.test.after","event_id":"evt79"}')" '200 {"result":"ignored"}' \
	"a webhook after them: 200"
big=$(python3 -c 'print("{\"event\":\"owo.test.big\",\"event_id\":\"evt79big\",\"pad\":\"" + "x" * 100000 + "\"}")')
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary "$big")" '200 {"result":"ignored"}' \
	"a 100 kB event: 200, stored whole, although a connection's header memory is 8 kB"
is "$(t7_sql "SELECT max(length(body ->> 'pad')) FROM mono.webhook_events")" 100000 "the large one is stored whole"

done_testing

#!/usr/bin/env bash
# test/e2e/82_examples.sh: the README's webhook endpoints, as written
# (examples/express/server.js with npm's express and pg; examples/flask/app.py
# with Debian's Flask and psycopg), in front of the run's database. Each:
#   - answers 200 applied, then 200 duplicate for the same event;
#   - takes a 150 kB event (express's own default limit is 100 kB);
#   - answers 401 for a wrong secret, 4xx for a body over
#     mono_pay.webhook_max_size, and stores neither;
#   - passes hmac-sha256:<hex> of the body, never the secret nor a digest
#     of it (the server log, with log_statement = all and the parameters of
#     every call, shows neither);
# and express survives PostgreSQL: a restart while it serves, and a
# database down when it starts (503 meanwhile, 200 once it is up; the
# process never dies: the pool's 'error' handler, issue 25).
# The README shows both files verbatim (checked here too).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 20

t7_fresh
t7_sql "ALTER SYSTEM SET log_statement = 'all'" >/dev/null
t7_sql "SELECT pg_reload_conf()" >/dev/null
for f in examples/express/server.js examples/flask/app.py; do
	ok "python3 -c 'import sys; sys.exit(open(sys.argv[2]).read() not in open(sys.argv[1]).read())' '$MONO_ROOT/README.md' '$MONO_ROOT/$f'" \
		"README shows $f as it is"
done

# An owo event body of about SIZE bytes (padding in a field mono_pay ignores): body ID SIZE
body() {
	python3 -c 'import json, sys
eid, size = sys.argv[1], int(sys.argv[2])
e = {"event": "owo.payment.successful", "event_id": eid, "timestamp": "2026-12-01T10:00:00Z",
     "data": {"id": "pay_" + eid, "fund_request": "frq_ex82", "status": "successful", "amount": 500,
              "currency": "NGN", "processed_at": "2026-12-01T10:00:00Z", "note": ""}}
e["data"]["note"] = "x" * max(0, size - len(json.dumps(e)))
print(json.dumps(e), end="")' "$1" "$2"
}

# POST a body to URL with SECRET; prints the status code and the answer: post URL SECRET FILE
post() {
	curl -s --max-time 10 -o "$MONO_TMP/ex82.out" -w '%{http_code}' -H 'content-type: application/json' \
		-H "mono-webhook-secret: $2" --data-binary @"$3" "$1"
	printf ' %s' "$(head -c 40 "$MONO_TMP/ex82.out")"
}

# Check one endpoint: check NAME URL
check() {
	local name=$1 url=$2
	body "evt_${name}_1" 300 >"$MONO_TMP/ex82.small"
	body "evt_${name}_2" 150000 >"$MONO_TMP/ex82.mid"
	body "evt_${name}_3" 300000 >"$MONO_TMP/ex82.big"
	is "$(post "$url" "$MONO_WEBHOOK_SECRET" "$MONO_TMP/ex82.small")" "200 applied" "$name: an event is taken (200 applied: a payment, kept until its request is known)"
	is "$(post "$url" "$MONO_WEBHOOK_SECRET" "$MONO_TMP/ex82.small")" "200 duplicate" "$name: the same event again: 200 duplicate"
	is "$(post "$url" "$MONO_WEBHOOK_SECRET" "$MONO_TMP/ex82.mid")" "200 applied" "$name: a 150 kB event is taken"
	is "$(post "$url" "wrong-$MONO_WEBHOOK_SECRET" "$MONO_TMP/ex82.small" | cut -c1-3)" 401 "$name: a wrong secret: 401"
	code=$(post "$url" "$MONO_WEBHOOK_SECRET" "$MONO_TMP/ex82.big" | cut -c1-3)
	ok "[ '${code:0:1}' = 4 ]" "$name: a body over mono_pay.webhook_max_size: 4xx ($code)"
	is "$(t7_sql "SELECT string_agg(event_id, ' ' ORDER BY event_id) FROM mono.webhook_events WHERE event_id LIKE 'evt\_${name}\_%'")" \
		"evt_${name}_1 evt_${name}_2" "$name: exactly the two good events are stored"
}

# Wait until URL answers anything: up URL
up() {
	for _ in $(seq 1 100); do
		curl -s --max-time 2 -o /dev/null "$1" && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- Flask
fport=$(free_port)
(cd "$MONO_ROOT/examples/flask" && exec env -u PGOPTIONS /usr/bin/python3 -m flask --app app run --host 127.0.0.1 --port "$fport") \
	>"$MONO_TMP/flask82.log" 2>&1 &
flask_pid=$!
trap 'kill $flask_pid ${node_pid:-} 2>/dev/null; t7_restore' EXIT
up "http://127.0.0.1:$fport/" || diag "flask did not start: $(tail -n 5 "$MONO_TMP/flask82.log")"
check flask "http://127.0.0.1:$fport/mono/webhooks"
kill "$flask_pid" 2>/dev/null || true

# ---------------------------------------------------------------- express
edir=$MONO_TMP/express82
mkdir -p "$edir"
cp "$MONO_ROOT/examples/express/server.js" "$edir/"
(cd "$edir" && timeout 300 npm install --no-audit --no-fund --loglevel=error express@4 pg@8) >"$MONO_TMP/npm82.log" 2>&1 ||
	diag "npm install failed: $(tail -n 5 "$MONO_TMP/npm82.log")"
eport=$(free_port)
(cd "$edir" && exec env -u PGOPTIONS PORT="$eport" node server.js) >"$MONO_TMP/express82.log" 2>&1 &
node_pid=$!
up "http://127.0.0.1:$eport/" || diag "express did not start: $(tail -n 5 "$MONO_TMP/express82.log")"
check express "http://127.0.0.1:$eport/mono/webhooks"

# POST until 200 (5 tries, as Mono retries): post_retry URL FILE
post_retry() {
	local out _
	for _ in 1 2 3 4 5; do
		out=$(post "$1" "$MONO_WEBHOOK_SECRET" "$2")
		[ "${out:0:3}" = 200 ] && break
		sleep 0.5
	done
	echo "$out"
}
cluster_restart fast || t7_gone "the cluster did not restart"
body evt_express_4 300 >"$MONO_TMP/ex82.after"
is "$(post_retry "http://127.0.0.1:$eport/mono/webhooks" "$MONO_TMP/ex82.after")" "200 applied" \
	"express: after PostgreSQL restarted under it, an event is taken"
ok "kill -0 $node_pid" "express: the process survived the restart (pool 'error' handled)"
kill "$node_pid" 2>/dev/null || true
wait "$node_pid" 2>/dev/null || true

# the database down when express starts
cluster_stop fast
(cd "$edir" && exec env -u PGOPTIONS PORT="$eport" node server.js) >>"$MONO_TMP/express82.log" 2>&1 &
node_pid=$!
up "http://127.0.0.1:$eport/" || diag "express did not start: $(tail -n 5 "$MONO_TMP/express82.log")"
body evt_express_5 300 >"$MONO_TMP/ex82.down"
is "$(post "http://127.0.0.1:$eport/mono/webhooks" "$MONO_WEBHOOK_SECRET" "$MONO_TMP/ex82.down" | cut -c1-3)" 503 \
	"express: with the database down, 503 (Mono retries)"
cluster_start || t7_gone "the cluster did not start"
is "$(post_retry "http://127.0.0.1:$eport/mono/webhooks" "$MONO_TMP/ex82.down")" "200 applied" \
	"express: once the database is up, the retry is taken"
ok "kill -0 $node_pid" "express: the process started without a database and is still running"
kill "$node_pid" 2>/dev/null || true
is "$(grep -c -- "$MONO_WEBHOOK_SECRET\|sha256:$(printf '%s' "$MONO_WEBHOOK_SECRET" | sha256sum | cut -d' ' -f1)" "$MONO_TMP/postgres.log" || true)" 0 \
	"neither the secret nor its digest reached the server log"

t7_restore
done_testing

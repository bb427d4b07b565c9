#!/usr/bin/env bash
# test/e2e/90_receiver.sh: the webhook receiver program (mono_pay_receiver).
#   1. Every status code: 200 applied / duplicate / ignored, 401 (wrong and
#      missing secret: nothing stored), 413 (by Content-Length and chunked),
#      400 (not JSON, no event, a key twice, not UTF-8), 405 (with Allow),
#      404, 503 while mono.webhook_events is locked and 503 for an event
#      that takes longer than 10 s to store (then the retries are stored);
#      its /metrics page counts each; /healthz says ok.
#   2. The real path, no application code: the simulator's --webhook-url is
#      the receiver; a link, a one-time and a recurring charge, approvals
#      and debits reach their final states through webhooks alone (polling
#      is pushed out to an hour), every delivery answered 200 once.
#   3. The secret reaches no log: the wrong secret is not in the server log.
#   4. Bad options are refused at start (exit status 2), naming the expected form;
#      a non-loopback status address is refused; a config file works.
#   5. 40 webhooks sent 8 at a time are all answered 200 and stored once.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=7_receiver.bash
. "$here/7_receiver.bash"

trap 't7_receiver_stop; t7_cleanup' EXIT
WRONG=whsec_wrong_secret_78

plan 35

t7_fresh
t7_receiver_start --max-body 4096
is "$(curl -s --max-time 5 "$RX_STATUS/healthz")" ok "/healthz: ok"
is "$(t7_sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'mono_pay receiver%'")" 0 \
	"no receiver process inside the server"

# ---- 1. status codes ------------------------------------------------
H=(-H "mono-webhook-secret: $MONO_WEBHOOK_SECRET" -H 'content-type: application/json')
ev() { echo "{\"event\":\"$1\",\"event_id\":\"$2\",\"data\":{\"id\":\"x78\"}}"; }
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary "$(ev owo.test.unknown evt78a)")" \
	'200 {"result":"ignored"}' "an event of no known type: 200 ignored (stored)"
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary "$(ev owo.test.unknown evt78a)")" \
	'200 {"result":"duplicate"}' "the same event again: 200 duplicate"
is "$(t7_post "$RX_URL" -H "mono-webhook-secret: $WRONG" --data-binary "$(ev owo.test.unknown evt78b)" | cut -c1-3)" \
	401 "a wrong secret: 401"
is "$(t7_post "$RX_URL" --data-binary "$(ev owo.test.unknown evt78c)" | cut -c1-3)" 401 "no secret: 401"
is "$(t7_sql "SELECT count(*) FROM mono.webhook_events WHERE event_id IN ('evt78b', 'evt78c')")" 0 \
	"nothing stored for them"
big=$(python3 -c 'print("{\"event\":\"owo.test\",\"pad\":\"" + "x" * 5000 + "\"}")')
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary "$big" | cut -c1-3)" 413 "a body past --max-body (Content-Length): 413"
is "$(t7_post "$RX_URL" "${H[@]}" -H 'Transfer-Encoding: chunked' --data-binary "$big" | cut -c1-3)" 413 \
	"the same body chunked (no Content-Length): 413"
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary 'not json {' | cut -c1-3)" 400 "not JSON: 400"
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary '{"data":{}}' | cut -c1-3)" 400 "JSON without an event: 400"
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary '{"event":"a","event":"b"}' | cut -c1-3)" 400 "a key given twice: 400"
is "$(printf '{"event":"owo.test","x":"\xff\xfe"}' | t7_post "$RX_URL" "${H[@]}" --data-binary @- | cut -c1-3)" 400 \
	"not UTF-8: 400"
allow=$(curl -sS --max-time 10 -o /dev/null -D - "$RX_URL" | tr -d '\r' | sed -n 's/^[Aa]llow: //p')
is "$(t7_post "$RX_URL" -X GET | cut -c1-3) allow=$allow" "405 allow=POST" "GET: 405 with Allow: POST"
is "$(t7_post "http://127.0.0.1:$RX_PORT/other" "${H[@]}" --data-binary "$(ev owo.test.unknown evt78d)" | cut -c1-3)" 404 \
	"another path: 404"

# 503: the table is locked longer than the receiver's lock_timeout (2 s)
"$PG_BIN/psql" -X -q -c "BEGIN; LOCK mono.webhook_events; SELECT pg_sleep(4); COMMIT" >/dev/null 2>&1 &
locker=$!
wait_for "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'mono.webhook_events'::regclass AND mode = 'AccessExclusiveLock' AND granted)" 10 >/dev/null
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary "$(ev owo.test.unknown evt78e)" | cut -c1-3)" 503 \
	"the database cannot take the event (table locked): 503"
wait "$locker" || true
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary "$(ev owo.test.unknown evt78e)")" '200 {"result":"ignored"}' \
	"Mono's retry of that event, once the lock is gone: stored"
# 503: storing the event takes longer than the receiver's statement timeout (10 s)
t7_sql "CREATE FUNCTION public.slow78() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(15); RETURN NEW; END \$\$;
        CREATE TRIGGER slow78 BEFORE INSERT ON mono.webhook_events FOR EACH ROW
          WHEN (NEW.event_id = 'evt78slow') EXECUTE FUNCTION public.slow78()" >/dev/null
is "$(t7_post "$RX_URL" --max-time 30 "${H[@]}" --data-binary "$(ev owo.test.unknown evt78slow)" | cut -c1-3)" 503 \
	"an event that takes longer than 10 s to store: 503"
t7_sql "DROP TRIGGER slow78 ON mono.webhook_events; DROP FUNCTION public.slow78()" >/dev/null
is "$(t7_post "$RX_URL" "${H[@]}" --data-binary "$(ev owo.test.unknown evt78slow)")" '200 {"result":"ignored"}' \
	"its retry, once storing is quick again: stored"
is "$(for k in ignored duplicate unauthorized too_large not_json method not_found unavailable; do t7_rx $k; done | tr '\n' ' ')" \
	"3 1 2 2 4 2 1 2 " "/metrics counts each answer by reason"

# ---- 2. the real path: Mono's webhooks, no application code ----------
t7_set poll_base 1h poll_max 1h
# (a phone per charge: Mono takes a phone's next prompt only once its
# earlier one is answered)
P1=2348078000001 P2=2348078000002 P3=2348078000003
sim user "$P1" active
sim user "$P2" active
sim user "$P3" active
t7_sql "SELECT mono_link_beneficiary('$P1', 'Ada Obi', '000013', '0123456789');
        SELECT mono_charge('$P2', 5000, 'One-time 78', 'RX78ONE00001');
        SELECT mono_charge('$P3', 7000, 'Weekly 78', 'RX78REC00001', 'week', 1, now(), now() + interval '3 weeks')" >/dev/null
ok "wait_for \"SELECT count(*) = 2 FROM mono.fund_requests WHERE status = 'awaiting_authorization' AND reference LIKE 'RX78%'\" 20" \
	"both charges await the customer"
wait_for "SELECT status = 'awaiting_authorization' FROM mono.beneficiaries WHERE phone = '$P1'" 20 >/dev/null
sim post "beneficiaries/$P1/approve" >/dev/null
sim post "fund-requests/RX78ONE00001/approve" >/dev/null
sim post "fund-requests/RX78ONE00001/debit" '{"status":"successful"}' >/dev/null
sim post "fund-requests/RX78REC00001/approve" >/dev/null
sim post "fund-requests/RX78REC00001/debit" '{"status":"successful"}' >/dev/null
sim post "fund-requests/RX78REC00001/debit" '{"status":"failed","message":"Insufficient funds"}' >/dev/null
ok "wait_for \"SELECT status = 'linked' FROM mono.beneficiaries WHERE phone = '$P1'\" 20" "the link is linked by its webhook"
ok "wait_for \"SELECT status = 'completed' FROM mono.fund_requests WHERE reference = 'RX78ONE00001'\" 20" \
	"the one-time charge is completed by its webhooks"
ok "wait_for \"SELECT mono.fund_request_rank(status) BETWEEN 4 AND 6 FROM mono.fund_requests WHERE reference = 'RX78REC00001'\" 20" \
	"the recurring charge is approved (or further along, not final) by its webhooks"
diag "the recurring charge: $(t7_sql "SELECT status FROM mono.fund_requests WHERE reference = 'RX78REC00001'")"
ok "wait_for \"SELECT count(*) = 3 FROM mono.payments p JOIN mono.fund_requests f ON f.id = p.fund_request_id WHERE f.reference LIKE 'RX78%'\" 20" \
	"its three debits are payments"
is "$(t7_sql "SELECT string_agg(p.status || ':' || p.amount, ' ' ORDER BY p.status) FROM mono.payments p
               JOIN mono.fund_requests f ON f.id = p.fund_request_id WHERE f.reference = 'RX78REC00001'")" \
	"failed:7000 successful:7000" "the recurring charge's payments: one successful, one failed"
produced=$(sim get 'webhooks?since=0' | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
for _ in $(seq 1 100); do
	dl=$(sim get webhooks/deliveries)
	[ "$(echo "$dl" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["delivered"])')" = "$produced" ] && break
	sleep 0.1
done
diag "simulator deliveries: $dl (events produced: $produced)"
is "$(echo "$dl" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["delivered"], d["attempts"], d["gave_up"])')" \
	"$produced $produced 0" "every webhook the simulator sent was answered 200 at the first attempt"
is "$(t7_sql "SELECT sum(polls) FROM mono.fund_requests WHERE reference LIKE 'RX78%'")" 0 \
	"no read-back was needed: the webhooks did it all"

# ---- 3. no secret in the log ------------------------------------------
is "$(grep -c -- "$WRONG\|$MONO_WEBHOOK_SECRET" "$MONO_TMP/postgres.log" || true)" 0 \
	"neither the secret nor the wrong one is in the server log"

# ---- 4. bad options are refused --------------------------------------
refused() {
	local pattern=$1
	shift
	"$PG_BIN/mono_pay_receiver" "$@" 2>&1 >/dev/null | grep -c "$pattern" || true
}
is "$(refused 'takes host:port' --listen 8787)" 1 "--listen without a host: refused (host:port)"
is "$(refused 'from 1 to 100000' --max-per-address 0)" 1 "--max-per-address 0: refused, with the range"
is "$(refused 'must start with a slash' --path mono/webhooks)" 1 "--path without a leading slash: refused"
is "$(refused 'must be a loopback' --listen 127.0.0.1:0 --status-listen 0.0.0.0:9)" 1 \
	"a status address that is not loopback: refused"
printf 'listen = 127.0.0.1:%s\n# a comment\nmax-body = 1024x\n' "$(free_port)" >"$MONO_TMP/rx90.conf"
is "$(refused 'rx90.conf:3: max-body must be a whole number' --config "$MONO_TMP/rx90.conf")" 1 \
	"a bad value in the config file: refused with its file and line"

# ---- 5. many at once ---------------------------------------------------
answers=$(seq 1 40 | xargs -P 8 -I{} curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' \
	-H "mono-webhook-secret: $MONO_WEBHOOK_SECRET" --data-binary '{"event":"owo.test.two","event_id":"evt78two{}"}' "$RX_URL" |
	sort | uniq -c | awk '{printf "%sx%s ", $2, $1}')
is "$answers$(t7_sql "SELECT count(*) FROM mono.webhook_events WHERE event_id LIKE 'evt78two%'")" "200x40 40" \
	"40 webhooks, 8 at a time: all answered 200, all stored"

done_testing

#!/usr/bin/env bash
# test/e2e/94_receiver_forgery.sh: what crashed or fooled 0.2.0's in-server
# receiver (issue 21), through mono_pay_receiver and through SQL.
#   1. The request that restarted the whole cluster (mono-webhook-secret:
#      sha256:00, body {}), 20 times: 401 each; no PostgreSQL process ends
#      abnormally, the postmaster is the same, a bystander session survives.
#   2. Mono's own events without event_id (test/samples/:
#      mono.accounts.jobs.update, the real-time mono.events.account_updated),
#      with the connect app's secret: 200 and stored (keyed by the SHA-256 of
#      the body, computed in the database's transaction), 200 duplicate the
#      second time.
#   3. A digest read from a log cannot forge: "sha256:<hex of the secret>"
#      (0.2.0's accepted form) is refused through the receiver (401) and
#      through mono_handle_webhook() (28000). A logged hmac-sha256 value
#      verifies only its own body: the same value with another body is
#      refused (28000), and as a header it is 401.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=7_receiver.bash
. "$here/7_receiver.bash"

SAMPLES=$MONO_ROOT/test/samples
trap 'exec 7>&-; t7_receiver_stop; t7_cleanup' EXIT

# The SQLSTATE of the error SQL raises (nothing when it succeeds): psql_code SQL
psql_code() {
	"$PG_BIN/psql" -X -At -v VERBOSITY=verbose -c "$1" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p'
}

plan 16

t7_fresh
t7_receiver_start
# a bystander session kept open across everything below, and the postmaster
t7_witness_start
postmaster=$T7_POSTMASTER

# ---- 1. the request of item 1 ------------------------------------------
codes=$(for _ in $(seq 1 20); do
	curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' -X POST -H 'mono-webhook-secret: sha256:00' --data '{}' "$RX_URL"
done | sort | uniq -c | awk '{printf "%sx%s", $2, $1}')
is "$codes" "401x20" "curl -H 'mono-webhook-secret: sha256:00' --data '{}', 20 times: 401 each"

# ---- 2. Mono's events without event_id ----------------------------------
CH=(-H "mono-webhook-secret: $MONO_CONNECT_WEBHOOK_SECRET" -H 'content-type: application/json')
for s in connect.mono.accounts.jobs.update.finished connect.mono.events.account_updated.realtime; do
	ok "! grep -q event_id '$SAMPLES/$s.json'" "$s has no event_id"
	is "$(t7_post "$RX_URL" "${CH[@]}" --data-binary @"$SAMPLES/$s.json" | cut -c1-3)" 200 "$s through the receiver: 200"
	is "$(t7_post "$RX_URL" "${CH[@]}" --data-binary @"$SAMPLES/$s.json")" '200 {"result":"duplicate"}' \
		"$s again: 200 duplicate"
done
is "$(t7_sql "SELECT count(*) FILTER (WHERE event_id ~ '^sha256:[0-9a-f]{64}\$'),
                     count(*) FILTER (WHERE raw = regexp_replace(pg_read_file('$SAMPLES/' || CASE event WHEN 'mono.accounts.jobs.update'
                       THEN 'connect.mono.accounts.jobs.update.finished' ELSE 'connect.mono.events.account_updated.realtime' END || '.json'),
                       '(\"bvn\"\\s*:\\s*\"?)[0-9]{7}([0-9]{4})', '\\1*******\\2', 'g'))
              FROM mono.webhook_events" -F ' ')" "2 2" \
	"both are stored once, keyed by sha256:<hex> of the body, the body as received (a BVN masked to its last 4 digits)"

# ---- 3. nothing replayable --------------------------------------------
digest=sha256:$(printf '%s' "$MONO_WEBHOOK_SECRET" | sha256sum | cut -d' ' -f1)
ev() { printf '{"event":"owo.test.forged","event_id":"%s","data":{"id":"x94"}}' "$1"; }
is "$(t7_post "$RX_URL" -H "mono-webhook-secret: $digest" --data-binary "$(ev evt94a)" | cut -c1-3)" 401 \
	"the SHA-256 digest of the secret (as a log showed it in 0.2.0) as the header: 401"
is "$(psql_code "SELECT mono_handle_webhook('$(ev evt94b)', '$digest')")" 28000 \
	"the same digest through mono_handle_webhook(): 28000"
body_a=$(ev evt94c)
body_b=$(ev evt94d)
mac=hmac-sha256:$(printf '%s' "$body_a" | openssl dgst -sha256 -hmac "$MONO_WEBHOOK_SECRET" -r | cut -d' ' -f1)
is "$(t7_sql "SELECT mono_handle_webhook('$body_a', '$mac')")" ignored "a body with its own hmac-sha256: taken"
is "$(psql_code "SELECT mono_handle_webhook('$body_b', '$mac')")" 28000 "the same hmac-sha256 with another body: 28000"
is "$(t7_post "$RX_URL" -H "mono-webhook-secret: $mac" --data-binary "$body_b" | cut -c1-3)" 401 \
	"that hmac-sha256 value as a header with another body: 401"
is "$(t7_sql "SELECT string_agg(event_id, ' ' ORDER BY event_id) FROM mono.webhook_events WHERE event = 'owo.test.forged'")" evt94c \
	"only the genuine one is stored"

# ---- 1 (end). nothing ended abnormally -------------------------------
t7_witness_end
is "$T7_SAME" same "the bystander session survived everything (the same backend answers)"
is "$T7_AFTER" "$postmaster 0" \
	"the same postmaster; no server process ended abnormally (server log)"

done_testing

#!/usr/bin/env bash
# test/e2e/72_outage.sh: Mono unreachable for a while (the simulator stopped:
# connections refused), then back on the same port.
#   - during the outage the queued rows wait in queued (nothing reached
#     Mono, so nothing is unknown), saying they could not connect, and back
#     off: the gaps between attempts (next_attempt_at - updated_at) grow
#     from retry_base towards retry_max, each within its jitter band;
#   - the reads of requests awaiting the customer back off as well;
#   - no error storm: the server log gets (almost) no mono_pay lines, and
#     the worker's calls stay within what the backoff allows;
#   - mono_worker_status() says what is wrong (last_error);
#   - once Mono is back the queue drains: every reference accepted once.
# Size: MONO_OUTAGE_SECONDS (10 here, 60 under test/storm).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

OUTAGE=${MONO_OUTAGE_SECONDS:-10}
LOG=$MONO_TMP/postgres.log
Q=20					# charges queued during the outage
BASE_MS=200 MAX_MS=4000

# the simulator must be back whatever happens
t7_outage_cleanup() {
	if ! curl -sf --max-time 2 "$MONO_SIM_URL/_sim/health" >/dev/null 2>&1; then
		sim_start || true
	fi
	t7_cleanup
}
trap t7_outage_cleanup EXIT

plan 15

t7_fresh
t7_set retry_base ${BASE_MS}ms retry_max ${MAX_MS}ms max_attempts 100 poll_base 300ms poll_max 4s
sim user 2347200000099 not_found

# three requests awaiting the customers before the outage: they are polled
# (one phone each: Mono takes a phone's next prompt only once its earlier
# one is answered)
t7_sql "SELECT count(mono_charge('23472000000' || lpad(i::text, 2, '0'), 100 + i, 'Before the outage ' || i, 'OUTAGE72P' || i))
          FROM generate_series(1, 3) i" >/dev/null
ok "wait_for \"SELECT count(*) = 3 FROM mono.fund_requests WHERE reference LIKE 'OUTAGE72P%' AND status = 'awaiting_authorization'\" 10" \
	"before the outage: three requests await the customer"
polls0=$(t7_sql "SELECT sum(polls) FROM mono.fund_requests WHERE reference LIKE 'OUTAGE72P%'")

log_start=$(($(stat -c %s "$LOG") + 1))
sim_stop
ok "! curl -sf --max-time 2 $MONO_SIM_URL/_sim/health" "the simulator is down (connections to $MONO_SIM_URL refused)"
t0=$(date +%s.%N)
# one phone each: a phone's requests leave one after another (issue 11), so
# charges of one phone would wait behind its first one's retries
t7_sql "SELECT count(mono_charge('2347200001' || lpad(i::text, 3, '0'), 1000 + i, 'During the outage ' || i,
                                 'OUTAGE72Q' || lpad(i::text, 2, '0')))
          FROM generate_series(1, $Q) i" >/dev/null
t7_sql "SELECT mono_link_beneficiary('2347200000099', 'Ada Obi', '000013', '0123456789', '22212345678')" >/dev/null

# sample one row's backoff while Mono is away: "attempts delay_ms" lines
samples=$MONO_TMP/72_samples
: >"$samples"
end=$(echo "$t0 + $OUTAGE" | bc)
status_seen=
while [ "$(echo "$(date +%s.%N) < $end" | bc)" -eq 1 ]; do
	t7_sql "SELECT attempts, (extract(epoch FROM next_attempt_at - updated_at) * 1000)::int
	          FROM mono.fund_requests WHERE reference = 'OUTAGE72Q01' AND status = 'queued' AND attempts > 0" -F ' ' >>"$samples"
	[ -n "$status_seen" ] || status_seen=$(t7_sql "SELECT last_error FROM mono_worker_status()")
	sleep 0.1
done
worker_error=$(t7_sql "SELECT coalesce(last_error, '(null)') FROM mono_worker_status()")
outage_secs=$(echo "$(date +%s.%N) - $t0" | bc)

states=$(t7_sql "SELECT string_agg(DISTINCT status, ',') FROM mono.fund_requests WHERE reference LIKE 'OUTAGE72Q%'")
is "$states" queued "during the outage the new charges wait in queued (none unknown: nothing reached Mono)"
errs=$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE reference LIKE 'OUTAGE72Q%'
                 AND last_error LIKE 'request failed while connecting%'")
is "$errs" "$Q" "each says it could not connect"
link=$(t7_sql "SELECT status || ' ' || (last_error LIKE 'request failed while connecting%') FROM mono.beneficiaries")
is "$link" "queued true" "the link waits in queued too, saying so"

# growing gaps: attempt a waits retry_base * 2^(a-1) (capped), jittered into [d/2, d]
gaps=$(sort -n -u "$samples" | awk 'NF == 2 && !seen[$1]++')
diag "attempt and the delay before the next one (ms) of OUTAGE72Q01: $(echo "$gaps" | tr '\n' ' ')"
bad=$(echo "$gaps" | awk -v b=$BASE_MS -v m=$MAX_MS 'NF == 2 {
	d = b; for (i = 1; i < $1 && d < m; i++) d *= 2; if (d > m) d = m;
	if ($2 < d / 2 - 1 || $2 > d + 1) print $1 ":" $2 "(expected " d / 2 ".." d ")" }')
is "$bad" "" "every delay is within its band: retry_base doubling per attempt, capped at retry_max, jittered"
ok "[ $(echo "$gaps" | wc -l) -ge 4 ] && [ $(echo "$gaps" | tail -n 1 | cut -d' ' -f2) -gt $(echo "$gaps" | head -n 1 | cut -d' ' -f2) ]" \
	"the gaps grow ($(echo "$gaps" | wc -l) attempts sampled)"

# no error storm: the worker's calls stay within what the backoff allows
calls=$(t7_sql "SELECT count(*) FROM mono.http_log WHERE at >= to_timestamp($t0) AND error IS NOT NULL")
max_per_row=$(awk -v t="$outage_secs" -v b=$BASE_MS -v m=$MAX_MS 'BEGIN {
	# the most attempts in t seconds: every delay at the bottom of its band
	n = 1; s = 0; d = b;
	while (1) { s += d / 2000; if (s > t) break; n++; d *= 2; if (d > m) d = m }
	print n }')
max_polls=$(awk -v t="$outage_secs" 'BEGIN { n = 0; s = 0; d = 0.3; while (s + d <= t + 1) { s += d; n++; d *= 2; if (d > 4) d = 4 } print n + 1 }')
polls=$(($(t7_sql "SELECT sum(polls) FROM mono.fund_requests WHERE reference LIKE 'OUTAGE72P%'") - polls0))
attempts=$(t7_sql "SELECT sum(attempts) FROM mono.fund_requests WHERE reference LIKE 'OUTAGE72Q%'")
diag "outage of ${outage_secs}s: $calls failed calls logged in mono.http_log; $attempts attempts for $Q charges (at most $max_per_row each); $polls reads of the 3 waiting requests (at most $max_polls each)"
ok "[ $attempts -le $((Q * max_per_row)) ] && [ $attempts -ge $((Q * 3)) ]" \
	"the charges were retried, and no more often than the backoff allows ($attempts attempts)"
ok "[ $polls -le $((3 * (max_polls + 1))) ]" "the reads of waiting requests back off too ($polls reads)"

mono_lines=$(tail -c +"$log_start" "$LOG" | grep -c 'mono_pay' || true)
all_lines=$(tail -c +"$log_start" "$LOG" | wc -l)
diag "server log during the outage: $all_lines lines, $mono_lines mentioning mono_pay"
[ "$mono_lines" -eq 0 ] || diag "$(tail -c +"$log_start" "$LOG" | grep 'mono_pay' | head -n 5)"
ok "[ $mono_lines -le 5 ]" "no error storm in the server log ($mono_lines lines mention mono_pay)"

diag "mono_worker_status().last_error during the outage: $worker_error"
like "$worker_error" "connect" "mono_worker_status() reports the last error (connections refused)"

# Mono is back: the queue drains
sim_start
t1=$(date +%s.%N)
ok "wait_for \"SELECT count(*) = $Q FROM mono.fund_requests WHERE reference LIKE 'OUTAGE72Q%' AND status = 'awaiting_authorization'\" $((MAX_MS / 1000 + 10))" \
	"Mono back: the $Q charges queued during the outage are sent"
drain=$(echo "$(date +%s.%N) - $t1" | bc)
diag "drained ${drain}s after the simulator came back (retry_max ${MAX_MS}ms)"
ok "wait_for \"SELECT status = 'awaiting_authorization' AND bvn IS NULL FROM mono.beneficiaries\" 10" \
	"the link is sent as well (and its BVN erased)"
summary=$(t7_accept_summary 'OUTAGE72Q%')
diag "by reference: $summary"
is "$(t7_field "$summary" accepted_once)/$(t7_field "$summary" received)" "$Q/$Q" \
	"each was received and accepted exactly once (the refused attempts never reached Mono)"
ok "[ $(t7_sql "SELECT max(attempts) FROM mono.fund_requests") -lt 100 ]" "no row ran out of attempts"

done_testing

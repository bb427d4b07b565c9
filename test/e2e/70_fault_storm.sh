#!/usr/bin/env bash
# test/e2e/70_fault_storm.sh: the real worker against a simulator that fails
# a seeded 20% of its Owo calls at random, with every kind of fault: 500,
# 429 + Retry-After, a delay past mono_pay.request_timeout (3 s > 2 s), the
# connection closed after the body was read, and a 2xx that is not JSON.
# Afterwards (a bounded wait with the storm on, then the storm cleared so
# that the last settling reads can finish):
#   - every reference was accepted by the simulator exactly once
#     (by_reference accepted = 1: nothing lost, nothing charged twice), and
#     the simulator accepted no reference the database does not know;
#   - every row says what happened: awaiting_authorization, none stuck in
#     sending/queued/unknown, none failed (max_attempts is set high);
#   - the ambiguous answers went through unknown and a read, not a blind
#     re-send (the 409s of the re-sends are the proof).
#
# Size: MONO_STORM_CHARGES charges (300 here, 1,000 under test/storm);
# MONO_STORM_SEED (42), MONO_STORM_WAIT seconds with the storm on (60).
# Run by test/run (prove --exec bash test/e2e/*.sh) or test/storm.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

N=${MONO_STORM_CHARGES:-300}
SEED=${MONO_STORM_SEED:-42}
STORM_WAIT=${MONO_STORM_WAIT:-60}
TALLY=$MONO_TMP/70_tally.json

plan 12

t7_fresh
# Retries: many attempts, short delays; requests time out after 2 s, the
# delay fault holds the answer 3 s.
t7_set max_attempts 100 retry_base 50ms retry_max 1s request_timeout 2s

sim fault "{\"random_rate\":0.2,\"seed\":$SEED,\"path_prefix\":\"/owo/v1\",
            \"kinds\":[\"500\",\"429\",\"delay\",\"close_after_body\",\"invalid_json\"],
            \"retry_after\":1,\"delay_s\":3}"
t7_tally_start "$TALLY"

start=$(date +%s)
# in four transactions, so that the worker is busy while more arrive; one
# phone per charge (Mono takes a phone's next prompt only once its earlier
# one is answered, and these customers never answer)
per=$(((N + 3) / 4))
for b in 0 1 2 3; do
	lo=$((b * per + 1)) hi=$(((b + 1) * per))
	[ "$hi" -gt "$N" ] && hi=$N
	[ "$lo" -le "$hi" ] || continue
	t7_sql "SET synchronous_commit = on;
	        SELECT count(mono_charge('234700000' || lpad(i::text, 4, '0'), 1000 + i,
	                                 'Storm charge ' || i, 'STORM70' || lpad(i::text, 6, '0')))
	          FROM generate_series($lo, $hi) i" >/dev/null
done
is "$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE reference LIKE 'STORM70%'")" "$N" \
	"$N charges queued"

# the storm stays on until every row is settled, or STORM_WAIT seconds
wait_for "SELECT count(*) = 0 FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown')" "$STORM_WAIT" || true
left_in_storm=$(t7_unsettled)
storm_secs=$(($(date +%s) - start))
sim clear-faults
ok "wait_for \"SELECT count(*) = 0 FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown')\" 60" \
	"every row is settled (storm on: ${storm_secs}s, $left_in_storm left when it ended)"
t7_tally_stop
total_secs=$(($(date +%s) - start))

tally=$(t7_tally_line "$TALLY")
requests=$(t7_field "$tally" requests)
faults=$(t7_field "$tally" faults)
diag "simulator: $tally"
ok "[ $faults -ge $((N / 10)) ]" "the storm did strike: $faults faults in $requests Owo requests"
missing=
for k in 500 429 delay close_after_body invalid_json; do
	[ "$(t7_field "$tally" "$k")" -gt 0 ] || missing="$missing $k"
done
is "$missing" "" "every kind of fault was injected at least once"

summary=$(t7_accept_summary 'STORM70%')
diag "by reference: $summary"
is "$(t7_field "$summary" accepted_once)" "$N" "every reference was accepted by the simulator exactly once"
is "$(t7_field "$summary" accepted_twice)" 0 "no reference was accepted twice (nothing charged twice)"
is "$(t7_field "$summary" never_accepted)" 0 "no reference was never accepted (nothing lost)"
is "$(t7_field "$summary" unknown_to_db)" 0 "the simulator accepted no reference the database does not know"

states=$(t7_sql "SELECT string_agg(status || '=' || n, ' ' ORDER BY status)
                   FROM (SELECT status, count(*) n FROM mono.fund_requests GROUP BY 1) s")
diag "final states: $states (settled in ${total_secs}s)"
is "$states" "awaiting_authorization=$N" "every row is awaiting_authorization: none failed, none stuck"
is "$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE attempts > 100 OR last_error LIKE 'gave up%'")" 0 \
	"no row ran out of attempts"

# the ambiguous ones were settled by a read and a re-send answered 409
via409=$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE http_status = 409")
reads=$(t7_sql "SELECT count(*) FROM mono.http_log WHERE method = 'GET' AND path LIKE '/owo/v1/fund-requests?phone=%'")
redirects=$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE redirect_url LIKE 'https://wa.me/%'")
diag "rows settled through a 409 (an earlier attempt had reached Mono): $via409; settling reads: $reads; rows with a redirect_url: $redirects"
ok "[ $via409 -gt 0 ] && [ $reads -gt 0 ]" "ambiguous sends were settled by reads (GET) and same-reference re-sends answered 409"
is "$((via409 + redirects))" "$N" "every row has either Mono's redirect_url or the 409 note (nothing in between)"
attempts=$(t7_sql "SELECT sum(attempts) || ' attempts, max ' || max(attempts) FROM mono.fund_requests")
diag "attempts: $attempts; received by the simulator: $(t7_field "$summary" received)"

done_testing

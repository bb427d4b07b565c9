#!/usr/bin/env bash
# test/e2e/73_webhook_shuffle.sh: webhooks repeated and out of order change
# nothing. The same recurring-charge flow runs twice with different
# references and phones:
#   run A  every webhook delivered once, in the order Mono produced it: the
#          reference result;
#   run B  every webhook delivered three times in a seeded random order
#          (webhooks_duplicate: 3, webhooks_shuffle_seed).
# In both the worker polls every request and link meanwhile (poll_base =
# poll_max = 2s, so that webhooks and reads interleave): polling is what settles a request that expired before the
# customer saw it (Mono's expired event names an id we never learned).
# The final rows of the two runs must be equal: fund request statuses and
# Mono ids, payments (amount, status, message, processed_at, instalment),
# schedule statuses, link statuses.
#
# The flow, per charge i (k = i mod 5; charges 0-4 on customer A, 5-9 on B,
# and so on, each customer linked first; weekly, four instalments, all in
# the past):
#   k=0 approved, instalments 1 and 2 paid, completed
#   k=1 approved, instalment 1 failed then paid, instalment 2 failed
#   k=2 expired before approval
#   k=3 approved, then processing, instalment 1 paid
#   k=4 never approved (awaiting the customer)
# and at the end customer B is unlinked through mono_unlink_beneficiary(),
# which cancels B's live recurring requests. Mono sends a phone's next
# prompt only once its earlier one is answered: the customers answer step k
# of their charges, its webhooks are delivered (run B: three times each,
# shuffled), then step k + 1 goes out.
# Size: MONO_SHUFFLE_CHARGES (10 here, 50 under test/storm); MONO_SHUFFLE_POLL
# seconds between reads (2 here, 8 under test/storm: the more charges, the
# longer the deliveries take, and the reads should not settle everything
# before the webhooks arrive).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

N=${MONO_SHUFFLE_CHARGES:-10}
SEED=${MONO_SHUFFLE_SEED:-73}
POLL=${MONO_SHUFFLE_POLL:-2}	# seconds: mono_pay.poll_base and poll_max

plan 13

t7_fresh
t7_set poll_base "${POLL}s" poll_max "${POLL}s"
# instalment dates: weekly from the Monday four weeks ago, 4 instalments
start=$(t7_sql "SELECT to_char(date_trunc('week', now() AT TIME ZONE 'UTC') - interval '4 weeks', 'YYYY-MM-DD')")
# debits: the first two instalments (one hour after), a retry of the first (five hours after)
iso() { t7_sql "SELECT to_char(('$start'::timestamp + interval '$1'), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"; }
d1=$(iso '1 hour') d2=$(iso '1 week 1 hour') t=$(iso '5 hours')

# Deliver the simulator's webhooks from K on; prints "next delivered duplicates failed".
deliver() {
	local out
	out=$("$MONO_TEST_LIB/deliver-webhooks" --since "$1" 2>&1)
	echo "$(echo "$out" | sed -n 's/^next=//p') $(echo "$out" | grep -vc '^next=') \
$(echo "$out" | grep -c ' duplicate') $(echo "$out" | grep -v '^next=' | grep -vc ' applied \?$\| duplicate \?$\| ignored \?$')"
}

# The run's final rows, normalised (references and phones replaced by the
# charge's index and the customer's letter): dump TAG
dump() {
	t7_sql "
	WITH f AS (SELECT substr(fr.reference, 8)::int AS i, fr.* FROM mono.fund_requests fr
	            WHERE fr.reference LIKE '$1%')
	SELECT string_agg(line, E'\n' ORDER BY line) FROM (
	  SELECT format('fr %s: %s mono_id=%s ben=%s', lpad(f.i::text, 3), f.status,
	                f.mono_id IS NOT NULL, f.beneficiary_mono_id IS NOT NULL) AS line FROM f
	  UNION ALL
	  SELECT format('pay %s: %s %s %s at %s seq %s', lpad(f.i::text, 3), p.amount, p.status,
	                coalesce(p.message, '-'), p.processed_at, p.instalment_seq)
	    FROM mono.payments p JOIN f ON f.id = p.fund_request_id
	  UNION ALL
	  SELECT format('sched %s/%s: %s %s paid_by=%s', lpad(f.i::text, 3), s.seq, s.due_at, s.status,
	                coalesce(p.status || ' ' || p.processed_at, '-'))
	    FROM mono.schedule s JOIN f ON f.id = s.fund_request_id
	    LEFT JOIN mono.payments p ON p.id = s.payment_id
	  UNION ALL
	  SELECT format('link %s: %s %s mono_id=%s bvn=%s', right(b.phone, 2), b.action, b.status,
	                b.mono_id IS NOT NULL, b.bvn IS NOT NULL)
	    FROM mono.beneficiaries b WHERE b.phone LIKE '$2%'
	  UNION ALL
	  SELECT format('unattached payments: %s', count(*)) FROM mono.payments WHERE fund_request_id IS NULL
	) x" -F ' '
}

# One run of the flow: run TAG PHONE_PREFIX (customer g, from 1, has phone
# PREFIX + 2 digits: A = 01, B = 02). Prints the figures of its deliveries.
run() {
	local tag=$1 prefix=$2 groups=$(((N + 4) / 5)) since i k n ref delivered=0 dups=0 failed=0
	# deliver the webhooks since the last step, and add up the figures
	step() {
		# shellcheck disable=SC2046
		set -- $(deliver "$since")
		since=$1 delivered=$((delivered + $2)) dups=$((dups + $3)) failed=$((failed + $4))
	}
	since=$(sim get 'webhooks?since=0' | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
	t7_sql "SELECT count(mono_link_beneficiary('$prefix' || lpad(g::text, 2, '0'), 'Customer ' || g, '000013',
	                                           '01234567' || lpad(g::text, 2, '0'), '222123456' || lpad(g::text, 2, '0')))
	          FROM generate_series(1, $groups) g" >/dev/null
	t7_sql "SET TimeZone = 'UTC';
	        SELECT count(mono_test.backdate(c.id, '$start'::timestamptz, '$start'::timestamptz + interval '3 weeks'))
	          FROM generate_series(0, $((N - 1))) i
	          CROSS JOIN LATERAL mono_charge('$prefix' || lpad((i / 5 + 1)::text, 2, '0'), 10000 + i,
	                                         'Weekly plan ' || i, '$tag' || lpad(i::text, 4, '0'),
	                                         'week', 1, now()) c" >/dev/null
	wait_for "SELECT count(*) = $groups FROM mono.beneficiaries WHERE phone LIKE '$prefix%' AND status = 'awaiting_authorization'" 20 || return 1
	for i in $(seq 1 "$groups"); do sim post "beneficiaries/$prefix$(printf '%02d' "$i")/approve" >/dev/null; done
	step
	for k in 0 1 2 3 4; do
		n=$(((N + 4 - k) / 5))
		# each customer's charge of step k goes out once the one before is settled
		wait_for "SELECT count(*) = $n FROM mono.fund_requests WHERE reference LIKE '$tag%'
		            AND substr(reference, 8)::int % 5 = $k AND status = 'awaiting_authorization'" 30 || return 1
		for i in $(seq "$k" 5 $((N - 1))); do
			ref=$tag$(printf '%04d' "$i")
			case $k in
			0)
				sim post "fund-requests/$ref/approve" >/dev/null
				sim post "fund-requests/$ref/debit" "{\"status\":\"successful\",\"processed_at\":\"$d1\"}" >/dev/null
				sim post "fund-requests/$ref/debit" "{\"status\":\"successful\",\"processed_at\":\"$d2\"}" >/dev/null
				sim post "fund-requests/$ref/complete" >/dev/null
				;;
			1)
				sim post "fund-requests/$ref/approve" >/dev/null
				sim post "fund-requests/$ref/debit" "{\"status\":\"failed\",\"processed_at\":\"$d1\",\"message\":\"Insufficient funds\"}" >/dev/null
				sim post "fund-requests/$ref/debit" "{\"status\":\"successful\",\"processed_at\":\"$t\"}" >/dev/null
				sim post "fund-requests/$ref/debit" "{\"status\":\"failed\",\"processed_at\":\"$d2\",\"message\":\"Account frozen\"}" >/dev/null
				;;
			2)
				sim post "fund-requests/$ref/expire" >/dev/null
				;;
			3)
				sim post "fund-requests/$ref/approve" >/dev/null
				sim post "fund-requests/$ref/processing" >/dev/null
				sim post "fund-requests/$ref/debit" "{\"status\":\"successful\",\"processed_at\":\"$d1\"}" >/dev/null
				;;
			esac
		done
		step
	done
	# then unlink B (it must be linked first)
	wait_for "SELECT status = 'linked' FROM mono.beneficiaries WHERE phone = '${prefix}02'" 20 || return 1
	t7_sql "SELECT mono_unlink_beneficiary('${prefix}02')" >/dev/null
	wait_for "SELECT status = 'unlinked' FROM mono.beneficiaries WHERE phone = '${prefix}02'" 20 || return 1
	step
	echo "delivered=$delivered duplicates=$dups failed=$failed"
}

# Run A: in order, once
sim config '{"webhooks_duplicate":1,"webhooks_shuffle_seed":null}'
figA=$(run SHUF73A 23473000000)
diag "run A (ordered, once): $figA"
ok "[ -n '$figA' ]" "run A went through"
dumpA=$(dump SHUF73A 23473000000)

# Run B: three times each, shuffled
sim config "{\"webhooks_duplicate\":3,\"webhooks_shuffle_seed\":$SEED}"
figB=$(run SHUF73B 23473000001)
diag "run B (three times each, shuffled): $figB"
ok "[ -n '$figB' ]" "run B went through"
# polling may still be catching up: give both a moment to agree
sleep "$POLL"
dumpA=$(dump SHUF73A 23473000000)
for _ in $(seq 1 $((POLL * 12))); do
	dumpB=$(dump SHUF73B 23473000001)
	[ "$dumpB" = "$dumpA" ] && break
	sleep 0.25
done
sim config '{"webhooks_duplicate":1,"webhooks_shuffle_seed":null}'

is "$(t7_field "$figA" failed)/$(t7_field "$figB" failed)" "0/0" "every delivery was accepted by mono_handle_webhook"
is "$(t7_field "$figB" delivered)" "$((3 * $(t7_field "$figA" delivered)))" \
	"run B delivered every webhook three times ($(t7_field "$figB" delivered) deliveries)"
is "$(t7_field "$figB" duplicates)" "$((2 * $(t7_field "$figA" delivered)))" \
	"two of every three deliveries were recognised as duplicates"
is "$(t7_sql "SELECT count(*) FROM mono.webhook_events")" "$((2 * $(t7_field "$figA" delivered)))" \
	"mono.webhook_events keeps each event once"
polled=$(t7_sql "SELECT sum(polls) FROM mono.fund_requests WHERE reference LIKE 'SHUF73B%'")
for r in A B; do
	diag "run $r: outcomes of its stored events: $(t7_sql "SELECT string_agg(outcome || '=' || n, ' ' ORDER BY outcome)
	    FROM (SELECT outcome, count(*) n FROM mono.webhook_events
	           WHERE body -> 'data' ->> 'phone' LIKE '2347300000$( [ $r = A ] && echo 0 || echo 1)__'
	              OR coalesce(body -> 'data' ->> 'fund_request', body -> 'data' ->> 'id') IN
	                 (SELECT mono_id FROM mono.fund_requests WHERE reference LIKE 'SHUF73$r%')
	          GROUP BY 1) s")"
done
diag "run B: the worker read back its requests $polled times meanwhile"
ok "[ ${polled:-0} -gt 0 ]" "run B's requests were polled while the webhooks arrived"

if [ "$dumpB" != "$dumpA" ]; then
	diag "$(diff <(echo "$dumpA") <(echo "$dumpB") | sed 's/^</A:/; s/^>/B:/')"
fi
is "$dumpB" "$dumpA" "the final rows of the shuffled, repeated run equal those of the ordered run"

# and the reference run itself is what the flow means
count() { echo "$dumpA" | grep -c "$1" || true; }
per() { echo $(((N + 4 - $1) / 5)); }	# charges with i mod 5 = k
diag "$(echo "$dumpA" | grep '^fr\|^link\|^unatt' | head -n 20)"
is "$(count 'fr .*: completed')" "$(per 0)" "k=0 requests completed"
is "$(count 'fr .*: expired')" "$(per 2)" "k=2 requests expired"
is "$(count 'pay .* successful')" "$(($(per 0) * 2 + $(per 1) + $(per 3)))" "every successful debit is a payment"
is "$(count 'sched .* paid paid_by=successful')" "$(($(per 0) * 2 + $(per 1) + $(per 3)))" \
	"every successful debit paid its instalment"
# B's recurring requests bound to the link (i = 5..9, k = 1, 3: approved)
# are cancelled by the unlink; one still awaiting the customer (k = 4) is
# not the link's yet at Mono, so it is not cancelled
cancelled_expected=$(for i in $(seq 5 $((N < 10 ? N - 1 : 9))); do k=$((i % 5)); [ $k -eq 1 ] || [ $k -eq 3 ] && echo x; done | wc -l)
is "$(count 'fr .*: cancelled')" "$cancelled_expected" \
	"the unlink of customer B cancelled the requests bound to B's link (approved ones), not one still awaiting the customer"

done_testing

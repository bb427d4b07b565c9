#!/usr/bin/env bash
# test/e2e/71_storm_kills.sh: the fault storm of 70_fault_storm.sh, and on
# top of it the worker is SIGKILLed three times while it has requests in
# flight (the postmaster then restarts every backend: crash recovery), and
# the whole cluster is stopped in immediate mode once and started again.
# Nothing is lost (every row ends settled, every reference accepted by the
# simulator) and nothing is doubled (no reference accepted twice): the rows
# a dead worker was sending become unknown and are settled by reads.
#
# The charges are queued with synchronous_commit = on (the test cluster runs
# with it off; see 76_async_commit.sh for what that costs).
# Size: MONO_STORM_CHARGES (300; 1,000 under test/storm), MONO_STORM_SEED (7),
# MONO_STORM_WAIT seconds with the storm on after the last kill (60).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

N=${MONO_STORM_CHARGES:-300}
SEED=${MONO_STORM_SEED:-7}
STORM_WAIT=${MONO_STORM_WAIT:-60}
TALLY=$MONO_TMP/71_tally.json
LOG=$MONO_TMP/postgres.log

plan 16

t7_fresh
t7_set max_attempts 100 retry_base 50ms retry_max 1s request_timeout 2s
log_start=$(($(stat -c %s "$LOG") + 1))

sim fault "{\"random_rate\":0.2,\"seed\":$SEED,\"path_prefix\":\"/owo/v1\",
            \"kinds\":[\"500\",\"429\",\"delay\",\"close_after_body\",\"invalid_json\"],
            \"retry_after\":1,\"delay_s\":3}"
t7_tally_start "$TALLY"

# Queue batch B (1..4) of the N charges, durably.
queue_batch() {
	t7_queue_batch KILLS71 234710000 2000 "$N" 4 "$1"
}

# Wait until the worker has requests of ours in flight (rows in sending).
wait_sending() {
	local _ n
	for _ in $(seq 1 100); do
		n=$(sql "SELECT count(*) FROM mono.fund_requests WHERE status = 'sending'" 2>/dev/null || echo 0)
		if [ "${n:-0}" -gt 0 ]; then
			echo "$n"
			return 0
		fi
		sleep 0.02
	done
	echo 0
}

start=$(date +%s)
kills=0
in_flight_at_kills=
for b in 1 2 3; do
	queue_batch "$b"
	n=$(wait_sending)
	old=$(t7_worker_pid)
	if new=$(t7_kill_worker); then
		kills=$((kills + 1))
		diag "batch $b: SIGKILLed worker $old with $n rows in sending; worker $new took over"
	fi
	in_flight_at_kills="$in_flight_at_kills $n"
done
is "$kills" 3 "the worker was SIGKILLed three times, and came back each time"
ok "[ $(echo "$in_flight_at_kills" | tr ' ' '\n' | grep -c '^[1-9]') -eq 3 ]" \
	"each kill hit the worker with rows in sending (${in_flight_at_kills# })"

queue_batch 4
n=$(wait_sending)
old=$(t7_worker_pid)
cluster_restart immediate
new=$(t7_wait_worker "$old" 60)
diag "batch 4: cluster stopped in immediate mode with $n rows in sending; worker $new after the restart"
ok "[ -n '$new' ] && [ '$new' != '$old' ]" "after an immediate stop and a start the worker runs again"
is "$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE reference LIKE 'KILLS71%'")" "$N" \
	"all $N charges survived the crashes (queued with synchronous_commit = on)"

if wait_for "SELECT count(*) = 0 FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown')" "$STORM_WAIT"; then :; fi
left_in_storm=$(t7_unsettled)
sim clear-faults
ok "wait_for \"SELECT count(*) = 0 FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown')\" 60" \
	"every row is settled ($left_in_storm left when the storm ended, after $(($(date +%s) - start))s)"
t7_tally_stop
tally=$(t7_tally_line "$TALLY")
diag "simulator: $tally"
ok "[ $(t7_field "$tally" faults) -gt 0 ]" "the storm struck meanwhile ($(t7_field "$tally" faults) faults)"

# what the restarted workers found
recovered=$(tail -c +"$log_start" "$LOG" | grep -o 'mono_pay: [0-9]* fund requests and [0-9]* links were being sent when the worker stopped' |
	awk '{s += $2} END {print s + 0}')
recoveries=$(tail -c +"$log_start" "$LOG" | grep -c 'were being sent when the worker stopped')
diag "the restarted workers found $recovered rows in sending ($recoveries start-ups logged it)"
ok "[ $recovered -gt 0 ]" "rows left in sending by a dead worker were found at start-up and marked unknown"
crashes=$(tail -c +"$log_start" "$LOG" | grep -c 'terminated by signal 9: Killed')
is "$crashes" 3 "the server log shows the three SIGKILLs of the worker"

summary=$(t7_accept_summary 'KILLS71%')
diag "by reference: $summary"
is "$(t7_field "$summary" accepted_once)" "$N" "every reference was accepted by the simulator exactly once"
is "$(t7_field "$summary" accepted_twice)" 0 "nothing doubled: no reference accepted twice"
is "$(t7_field "$summary" never_accepted)" 0 "nothing lost: no reference left unaccepted"
is "$(t7_field "$summary" unknown_to_db)" 0 "the simulator accepted no reference the database does not know"
states=$(t7_sql "SELECT string_agg(status || '=' || n, ' ' ORDER BY status)
                   FROM (SELECT status, count(*) n FROM mono.fund_requests GROUP BY 1) s")
diag "final states: $states"
is "$states" "awaiting_authorization=$N" "every row is awaiting_authorization"
via409=$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE http_status = 409")
diag "rows settled through a 409: $via409; attempts: $(t7_sql "SELECT sum(attempts) || ', max ' || max(attempts) FROM mono.fund_requests")"
ok "[ $via409 -gt 0 ]" "sends interrupted after reaching Mono were settled as 409s, not charged again"
is "$(t7_sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'mono_pay worker'")" 1 \
	"exactly one worker runs at the end"
# the queue is still served: a charge after all that goes through at once
t7_sql "SELECT mono_charge('2347100000000', 777, 'After the crashes', 'KILLS71AFTER')" >/dev/null
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'KILLS71AFTER'\" 10" \
	"a new charge after the crashes is sent at once"

done_testing

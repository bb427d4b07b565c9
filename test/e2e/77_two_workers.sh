#!/usr/bin/env bash
# test/e2e/77_two_workers.sh: mono_pay.workers = 2 (the worker and one
# sender) under the fault storm of 70_fault_storm.sh. While both have
# requests in flight the sender is stopped (SIGTERM: it alone restarts, the
# worker goes on sending) and later SIGKILLed (the postmaster then restarts
# every backend: crash recovery of both). Each process recovers only the
# sends it claimed (claimed_by), so the worker's own requests in flight are
# never mistaken for interrupted ones; nothing is lost, nothing doubled, and
# both processes sent their share.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

N=${MONO_STORM_CHARGES:-300}
SEED=${MONO_STORM_SEED:-11}
LOG=$MONO_TMP/postgres.log

# Back to one worker process (a restart: mono_pay.workers is read at start).
t7_77_cleanup() {
	t7_cleanup
	sql "ALTER SYSTEM RESET mono_pay.workers" >/dev/null 2>&1 || true
	cluster_restart fast >/dev/null 2>&1 || true
	t7_wait_worker "" 30 >/dev/null || true
}
trap t7_77_cleanup EXIT


# Queue batch B (1..3) of the N charges, durably.
queue_batch() {
	t7_queue_batch TWO77 23477000000 3000 "$N" 3 "$1"
}

# Wait (2 s at most) until both processes have rows in sending; print "worker sender".
wait_both_sending() {
	local counts _
	for _ in $(seq 1 100); do
		counts=$(sql "SELECT count(*) FILTER (WHERE claimed_by = 0) || ' ' || count(*) FILTER (WHERE claimed_by = 1)
		                FROM mono.fund_requests WHERE status = 'sending'" 2>/dev/null || echo "0 0")
		case "$counts" in
		0\ * | *\ 0) sleep 0.02 ;;
		*) break ;;
		esac
	done
	echo "$counts"
}

plan 14

t7_fresh
sql "ALTER SYSTEM SET mono_pay.workers = 2" >/dev/null
cluster_restart fast >/dev/null
ok "wait_for \"SELECT workers = 2 FROM mono_worker_status()\" 30" \
	"with mono_pay.workers = 2, mono_worker_status() counts two processes"
is "$(sql "SELECT string_agg(backend_type, ',' ORDER BY backend_type) FROM pg_stat_activity
             WHERE backend_type LIKE 'mono_pay%'")" "mono_pay sender,mono_pay worker" \
	"pg_stat_activity shows the worker and one sender"
t7_set max_attempts 100 retry_base 50ms retry_max 1s request_timeout 8s
log_start=$(($(stat -c %s "$LOG") + 1))

# 1. SIGTERM the sender: it alone restarts (a second later) and recovers
#    its own sends while the worker's are still in flight (Mono answers
#    every fund request 5 s late here)
sim fault '{"kind":"delay","count":100000,"delay_s":5,"path_prefix":"/owo/v1/fund-requests"}' >/dev/null
queue_batch 1
both=$(wait_both_sending)
worker=$(t7_worker_pid)
sender=$(t7_worker_pid 'mono_pay sender')
kill -TERM "$sender"
new_sender=$(t7_wait_worker "$sender" 30 'mono_pay sender')
# the new sender logs its start after its recovery: wait for that line
for _ in $(seq 1 100); do
	tail -c +"$log_start" "$LOG" | grep -q "\[$new_sender\] LOG:  mono_pay sender 1 started" && break
	sleep 0.05
done
worker_busy=$(t7_sql "SELECT count(*) FROM mono.fund_requests WHERE claimed_by = 0 AND status = 'sending'")
diag "SIGTERM to sender $sender with rows in sending (worker, sender): $both; sender $new_sender took over while the worker had $worker_busy in flight"
ok "[ -n '$new_sender' ] && [ $worker_busy -gt 0 ]" "a stopped sender is restarted while the worker has requests in flight"
is "$(t7_sql "SELECT count(*) FROM mono.fund_requests
                WHERE claimed_by = 0 AND last_error = 'worker stopped while sending'")" 0 \
	"the restarted sender marked none of the worker's requests in flight as interrupted"
is "$(t7_worker_pid)" "$worker" "the worker went on meanwhile (same process)"
sim clear-faults
t7_set request_timeout 2s
sim fault "{\"random_rate\":0.2,\"seed\":$SEED,\"path_prefix\":\"/owo/v1\",
            \"kinds\":[\"500\",\"429\",\"delay\",\"close_after_body\",\"invalid_json\"],
            \"retry_after\":1,\"delay_s\":3}"

# 2. SIGKILL the sender: crash recovery of every backend
queue_batch 2
both=$(wait_both_sending)
worker=$(t7_worker_pid)
sender=$(t7_worker_pid 'mono_pay sender')
kill -KILL "$sender"
new_worker=$(t7_wait_worker "$worker" 60)
new_sender=$(t7_wait_worker "$sender" 30 'mono_pay sender')
diag "SIGKILL to sender $sender with rows in sending (worker, sender): $both; now worker $new_worker, sender $new_sender"
ok "[ -n '$new_worker' ] && [ -n '$new_sender' ]" "after a killed sender both processes run again"

queue_batch 3
wait_for "SELECT count(*) = 0 FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown')" 60 || true
sim clear-faults
ok "wait_for \"SELECT count(*) = 0 FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown')\" 60" \
	"every row is settled"

recovered=$(tail -c +"$log_start" "$LOG" | grep -c 'were being sent when the worker stopped')
diag "start-ups that found rows of their own in sending: $recovered"
ok "[ $recovered -gt 0 ]" "rows a stopped process was sending were found by its successor and settled"
shares=$(t7_sql "SELECT string_agg(claimed_by || ':' || n, ' ' ORDER BY claimed_by)
                   FROM (SELECT claimed_by, count(*) n FROM mono.fund_requests GROUP BY 1) s")
diag "rows by the process that claimed them last: $shares"
ok "[ $(t7_sql "SELECT count(DISTINCT claimed_by) FROM mono.fund_requests") -eq 2 ]" \
	"both processes sent charges"

summary=$(t7_accept_summary 'TWO77%')
diag "by reference: $summary"
is "$(t7_field "$summary" accepted_once)" "$N" "every reference was accepted by the simulator exactly once"
is "$(t7_field "$summary" accepted_twice)" 0 "nothing doubled: no reference accepted twice"
is "$(t7_field "$summary" never_accepted)" 0 "nothing lost: no reference left unaccepted"
is "$(t7_sql "SELECT string_agg(DISTINCT status, ',') FROM mono.fund_requests")" "awaiting_authorization" \
	"every row is awaiting_authorization"
is "$(t7_sql "SELECT sent_total > 0 AND in_flight = 0 FROM mono_worker_status()")" "t" \
	"mono_worker_status() sums the processes' sends, with nothing left in flight"

done_testing

#!/usr/bin/env bash
# test/e2e/13_reads_never_starve_sends.sh: polling reads never starve sends.
# Many rows await their customers (awaiting_authorization) and are due for
# a read at every sweep (poll_base = poll_max = 10ms), and Mono answers every
# read slowly (a 2 s delay on each GET): the reads alone could fill the
# worker's pipe (max_in_flight) forever. A charge queued then must still be
# sent (reach awaiting_authorization) within a bounded wait, reads must still
# be made, and the worker must never have more requests in flight than
# max_in_flight (reads count in the pipe). Before the fix the reads of each
# sweep were claimed on top of a full pipe and the charge stayed queued.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

N=200      # rows awaiting their customers, all due for a read at every sweep
PIPE=4     # mono_pay.max_in_flight

trap t7_cleanup EXIT
plan 6

t7_fresh
t7_set max_in_flight $PIPE poll_interval 50ms poll_base 10ms poll_max 10ms
t7_queue_batch READS13A 234130000 100 $N 1 1
ok "wait_for \"SELECT count(*) = $N FROM mono.fund_requests WHERE status = 'awaiting_authorization'\" 120" \
	"$N charges await their customers"

# from now on every read is answered after 2 s; sends (POST) are not delayed
sim fault '{"kind":"delay","delay_s":2,"count":1000000,"method":"GET"}'
polls_before=$(t7_sql "SELECT sum(polls) FROM mono.fund_requests")
ok "wait_for \"SELECT in_flight >= 2 FROM mono_worker_status()\" 30" \
	"the slow reads are in flight"

t7_sql "SET synchronous_commit = on;
        SELECT mono_charge('2341300009999', 777, 'Queued behind the reads', 'READS13NEW')" >/dev/null
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'READS13NEW'\" 60" \
	"a charge queued while $N rows are due for a read is sent within 60 s"
is "$(t7_ref_counts | awk '$1 == "READS13NEW" { print $3 }')" 1 \
	"Mono accepted the new charge once"

# sample the pipe: never more in flight than max_in_flight
most=0
for _ in $(seq 1 20); do
	n=$(t7_sql "SELECT in_flight FROM mono_worker_status()")
	[ "$n" -gt "$most" ] && most=$n
	sleep 0.1
done
ok "[ $most -le $PIPE ]" "in flight never above max_in_flight ($most of $PIPE seen)"
ok "[ $(t7_sql "SELECT sum(polls) FROM mono.fund_requests") -gt $polls_before ]" \
	"the rows awaiting their customers are still read"

sim clear-faults
t7_restore
wait_for "SELECT in_flight = 0 FROM mono_worker_status()" 60 || diag "the worker still has requests in flight"

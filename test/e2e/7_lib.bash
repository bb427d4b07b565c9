# test/e2e/7_lib.bash: helpers shared by the reliability and security tests
# test/e2e/7*_*.sh (and test/storm). Sourced, never run: prove only runs
# test/e2e/*.sh.
#
#	. "$(dirname "$0")/7_lib.bash"	# also sources cluster.sh and tap.sh
#	t7_fresh			# simulator reset, tables emptied, settings reset
#	t7_set max_attempts 100		# ALTER SYSTEM SET mono_pay.max_attempts + reload
#	t7_restore			# ALTER SYSTEM RESET ALL + reload (also at exit)
#	t7_worker_pid			# pid of the mono_pay worker ('' when none)
#	t7_kill_worker			# SIGKILL it; waits for the cluster and a new worker
#	t7_tally_start FILE; t7_tally_stop	# count the simulator's faults (log follower)
#	t7_tally_line FILE		# "requests=N faults=N 500=N ..." (t7_field LINE KEY)
#	t7_ref_counts			# GET /_sim/requests by_reference, as "ref received accepted" lines
#
# Every helper writes its messages to stderr (TAP comments).

set -u
T7_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/cluster.sh
. "$T7_HERE/../lib/cluster.sh"
# shellcheck source=../lib/tap.sh
. "$T7_HERE/../lib/tap.sh"
export PGDATABASE=${PGDATABASE:-mono_test}
[ -n "${MONO_SIM_URL:-}" ] && [ -n "${PGPORT:-}" ] && [ -n "${MONO_TMP:-}" ] ||
	bail_out "run me with test/run or test/storm (MONO_SIM_URL, PGPORT and MONO_TMP are not set)"
[ -d "$MONO_TMP" ] && [ -d "${PGDATA:-/nonexistent}" ] ||
	bail_out "the run's temp dir $MONO_TMP or cluster ${PGDATA:-} is gone"

T7_TALLY_PID=
T7_MAIN=$$

# Stop the whole script from anywhere, a command substitution included:
# "Bail out!" on the script's own stdout (TAP). (No extra descriptor is kept
# open for this: the servers the tests restart would inherit it and keep
# prove waiting.)
t7_gone() {
	echo "Bail out! $*" >"/proc/$T7_MAIN/fd/1"
	kill -TERM "$T7_MAIN"
	exit 255
}

# Run SQL, retrying for up to 30 s while the server restarts (crash
# recovery after a SIGKILL, an immediate restart): t7_sql "SQL" [psql options]
# Only a failed connection (psql's exit status 2) is retried; an SQL error
# fails at once, with psql's message on stderr.
t7_sql() {
	local _ out rc
	for _ in $(seq 1 300); do
		rc=0
		out=$(sql "$@" 2>"$MONO_TMP/t7_sql.err") || rc=$?
		if [ "$rc" -eq 0 ]; then
			printf '%s\n' "$out"
			return 0
		fi
		# the run's cluster is gone altogether: nothing to wait for
		[ -d "${PGDATA:-/nonexistent}" ] || t7_gone "the cluster's data directory ${PGDATA:-} is gone"
		if [ "$rc" -ne 2 ] && ! grep -q 'the database system is\|server closed the connection\|connection to server\|terminating connection' "$MONO_TMP/t7_sql.err"; then
			cat "$MONO_TMP/t7_sql.err" >&2
			return "$rc"
		fi
		sleep 0.1
	done
	sql "$@"
}

# ALTER SYSTEM SET mono_pay.NAME = 'VALUE' ..., then reload and wait until the
# worker has read it: t7_set NAME VALUE [NAME VALUE ...]
t7_set() {
	while [ $# -ge 2 ]; do
		t7_sql "ALTER SYSTEM SET mono_pay.$1 = '$2'" >/dev/null
		shift 2
	done
	reload_conf
}

# Undo every ALTER SYSTEM of the test.
t7_restore() {
	t7_sql "ALTER SYSTEM RESET ALL" >/dev/null 2>&1 || true
	t7_sql "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}

# Start from nothing: no faults, default config, empty tables, idle worker.
t7_fresh() {
	sim clear-faults >/dev/null 2>&1 || true
	sim reset
	t7_restore
	sleep 0.3
	wait_for "SELECT in_flight = 0 FROM mono_worker_status()" 20 || true
	t7_sql "TRUNCATE mono.payments, mono.schedule, mono.fund_requests, mono.beneficiaries,
	        mono.webhook_events, mono.http_log, mono.accounts, mono.transactions,
	        mono.account_flows RESTART IDENTITY CASCADE" >/dev/null
}

# The pid of the mono_pay worker (or, with a TYPE, of the process of that
# backend_type, e.g. 'mono_pay sender'), or nothing: t7_worker_pid [TYPE]
t7_worker_pid() {
	sql "SELECT pid FROM pg_stat_activity WHERE backend_type = '${1:-mono_pay worker}'" 2>/dev/null || true
}

# Wait until a mono_pay worker (or a process of TYPE) other than OLD_PID
# runs, and print its pid: t7_wait_worker [OLD_PID] [SECONDS] [TYPE]
t7_wait_worker() {
	local old=${1:-} secs=${2:-30} type=${3:-mono_pay worker} end pid
	end=$(($(date +%s) + secs))
	while [ "$(date +%s)" -lt "$end" ]; do
		pid=$(t7_worker_pid "$type")
		if [ -n "$pid" ] && [ "$pid" != "$old" ]; then
			echo "$pid"
			return 0
		fi
		sleep 0.1
	done
	mono_say "no new $type within ${secs}s"
	return 1
}

# Queue batch B of N charges split into K batches, durably (synchronous_commit
# on): references TAG + 6 digits, one phone per charge PHONE9 + 4 digits (Mono
# takes a phone's next prompt only once its earlier one is answered, and these
# customers never answer), amounts BASE + i.
#	t7_queue_batch TAG PHONE9 BASE N K B
t7_queue_batch() {
	local tag=$1 phones=$2 base=$3 n=$4 k=$5 b=$6 per lo hi
	per=$(((n + k - 1) / k)) lo=$(((b - 1) * per + 1)) hi=$((b * per))
	[ "$hi" -gt "$n" ] && hi=$n
	t7_sql "SET synchronous_commit = on;
	        SELECT count(mono_charge('$phones' || lpad(i::text, 4, '0'), $base + i,
	                                 '$tag charge ' || i, '$tag' || lpad(i::text, 6, '0')))
	          FROM generate_series($lo, $hi) i" >/dev/null
}

# SIGKILL the worker (the postmaster then restarts every backend: crash
# recovery) and wait for its successor. Prints the successor's pid.
t7_kill_worker() {
	local pid
	pid=$(t7_worker_pid)
	[ -n "$pid" ] || { mono_say "t7_kill_worker: no worker to kill"; return 1; }
	kill -KILL "$pid"
	t7_wait_worker "$pid" 60
}

# Follow the simulator's request log (it keeps the last 2,000 entries) in
# the background and count the faults it injected, by kind, into FILE as
# JSON: {"requests": N, "faults": {"500": n, ...}}. t7_tally_stop ends it
# (the file is rewritten after every poll).
t7_tally_start() {
	local file=$1
	python3 - "$MONO_SIM_URL" "$file" <<'EOF' >/dev/null 2>&1 &
import json, sys, time, urllib.request, signal
url, out = sys.argv[1], sys.argv[2]
prev, requests, faults, stop = [], 0, {}, False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
def fetch():
    with urllib.request.urlopen(url + "/_sim/requests/log?limit=2000", timeout=10) as r:
        return [json.dumps(e, sort_keys=True) for e in json.load(r)]
def new_part(prev, cur):
    # the longest suffix of prev that is a prefix of cur was seen already
    for k in range(min(len(prev), len(cur)), 0, -1):
        if prev[-k:] == cur[:k]:
            return cur[k:]
    return cur
while True:
    last = stop
    try:
        cur = fetch()
    except Exception:
        cur = None
    if cur is not None:
        for e in new_part(prev, cur):
            requests += 1
            f = json.loads(e).get("fault")
            if f:
                faults[f] = faults.get(f, 0) + 1
        prev = cur
        with open(out + ".tmp", "w") as f:
            json.dump({"requests": requests, "faults": faults}, f)
        import os
        os.replace(out + ".tmp", out)
    if last:
        break
    time.sleep(0.3)
EOF
	T7_TALLY_PID=$!
}

# Stop the fault tally (after one last poll).
t7_tally_stop() {
	if [ -n "$T7_TALLY_PID" ]; then
		kill -TERM "$T7_TALLY_PID" 2>/dev/null || true
		wait "$T7_TALLY_PID" 2>/dev/null || true
		T7_TALLY_PID=
	fi
}

# The tally as one "requests=N faults=N 500=N 429=N delay=N close_after_body=N
# invalid_json=N 400=N" line (read fields with t7_field): t7_tally_line FILE
t7_tally_line() {
	python3 - "$1" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
f = t["faults"]
print("requests=%d faults=%d " % (t["requests"], sum(f.values())) +
      " ".join("%s=%d" % (k, f.get(k, 0))
               for k in ("500", "429", "delay", "close_after_body", "invalid_json", "400")))
EOF
}

# The simulator's counts by reference: one "reference received accepted" line each.
t7_ref_counts() {
	sim get requests | python3 -c '
import json, sys
for ref, c in sorted(json.load(sys.stdin)["by_reference"].items()):
    print(ref, c["received"], c["accepted"])'
}

# Compare the fund requests of the database (references matching the SQL
# LIKE pattern) with the simulator's counts. Prints one line:
# "rows=N accepted_once=N never_accepted=N accepted_twice=N unknown_to_db=N received=N"
t7_accept_summary() {
	local pattern=$1 dbrefs simrefs
	dbrefs=$(mktemp) simrefs=$(mktemp)
	t7_sql "SELECT reference FROM mono.fund_requests WHERE reference LIKE '$pattern' ORDER BY 1" >"$dbrefs"
	t7_ref_counts >"$simrefs"
	python3 - "$dbrefs" "$simrefs" "$pattern" <<'EOF'
import sys, fnmatch
db = [l.strip() for l in open(sys.argv[1]) if l.strip()]
sim = {}
for l in open(sys.argv[2]):
    ref, rec, acc = l.split()
    sim[ref] = (int(rec), int(acc))
glob = sys.argv[3].replace("%", "*").replace("_", "?")
once = sum(1 for r in db if sim.get(r, (0, 0))[1] == 1)
never = sum(1 for r in db if sim.get(r, (0, 0))[1] == 0)
twice = sum(1 for r in db if sim.get(r, (0, 0))[1] > 1)
stranger = sum(1 for r in sim if fnmatch.fnmatchcase(r, glob) and r not in set(db) and sim[r][1] > 0)
received = sum(sim.get(r, (0, 0))[0] for r in db)
print("rows=%d accepted_once=%d never_accepted=%d accepted_twice=%d unknown_to_db=%d received=%d"
      % (len(db), once, never, twice, stranger, received))
EOF
	rm -f "$dbrefs" "$simrefs"
}

# A key of a "k=v k=v" line: t7_field LINE KEY
t7_field() {
	local kv
	for kv in $1; do
		if [ "${kv%%=*}" = "$2" ]; then
			echo "${kv#*=}"
			return 0
		fi
	done
	echo ""
}

# Outbox rows (fund requests and links) not yet settled: queued, sending or unknown.
t7_unsettled() {
	t7_sql "SELECT (SELECT count(*) FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown'))
	             + (SELECT count(*) FROM mono.beneficiaries WHERE status IN ('queued', 'sending', 'unknown'))"
}

# Start Debian's prometheus-postgres-exporter with contrib/queries.yaml,
# connected as ROLE, on a free port: t7_start_exporter ROLE LOGFILE
# (sets eport, its port, and exporter, its pid)
t7_start_exporter() {
	eport=$(free_port)
	env -u PGOPTIONS DATA_SOURCE_NAME="postgresql://$1@127.0.0.1:$PGPORT/$PGDATABASE?sslmode=disable" \
		prometheus-postgres-exporter --disable-default-metrics --disable-settings-metrics \
		--extend.query-path="$MONO_ROOT/contrib/queries.yaml" \
		--web.listen-address="127.0.0.1:$eport" >"$2" 2>&1 &
	exporter=$!
}

# Always: stop the tally, clear faults, reset settings.
t7_cleanup() {
	t7_tally_stop
	[ -d "${PGDATA:-/nonexistent}" ] || return 0
	sim clear-faults >/dev/null 2>&1 || true
	t7_restore
}
trap t7_cleanup EXIT
# a TERM or INT (test/storm stopped, prove killed) still runs the EXIT trap
trap 'exit 143' TERM
trap 'exit 130' INT

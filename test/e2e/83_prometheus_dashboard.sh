#!/usr/bin/env bash
# test/e2e/83_prometheus_dashboard.sh: what an operator graphs and pages on
# (issue 25), with Debian's prometheus scraping Debian's
# prometheus-postgres-exporter and contrib/queries.yaml, as a monitoring
# role with the README's grants only:
#   - a charge held for its phone by one prompt per phone ages
#     mono_oldest_queued_seconds but not mono_oldest_sendable_seconds;
#   - a row mono_pay could not build counts as class unbuildable, not network;
#   - with pg_read_all_stats the role sees the workers' backend_type;
#   - while a bulk drains, mono_worker_status() shows a rate and a time left;
#   - every query (expr) of contrib/mono_pay.dashboard.json returns data.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

plan 11

t7_fresh
pid0=$(t7_wait_worker "" 30)
[ -n "$pid0" ] || t7_gone "no worker"
for i in $(seq 10 19); do sim user "23480830000$i" active; done
tmp=$MONO_TMP/prom83
mkdir -p "$tmp"
exporter=
prom=
trap 'kill $exporter $prom 2>/dev/null; t7_restore' EXIT

# ------------------------------------------------------------ the monitoring role
t7_sql "DROP ROLE IF EXISTS mono_monitor83; CREATE ROLE mono_monitor83 LOGIN;
        GRANT USAGE ON SCHEMA mono TO mono_monitor83;
        GRANT SELECT ON mono.metrics TO mono_monitor83;
        GRANT EXECUTE ON FUNCTION mono_worker_status() TO mono_monitor83" >/dev/null
# SQL as the monitoring role
as_monitor() {
	t7_sql "SET ROLE mono_monitor83; $1"
}
seen="SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'mono_pay worker'"
is "$(as_monitor "$seen")" 0 "without pg_read_all_stats the role sees no worker (backend_type NULL)"
t7_sql "GRANT pg_read_all_stats TO mono_monitor83" >/dev/null
is "$(as_monitor "$seen")" 1 "with pg_read_all_stats it sees the worker's backend_type"

# ------------------------------------------------------------ held, not stuck
# a phone's first charge waits for its customer; the second is held for it
# (one prompt per phone)
t7_sql "SELECT mono_charge('2348083000010', 500, 'First prompt', 'HELD83AA')" >/dev/null
ok "wait_for \"SELECT status = 'awaiting_authorization' FROM mono.fund_requests WHERE reference = 'HELD83AA'\" 30" \
	"the phone's first charge awaits its customer"
t7_sql "SELECT mono_charge('2348083000010', 600, 'Second prompt', 'HELD83BB')" >/dev/null
sleep 3
metric_sql() {
	as_monitor "SELECT round(value)::bigint FROM mono.metrics WHERE name = '$1' AND kind = 'charges'"
}
ok "[ \"\$(metric_sql oldest_queued_seconds)\" -ge 2 ]" \
	"the held charge ages mono_oldest_queued_seconds ($(metric_sql oldest_queued_seconds) s)"
is "$(metric_sql oldest_sendable_seconds)" 0 "but not mono_oldest_sendable_seconds: nothing sendable waits"

# ------------------------------------------------------------ unbuildable
t7_sql "ALTER DOMAIN mono.description DROP CONSTRAINT description_check" >/dev/null
t7_sql "INSERT INTO mono.fund_requests (reference, phone, amount, description, type)
        VALUES ('BIG83ROW', '2348083000011', 100, 'big ' || repeat('x', 2000), 'onetime')" >/dev/null
t7_sql "ALTER DOMAIN mono.description ADD CONSTRAINT description_check
        CHECK (char_length(VALUE) <= 255 AND NOT mono.is_blank(VALUE)) NOT VALID" >/dev/null
ok "wait_for \"SELECT status = 'failed' FROM mono.fund_requests WHERE reference = 'BIG83ROW'\" 30" \
	"a row mono_pay cannot build fails"
is "$(as_monitor "SELECT string_agg(label || '=' || value, ',' ORDER BY label) FROM mono.metrics WHERE name = 'failures'")" \
	"unbuildable=1" "it is counted as unbuildable, not network"

# ------------------------------------------------------------ rate and time left
# a bulk of 300 charges (other phones, one prompt each) while Mono is slow
# (0.5 s an answer, 8 at once: about 20 s to drain)
t7_set max_in_flight 8
sim fault '{"kind": "delay", "count": 300, "delay_s": 0.5}'
t7_sql "SELECT count(mono_charge('23480831' || lpad(i::text, 5, '0'), 100, 'Bulk ' || i, 'BULK83R' || i))
          FROM generate_series(1, 300) i" >/dev/null
ok "wait_for \"SELECT send_rate > 0 AND seconds_left IS NOT NULL AND queued > 0 FROM mono_worker_status()\" 60" \
	"while the bulk drains, mono_worker_status() shows a send rate and a time left"
diag "$(t7_sql "SELECT 'queued ' || queued || ', ' || round(send_rate::numeric, 1) || ' a second, ' || round(seconds_left::numeric) || ' s left' FROM mono_worker_status()")"
sim clear-faults >/dev/null 2>&1 || true
t7_restore

# Connect: a tracked account; a webhook event (unmatched: no such request)
t7_sql "INSERT INTO mono.accounts (account_id, data_status, tracked) VALUES ('acc_dash83', 'AVAILABLE', true)" >/dev/null
t7_sql "SELECT mono_handle_webhook(jsonb_build_object('event', 'direct_debit.fund_request.approved', 'event_id', 'evt_dash83',
        'timestamp', '2026-12-01T10:00:00Z', 'data', jsonb_build_object('id', 'fr_nowhere83'))::text,
        '$MONO_WEBHOOK_SECRET')" >/dev/null
ok "[ \"\$(t7_sql \"SELECT count(*) FROM mono.webhook_events\")\" -ge 1 ]" "a webhook event is stored"

# ------------------------------------------------------------ exporter and prometheus
t7_start_exporter mono_monitor83 "$tmp/exporter.log"
pport=$(free_port)
cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $MONO_ROOT/contrib/mono_pay.rules.yml
scrape_configs:
  - job_name: mono_pay
    static_configs:
      - targets: ['127.0.0.1:$eport']
YML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
	--web.listen-address="127.0.0.1:$pport" >"$tmp/prometheus.log" 2>&1 &
prom=$!
# the number of series PromQL EXPR returns now
series() {
	curl -sf --max-time 5 "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)["data"]["result"]))' 2>/dev/null || echo 0
}
for _ in $(seq 1 300); do
	[ "$(series 'mono_worker_running')" -ge 1 ] && [ "$(series 'mono_accounts_accounts')" -ge 1 ] && break
	sleep 0.2
done
is "$(series 'up{job="mono_pay"} == 1')" 1 "prometheus scrapes the exporter"
missing=()
while IFS= read -r expr; do
	n=$(series "$expr")
	diag "$n series: $expr"
	[ "$n" -ge 1 ] || missing+=("$expr")
done < <(python3 -c 'import json, sys
for p in json.load(open(sys.argv[1]))["panels"]:
    for t in p["targets"]:
        print(t["expr"])' "$MONO_ROOT/contrib/mono_pay.dashboard.json")
is "${missing[*]}" "" "every query of contrib/mono_pay.dashboard.json returns data"

kill $exporter $prom 2>/dev/null || true
wait $exporter $prom 2>/dev/null || true
t7_sql "DELETE FROM mono.accounts WHERE account_id = 'acc_dash83'; DROP OWNED BY mono_monitor83; DROP ROLE mono_monitor83" >/dev/null
t7_restore
done_testing

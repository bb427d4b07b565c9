#!/usr/bin/env bash
# test/e2e/74_listen_and_paths.sh: secrets and privileges where a pgTAP
# transaction cannot look.
#   1. An application role with exactly the README's grants LISTENs on
#      mono_pay while links (with BVNs), charges, webhooks, an unlink and a
#      run with a wrong API key (401s: the rows wait) happen: every payload is small JSON
#      with table/id/reference/status(/seq) only, and none contains the API
#      key, the webhook secret, the wrong key or a BVN.
#   2. The same role cannot ALTER SYSTEM SET mono_pay.api_url / secret_key
#      (outside a transaction block, where ALTER SYSTEM can run).
#   3. A reload that changes a secret (the API key and the connect app's key
#      and webhook secret rotated here, the webhook secret by other tests)
#      does not write it in the server log, and no
#      other line of the run's server log holds a secret, the wrong key or a
#      BVN of this test.
#   4. The worker does not run code chosen by the database's owner: an owner
#      (not a superuser) may ALTER DATABASE ... SET search_path; the worker
#      (a superuser) must not call a function of that owner's schema that
#      shadows pg_catalog's now().
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"

APP=mono_app74
OWNER=mono_owner74
WRONG_KEY=sk_wrong_key_74
ROTATED_CONNECT_KEY=sk_connect_rotated_74
ROTATED_CONNECT_WH=whsec_connect_rotated_74
BVNS="22274000001 22274000002"

t7_74_cleanup() {
	sql "ALTER DATABASE $PGDATABASE RESET search_path" -d postgres >/dev/null 2>&1 || true
	sql "ALTER DATABASE $PGDATABASE OWNER TO postgres" -d postgres >/dev/null 2>&1 || true
	sql "SET client_min_messages = warning; DROP SCHEMA IF EXISTS evil74 CASCADE" >/dev/null 2>&1 || true
	sql "DROP OWNED BY $APP, $OWNER; DROP ROLE IF EXISTS $APP; DROP ROLE IF EXISTS $OWNER" >/dev/null 2>&1 || true
	t7_cleanup
}
trap t7_74_cleanup EXIT

plan 13

t7_fresh
sim user 2348074000001 not_found
sim user 2348074000002 not_found
sim user 2348074000003 active
sql "DROP OWNED BY $APP" >/dev/null 2>&1 || true
sql "SET client_min_messages = warning; DROP ROLE IF EXISTS $APP" >/dev/null
sql "CREATE ROLE $APP LOGIN;
     GRANT USAGE ON SCHEMA mono TO $APP;
     GRANT SELECT ON mono.beneficiaries, mono.fund_requests, mono.payments,
                    mono.schedule, mono.instalments TO $APP;
     GRANT EXECUTE ON FUNCTION
         mono_user_status(text),
         mono_link_beneficiary(text, text, text, text, text, bigint, text),
         mono_charge(text, bigint, text, text, text, integer, timestamptz, timestamptz, text),
         mono_unlink_beneficiary(text),
         mono_wait(text, interval),
         mono_handle_webhook(text, text),
         mono_account_sync(text, boolean)
       TO $APP;
     GRANT EXECUTE ON FUNCTION mono_charge_trigger() TO $APP;" >/dev/null

# ---- 1. LISTEN as the application -----------------------------------
out=$MONO_TMP/74_listen.out
fifo=$MONO_TMP/74_listen.fifo
rm -f "$fifo"
mkfifo "$fifo"
PGUSER=$APP PGOPTIONS= PGAPPNAME=qa74_listener timeout 120 "$PG_BIN/psql" -X -q -A -t <"$fifo" >"$out" 2>&1 &
listener=$!
exec 7>"$fifo"
echo "LISTEN mono_pay;" >&7
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'qa74_listener'" 10 >/dev/null

as_app() { PGUSER=$APP PGOPTIONS= sql "$@"; }
as_app "SELECT status FROM mono_link_beneficiary('2348074000001', 'Ada Obi', '000013', '0123456789', '22274000001', 5000, 'First')" >/dev/null
as_app "SELECT status FROM mono_link_beneficiary('2348074000002', 'Bayo Ade', '000014', '0123456780', '22274000002')" >/dev/null
# one phone per charge: Mono takes a phone's next prompt only once its
# earlier one is answered
as_app "SELECT count(mono_charge('23480740001' || lpad(i::text, 2, '0'), 100 + i, 'Charge ' || i, 'LISTEN74C' || i)) FROM generate_series(1, 5) i" >/dev/null
# (both counts: a subquery inside the first WHERE made it true while links were queued)
wait_for "SELECT (SELECT count(*) = 0 FROM mono.fund_requests WHERE status IN ('queued', 'sending', 'unknown'))
          AND (SELECT count(*) = 0 FROM mono.beneficiaries WHERE status IN ('queued', 'sending', 'unknown'))" 20
sim post beneficiaries/2348074000001/approve >/dev/null
sim post beneficiaries/2348074000002/approve >/dev/null
sim post fund-requests/LISTEN74C1/approve >/dev/null
sim post fund-requests/LISTEN74C1/debit '{"status":"successful"}' >/dev/null
PGUSER=$APP PGOPTIONS= "$MONO_TEST_LIB/deliver-webhooks" --quiet >/dev/null
wait_for "SELECT status = 'linked' FROM mono.beneficiaries WHERE phone = '2348074000002'" 10
as_app "SELECT status FROM mono_unlink_beneficiary('2348074000002')" >/dev/null
wait_for "SELECT status = 'unlinked' FROM mono.beneficiaries WHERE phone = '2348074000002'" 10
# a wrong API key: the worker's calls get 401s; the rows wait (issue 22)
t7_set secret_key "$WRONG_KEY"
as_app "SELECT count(mono_charge('23480740002' || lpad(i::text, 2, '0'), 100 + i, 'Refused ' || i, 'LISTEN74W' || i)) FROM generate_series(1, 3) i" >/dev/null
ok "wait_for \"SELECT count(*) >= 1 FROM mono.fund_requests WHERE reference LIKE 'LISTEN74W%' AND status = 'queued' AND last_error LIKE 'HTTP 401%'\" 15" \
	"with a wrong API key the worker's charges are refused with 401 and wait, failing none"
t7_sql "ALTER SYSTEM RESET mono_pay.secret_key" >/dev/null
reload_conf
wait_for "SELECT count(*) = 3 FROM mono.fund_requests WHERE reference LIKE 'LISTEN74W%' AND status = 'awaiting_authorization'" 15 || true
# the connect app's secrets rotated too (issue 11): the same masking
t7_set connect_secret_key "$ROTATED_CONNECT_KEY" connect_webhook_secret "$ROTATED_CONNECT_WH"
t7_sql "ALTER SYSTEM RESET mono_pay.connect_secret_key" >/dev/null
t7_sql "ALTER SYSTEM RESET mono_pay.connect_webhook_secret" >/dev/null
reload_conf
echo "SELECT 'listener done';" >&7
echo '\q' >&7
exec 7>&-
wait "$listener"
rm -f "$fifo"

payloads=$(sed -n 's/^Asynchronous notification "mono_pay" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' "$out")
n=$(printf '%s\n' "$payloads" | grep -c . || true)
diag "the application received $n notifications"
ok "[ $n -ge 20 ]" "the listener received the notifications of the links, charges, webhooks, unlink and failures ($n)"
leaks=
for s in "$MONO_SECRET_KEY" "$MONO_WEBHOOK_SECRET" "$WRONG_KEY" $BVNS; do
	if printf '%s' "$payloads" | grep -qF "$s"; then leaks="$leaks $s"; fi
done
is "$leaks" "" "no payload contains the API key, the webhook secret, the wrong key or a BVN"
shape=$(printf '%s\n' "$payloads" | python3 -c '
import json, sys
bad = []
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        p = json.loads(line)
    except ValueError:
        bad.append("not JSON: " + line[:80]); continue
    # mono_status: what Mono last reported of a fund request (issue 11)
    if not set(p) <= {"table", "id", "reference", "status", "seq", "mono_status", "fund_request_id"} or len(line) > 200:
        bad.append(line[:120])
print("; ".join(bad))')
is "$shape" "" "every payload is JSON with table, id, reference, status (and seq, mono_status, fund_request_id) only"
# what Mono reported rides along once Mono said something (issue 11)
mono_said=$(printf '%s\n' "$payloads" | python3 -c '
import json, sys
print(" ".join(p["status"] + "=" + p["mono_status"] for p in map(json.loads, filter(str.strip, sys.stdin))
               if p.get("reference") == "LISTEN74C1" and "mono_status" in p))')
is "$mono_said" "created=created approved=approved completed=completed" \
	"a fund request's payloads carry the status Mono reported (mono_status) once it reported one"
ok "grep -q 'listener done' '$out'" "the listener session ran to the end"

# ---- 2. ALTER SYSTEM as the application --------------------------------
err=$(PGUSER=$APP PGOPTIONS= "$PG_BIN/psql" -X -q -A -t -c "ALTER SYSTEM SET mono_pay.api_url = 'http://127.0.0.1:9'" 2>&1 || true)
like "$err" 'permission denied to set parameter "mono_pay.api_url"' "ALTER SYSTEM SET mono_pay.api_url as the application: permission denied"
err=$(PGUSER=$APP PGOPTIONS= "$PG_BIN/psql" -X -q -A -t -c "ALTER SYSTEM SET mono_pay.secret_key = 'sk_mine'" 2>&1 || true)
like "$err" 'permission denied to set parameter "mono_pay.secret_key"' "ALTER SYSTEM SET mono_pay.secret_key as the application: permission denied"
is "$(grep -c 'mono_pay.api_url\|sk_mine' "$PGDATA/postgresql.auto.conf" 2>/dev/null || true)" 0 \
	"postgresql.auto.conf was not changed"

# ---- 3. The server log ------------------------------------------------------
# the key was rotated above (ALTER SYSTEM SET secret_key, reload; RESET,
# reload), as other tests do with the webhook secret: on a reload
# PostgreSQL logs 'parameter "..." changed to "<value>"' for each change
changed='parameter "mono_pay\.\(secret_key\|webhook_secret\|connect_secret_key\|connect_webhook_secret\)" changed to "[^*"]'
rotation=$(grep "$changed" "$MONO_TMP/postgres.log" | sed 's/^[^]]*] //; s/changed to "[^"]*"/changed to "<the secret, masked here>"/' | sort | uniq -c)
[ -z "$rotation" ] || diag "server log lines (values masked here):
$rotation"
is "$(grep -c "$changed" "$MONO_TMP/postgres.log")" 0 \
	"a reload that changes a secret (key rotation) writes no secret in the server log"
leaks=
for s in "$MONO_SECRET_KEY" "$MONO_WEBHOOK_SECRET" "$WRONG_KEY" $BVNS \
	"$MONO_CONNECT_SECRET_KEY" "$MONO_CONNECT_WEBHOOK_SECRET" "$ROTATED_CONNECT_KEY" "$ROTATED_CONNECT_WH"; do
	if grep -v "$changed" "$MONO_TMP/postgres.log" | grep -qF "$s"; then leaks="$leaks $s"; fi
done
is "$leaks" "" "no other line of the run's server log holds a secret, the wrong key or a BVN ($(wc -l <"$MONO_TMP/postgres.log") lines)"

# ---- 4. The worker and the database owner's search_path -----------------
sql "DROP OWNED BY $OWNER" >/dev/null 2>&1 || true
sql "SET client_min_messages = warning; DROP ROLE IF EXISTS $OWNER" >/dev/null
sql "CREATE ROLE $OWNER LOGIN" >/dev/null
sql "ALTER DATABASE $PGDATABASE OWNER TO $OWNER" -d postgres >/dev/null
sql "CREATE SCHEMA evil74 AUTHORIZATION $OWNER" >/dev/null
PGUSER=$OWNER PGOPTIONS= sql "
    CREATE TABLE evil74.seen (who text, superuser boolean, at timestamptz DEFAULT pg_catalog.clock_timestamp());
    CREATE FUNCTION evil74.now() RETURNS timestamptz LANGUAGE sql AS \$\$
        INSERT INTO evil74.seen (who, superuser)
        SELECT current_user, (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
        SELECT pg_catalog.now() \$\$;
    GRANT USAGE ON SCHEMA evil74 TO PUBLIC;
    GRANT INSERT ON evil74.seen TO PUBLIC;
    ALTER DATABASE $PGDATABASE SET search_path = evil74, pg_catalog, public;" >/dev/null
# a new worker reads the database's settings when it connects
old=$(t7_worker_pid)
sql "SELECT pg_terminate_backend($old)" >/dev/null
new=$(t7_wait_worker "$old" 30)
# it runs its upkeep (mono.maintain(): now() in plain PL/pgSQL) every sweep
sleep 2
ran_as=$(sql "SELECT coalesce(string_agg(DISTINCT who || ' (superuser ' || superuser || ')', ', '), 'nobody') FROM evil74.seen")
diag "evil74.now() ran as: $ran_as (worker $old replaced by $new)"
is "$ran_as" "nobody" "the worker never runs a function of the database owner's schema (it pins its own search_path)"
sql "ALTER DATABASE $PGDATABASE RESET search_path" -d postgres >/dev/null
sql "ALTER DATABASE $PGDATABASE OWNER TO postgres" -d postgres >/dev/null
sql "SET client_min_messages = warning; DROP SCHEMA evil74 CASCADE" >/dev/null
old=$(t7_worker_pid)
sql "SELECT pg_terminate_backend($old)" >/dev/null
ok "t7_wait_worker $old 30 >/dev/null" "the worker restarts without the owner's search_path"

done_testing

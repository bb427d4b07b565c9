#!/usr/bin/env bash
# test/e2e/88_restore_parallel.sh: pg_restore -j 4 of a database whose mono
# tables reference each other (issue 24). The tables are extension
# configuration tables: pg_restore -j loads their data in parallel, in any
# order (a link's fund requests may arrive before the link, a payment before
# its request, an instalment before its payment, a transaction before its
# account), so a FOREIGN KEY between two of them fails such a restore
# (doc/design.md, "References between mono's tables"). The original holds
# real work (a link with its first charge, a synced account) and a busy
# merchant's history (links, fund requests, payments, instalments,
# accounts, transactions); its dump, restored with pg_restore -j 4 into a
# fresh cluster: exits 0, every row of every table is back, the copy's
# worker pauses, and references are enforced again outside pg_restore.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=7_lib.bash
. "$here/7_lib.bash"
# shellcheck source=8_ha.bash
. "$here/8_ha.bash"

plan 8

t7_fresh

# --- the original: real work, then the history -------------------------
ha_cluster
create_test_db mono_test
sim user 2348088000001 active >/dev/null
t7_sql "SELECT 1 FROM mono_link_beneficiary('2348088000001', 'Ada Obi', '000013', '0123456789', NULL,
                                            5000, 'First charge, inside the link')" >/dev/null
sim post accounts '{"id":"acc88real","balance":900,"transactions":[{"id":"t88a","amount":400,"type":"debit","date":"2026-11-02T08:00:00Z"},{"id":"t88b","amount":700,"type":"credit","date":"2026-11-03T08:00:00Z"}]}' >/dev/null
t7_sql "SELECT 1 FROM mono_account_sync('acc88real')" >/dev/null
wait_for "SELECT status = 'awaiting_authorization' FROM mono.beneficiaries WHERE phone = '2348088000001'" 30 ||
	bail_out "the original did not send its link"
wait_for "SELECT count(*) = 2 FROM mono.transactions WHERE account_id = 'acc88real'" 30 ||
	bail_out "the original did not read its account's transactions"
t7_set enabled off
wait_for "SELECT in_flight = 0 FROM mono_worker_status()" 30
# a busy merchant's history, as mono_pay leaves it: 3,000 links, 30,000
# monthly plans (a third started inside their link), each with its first
# instalment paid (a payment) and its second upcoming; 100 accounts with
# 300 transactions each
t7_sql "
INSERT INTO mono.beneficiaries (phone, account_name, nip_code, account_number, status, mono_id)
SELECT '23480890' || lpad(i::text, 5, '0'), 'Customer ' || i, '000013', lpad(i::text, 10, '0'), 'linked', 'ben_88_' || i
  FROM generate_series(1, 3000) i;
INSERT INTO mono.fund_requests (reference, phone, amount, description, type, period, \"interval\", start_date,
                                status, link_id, mono_id)
SELECT 'R88H' || lpad(i::text, 8, '0'), b.phone, 1000 + i, 'Plan ' || i, 'recurring', 'month', 1,
       now() - interval '40 days', 'active', CASE WHEN i % 3 = 0 THEN b.id END, 'frq_88_' || i
  FROM generate_series(1, 30000) i
  JOIN mono.beneficiaries b ON b.phone = '23480890' || lpad((i % 3000 + 1)::text, 5, '0');
INSERT INTO mono.payments (mono_id, fund_request_id, fund_request_mono_id, reference, amount, status, processed_at)
SELECT 'pay_88_' || f.id, f.id, f.mono_id, 'tx88_' || f.id, f.amount, 'successful', f.start_date + interval '1 hour'
  FROM mono.fund_requests f WHERE f.reference LIKE 'R88H%';
INSERT INTO mono.schedule (fund_request_id, seq, due_at, status, payment_id)
SELECT f.id, s, f.start_date + (s - 1) * interval '1 month', CASE s WHEN 1 THEN 'paid' ELSE 'upcoming' END,
       CASE s WHEN 1 THEN p.id END
  FROM mono.fund_requests f JOIN mono.payments p ON p.fund_request_id = f.id, generate_series(1, 2) s;
INSERT INTO mono.accounts (account_id, tracked) SELECT 'acc88_' || i, false FROM generate_series(1, 100) i;
INSERT INTO mono.transactions (account_id, id, amount, type, date)
SELECT 'acc88_' || (i % 100 + 1), 'txn88_' || i, i, CASE WHEN i % 2 = 0 THEN 'debit' ELSE 'credit' END,
       now() - i * interval '1 minute'
  FROM generate_series(1, 30000) i" >/dev/null
counts=$(t7_sql "SELECT (SELECT count(*) FROM mono.beneficiaries) || ' ' || (SELECT count(*) FROM mono.fund_requests WHERE link_id IS NOT NULL)
                        || ' ' || (SELECT count(*) FROM mono.payments) || ' ' || (SELECT count(*) FROM mono.schedule WHERE payment_id IS NOT NULL)
                        || ' ' || (SELECT count(*) FROM mono.transactions)")
diag "original (links, requests inside a link, payments, paid instalments, transactions): $counts"
is "$counts" "3001 10001 30000 30000 30002" "the original holds links, requests inside links, payments, instalments and transactions"

# --- pg_restore -j 4 into a fresh cluster, same database name ------------
ha_move
before=$(ha_requests)
rc=0
ha_restore mono_test "$DUMP" -j 4 || rc=$?
is "$rc" 0 "pg_restore -j 4 exits 0"
ha_digest >"$MONO_TMP/restored.digest"
ok "diff \"$ORIG_TMP/original.digest\" \"$MONO_TMP/restored.digest\"" \
	"every row of every mono table is back, sequences too"
ok "wait_for \"SELECT state LIKE 'paused: a restored or cloned copy%' FROM mono_worker_status()\" 30" \
	"the restored copy's worker pauses"
sleep 1
is "$(ha_requests)" "$before" "the paused copy sent and read nothing"

# --- outside pg_restore, the references hold ----------------------------
err=$(sql "INSERT INTO mono.payments (mono_id, fund_request_id, amount, status)
          VALUES ('pay_88_orphan', 999999999, 1, 'successful')" -v VERBOSITY=verbose 2>&1 || true)
like "$err" "ERROR:  23503: " "a payment of a fund request that does not exist is refused (23503)"
err=$(sql "DELETE FROM mono.beneficiaries WHERE phone = '2348089000001'" -v VERBOSITY=verbose 2>&1 || true)
like "$err" "ERROR:  23503: " "a link that fund requests travelled in cannot be deleted (23503)"
is "$(t7_sql "DELETE FROM mono.accounts WHERE account_id = 'acc88_1';
              SELECT count(*) FROM mono.transactions WHERE account_id = 'acc88_1'")" 0 \
	"an account's transactions go with it"

done_testing

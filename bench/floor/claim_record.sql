-- bench/floor/claim_record.sql: one turn of a mono_pay worker's loop for
-- charges, without HTTP, as a pgbench script (the database floor of the
-- dispatch ratio in bench/run). A worker's turn (mono_queue_exchange in
-- src/queue.c) is one transaction: record the outcomes of the requests that
-- finished (record_charges_sql, in a subtransaction: try_record), then claim
-- as many due rows as there are free slots (claim_links_sql, then
-- claim_charges_sql). Here each turn records the rows the previous turn of
-- the same client claimed, as Mono's 202 answer makes them (send_outcome in
-- src/outcome.c), and claims :batch more.
-- Variables (pgbench -D): outcomes ('[]' at first), batch (free slots: at
-- most min(mono_pay.max_in_flight, mono_pay.batch_size)), worker (claimed_by),
-- one_prompt (mono_pay.one_prompt_per_phone), poll_base (mono_pay.poll_base
-- in ms). Run with -M prepared: the worker's plans are prepared once too.
-- The statements are copies of src/queue.c's C strings (claim_links_sql,
-- claim_charges_sql with PHONE_IS_FREE and CHARGE_COLUMNS,
-- record_charges_sql with OUTCOME_COLUMNS): keep them in step.
BEGIN;
SAVEPOINT record;
-- record_charges_sql
UPDATE mono.fund_requests f SET status = o.status,
 redirect_url = coalesce(o.redirect_url, f.redirect_url),
 mono_id = coalesce(f.mono_id, o.mono_id),
 mono_status = coalesce(o.mono_status, f.mono_status),
 list_offset = coalesce(o.read_offset, f.list_offset),
 http_status = coalesce(o.http_status, f.http_status),
 trace_id = o.trace_id, last_error = o.last_error, error_details = o.error_details,
 next_attempt_at = CASE WHEN o.retry_ms IS NULL THEN f.next_attempt_at
  ELSE now() + o.retry_ms * interval '1 millisecond' END,
 accepted_at = CASE WHEN o.status = 'awaiting_authorization' THEN now() ELSE f.accepted_at END,
 next_poll_at = CASE WHEN mono.fund_request_rank(o.status) BETWEEN 2 AND 8
  THEN now() + :poll_base::bigint * interval '1 millisecond' ELSE f.next_poll_at END,
 updated_at = now()
 FROM jsonb_to_recordset(:outcomes::jsonb) AS o(id bigint, expect text, status text, redirect_url text, mono_id text,
 http_status integer, trace_id text, last_error text, error_details jsonb,
 retry_ms bigint, erase_bvn boolean, mono_status text, read_offset integer)
 WHERE f.id = o.id AND f.status = o.expect;
RELEASE SAVEPOINT record;
-- claim_links_sql (the first worker claims links before charges; none are queued here)
UPDATE mono.beneficiaries SET status = 'sending', attempts = attempts + 1,
 updated_at = now()
 WHERE id IN (SELECT b.id FROM mono.beneficiaries b
  WHERE b.status = 'queued' AND b.next_attempt_at <= now()
  AND (b.action = 'unlink' OR NOT EXISTS (SELECT 1 FROM mono.fund_requests e
   WHERE e.phone = b.phone AND e.link_id IS NULL
   AND (e.status IN ('sending', 'unknown') OR (:one_prompt AND e.status = 'awaiting_authorization'))))
  ORDER BY b.next_attempt_at LIMIT :batch FOR UPDATE SKIP LOCKED)
 RETURNING id, attempts, action, phone, bvn,
 CASE WHEN octet_length(account_name) <= 400 THEN account_name END AS account_name,
 nip_code, account_number, mono_id;
-- claim_charges_sql; its rows become the next turn's outcomes. The to_char
-- formats are spelled with chr(58) for ':' (pgbench would take :MI and :SS
-- for variables even in a literal); replace() on constants is folded at plan time.
WITH claimed AS (
UPDATE mono.fund_requests SET status = 'sending', attempts = attempts + 1,
 claimed_by = :worker, updated_at = now()
 WHERE id IN (SELECT f.id FROM mono.fund_requests f
  WHERE f.status = 'queued' AND f.link_id IS NULL AND f.next_attempt_at <= now()
  AND NOT EXISTS (SELECT 1 FROM mono.fund_requests e WHERE e.phone = f.phone
   AND e.status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')
   AND (e.status IN ('sending', 'unknown') OR (e.status = 'queued' AND e.id < f.id)
    OR (:one_prompt AND e.status = 'awaiting_authorization')))
  AND NOT EXISTS (SELECT 1 FROM mono.beneficiaries l WHERE l.phone = f.phone
   AND l.action = 'link' AND (l.status IN ('queued', 'sending', 'unknown')
    OR (:one_prompt AND l.status = 'awaiting_authorization'
     AND l.updated_at > now() - mono.setting_interval('approval_window'))))
  ORDER BY f.next_attempt_at LIMIT :batch FOR UPDATE SKIP LOCKED)
 RETURNING id, attempts, reference, phone, type,
 CASE WHEN octet_length(description) <= 1020 THEN description END AS description,
 amount, currency, period,
 "interval", to_char(start_date AT TIME ZONE 'UTC', replace('YYYY-MM-DD"T"HH24.MI.SS"Z"', '.', chr(58))) AS start_iso,
 to_char(end_date AT TIME ZONE 'UTC', replace('YYYY-MM-DD"T"HH24.MI.SS"Z"', '.', chr(58))) AS end_iso)
SELECT count(*) AS claimed,
 coalesce(jsonb_agg(jsonb_build_object('id', id, 'expect', 'sending', 'status', 'awaiting_authorization',
  'http_status', 202, 'redirect_url', 'https://wa.me/2348000000000?text=bench', 'erase_bvn', true)),
  '[]') AS outcomes
 FROM claimed \gset
COMMIT;

------------------------------------------------------------------------
-- The outbox's state machine, as the worker drives it. The worker (C)
-- claims rows through these functions and reports what Mono answered as a
-- verdict; the statuses are decided here, and only here, beside the
-- webhook and polling rules (20_owo.code.sql). (The SQL functions that
-- backends call, mono_charge() to mono_wait(), and the DROP EXTENSION guard
-- keep their statements in C: a new library runs them against the old
-- objects too, until ALTER EXTENSION UPDATE; the worker waits for it.)
--
-- Verdicts of a send (the row is expected in sending):
--   accepted         2xx with a JSON body
--   reference_named  409, or 400 naming the reference: perhaps an earlier
--                    send reached Mono; settled by a read
--   retry            429, 5xx, or a transport error before reaching Mono
--   ambiguous        a transport error after reaching Mono, or a 2xx that
--                    is not JSON: settled by a read, never re-sent blindly
--   refused          any other 4xx
-- Verdicts of a settling read (the row is expected in unknown):
--   read_failed      the read itself failed: read again later
--   found            our object is in Mono's list (a charge: with Mono's status)
--   foreign          Mono holds our reference for a request that is not ours
--   partial          the read stopped at mono_pay.list_pages: go on from there
--   absent           our object is nowhere in Mono's whole list
--   gone, present    an unlink's read: Mono no longer has the link, or still has it
-- and unrecordable   the worker could not record the verdict "of" (its reason
--                    in last_error): settled by a read
------------------------------------------------------------------------

-- The status a verdict expects its row in.
CREATE OR REPLACE FUNCTION mono.verdict_expects(p_verdict text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_verdict IN ('accepted', 'reference_named', 'retry', 'ambiguous', 'refused')
                THEN 'sending' ELSE 'unknown' END
$$;

-- Mono's statuses of a fund request that mono.fund_requests takes as they
-- are; anything else Mono says (paused, declined, ...) means at least created.
CREATE OR REPLACE FUNCTION mono.fund_request_status_of(p_mono_status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_mono_status IN ('created', 'approved', 'processing', 'active',
                                       'completed', 'expired', 'cancelled')
                THEN p_mono_status ELSE 'created' END
$$;

-- What a verdict means for a fund request: the status it expects, the new
-- status, its error and when to try again.
CREATE OR REPLACE FUNCTION mono.charge_verdict(p_verdict text, p_of text, p_attempts integer,
                                               p_prior_http integer, p_reference text,
                                               p_mono_status text, p_error text, p_retry_ms bigint)
RETURNS TABLE (expect text, status text, last_error text, retry_ms bigint, erase_bvn boolean)
LANGUAGE sql STABLE AS $$
    SELECT mono.verdict_expects(coalesce(p_of, p_verdict)),
           s.status,
           CASE WHEN p_verdict = 'retry' AND s.status = 'failed'
                THEN format('gave up after %s attempts: %s', p_attempts, p_error)
                WHEN p_verdict = 'foreign'
                THEN format('Mono holds reference %s for another request (another phone, amount or type): not ours', p_reference)
                WHEN p_verdict = 'partial'
                THEN 'settling by reading Mono''s list page by page; not found yet'
                WHEN p_verdict = 'absent' AND s.status = 'awaiting_authorization'
                THEN 'Mono already had this reference from an earlier attempt; its redirect_url was not received'
                WHEN p_verdict = 'absent' AND s.status = 'failed'
                THEN format('Mono refused reference %s %s times (HTTP 400 naming it) and its reads show no such request', p_reference, p_attempts)
                WHEN p_verdict = 'absent'
                THEN 'Mono had no record after an ambiguous attempt; sending again'
                ELSE p_error END,
           CASE WHEN s.status = 'failed' OR p_verdict IN ('found', 'read_failed') THEN NULL
                WHEN p_verdict = 'partial' OR (p_verdict = 'absent' AND s.status = 'queued') THEN 0
                WHEN p_verdict = 'absent' THEN NULL
                ELSE p_retry_ms END,
           s.status = 'failed' OR p_verdict = 'accepted'
      FROM (SELECT CASE p_verdict
                WHEN 'accepted' THEN 'awaiting_authorization'
                WHEN 'retry' THEN CASE WHEN p_attempts >= current_setting('mono_pay.max_attempts')::integer
                                       THEN 'failed' ELSE 'queued' END
                WHEN 'refused' THEN 'failed'
                WHEN 'found' THEN mono.fund_request_status_of(p_mono_status)
                WHEN 'foreign' THEN 'failed'
                WHEN 'absent' THEN CASE
                    WHEN p_prior_http = 409 THEN 'awaiting_authorization'
                    WHEN p_prior_http = 400
                         AND p_attempts >= current_setting('mono_pay.max_attempts')::integer THEN 'failed'
                    ELSE 'queued' END
                ELSE 'unknown' END AS status) s
$$;

-- What a verdict means for a link or an unlink (same columns).
CREATE OR REPLACE FUNCTION mono.link_verdict(p_verdict text, p_of text, p_attempts integer,
                                             p_action text, p_error text, p_retry_ms bigint)
RETURNS TABLE (expect text, status text, last_error text, retry_ms bigint, erase_bvn boolean)
LANGUAGE sql STABLE AS $$
    SELECT mono.verdict_expects(coalesce(p_of, p_verdict)),
           s.status,
           CASE WHEN p_verdict = 'retry' AND s.status = 'failed'
                THEN format('gave up after %s attempts: %s', p_attempts, p_error)
                WHEN p_verdict = 'partial'
                THEN 'settling by reading Mono''s list page by page; not found yet'
                WHEN p_verdict = 'absent'
                THEN 'the link may have reached Mono (its answer was lost); not sent again, so that the customer gets one WhatsApp prompt: waiting for the customer'
                ELSE p_error END,
           CASE WHEN s.status = 'failed' OR p_verdict IN ('found', 'read_failed', 'absent') THEN NULL
                WHEN p_verdict IN ('partial', 'gone', 'present') THEN 0
                ELSE p_retry_ms END,
           s.status = 'failed' OR p_verdict IN ('accepted', 'found', 'absent')
      FROM (SELECT CASE p_verdict
                WHEN 'accepted' THEN CASE WHEN p_action = 'unlink' THEN 'unlinked'
                                          ELSE 'awaiting_authorization' END
                WHEN 'retry' THEN CASE WHEN p_attempts >= current_setting('mono_pay.max_attempts')::integer
                                       THEN 'failed' ELSE 'queued' END
                WHEN 'refused' THEN 'failed'
                WHEN 'found' THEN 'linked'
                WHEN 'absent' THEN 'awaiting_authorization'
                WHEN 'gone' THEN 'unlinked'
                WHEN 'present' THEN 'queued'
                ELSE 'unknown' END AS status) s
$$;

-- Record the verdicts on fund requests: [{id, verdict, of, redirect_url,
-- mono_id, mono_status, http_status, trace_id, last_error, error_details,
-- retry_ms, read_offset}]; p_poll_ms: mono_pay.poll_base. The rows are
-- reached through their ids as an array the primary key looks up: joined
-- with jsonb_to_recordset alone, a table of some 20,000 rows or fewer was
-- hash-joined by a scan of the whole table on every record.
CREATE OR REPLACE FUNCTION mono.record_charge_outcomes(p_outcomes jsonb, p_poll_ms bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[] := ARRAY(SELECT (x ->> 'id')::bigint FROM jsonb_array_elements(p_outcomes) x);
BEGIN
    WITH o AS (SELECT * FROM jsonb_to_recordset(p_outcomes) AS o(id bigint, verdict text, "of" text,
                   redirect_url text, mono_id text, mono_status text, http_status integer,
                   trace_id text, last_error text, error_details jsonb, retry_ms bigint,
                   read_offset integer)),
         v AS (SELECT o.*, d.expect, d.status, d.last_error AS error, d.retry_ms AS retry
                 FROM o JOIN mono.fund_requests f ON f.id = o.id AND f.id = ANY (v_ids),
                      LATERAL mono.charge_verdict(o.verdict, o."of", f.attempts, f.http_status,
                                                  f.reference, o.mono_status, o.last_error,
                                                  o.retry_ms) d)
    UPDATE mono.fund_requests f SET status = v.status,
           redirect_url = coalesce(v.redirect_url, f.redirect_url),
           mono_id = coalesce(f.mono_id, v.mono_id),
           mono_status = coalesce(v.mono_status, f.mono_status),
           list_offset = coalesce(v.read_offset, f.list_offset),
           http_status = coalesce(v.http_status, f.http_status),
           trace_id = v.trace_id, last_error = v.error, error_details = v.error_details,
           next_attempt_at = CASE WHEN v.retry IS NULL THEN f.next_attempt_at
                                  ELSE now() + v.retry * interval '1 millisecond' END,
           accepted_at = CASE WHEN v.status = 'awaiting_authorization' THEN now() ELSE f.accepted_at END,
           next_poll_at = CASE WHEN mono.fund_request_rank(v.status) BETWEEN 2 AND 8
                               THEN now() + p_poll_ms * interval '1 millisecond' ELSE f.next_poll_at END,
           updated_at = now()
      FROM v
     WHERE f.id = v.id AND f.id = ANY (v_ids) AND f.status = v.expect;
END;
$$;

-- Record the verdicts on links and unlinks. A link's first fund request
-- follows its link while both are in the outbox; a Mono id that another of
-- our links holds (an old link of the phone) is not this one's.
CREATE OR REPLACE FUNCTION mono.record_link_outcomes(p_outcomes jsonb, p_poll_ms bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[] := ARRAY(SELECT (x ->> 'id')::bigint FROM jsonb_array_elements(p_outcomes) x);
BEGIN
    WITH o AS (SELECT * FROM jsonb_to_recordset(p_outcomes) AS o(id bigint, verdict text, "of" text,
                   redirect_url text, mono_id text, http_status integer, trace_id text,
                   last_error text, error_details jsonb, retry_ms bigint, read_offset integer)),
         r AS (SELECT o.*, d.expect, d.last_error AS error, d.retry_ms AS retry, d.erase_bvn,
                      o.mono_id IS NOT NULL AND EXISTS (SELECT 1 FROM mono.beneficiaries x
                          WHERE x.mono_id = o.mono_id AND x.id <> o.id) AS held,
                      d.status AS verdict_status
                 FROM o JOIN mono.beneficiaries b ON b.id = o.id AND b.id = ANY (v_ids),
                      LATERAL mono.link_verdict(o.verdict, o."of", b.attempts, b.action,
                                                o.last_error, o.retry_ms) d),
         v AS (SELECT r.*,
                      CASE WHEN held THEN 'awaiting_authorization' ELSE verdict_status END AS status,
                      CASE WHEN held THEN NULL ELSE r.mono_id END AS own_mono_id
                 FROM r),
         b AS (UPDATE mono.beneficiaries b SET status = v.status,
                  redirect_url = coalesce(v.redirect_url, b.redirect_url),
                  mono_id = coalesce(b.mono_id, v.own_mono_id),
                  list_offset = coalesce(v.read_offset, b.list_offset),
                  bvn = CASE WHEN v.erase_bvn THEN NULL ELSE b.bvn END,
                  http_status = coalesce(v.http_status, b.http_status),
                  trace_id = v.trace_id, last_error = v.error, error_details = v.error_details,
                  next_attempt_at = CASE WHEN v.retry IS NULL THEN b.next_attempt_at
                                         ELSE now() + v.retry * interval '1 millisecond' END,
                  next_poll_at = CASE WHEN v.status IN ('awaiting_authorization', 'linked')
                                      THEN now() + p_poll_ms * interval '1 millisecond' ELSE b.next_poll_at END,
                  linked_at = CASE WHEN v.status = 'linked' THEN now() ELSE b.linked_at END,
                  unlinked_at = CASE WHEN v.status = 'unlinked' THEN now() ELSE b.unlinked_at END,
                  updated_at = now()
                 FROM v WHERE b.id = v.id AND b.id = ANY (v_ids) AND b.status = v.expect
                 RETURNING b.id, b.action, b.status, b.redirect_url, b.last_error, b.http_status,
                           b.trace_id, b.error_details)
    UPDATE mono.fund_requests f SET
           status = CASE b.status WHEN 'linked' THEN 'awaiting_authorization' ELSE b.status END,
           redirect_url = coalesce(b.redirect_url, f.redirect_url),
           accepted_at = CASE WHEN b.status IN ('awaiting_authorization', 'linked') THEN now()
                              ELSE f.accepted_at END,
           next_poll_at = CASE WHEN b.status IN ('awaiting_authorization', 'linked')
                               THEN now() + p_poll_ms * interval '1 millisecond' ELSE f.next_poll_at END,
           last_error = b.last_error, http_status = b.http_status, trace_id = b.trace_id,
           error_details = b.error_details, updated_at = now()
      FROM b
     WHERE f.link_id = b.id AND b.action = 'link'
       AND f.status IN ('queued', 'sending', 'unknown')
       AND b.status IN ('queued', 'awaiting_authorization', 'failed', 'unknown', 'linked');
END;
$$;

-- A phone's requests leave one after another, in queue order: Mono ties a
-- redirect_url to the user's most recent request, so a row goes only when
-- no request or link of its phone is in flight (sending, or unknown until
-- a read settles it), none earlier is still queued, and, with
-- mono_pay.one_prompt_per_phone, none awaits the customer's authorisation
-- (a link, which never expires, within approval_window). Other phones'
-- rows pass by: the queue does not wait. OFFSET 0 keeps each NOT EXISTS a
-- per-row probe of the phone's index entries (a subplan), never an anti
-- join: with the statistics of a settled table (no row queued) the planner
-- took the phone index for nearly empty and scanned all of it under every
-- candidate row, until autoanalyze ran (a burst's ramp).
CREATE OR REPLACE FUNCTION mono.phone_is_free(p_phone text, p_id bigint, p_one_prompt boolean)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT NOT EXISTS (SELECT 1 FROM mono.fund_requests e WHERE e.phone = p_phone
               AND e.status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')
               AND (e.status IN ('sending', 'unknown') OR (e.status = 'queued' AND e.id < p_id)
                    OR (p_one_prompt AND e.status = 'awaiting_authorization')) OFFSET 0)
       AND NOT EXISTS (SELECT 1 FROM mono.beneficiaries l WHERE l.phone = p_phone
               AND l.action = 'link' AND (l.status IN ('queued', 'sending', 'unknown')
                    OR (p_one_prompt AND l.status = 'awaiting_authorization'
                        AND l.updated_at > now() - mono.setting_interval('approval_window'))) OFFSET 0)
$$;

-- Claim due one-time and recurring charges for worker p_worker: sending,
-- attempts + 1. Free text longer than Mono takes comes back NULL, so that
-- a hostile row costs no memory: the row then fails on its own.
CREATE OR REPLACE FUNCTION mono.claim_charges(p_limit integer, p_worker smallint, p_one_prompt boolean)
RETURNS TABLE (id bigint, attempts integer, reference text, phone text, type text,
               description text, amount bigint, currency text, period text,
               "interval" integer, start_iso text, end_iso text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE mono.fund_requests f SET status = 'sending', attempts = f.attempts + 1,
           claimed_by = p_worker, updated_at = now()
     WHERE f.id IN (SELECT q.id FROM mono.fund_requests q
                     WHERE q.status = 'queued' AND q.link_id IS NULL AND q.next_attempt_at <= now()
                       AND mono.phone_is_free(q.phone, q.id, p_one_prompt)
                     ORDER BY q.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING f.id, f.attempts, f.reference::text, f.phone::text, f.type::text,
              CASE WHEN octet_length(f.description) <= 1020 THEN f.description::text END,
              f.amount::bigint, f.currency::text, f.period::text, f."interval"::integer,
              to_char(f.start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
              to_char(f.end_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
END;
$$;

-- Claim the first fund request travelling inside link p_link_id.
CREATE OR REPLACE FUNCTION mono.claim_first_charge(p_link_id bigint)
RETURNS TABLE (id bigint, attempts integer, reference text, phone text, type text,
               description text, amount bigint, currency text, period text,
               "interval" integer, start_iso text, end_iso text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE mono.fund_requests f SET status = 'sending', attempts = f.attempts + 1,
           claimed_by = 0, updated_at = now()
     WHERE f.link_id = p_link_id AND f.status IN ('queued', 'unknown')
    RETURNING f.id, f.attempts, f.reference::text, f.phone::text, f.type::text,
              CASE WHEN octet_length(f.description) <= 1020 THEN f.description::text END,
              f.amount::bigint, f.currency::text, f.period::text, f."interval"::integer,
              to_char(f.start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
              to_char(f.end_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
END;
$$;

-- Claim due links and unlinks. A link waits for its phone's fund requests
-- in flight (an unlink does not).
CREATE OR REPLACE FUNCTION mono.claim_links(p_limit integer, p_one_prompt boolean)
RETURNS TABLE (id bigint, attempts integer, action text, phone text, bvn text,
               account_name text, nip_code text, account_number text, mono_id text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE mono.beneficiaries b SET status = 'sending', attempts = b.attempts + 1, updated_at = now()
     WHERE b.id IN (SELECT q.id FROM mono.beneficiaries q
                     WHERE q.status = 'queued' AND q.next_attempt_at <= now()
                       AND (q.action = 'unlink' OR NOT EXISTS (SELECT 1 FROM mono.fund_requests e
                            WHERE e.phone = q.phone AND e.link_id IS NULL
                              AND (e.status IN ('sending', 'unknown')
                                   OR (p_one_prompt AND e.status = 'awaiting_authorization'))))
                     ORDER BY q.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING b.id, b.attempts, b.action::text, b.phone::text, b.bvn::text,
              CASE WHEN octet_length(b.account_name) <= 400 THEN b.account_name::text END,
              b.nip_code::text, b.account_number::text, b.mono_id;
END;
$$;

-- Claim unknown fund requests whose settling read is due; the claim only
-- pushes their next read ahead by p_push_ms.
CREATE OR REPLACE FUNCTION mono.claim_unknown_charges(p_limit integer, p_push_ms bigint)
RETURNS TABLE (id bigint, attempts integer, phone text, reference text, amount bigint,
               type text, http_status integer, list_offset integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE mono.fund_requests f SET next_attempt_at = now() + p_push_ms * interval '1 millisecond'
     WHERE f.id IN (SELECT q.id FROM mono.fund_requests q
                     WHERE q.status = 'unknown' AND q.link_id IS NULL AND q.next_attempt_at <= now()
                     ORDER BY q.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING f.id, f.attempts, f.phone::text, f.reference::text, f.amount::bigint,
              f.type::text, f.http_status, f.list_offset;
END;
$$;

-- Claim unknown links and unlinks whose settling read is due.
CREATE OR REPLACE FUNCTION mono.claim_unknown_links(p_limit integer, p_push_ms bigint)
RETURNS TABLE (id bigint, attempts integer, action text, phone text, mono_id text,
               list_offset integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE mono.beneficiaries b SET next_attempt_at = now() + p_push_ms * interval '1 millisecond'
     WHERE b.id IN (SELECT q.id FROM mono.beneficiaries q
                     WHERE q.status = 'unknown' AND q.next_attempt_at <= now()
                     ORDER BY q.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING b.id, b.attempts, b.action::text, b.phone::text, b.mono_id, b.list_offset;
END;
$$;

-- Claim the polling reads of fund requests that wait on Mono, backing off
-- as they age (p_base_ms doubling, at most p_max_ms).
CREATE OR REPLACE FUNCTION mono.claim_poll_charges(p_limit integer, p_base_ms bigint, p_max_ms bigint)
RETURNS TABLE (id bigint, attempts integer, phone text, reference text, mono_id text,
               amount bigint, type text, list_offset integer, payments_offset integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE mono.fund_requests f SET polls = f.polls + 1,
           next_poll_at = now() + least(p_max_ms::float8, p_base_ms::float8 * power(2, least(f.polls, 40)))
                                  * interval '1 millisecond'
     WHERE f.id IN (SELECT q.id FROM mono.fund_requests q
                     WHERE (q.status IN ('awaiting_authorization', 'created', 'approved', 'processing',
                                         'active', 'completed') OR q.expired_locally)
                       AND q.next_poll_at <= now()
                     ORDER BY q.next_poll_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING f.id, f.attempts, f.phone::text, f.reference::text, f.mono_id, f.amount::bigint,
              f.type::text, f.list_offset, f.payments_offset;
END;
$$;

-- Claim the polling reads of links: waiting ones, and linked ones (an
-- unlink in WhatsApp whose webhook was lost).
CREATE OR REPLACE FUNCTION mono.claim_poll_links(p_limit integer, p_base_ms bigint, p_max_ms bigint)
RETURNS TABLE (id bigint, attempts integer, phone text, mono_id text, linked boolean,
               list_offset integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE mono.beneficiaries b SET polls = b.polls + 1,
           next_poll_at = now() + least(p_max_ms::float8, p_base_ms::float8 * power(2, least(b.polls, 40)))
                                  * interval '1 millisecond'
     WHERE b.id IN (SELECT q.id FROM mono.beneficiaries q
                     WHERE q.status IN ('awaiting_authorization', 'linked')
                       AND q.next_poll_at <= now()
                     ORDER BY q.next_poll_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING b.id, b.attempts, b.phone::text, b.mono_id, b.status = 'linked', b.list_offset;
END;
$$;

-- Fail a claimed fund request that cannot make a request body Mono takes;
-- the other rows of the claim go on.
CREATE OR REPLACE FUNCTION mono.fail_unbuildable_charge(p_id bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE mono.fund_requests SET status = 'failed', updated_at = now(),
           last_error = 'mono_pay could not build a request Mono takes from this row: '
               || CASE WHEN octet_length(description) > 1020
                       THEN 'its description is longer than the 255 characters Mono takes'
                       ELSE 'a text of it cannot be encoded as JSON' END
     WHERE id = p_id AND status = 'sending'
$$;

-- Likewise a link; the first charge that travels inside it fails with it.
CREATE OR REPLACE FUNCTION mono.fail_unbuildable_link(p_id bigint) RETURNS void
LANGUAGE sql AS $$
    WITH r AS (UPDATE mono.beneficiaries SET status = 'failed', updated_at = now(),
                      last_error = 'mono_pay could not build a request Mono takes from this row: '
                          || CASE WHEN octet_length(account_name) > 400
                                  THEN 'its account_name is longer than the 100 characters Mono takes'
                                  ELSE 'a text of it cannot be encoded as JSON' END
                WHERE id = p_id AND status = 'sending' RETURNING id)
    UPDATE mono.fund_requests f SET status = 'failed', updated_at = now(),
           last_error = 'its link could not be sent: see the link''s last_error'
     WHERE f.link_id IN (SELECT id FROM r) AND f.status = 'sending'
$$;

-- At start-up, rows worker p_worker left in sending become unknown: its
-- own charges (worker 0 also takes those of numbers no longer configured,
-- p_workers and up) and, for worker 0, links. Other workers' sends go on.
CREATE OR REPLACE FUNCTION mono.recover_sends(p_worker smallint, p_workers smallint)
RETURNS TABLE (charges bigint, links bigint) LANGUAGE plpgsql AS $$
DECLARE
    v_charges bigint;
    v_links bigint := 0;
BEGIN
    UPDATE mono.fund_requests SET status = 'unknown', next_attempt_at = now(),
           last_error = 'worker stopped while sending', updated_at = now()
     WHERE status = 'sending' AND (claimed_by = p_worker OR (p_worker = 0 AND claimed_by >= p_workers));
    GET DIAGNOSTICS v_charges = ROW_COUNT;
    IF p_worker = 0 THEN
        UPDATE mono.beneficiaries SET status = 'unknown', next_attempt_at = now(),
               last_error = 'worker stopped while sending', updated_at = now()
         WHERE status = 'sending';
        GET DIAGNOSTICS v_links = ROW_COUNT;
    END IF;
    RETURN QUERY SELECT v_charges, v_links;
END;
$$;

-- The outbox as mono_worker_status() counts it: links and fund requests
-- queued, sending, unknown and awaiting authorisation.
CREATE OR REPLACE FUNCTION mono.outbox_counts()
RETURNS TABLE (queued bigint, sending bigint, unknown bigint, awaiting_authorization bigint)
LANGUAGE sql STABLE AS $$
    SELECT count(*) FILTER (WHERE status = 'queued'),
           count(*) FILTER (WHERE status = 'sending'),
           count(*) FILTER (WHERE status = 'unknown'),
           count(*) FILTER (WHERE status = 'awaiting_authorization')
      FROM (SELECT status FROM mono.fund_requests
             WHERE status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')
            UNION ALL
            SELECT status FROM mono.beneficiaries
             WHERE status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')) s
$$;

-- Store the worker's mono.http_log rows.
CREATE OR REPLACE FUNCTION mono.record_http_log(p_rows jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO mono.http_log (at, method, path, http_status, duration_ms, error)
    SELECT at, method, path, http_status, duration_ms, error
      FROM jsonb_to_recordset(p_rows) AS l(at timestamptz, method text, path text,
                                           http_status integer, duration_ms double precision,
                                           error text)
$$;

-- Claim due Connect accounts: lease them (p_lease_ms) and return what to call.
CREATE OR REPLACE FUNCTION mono.claim_accounts(p_limit integer, p_lease_ms bigint)
RETURNS TABLE (account_id text, attempts integer, step text, transactions_page integer,
               since text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE mono.accounts a SET next_sync_at = now() + p_lease_ms * interval '1 millisecond',
           claimed_until = now() + p_lease_ms * interval '1 millisecond',
           transactions_since = CASE WHEN a.next_step <> 'transactions' THEN NULL
               WHEN a.transactions_page > 1 THEN a.transactions_since
               ELSE (SELECT (max(t.date) AT TIME ZONE 'UTC')::date - 1 FROM mono.transactions t
                      WHERE t.account_id = a.account_id) END
     WHERE a.account_id IN (SELECT q.account_id FROM mono.accounts q
                             WHERE q.tracked AND q.next_sync_at <= now()
                             ORDER BY q.next_sync_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING a.account_id::text, a.attempts + 1,
              (CASE WHEN a.next_step = 'refresh' AND NOT mono.realtime_allowed(a.last_refresh_at)
                    THEN 'details' ELSE a.next_step END)::text,
              a.transactions_page, to_char(a.transactions_since, 'DD-MM-YYYY');
END;
$$;

------------------------------------------------------------------------
-- The outbox's state machine, as the worker drives it. The worker (C)
-- claims rows (24_owo_claims.code.sql) and reports what Mono answered as a
-- verdict (the enum mono.verdict, 20_owo.schema.sql); the statuses are
-- decided here, beside the webhook and polling rules of
-- 22_owo_events.code.sql; what a charge or link starts as is decided by
-- the intake (26_owo_intake.code.sql).
--
-- Verdicts of a send (the row is expected in sending):
--   accepted         2xx with a JSON body
--   reference_named  409, or 400 naming the reference: perhaps an earlier
--                    send reached Mono; settled by a read
--   retry            429, 5xx, or a transport error before reaching Mono
--   ambiguous        a transport error after reaching Mono, or a 2xx that
--                    is not JSON: settled by a read, never re-sent blindly
--   refused          any other 4xx of a first attempt
--   refused_resend   a 4xx of a re-send (issue 22): an earlier attempt may
--                    have reached Mono, and no wording tells; settled by a read
--   key_refused      401 or 403: Mono refused the key, not the request; the
--                    row goes back to queued and the attempt does not count
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


-- What a verdict means for a fund request: the status it expects, the new
-- status, its error and when to try again.
CREATE OR REPLACE FUNCTION mono.charge_verdict(p_verdict mono.verdict, p_of mono.verdict, p_attempts integer,
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
                WHEN p_verdict = 'absent' AND s.status = 'awaiting_authorization' AND p_prior_http = 409
                THEN 'Mono already had this reference from an earlier attempt; its redirect_url was not received'
                WHEN p_verdict = 'absent' AND s.status = 'awaiting_authorization'
                THEN format('Mono refused a re-send of reference %s (HTTP %s) and its reads do not show the request: an earlier attempt may have reached Mono, so it is not sent again; waiting for the customer (it expires after mono_pay.approval_window unless Mono reports it)', p_reference, p_prior_http)
                WHEN p_verdict = 'absent'
                THEN 'Mono had no record after an ambiguous attempt; sending again'
                ELSE p_error END,
           CASE WHEN s.status = 'failed' OR p_verdict IN ('found', 'read_failed') THEN NULL
                WHEN p_verdict = 'refused_resend' THEN 0
                WHEN p_verdict = 'partial' THEN coalesce(p_retry_ms, 0)
                WHEN p_verdict = 'absent' AND s.status = 'queued' THEN 0
                WHEN p_verdict = 'absent' THEN NULL
                ELSE p_retry_ms END,
           s.status = 'failed' OR p_verdict = 'accepted'
      FROM (SELECT CASE p_verdict
                WHEN 'accepted' THEN 'awaiting_authorization'
                WHEN 'retry' THEN CASE WHEN p_attempts >= current_setting('mono_pay.max_attempts')::integer
                                       THEN 'failed' ELSE 'queued' END
                WHEN 'refused' THEN 'failed'
                WHEN 'refused_resend' THEN 'unknown'
                WHEN 'key_refused' THEN 'queued'
                WHEN 'found' THEN mono.fund_request_status_of(p_mono_status)
                WHEN 'foreign' THEN 'failed'
                -- after any refusal (a 409, a 400, any 4xx of a re-send): the
                -- body was the same at every attempt, so Mono refused it as a
                -- duplicate or refused the first one too; reads show a request
                -- only once the customer acted: wait for the customer
                WHEN 'absent' THEN CASE
                    WHEN p_prior_http BETWEEN 400 AND 499 THEN 'awaiting_authorization'
                    ELSE 'queued' END
                ELSE 'unknown' END AS status) s
$$;

-- What a verdict means for a link or an unlink (same columns).
CREATE OR REPLACE FUNCTION mono.link_verdict(p_verdict mono.verdict, p_of mono.verdict, p_attempts integer,
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
                WHEN 'key_refused' THEN 'queued'
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
-- with the outcomes alone, a table of some 20,000 rows or fewer was
-- hash-joined by a scan of the whole table on every record.
CREATE OR REPLACE FUNCTION mono.record_charge_outcomes(p_outcomes jsonb, p_poll_ms bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[] := ARRAY(SELECT (x ->> 'id')::bigint FROM jsonb_array_elements(p_outcomes) x);
BEGIN
    WITH o AS (SELECT * FROM jsonb_populate_recordset(NULL::mono.owo_outcome, p_outcomes)),
         v AS (SELECT o.*, d.expect, d.status, d.last_error AS error, d.retry_ms AS retry
                 FROM o JOIN mono.fund_requests f ON f.id = o.id AND f.id = ANY (v_ids),
                      LATERAL mono.charge_verdict(o.verdict, o."of", f.attempts, f.http_status,
                                                  f.reference, o.mono_status, o.last_error,
                                                  o.retry_ms) d)
    UPDATE mono.fund_requests f SET status = v.status,
           redirect_url = coalesce(mono.customer_link(v.redirect_url), f.redirect_url),
           -- a refused key is no attempt of this request (issue 22)
           attempts = f.attempts - CASE WHEN v.verdict = 'key_refused' THEN 1 ELSE 0 END,
           mono_id = coalesce(f.mono_id, v.mono_id),
           mono_status = coalesce(v.mono_status, f.mono_status),
           list_offset = coalesce(v.read_offset, f.list_offset),
           http_status = coalesce(v.http_status, f.http_status),
           trace_id = v.trace_id, error_details = v.error_details,
           last_error = CASE WHEN v.redirect_url IS NOT NULL AND mono.customer_link(v.redirect_url) IS NULL
                             THEN left(format('Mono''s redirect_url is not an https:// link and was not stored: %s',
                                              v.redirect_url), 300)
                             ELSE v.error END,
           next_attempt_at = CASE WHEN v.retry IS NULL THEN f.next_attempt_at
                                  ELSE now() + v.retry * interval '1 millisecond' END,
           accepted_at = CASE WHEN v.status = 'awaiting_authorization' THEN now() ELSE f.accepted_at END,
           next_poll_at = CASE WHEN mono.fund_request_open(v.status)
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
    WITH o AS (SELECT * FROM jsonb_populate_recordset(NULL::mono.owo_outcome, p_outcomes)),
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
                  redirect_url = coalesce(mono.customer_link(v.redirect_url), b.redirect_url),
                  attempts = b.attempts - CASE WHEN v.verdict = 'key_refused' THEN 1 ELSE 0 END,
                  mono_id = coalesce(b.mono_id, v.own_mono_id),
                  list_offset = coalesce(v.read_offset, b.list_offset),
                  bvn = CASE WHEN v.erase_bvn THEN NULL ELSE b.bvn END,
                  http_status = coalesce(v.http_status, b.http_status),
                  trace_id = v.trace_id, last_error = v.error, error_details = v.error_details,
                  next_attempt_at = CASE WHEN v.retry IS NULL THEN b.next_attempt_at
                                         ELSE now() + v.retry * interval '1 millisecond' END,
                  next_poll_at = CASE WHEN mono.link_read_back(v.status)
                                      THEN now() + p_poll_ms * interval '1 millisecond' ELSE b.next_poll_at END,
                  linked_at = CASE WHEN v.status = 'linked' THEN now() ELSE b.linked_at END,
                  unlinked_at = CASE WHEN v.status = 'unlinked' THEN now() ELSE b.unlinked_at END,
                  updated_at = now()
                 FROM v WHERE b.id = v.id AND b.id = ANY (v_ids) AND b.status = v.expect
                 RETURNING b.id, b.action, b.status, b.redirect_url, b.last_error, b.http_status,
                           b.trace_id, b.error_details, v.verdict)
    UPDATE mono.fund_requests f SET
           status = CASE b.status WHEN 'linked' THEN 'awaiting_authorization' ELSE b.status END,
           attempts = f.attempts - CASE WHEN b.verdict = 'key_refused' AND f.attempts > 0 THEN 1 ELSE 0 END,
           redirect_url = coalesce(b.redirect_url, f.redirect_url),
           accepted_at = CASE WHEN mono.link_read_back(b.status) THEN now()
                              ELSE f.accepted_at END,
           next_poll_at = CASE WHEN mono.link_read_back(b.status)
                               THEN now() + p_poll_ms * interval '1 millisecond' ELSE f.next_poll_at END,
           last_error = b.last_error, http_status = b.http_status, trace_id = b.trace_id,
           error_details = b.error_details, updated_at = now()
      FROM b
     WHERE f.link_id = b.id AND b.action = 'link'
       AND mono.unanswered(f.status)
       AND b.status IN ('queued', 'awaiting_authorization', 'failed', 'unknown', 'linked');
END;
$$;

-- Fail a claimed fund request that cannot make a request body Mono takes;
-- the other rows of the claim go on.
CREATE OR REPLACE FUNCTION mono.fail_unbuildable_charge(p_id bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE mono.fund_requests SET status = 'failed', updated_at = now(),
           last_error = 'mono_pay could not build a request Mono takes from this row: '
               || CASE WHEN char_length(description) > 255
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

------------------------------------------------------------------------
-- The worker's claims of Direct Charge rows: what to send, to settle by a
-- read, or to poll; each claim is committed before anything is sent. And
-- the start-up recovery of interrupted sends, and the outbox's counts.
------------------------------------------------------------------------

-- Claim due one-time and recurring charges: sending, attempts + 1. Free
-- text longer than Mono takes comes back NULL, so that a hostile row costs
-- no memory: the row then fails on its own.
CREATE OR REPLACE FUNCTION mono.claim_charges(p_limit integer)
RETURNS SETOF mono.charge_to_send
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    UPDATE mono.fund_requests f SET status = 'sending', attempts = f.attempts + 1, updated_at = now()
     WHERE f.id IN (SELECT q.id FROM mono.fund_requests q
                     WHERE q.status = 'queued' AND q.link_id IS NULL AND q.next_attempt_at <= now()
                       AND mono.phone_is_free(q.phone, q.id)
                       AND NOT mono.start_passed(q.type, q.start_date, q.created_at)
                     ORDER BY q.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING f.id, f.attempts, f.reference::text, f.phone::text, f.type::text,
              CASE WHEN octet_length(f.description) <= 1020 THEN f.description::text END,
              f.amount::bigint, f.currency::text, f.period::text, f."interval"::integer,
              -- the calendar day alone, as Mono's examples send it (issue 22)
              to_char(f.start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
              to_char(f.end_date AT TIME ZONE 'UTC', 'YYYY-MM-DD');
END;
$$;

-- Claim the first fund request travelling inside link p_link_id.
CREATE OR REPLACE FUNCTION mono.claim_first_charge(p_link_id bigint)
RETURNS SETOF mono.charge_to_send
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    UPDATE mono.fund_requests f SET status = 'sending', attempts = f.attempts + 1, updated_at = now()
     WHERE f.link_id = p_link_id AND f.status IN ('queued', 'unknown')
    RETURNING f.id, f.attempts, f.reference::text, f.phone::text, f.type::text,
              CASE WHEN octet_length(f.description) <= 1020 THEN f.description::text END,
              f.amount::bigint, f.currency::text, f.period::text, f."interval"::integer,
              -- the calendar day alone, as Mono's examples send it (issue 22)
              to_char(f.start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
              to_char(f.end_date AT TIME ZONE 'UTC', 'YYYY-MM-DD');
END;
$$;

-- Claim due links and unlinks. A link waits for its phone's fund requests
-- in flight or awaiting the customer (an unlink does not).
CREATE OR REPLACE FUNCTION mono.claim_links(p_limit integer)
RETURNS SETOF mono.link_to_send
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    UPDATE mono.beneficiaries b SET status = 'sending', attempts = b.attempts + 1, updated_at = now()
     WHERE b.id IN (SELECT q.id FROM mono.beneficiaries q
                     WHERE q.status = 'queued' AND q.next_attempt_at <= now()
                       AND (q.action = 'unlink' OR NOT EXISTS (SELECT 1 FROM mono.fund_requests e
                            WHERE e.phone = q.phone AND e.link_id IS NULL
                              AND (mono.in_flight(e.status) OR e.status = 'awaiting_authorization')))
                     ORDER BY q.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING b.id, b.attempts, b.action::text, b.phone::text, b.bvn::text,
              CASE WHEN octet_length(b.account_name) <= 400 THEN b.account_name::text END,
              b.nip_code::text, b.account_number::text, b.mono_id;
END;
$$;

-- Claim unknown fund requests whose settling read is due; the claim only
-- pushes their next read ahead by p_push_ms.
CREATE OR REPLACE FUNCTION mono.claim_unknown_charges(p_limit integer, p_push_ms bigint)
RETURNS SETOF mono.charge_to_read
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    UPDATE mono.fund_requests f SET next_attempt_at = now() + p_push_ms * interval '1 millisecond'
     WHERE f.id IN (SELECT q.id FROM mono.fund_requests q
                     WHERE q.status = 'unknown' AND q.link_id IS NULL AND q.next_attempt_at <= now()
                     ORDER BY q.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING f.id, f.attempts, f.phone::text, f.reference::text, NULL::text, f.amount::bigint,
              f.type::text, f.http_status, f.list_offset, NULL::integer;
END;
$$;

-- Claim unknown links and unlinks whose settling read is due.
CREATE OR REPLACE FUNCTION mono.claim_unknown_links(p_limit integer, p_push_ms bigint)
RETURNS SETOF mono.link_to_read
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    UPDATE mono.beneficiaries b SET next_attempt_at = now() + p_push_ms * interval '1 millisecond'
     WHERE b.id IN (SELECT q.id FROM mono.beneficiaries q
                     WHERE q.status = 'unknown' AND q.next_attempt_at <= now()
                     ORDER BY q.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING b.id, b.attempts, b.action::text, b.phone::text, b.mono_id, NULL::boolean, b.list_offset;
END;
$$;

-- Claim the polling reads of fund requests that wait on Mono, backing off
-- as they age (p_base_ms doubling, at most p_max_ms).
CREATE OR REPLACE FUNCTION mono.claim_poll_charges(p_limit integer, p_base_ms bigint, p_max_ms bigint)
RETURNS SETOF mono.charge_to_read
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    UPDATE mono.fund_requests f SET polls = f.polls + 1,
           next_poll_at = now() + least(p_max_ms::float8, p_base_ms::float8 * power(2, least(f.polls, 40)))
                                  * interval '1 millisecond'
     WHERE f.id IN (SELECT q.id FROM mono.fund_requests q
                     WHERE (mono.fund_request_polled(q.status) OR q.expired_locally)
                       AND q.next_poll_at <= now()
                     ORDER BY q.next_poll_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING f.id, f.attempts, f.phone::text, f.reference::text, f.mono_id, f.amount::bigint,
              f.type::text, NULL::integer, f.list_offset, f.payments_offset;
END;
$$;

-- Claim the polling reads of links: waiting ones, and linked ones (an
-- unlink in WhatsApp whose webhook was lost).
CREATE OR REPLACE FUNCTION mono.claim_poll_links(p_limit integer, p_base_ms bigint, p_max_ms bigint)
RETURNS SETOF mono.link_to_read
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    UPDATE mono.beneficiaries b SET polls = b.polls + 1,
           next_poll_at = now() + least(p_max_ms::float8, p_base_ms::float8 * power(2, least(b.polls, 40)))
                                  * interval '1 millisecond'
     WHERE b.id IN (SELECT q.id FROM mono.beneficiaries q
                     WHERE mono.link_read_back(q.status)
                       AND q.next_poll_at <= now()
                     ORDER BY q.next_poll_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING b.id, b.attempts, b.action::text, b.phone::text, b.mono_id, b.status = 'linked', b.list_offset;
END;
$$;

-- At start-up, the fund requests and links the worker left in sending
-- become unknown: settled by a read, never re-sent blindly.
CREATE OR REPLACE FUNCTION mono.recover_sends()
RETURNS TABLE (charges bigint, links bigint) LANGUAGE plpgsql AS $$
DECLARE
    v_charges bigint;
    v_links bigint;
BEGIN
    UPDATE mono.fund_requests SET status = 'unknown', next_attempt_at = now(),
           last_error = 'worker stopped while sending', updated_at = now()
     WHERE status = 'sending';
    GET DIAGNOSTICS v_charges = ROW_COUNT;
    UPDATE mono.beneficiaries SET status = 'unknown', next_attempt_at = now(),
           last_error = 'worker stopped while sending', updated_at = now()
     WHERE status = 'sending';
    GET DIAGNOSTICS v_links = ROW_COUNT;
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
             WHERE mono.in_outbox(status)
            UNION ALL
            SELECT status FROM mono.beneficiaries
             WHERE mono.in_outbox(status)) s
$$;

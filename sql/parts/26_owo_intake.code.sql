------------------------------------------------------------------------
-- Direct Charge intake (issue 24): the one INSERT of fund requests (for
-- mono_charge(), a link's first charge and the trigger's batch), the one
-- INSERT of links, and the queuing of an unlink. The C entry points
-- (src/owo_enqueue.c, src/owo_batch.c) validate their arguments and call
-- these; they decide no status.
------------------------------------------------------------------------

-- Queue fund requests, one per element of the arrays (all of one length;
-- p_period, p_interval, p_start_date, p_end_date and p_link_id may be NULL
-- for a batch without any: unnest() in the select list pads them with
-- NULLs), and plan the instalments of the recurring ones, a year ahead
-- when open-ended (here, not in a trigger on mono.fund_requests, so that
-- pg_restore's COPY plans nothing: the dump brings the schedules). A
-- reference used already is refused by the reference's unique index (no
-- probe before the insert: it cost a fifth of an enqueue); the caller says
-- it. Returns how many requests were queued.
CREATE OR REPLACE FUNCTION mono.enqueue_fund_requests(
    p_reference text[], p_phone text[], p_amount bigint[], p_currency text[],
    p_description text[], p_period text[], p_interval integer[],
    p_start_date timestamptz[], p_end_date timestamptz[], p_link_id bigint[])
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_n bigint;
BEGIN
    INSERT INTO mono.fund_requests (reference, phone, amount, currency, description, type,
                                    period, "interval", start_date, end_date, link_id)
    SELECT r.reference, r.phone, r.amount, r.currency, r.description,
           CASE WHEN r.period IS NULL THEN 'onetime' ELSE 'recurring' END,
           r.period, CASE WHEN r.period IS NOT NULL THEN r."interval" END,
           r.start_date, r.end_date, r.link_id
      FROM (SELECT unnest(p_reference) AS reference, unnest(p_phone) AS phone,
                   unnest(p_amount) AS amount, unnest(p_currency) AS currency,
                   unnest(p_description) AS description, unnest(p_period) AS period,
                   unnest(p_interval) AS "interval", unnest(p_start_date) AS start_date,
                   unnest(p_end_date) AS end_date, unnest(p_link_id) AS link_id) r;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF p_period IS NOT NULL THEN
        PERFORM mono.plan_instalments(f.id, greatest(now(), f.start_date) + interval '1 year')
           FROM mono.fund_requests f
          WHERE f.reference::text = ANY (p_reference) AND f.type = 'recurring';
    END IF;
    RETURN v_n;
END;
$$;

-- A fund request by its reference (mono_charge() returns the row it queued).
CREATE OR REPLACE FUNCTION mono.fund_request(p_reference text)
RETURNS SETOF mono.fund_requests
LANGUAGE sql STABLE AS $$
    SELECT * FROM mono.fund_requests WHERE reference = p_reference
$$;

-- The phone's live link (neither unlinked nor failed: one at most).
CREATE OR REPLACE FUNCTION mono.live_link(p_phone text)
RETURNS SETOF mono.beneficiaries
LANGUAGE sql STABLE AS $$
    SELECT * FROM mono.beneficiaries WHERE phone = p_phone AND status NOT IN ('unlinked', 'failed')
$$;

-- Queue a link (status queued, action link); returns its row.
CREATE OR REPLACE FUNCTION mono.enqueue_link(p_phone text, p_account_name text, p_nip_code text,
                                             p_account_number text, p_bvn text)
RETURNS SETOF mono.beneficiaries
LANGUAGE sql AS $$
    INSERT INTO mono.beneficiaries (phone, account_name, nip_code, account_number, bvn)
    VALUES (p_phone, p_account_name, p_nip_code, p_account_number, p_bvn)
    RETURNING *
$$;

-- Queue the unlink of the phone's link: a linked one gets an unlink to
-- send (its BVN kept for it); one never sent (queued, no attempt yet)
-- simply ends unlinked, and its first fund request, still queued, is
-- cancelled. Returns the changed row; none when the phone has no link
-- that can be unlinked now (the caller says why).
CREATE OR REPLACE FUNCTION mono.queue_unlink(p_phone text)
RETURNS SETOF mono.beneficiaries
LANGUAGE sql AS $$
    WITH requeued AS (
        UPDATE mono.beneficiaries
           SET action = 'unlink', status = 'queued', unlinked_at = NULL,
               attempts = 0, next_attempt_at = now(), last_error = NULL, updated_at = now()
         WHERE phone = p_phone AND status = 'linked'
        RETURNING *),
    dropped AS (
        UPDATE mono.beneficiaries
           SET action = 'unlink', status = 'unlinked', unlinked_at = now(), bvn = NULL,
               attempts = 0, next_attempt_at = now(), last_error = NULL, updated_at = now()
         WHERE phone = p_phone AND status = 'queued' AND action = 'link' AND attempts = 0
        RETURNING *),
    cancelled AS (
        UPDATE mono.fund_requests SET status = 'cancelled', updated_at = now()
         WHERE link_id IN (SELECT id FROM dropped) AND status = 'queued')
    SELECT * FROM requeued
    UNION ALL
    SELECT * FROM dropped
$$;

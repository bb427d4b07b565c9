------------------------------------------------------------------------
-- Direct Charge's statuses: their order (mono.fund_request_rank), their
-- named sets (mono.fund_request_open(), ...), what Mono's words mean, and
-- the one step that moves a fund request forward (mono.advance_fund_request).
-- The layers above decide when: 21 schedules, 22 events (webhooks and
-- polling reads), 23 the worker's verdicts, 24 its claims, 25 the upkeep,
-- 28 the API. (No SET search_path: see 10_common.schema.sql.)
------------------------------------------------------------------------

-- The order of fund request states. A row only ever moves to a higher rank;
-- rank 9 is final (completed, expired, failed, cancelled).
-- (No SET clause: it must stay inlinable; it names nothing but literals.)
CREATE OR REPLACE FUNCTION mono.fund_request_rank(p_status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_status
        WHEN 'queued' THEN 0
        WHEN 'sending' THEN 1
        WHEN 'unknown' THEN 1
        WHEN 'awaiting_authorization' THEN 2
        WHEN 'created' THEN 3
        WHEN 'approved' THEN 4
        WHEN 'processing' THEN 5
        WHEN 'active' THEN 6
        ELSE 9
    END
$$;

-- The named sets of statuses (issue 24): each set is spelled here once, and
-- every function names it. Inlined (plain SQL, IMMUTABLE, no SET clause),
-- so a query that names a set still matches the partial indexes whose WHERE
-- spells the same list. The view mono.metrics (40_worker.code.sql) and the
-- indexes (20_owo.schema.sql) write the lists out: a view's reader needs
-- EXECUTE on each function it calls, and nothing is granted to PUBLIC.

-- A fund request's final statuses (rank 9): nothing moves it on but Mono's
-- later word (mono.advance_fund_request).
CREATE OR REPLACE FUNCTION mono.fund_request_final(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('completed', 'expired', 'failed', 'cancelled')
$$;

-- A fund request Mono has and that is not final (ranks 2 to 8): sent and
-- accepted, created, approved, processing, active.
CREATE OR REPLACE FUNCTION mono.fund_request_open(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('awaiting_authorization', 'created', 'approved', 'processing', 'active')
$$;

-- A fund request that polling reads back: open, and completed until one of
-- its payments is known (fund_requests_poll's rows, with expired_locally).
CREATE OR REPLACE FUNCTION mono.fund_request_polled(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('awaiting_authorization', 'created', 'approved', 'processing', 'active',
                        'completed')
$$;

-- A fund request that ended without Mono collecting it, or may have: failed,
-- expired, cancelled (its instalments are never due nor missed).
CREATE OR REPLACE FUNCTION mono.fund_request_given_up(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('failed', 'expired', 'cancelled')
$$;

-- A fund request the customer approved (from approved on, completed too):
-- Mono collects its instalments.
CREATE OR REPLACE FUNCTION mono.fund_request_approved(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('approved', 'processing', 'active', 'completed')
$$;

-- A fund request or a link in the outbox: queued, sending, unknown (a read
-- settles it) or awaiting the customer (fund_requests_phone_live's rows).
CREATE OR REPLACE FUNCTION mono.in_outbox(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')
$$;

-- A fund request or a link whose answer from Mono is not known: queued
-- (not sent yet), sending, or unknown (its answer lost).
CREATE OR REPLACE FUNCTION mono.unanswered(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('queued', 'sending', 'unknown')
$$;

-- A fund request or a link in flight: sending, or unknown (its answer was
-- lost, a prompt may be pending) until a read settles it.
CREATE OR REPLACE FUNCTION mono.in_flight(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('sending', 'unknown')
$$;

-- A link that the worker reads back now and then: awaiting the customer,
-- or linked (an unlink made in WhatsApp whose webhook was lost).
CREATE OR REPLACE FUNCTION mono.link_read_back(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('awaiting_authorization', 'linked')
$$;

-- Is this a fund request status of Mono's that mono_pay knows (doc/mono-api.md
-- §2.7), in any case (reads are undocumented: Mono may spell it APPROVED)?
-- Others (paused, resumed, declined, ...) are kept in mono_status.
CREATE OR REPLACE FUNCTION mono.is_known_status(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(p_status) IN ('created', 'approved', 'processing', 'active', 'completed',
                               'expired', 'cancelled')
$$;

-- What a status Mono reports means for mono.fund_requests.status (issue 22),
-- compared without regard to case: Mono's own statuses as they are; the
-- customer's acts in WhatsApp, which Mono documents no webhook for: declined
-- ends the request as cancelled (nothing will be collected: the application
-- may ask again); paused and resumed change no status (mono_status says it,
-- and a paused plan's instalments are not missed); NULL for a status that
-- cannot be mapped (kept in mono_status, and its event kept as unknown).
CREATE OR REPLACE FUNCTION mono.fund_request_status_map(p_mono_status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN mono.is_known_status(p_mono_status) THEN lower(p_mono_status)
                WHEN lower(p_mono_status) = 'declined' THEN 'cancelled'
                WHEN lower(p_mono_status) IN ('paused', 'resumed') THEN 'unchanged'
           END
$$;

-- Is a request live by what Mono last said: nothing yet, a status mono_pay
-- knows, or resumed? A request Mono shows paused, declined or in any other
-- unknown state is not collecting: its instalments are not missed.
CREATE OR REPLACE FUNCTION mono.is_live_mono_status(p_mono_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_mono_status IS NULL OR lower(p_mono_status) = 'resumed'
        OR mono.is_known_status(p_mono_status)
$$;

-- The status of a fund request that a settling read found in Mono's list
-- (mono.fund_request_status_map): paused or resumed means at least
-- approved; a status that cannot be mapped means at least created (and is
-- kept in mono_status).
CREATE OR REPLACE FUNCTION mono.fund_request_status_of(p_mono_status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE mono.fund_request_status_map(p_mono_status)
                WHEN 'unchanged' THEN 'approved'
                ELSE coalesce(mono.fund_request_status_map(p_mono_status), 'created') END
$$;

-- The status a verdict expects its row in.
CREATE OR REPLACE FUNCTION mono.verdict_expects(p_verdict mono.verdict) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_verdict IN ('accepted', 'reference_named', 'retry', 'ambiguous', 'refused',
                                   'refused_resend', 'key_refused')
                THEN 'sending' ELSE 'unknown' END
$$;

-- Move a fund request to a higher-ranked status Mono reported (kept in
-- mono_status too, in the same UPDATE: one notification); false when that
-- would go backwards. A local expiry (approval window) is only a guess:
-- whatever Mono reports after it, from approved on, replaces it. So is a
-- local failure (issue 22: Mono has no failed fund request; a refusal, a
-- retry budget spent or an unbuildable re-send are mono_pay's verdicts):
-- Mono reporting the request created or later replaces it, so that a
-- payment never hangs on a failed request; last_error keeps the story.
CREATE OR REPLACE FUNCTION mono.advance_fund_request(p_id bigint, p_status text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mono.fund_requests
       SET status = p_status, mono_status = p_status, expired_locally = false, updated_at = now(),
           last_error = CASE WHEN expired_locally THEN NULL
                             WHEN status = 'failed'
                             THEN left(format('Mono reports it %s after mono_pay had failed it: %s',
                                              p_status, last_error), 2000)
                             ELSE last_error END,
           next_poll_at = CASE WHEN status = 'failed' AND NOT mono.fund_request_final(p_status)
                               THEN coalesce(next_poll_at, now()) ELSE next_poll_at END
     WHERE id = p_id
       AND ((mono.fund_request_rank(p_status) > mono.fund_request_rank(status)
             AND NOT mono.fund_request_final(status))
            OR (expired_locally AND mono.fund_request_rank(p_status) > 3)
            OR (status = 'failed' AND p_status <> 'failed' AND mono.fund_request_rank(p_status) >= 3));
    RETURN FOUND;
END;
$$;

-- A completed request is read back until one of its payments is known; then
-- polling stops (final states other than completed are never polled).
CREATE OR REPLACE FUNCTION mono.stop_polling_if_settled(p_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mono.fund_requests f SET next_poll_at = NULL
     WHERE f.id = p_id AND f.status = 'completed' AND f.next_poll_at IS NOT NULL
       AND EXISTS (SELECT 1 FROM mono.payments p
                    WHERE p.fund_request_id = f.id AND p.status = 'successful');
END;
$$;

-- A phone's requests leave one after another, in queue order: Mono ties a
-- redirect_url to the user's most recent request, so a row goes only when
-- no request or link of its phone is in flight (sending, or unknown until
-- a read settles it), none earlier is still queued, and none awaits the
-- customer's authorisation (a link, which never expires, within
-- approval_window): one prompt per phone. Other phones'
-- rows pass by: the queue does not wait. OFFSET 0 keeps each NOT EXISTS a
-- per-row probe of the phone's index entries (a subplan), never an anti
-- join: with the statistics of a settled table (no row queued) the planner
-- took the phone index for nearly empty and scanned all of it under every
-- candidate row, until autoanalyze ran (a burst's ramp).
CREATE OR REPLACE FUNCTION mono.phone_is_free(p_phone text, p_id bigint)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT NOT EXISTS (SELECT 1 FROM mono.fund_requests e WHERE e.phone = p_phone
               AND mono.in_outbox(e.status)
               AND (mono.in_flight(e.status) OR (e.status = 'queued' AND e.id < p_id)
                    OR e.status = 'awaiting_authorization') OFFSET 0)
       AND NOT EXISTS (SELECT 1 FROM mono.beneficiaries l WHERE l.phone = p_phone
               AND l.action = 'link' AND (mono.unanswered(l.status)
                    OR (l.status = 'awaiting_authorization'
                        AND l.updated_at > now() - mono.setting_interval('approval_window'))) OFFSET 0)
$$;

-- Has a recurring request's start date passed while it waited (issue 22)?
-- Its day (UTC; mono_charge keeps start_date at midnight UTC of the day the
-- caller meant) is before today, though it was not before the day the
-- request was made (mono_charge refuses a past one; a row written with an
-- earlier date, a test's or a restored one, is sent as it is).
CREATE OR REPLACE FUNCTION mono.start_passed(p_type text, p_start timestamptz, p_created timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT p_type = 'recurring'
       AND (p_start AT TIME ZONE 'UTC')::date < (now() AT TIME ZONE 'UTC')::date
       AND (p_start AT TIME ZONE 'UTC')::date >= (p_created AT TIME ZONE 'UTC')::date
$$;

-- A redirect_url Mono gave, as a link for customers: https:// only (issue
-- 22: a javascript: or http: link is never stored); NULL otherwise.
CREATE OR REPLACE FUNCTION mono.customer_link(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_url ~* '^https://[^\s/?#@]+([/?#][^\s]*)?$' THEN p_url END
$$;

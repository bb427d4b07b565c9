------------------------------------------------------------------------
-- Direct Charge's state machine: the one place where the statuses of fund
-- requests, links and instalments are decided. Webhooks and polling reads
-- (mono.apply_owo_event), the worker's claims and the verdicts it records
-- (mono.claim_*, mono.charge_verdict, mono.link_verdict), and the upkeep
-- (mono.maintain: schedules, the approval window) all go through here.
------------------------------------------------------------------------

-- Webhooks and polling reads (no SET search_path: see 10_common.schema.sql)

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
           next_poll_at = CASE WHEN status = 'failed' AND mono.fund_request_rank(p_status) < 9
                               THEN coalesce(next_poll_at, now()) ELSE next_poll_at END
     WHERE id = p_id
       AND ((mono.fund_request_rank(p_status) > mono.fund_request_rank(status)
             AND mono.fund_request_rank(status) < 9)
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

-- Which instalment of a recurring request a debit at p_at belongs to: the
-- latest due by then (12 hours' tolerance), else the first. (plpgsql, not
-- sql: its plans are kept for the session instead of re-planned per call.)
CREATE OR REPLACE FUNCTION mono.instalment_for(p_fund_request_id bigint, p_at timestamptz) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_seq integer;
BEGIN
    SELECT s.seq INTO v_seq FROM mono.schedule s
     WHERE s.fund_request_id = p_fund_request_id AND s.due_at <= p_at + interval '12 hours'
     ORDER BY s.due_at DESC LIMIT 1;
    IF v_seq IS NULL THEN
        SELECT min(s.seq) INTO v_seq FROM mono.schedule s
         WHERE s.fund_request_id = p_fund_request_id;
    END IF;
    RETURN v_seq;
END;
$$;

-- Recompute an instalment's status from its payments and the clock.
CREATE OR REPLACE FUNCTION mono.refresh_instalment(p_fund_request_id bigint, p_seq integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_paid bigint;
    v_failed bigint;
BEGIN
    SELECT max(id) FILTER (WHERE status = 'successful'),
           max(id) FILTER (WHERE status = 'failed')
      INTO v_paid, v_failed
      FROM mono.payments
     WHERE fund_request_id = p_fund_request_id AND instalment_seq = p_seq;
    UPDATE mono.schedule s
       SET status = CASE
               WHEN v_paid IS NOT NULL THEN 'paid'
               WHEN v_failed IS NOT NULL THEN 'failed'
               WHEN s.status = 'missed' THEN 'missed'
               WHEN s.status = 'due' OR s.due_at <= now() THEN 'due'
               ELSE 'upcoming' END,
           payment_id = coalesce(v_paid, v_failed),
           updated_at = now()
     WHERE s.fund_request_id = p_fund_request_id AND s.seq = p_seq;
END;
$$;

-- Attach a payment to its fund request's instalment (recurring requests only).
CREATE OR REPLACE FUNCTION mono.match_payment(p_payment_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    v_seq integer;
BEGIN
    SELECT pay.id, pay.fund_request_id, coalesce(pay.processed_at, pay.created_at) AS at
      INTO p FROM mono.payments pay WHERE pay.id = p_payment_id;
    IF p.fund_request_id IS NULL THEN
        RETURN;
    END IF;
    v_seq := mono.instalment_for(p.fund_request_id, p.at);
    IF v_seq IS NULL THEN
        RETURN;
    END IF;
    UPDATE mono.payments SET instalment_seq = v_seq WHERE id = p.id;
    PERFORM mono.refresh_instalment(p.fund_request_id, v_seq);
END;
$$;

-- The expected instalments of a recurring request, calendar-correct in UTC:
-- the n-th due date is start + n periods (so a monthly plan from the 31st
-- falls on the last day of shorter months and returns to the 31st). Plans
-- on from the last instalment planned, at most 400 at once: planning costs
-- what is due next, never the whole history.
CREATE OR REPLACE FUNCTION mono.plan_instalments(p_fund_request_id bigint, p_until timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    f record;
    v_step interval;
    v_last integer;
    v_n integer;
BEGIN
    SELECT * INTO f FROM mono.fund_requests WHERE id = p_fund_request_id AND type = 'recurring';
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    v_step := ('1 ' || f.period)::interval * f."interval";
    SELECT coalesce(max(seq), 0) INTO v_last FROM mono.schedule
     WHERE fund_request_id = f.id;
    -- an upper bound on the count, from the shortest length of a period
    v_n := least(v_last + 399, greatest(0, ceil(extract(epoch FROM
               least(coalesce(f.end_date, 'infinity'), p_until) - f.start_date)
               / (86400.0 * f."interval" * CASE f.period WHEN 'day' THEN 1 WHEN 'week' THEN 7
                                                         WHEN 'month' THEN 28 ELSE 365 END)))::integer);
    INSERT INTO mono.schedule (fund_request_id, seq, due_at)
    SELECT f.id, n + 1, (f.start_date AT TIME ZONE 'UTC' + v_step * n) AT TIME ZONE 'UTC'
      FROM generate_series(v_last, v_n) AS n
     WHERE (f.start_date AT TIME ZONE 'UTC' + v_step * n) AT TIME ZONE 'UTC'
               <= least(coalesce(f.end_date, 'infinity'), p_until)
        OR n = 0
    ON CONFLICT (fund_request_id, seq) DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END;
$$;

-- (instalments of a new recurring request are planned by mono_charge() and
-- the trigger's batch insert (C), not by a trigger on mono.fund_requests:
-- pg_restore's COPY of a request must not plan a schedule that the dump
-- brings too)

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

-- Where the next read of a row's Owo list starts (a read stops after
-- mono_pay.list_pages pages: the next one goes on at once, then wraps to 0).
CREATE OR REPLACE FUNCTION mono.set_read_offset(p_data jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_offset integer := (p_data ->> 'offset')::integer;
    v_id bigint := (p_data ->> 'id')::bigint;
BEGIN
    -- Mono ignored ?phone= (issue 22): the next page waits for the row's
    -- next poll, backing off, instead of being read at once
    IF (p_data ->> 'back_off')::boolean THEN
        v_offset := -v_offset;
    END IF;
    IF p_data ->> 'table' = 'beneficiaries' THEN
        UPDATE mono.beneficiaries
           SET list_offset = abs(v_offset),
               next_poll_at = CASE WHEN v_offset > 0 THEN now() ELSE next_poll_at END
         WHERE id = v_id;
    ELSIF p_data ->> 'column' = 'payments_offset' THEN
        UPDATE mono.fund_requests
           SET payments_offset = abs(v_offset),
               next_poll_at = CASE WHEN v_offset > 0 THEN now() ELSE next_poll_at END
         WHERE id = v_id;
    ELSE
        UPDATE mono.fund_requests
           SET list_offset = abs(v_offset),
               next_poll_at = CASE WHEN v_offset > 0 THEN now() ELSE next_poll_at END
         WHERE id = v_id;
    END IF;
END;
$$;

-- Apply a Direct Charge ("owo") event, from a webhook or a polling read.
-- Returns applied, stale (would move a row backwards, or already known),
-- unmatched (names a Mono id we have not learned yet: replayed when we do),
-- unknown (a fund request or payment status that cannot be mapped: kept
-- in the row's mono_status, the event kept as unknown and listed in
-- mono.orphans) or ignored (not an owo event we know). Event names and
-- statuses are compared without regard to case (issue 22: a read may
-- spell them SUCCESSFUL).
CREATE OR REPLACE FUNCTION mono.apply_owo_event(p_event text, p_data jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_event text := lower(p_event);
BEGIN
    CASE
    WHEN v_event = 'owo.beneficiary.linked' THEN
        RETURN mono.apply_linked(p_data);
    WHEN v_event = 'owo.beneficiary.unlinked' THEN
        RETURN mono.apply_unlinked(p_data);
    WHEN v_event = 'owo.fundrequest.created' THEN
        RETURN mono.apply_created(p_data);
    WHEN v_event ~ '^owo\.fundrequest\.[a-z_]{1,40}$' THEN
        RETURN mono.apply_fund_request_status(p_data ->> 'id', split_part(v_event, '.', 3));
    WHEN v_event IN ('owo.payment.successful', 'owo.payment.failed') THEN
        RETURN mono.apply_payment(p_data, split_part(v_event, '.', 3));
    WHEN v_event LIKE 'owo.payment.%' OR v_event LIKE 'owo.fundrequest.%' THEN
        RETURN 'unknown';
    ELSE
        RETURN 'ignored';
    END CASE;
END;
$$;

-- owo.beneficiary.linked: the phone's pending link gets its Mono id (and is
-- read back now and then from now on: an unlink made in WhatsApp). A Mono
-- id one of our links already holds (an earlier link of the phone, still
-- listed) is not the pending link's.
CREATE OR REPLACE FUNCTION mono.apply_linked(p_data jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM mono.beneficiaries WHERE mono_id = p_data ->> 'id') THEN
        RETURN 'stale';
    END IF;
    UPDATE mono.beneficiaries
       SET mono_id = p_data ->> 'id', status = 'linked', bvn = NULL,
           linked_at = coalesce(linked_at, now()), updated_at = now(), list_offset = 0,
           next_poll_at = coalesce(next_poll_at, now() + coalesce(
               nullif(current_setting('mono_pay.poll_max', true), ''), '6h')::interval)
     WHERE phone = p_data ->> 'phone' AND action = 'link'
       AND status IN ('queued', 'sending', 'awaiting_authorization', 'unknown');
    IF FOUND THEN
        PERFORM mono.replay_unmatched(p_data ->> 'id');
        RETURN 'applied';
    END IF;
    RETURN 'unmatched';
END;
$$;

-- owo.beneficiary.unlinked: the link ends, and with it its recurring requests.
CREATE OR REPLACE FUNCTION mono.apply_unlinked(p_data jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_was text;
BEGIN
    SELECT id, status INTO v_id, v_was FROM mono.beneficiaries
     WHERE mono_id = p_data ->> 'id' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unmatched';
    END IF;
    UPDATE mono.beneficiaries
       SET status = 'unlinked', unlinked_at = coalesce(unlinked_at, now()), updated_at = now()
     WHERE id = v_id AND status <> 'unlinked';
    -- also when our own unlink already ended the link: its requests end too
    IF mono.cancel_link_requests(v_id) > 0 OR v_was <> 'unlinked' THEN
        RETURN 'applied';
    END IF;
    RETURN 'stale';
END;
$$;

-- Cancel the live recurring requests of a link (Mono cancels their schedules
-- when the link ends); returns how many.
CREATE OR REPLACE FUNCTION mono.cancel_link_requests(p_link_id bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_mono_id text;
    n integer;
BEGIN
    SELECT mono_id INTO v_mono_id FROM mono.beneficiaries WHERE id = p_link_id;
    -- only the requests Mono itself cancels: bound to this link, by Mono's
    -- id or by travelling inside it; a request of the same phone not yet
    -- bound to any link is not this link's
    UPDATE mono.fund_requests
       SET status = 'cancelled', updated_at = now()
     WHERE type = 'recurring'
       AND status IN ('awaiting_authorization', 'created', 'approved', 'processing', 'active')
       AND (beneficiary_mono_id = v_mono_id OR link_id = p_link_id);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;

-- A link that ends (unlink answered, webhook, or never sent) ends its
-- recurring requests, whoever recorded it.
CREATE OR REPLACE FUNCTION mono.on_link_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mono.cancel_link_requests(NEW.id);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER link_ended AFTER UPDATE OF status ON mono.beneficiaries
    FOR EACH ROW WHEN (NEW.status = 'unlinked' AND OLD.status <> 'unlinked')
    EXECUTE FUNCTION mono.on_link_ended();

-- owo.fundrequest.created: our request (by reference) learns its Mono id.
CREATE OR REPLACE FUNCTION mono.apply_created(p_data jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    f record;
    v_moved boolean;
    v_amount bigint := mono.kobo_field(p_data, 'amount');
BEGIN
    SELECT id, mono_id, amount, phone, type INTO f FROM mono.fund_requests
     WHERE reference = p_data ->> 'reference' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unmatched';
    END IF;
    -- a reference Mono holds for another request (another system's) is
    -- never adopted: our request fails, saying so
    IF f.mono_id IS NULL AND (v_amount <> f.amount OR p_data ->> 'phone' <> f.phone
                              OR p_data ->> 'type' <> f.type) THEN
        UPDATE mono.fund_requests
           SET status = 'failed', updated_at = now(), next_poll_at = NULL,
               last_error = format('Mono holds reference %s for another request'
                                   ' (amount %s, phone %s, type %s): not ours',
                                   p_data ->> 'reference', v_amount, p_data ->> 'phone',
                                   p_data ->> 'type')
         WHERE id = f.id AND mono.fund_request_rank(status) < 9;
        RETURN 'rejected: fund request ' || f.id || ' has the reference with another amount, phone or type';
    END IF;
    -- a request that knows its Mono id: an event naming another id, amount,
    -- phone or type under its reference is refused, never applied (issue 22)
    IF f.mono_id IS NOT NULL AND (f.mono_id <> p_data ->> 'id' OR v_amount <> f.amount
                                  OR p_data ->> 'phone' <> f.phone OR p_data ->> 'type' <> f.type) THEN
        RETURN format('rejected: fund request %s (reference %s) is %s, amount %s, phone %s, type %s;'
                      ' the event names %s, amount %s, phone %s, type %s',
                      f.id, p_data ->> 'reference', f.mono_id, f.amount, f.phone, f.type,
                      p_data ->> 'id', v_amount, p_data ->> 'phone', p_data ->> 'type');
    END IF;
    UPDATE mono.fund_requests
       SET mono_id = coalesce(mono_id, p_data ->> 'id'),
           beneficiary_mono_id = coalesce(beneficiary_mono_id, p_data ->> 'beneficiary'),
           updated_at = now()
     WHERE id = f.id;
    v_moved := mono.advance_fund_request(f.id, 'created');
    IF f.mono_id IS NULL THEN
        UPDATE mono.payments SET fund_request_id = f.id
         WHERE fund_request_mono_id = p_data ->> 'id' AND fund_request_id IS NULL;
        PERFORM mono.match_payment(id) FROM mono.payments
         WHERE fund_request_id = f.id AND instalment_seq IS NULL;
        PERFORM mono.replay_unmatched(p_data ->> 'id');
        RETURN 'applied';
    END IF;
    RETURN CASE WHEN v_moved THEN 'applied' ELSE 'stale' END;
END;
$$;

-- owo.fundrequest.<status>: move the request named by its Mono id forward,
-- and keep what Mono said in mono_status: a status mono_pay does not know
-- (paused, resumed, declined, ...) changes nothing else; a known one said
-- again (active after a pause) is kept too.
CREATE OR REPLACE FUNCTION mono.apply_fund_request_status(p_mono_id text, p_status text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_was text;
    v_status text;
BEGIN
    SELECT id, status INTO v_id, v_was FROM mono.fund_requests
     WHERE mono_id = p_mono_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unmatched';
    END IF;
    v_status := mono.fund_request_status_map(p_status);
    IF v_status IS NOT NULL AND v_status <> 'unchanged' THEN
        IF mono.advance_fund_request(v_id, v_status) THEN
            -- declined: the row is cancelled, mono_status says why
            UPDATE mono.fund_requests SET mono_status = p_status WHERE id = v_id AND v_status <> p_status;
            PERFORM mono.stop_polling_if_settled(v_id);
            RETURN 'applied';
        END IF;
    END IF;
    -- not a step forward: only news when Mono's word changed, to a status
    -- mono_pay does not know, or back to the one the row has (active after
    -- a pause); a late, older event changes nothing
    UPDATE mono.fund_requests SET mono_status = p_status, updated_at = now()
     WHERE id = v_id AND mono_status IS DISTINCT FROM p_status
       AND (v_status IS NULL OR v_status = 'unchanged' OR v_status = v_was);
    RETURN CASE WHEN v_status IS NULL THEN 'unknown' WHEN FOUND THEN 'applied' ELSE 'stale' END;
END;
$$;

-- owo.payment.successful / failed: one debit, kept once, matched to its instalment.
CREATE OR REPLACE FUNCTION mono.apply_payment(p_data jsonb, p_status text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_fund_request bigint;
    v_type text;
    v_status text;
BEGIN
    -- the request's row lock orders concurrent debits of one request, so
    -- that each one's instalment is recomputed from every committed debit
    SELECT id, type, status INTO v_fund_request, v_type, v_status
      FROM mono.fund_requests WHERE mono_id = p_data ->> 'fund_request' FOR UPDATE;
    INSERT INTO mono.payments (mono_id, fund_request_id, fund_request_mono_id, reference,
                               amount, currency, status, message, processed_at, session_id)
    VALUES (p_data ->> 'id', v_fund_request,
            p_data ->> 'fund_request', p_data ->> 'reference',
            mono.kobo_field(p_data, 'amount'), coalesce(p_data ->> 'currency', 'NGN'),
            p_status, p_data ->> 'message',
            mono.iso_timestamp(p_data ->> 'processed_at', 'data.processed_at'),
            p_data ->> 'session_id')
    ON CONFLICT (mono_id) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN 'stale';
    END IF;
    -- a successful debit of a request mono_pay had failed or expired
    -- locally: Mono's word wins (issue 22), the request was at least approved
    IF p_status = 'successful' AND v_status IN ('failed', 'expired') THEN
        PERFORM mono.advance_fund_request(v_fund_request,
                                          CASE v_type WHEN 'onetime' THEN 'completed' ELSE 'active' END);
        SELECT status INTO v_status FROM mono.fund_requests WHERE id = v_fund_request;
    END IF;
    IF v_type = 'recurring' THEN
        PERFORM mono.match_payment(v_id);
    END IF;
    IF v_status = 'completed' THEN
        PERFORM mono.stop_polling_if_settled(v_fund_request);
    END IF;
    RETURN 'applied';
END;
$$;


-- Apply, in order, the events a polling read stands for: [{event, data}, ...]
-- (and mono_pay.read_offset: where the next read of a paged list starts).
CREATE OR REPLACE FUNCTION mono.apply_owo_events(p_events jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e jsonb;
    v_outcome text;
    v_error text;
BEGIN
    FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
        -- where the next read of a paged list starts: no event of Mono's
        IF e ->> 'event' = 'mono_pay.read_offset' AND NOT e ? 'reject' THEN
            PERFORM mono.set_read_offset(e -> 'data');
            CONTINUE;
        END IF;
        -- the worker marks an event it could not record at all with "reject"
        IF e ? 'reject' THEN
            v_outcome := 'rejected';
            v_error := e ->> 'reject';
            e := e - 'reject';
        ELSE
            SELECT r.outcome, r.error INTO v_outcome, v_error
              FROM mono.apply_event_safely(e ->> 'event', e) r;
        END IF;
        -- a read the database cannot take is kept aside, once, with its
        -- error; so is one whose status cannot be mapped (issue 22: never
        -- dropped silently; mono.orphans lists it)
        IF v_outcome IN ('rejected', 'unknown') THEN
            INSERT INTO mono.webhook_events (event_id, event, body, mono_ref, outcome, error)
            VALUES ('poll:' || md5(e::text), e ->> 'event', e,
                    coalesce(e -> 'data' ->> 'id', e -> 'data' ->> 'fund_request'),
                    v_outcome, CASE WHEN v_outcome = 'unknown'
                        THEN format('status %s read from Mono cannot be mapped', e -> 'data' ->> 'status')
                        ELSE v_error END)
            ON CONFLICT (event_id) DO NOTHING;
        END IF;
    END LOOP;
END;
$$;


-- The worker's periodic upkeep: instalments fall due or are missed, open-ended
-- schedules are extended, requests nobody
-- authorised within mono_pay.approval_window expire, and mono.http_log
-- keeps mono_pay.http_log_retention. The settings are read once, so every
-- statement compares with a constant and uses its index: upkeep costs what
-- is due, not the size of the tables.
CREATE OR REPLACE FUNCTION mono.maintain() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_missed_before timestamptz := now() - mono.setting_interval('schedule_grace');
    v_expire_before timestamptz := now() - mono.setting_interval('approval_window');
    v_log_before timestamptz := now() - mono.setting_interval('http_log_retention');
BEGIN
    -- a request that failed, expired or was cancelled misses nothing, nor
    -- one Mono shows in a state mono_pay does not know (paused, ...); rows
    -- another transaction holds are skipped (the next sweep takes them), and
    -- each sweep does at most 1,000 of each kind
    UPDATE mono.schedule sc SET status = 'due', updated_at = now()
     WHERE (sc.fund_request_id, sc.seq) IN (
           SELECT s2.fund_request_id, s2.seq FROM mono.schedule s2
             JOIN mono.fund_requests f ON f.id = s2.fund_request_id
            WHERE s2.status = 'upcoming' AND s2.due_at <= now()
              AND f.status NOT IN ('failed', 'expired', 'cancelled')
            LIMIT 1000 FOR UPDATE OF s2 SKIP LOCKED);
    -- (the schedule's notify_update trigger tells LISTENers)
    -- missed (issue 22): only once the customer approved the plan (Mono
    -- collects nothing before), and only after mono_pay.schedule_grace
    -- (default 5 days): Mono retries a failed debit and reports the failure
    -- only after its retries (its sample: 4 days 1 hour after the due date);
    -- Mono's own word (a payment) always decides first
    UPDATE mono.schedule sc SET status = 'missed', updated_at = now()
     WHERE (sc.fund_request_id, sc.seq) IN (
           SELECT s2.fund_request_id, s2.seq FROM mono.schedule s2
             JOIN mono.fund_requests f ON f.id = s2.fund_request_id
            WHERE s2.status = 'due' AND s2.due_at < v_missed_before
              AND f.status IN ('approved', 'processing', 'active', 'completed')
              AND mono.is_live_mono_status(f.mono_status)
            LIMIT 1000 FOR UPDATE OF s2 SKIP LOCKED);
    -- a recurring request held back (one prompt per phone) until its start
    -- date passed is never sent with a date in the past: it fails, saying so
    UPDATE mono.fund_requests
       SET status = 'failed', updated_at = now(),
           last_error = format('its start_date %s passed while it waited to be sent (an earlier request'
                               ' or link of phone %s was in flight or awaiting the customer);'
                               ' nothing was sent: queue it again with a later start_date',
                               to_char(start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD'), phone)
     WHERE id IN (SELECT id FROM mono.fund_requests q
                   WHERE q.status = 'queued' AND mono.start_passed(q.type, q.start_date, q.created_at)
                   LIMIT 1000 FOR UPDATE SKIP LOCKED);
    PERFORM mono.plan_instalments(f.id, now() + interval '1 year')
       FROM mono.fund_requests f
      WHERE f.type = 'recurring' AND f.end_date IS NULL
        AND f.status IN ('awaiting_authorization', 'created', 'approved', 'processing', 'active')
        AND (SELECT max(due_at) FROM mono.schedule WHERE fund_request_id = f.id)
            < now() + interval '3 months'
      LIMIT 100;
    UPDATE mono.fund_requests
       SET status = 'expired', expired_locally = true, updated_at = now(),
           last_error = 'not authorised within mono_pay.approval_window'
     WHERE id IN (SELECT id FROM mono.fund_requests
                   WHERE status = 'awaiting_authorization' AND accepted_at < v_expire_before
                   LIMIT 1000 FOR UPDATE SKIP LOCKED);
    DELETE FROM mono.http_log
     WHERE at < v_log_before;
END;
$$;


------------------------------------------------------------------------
-- The outbox's state machine, as the worker drives it. The worker (C)
-- claims rows through these functions and reports what Mono answered as a
-- verdict; the statuses are decided here, beside the webhook and polling
-- rules above. (The SQL functions that
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

-- The status a verdict expects its row in.
CREATE OR REPLACE FUNCTION mono.verdict_expects(p_verdict text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_verdict IN ('accepted', 'reference_named', 'retry', 'ambiguous', 'refused',
                                   'refused_resend', 'key_refused')
                THEN 'sending' ELSE 'unknown' END
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
                WHEN 'key_refused' THEN 'queued'
                WHEN 'found' THEN 'linked'
                WHEN 'absent' THEN 'awaiting_authorization'
                WHEN 'gone' THEN 'unlinked'
                WHEN 'present' THEN 'queued'
                ELSE 'unknown' END AS status) s
$$;

-- A redirect_url Mono gave, as a link for customers: https:// only (issue
-- 22: a javascript: or http: link is never stored); NULL otherwise.
CREATE OR REPLACE FUNCTION mono.customer_link(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_url ~* '^https://[^\s/?#@]+([/?#][^\s]*)?$' THEN p_url END
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
                  redirect_url = coalesce(mono.customer_link(v.redirect_url), b.redirect_url),
                  attempts = b.attempts - CASE WHEN v.verdict = 'key_refused' THEN 1 ELSE 0 END,
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
                           b.trace_id, b.error_details, v.verdict)
    UPDATE mono.fund_requests f SET
           status = CASE b.status WHEN 'linked' THEN 'awaiting_authorization' ELSE b.status END,
           attempts = f.attempts - CASE WHEN b.verdict = 'key_refused' AND f.attempts > 0 THEN 1 ELSE 0 END,
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
              -- the calendar day alone, as Mono's examples send it (issue 22)
              to_char(f.start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
              to_char(f.end_date AT TIME ZONE 'UTC', 'YYYY-MM-DD');
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

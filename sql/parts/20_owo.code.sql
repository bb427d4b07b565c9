------------------------------------------------------------------------
-- Direct Charge ("owo") code: notifications, the state machine, upkeep,
-- and the SQL functions (C). Links and beneficiaries: see the vocabulary
-- note of 20_owo.schema.sql.
------------------------------------------------------------------------

-- Notifications (mono.notify_status(), 10_common.code.sql)
CREATE OR REPLACE TRIGGER notify_update AFTER UPDATE OF status ON mono.beneficiaries
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'queued')
    EXECUTE FUNCTION mono.notify_status();
-- a fund request also tells when the status Mono reports changes (mono_status)
CREATE OR REPLACE TRIGGER notify_update AFTER UPDATE OF status, mono_status ON mono.fund_requests
    FOR EACH ROW WHEN ((OLD.status IS DISTINCT FROM NEW.status
                        OR OLD.mono_status IS DISTINCT FROM NEW.mono_status)
                       AND NEW.status <> 'queued')
    EXECUTE FUNCTION mono.notify_status();
-- every payment (recurring debits included), and a payment matched later
CREATE OR REPLACE TRIGGER notify_insert AFTER INSERT ON mono.payments
    FOR EACH ROW EXECUTE FUNCTION mono.notify_status('fund_request_id');
CREATE OR REPLACE TRIGGER notify_update AFTER UPDATE OF fund_request_id ON mono.payments
    FOR EACH ROW WHEN (OLD.fund_request_id IS NULL AND NEW.fund_request_id IS NOT NULL)
    EXECUTE FUNCTION mono.notify_status('fund_request_id');

-- An instalment paid, failed or missed: {"table": "schedule", "id" (of the
-- fund request), "seq", "reference" (of the fund request), "status"}.
CREATE OR REPLACE FUNCTION mono.notify_instalment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mono_pay', json_build_object(
        'table', 'schedule', 'id', NEW.fund_request_id, 'seq', NEW.seq,
        'reference', (SELECT reference FROM mono.fund_requests WHERE id = NEW.fund_request_id),
        'status', NEW.status)::text);
    RETURN NULL;
END;
$$;
CREATE OR REPLACE TRIGGER notify_update AFTER UPDATE OF status ON mono.schedule
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('paid', 'failed', 'missed'))
    EXECUTE FUNCTION mono.notify_instalment();

-- References (mono.check_reference(), 10_common.code.sql)
CREATE OR REPLACE TRIGGER reference_link AFTER INSERT OR UPDATE OF link_id ON mono.fund_requests
    FOR EACH ROW WHEN (NEW.link_id IS NOT NULL)
    EXECUTE FUNCTION mono.check_reference('link_id', 'mono.beneficiaries');
CREATE OR REPLACE TRIGGER reference_fund_request AFTER INSERT OR UPDATE OF fund_request_id ON mono.payments
    FOR EACH ROW WHEN (NEW.fund_request_id IS NOT NULL)
    EXECUTE FUNCTION mono.check_reference('fund_request_id', 'mono.fund_requests');
CREATE OR REPLACE TRIGGER reference_fund_request AFTER INSERT OR UPDATE OF fund_request_id ON mono.schedule
    FOR EACH ROW EXECUTE FUNCTION mono.check_reference('fund_request_id', 'mono.fund_requests');
CREATE OR REPLACE TRIGGER reference_payment AFTER INSERT OR UPDATE OF payment_id ON mono.schedule
    FOR EACH ROW WHEN (NEW.payment_id IS NOT NULL)
    EXECUTE FUNCTION mono.check_reference('payment_id', 'mono.payments');
CREATE OR REPLACE TRIGGER referenced_delete AFTER DELETE ON mono.fund_requests
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();
CREATE OR REPLACE TRIGGER referenced_delete AFTER DELETE ON mono.beneficiaries
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();
CREATE OR REPLACE TRIGGER referenced_delete AFTER DELETE ON mono.payments
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();

------------------------------------------------------------------------
-- The state machine: webhooks and polling reads both go through here
-- (no SET search_path: see 10_common.schema.sql)
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

-- mono_status too, in the same UPDATE: one notification); false when that
-- would go backwards. A local expiry (approval window) is only a guess:
-- whatever Mono reports after it, from approved on, replaces it.
CREATE OR REPLACE FUNCTION mono.advance_fund_request(p_id bigint, p_status text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mono.fund_requests
       SET status = p_status, mono_status = p_status, expired_locally = false, updated_at = now(),
           last_error = CASE WHEN expired_locally THEN NULL ELSE last_error END
     WHERE id = p_id
       AND ((mono.fund_request_rank(p_status) > mono.fund_request_rank(status)
             AND mono.fund_request_rank(status) < 9)
            OR (expired_locally AND mono.fund_request_rank(p_status) > 3));
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
-- §2.7)? Others (paused, resumed, declined, ...) are kept in mono_status.
CREATE OR REPLACE FUNCTION mono.is_known_status(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('created', 'approved', 'processing', 'active', 'completed',
                        'expired', 'cancelled')
$$;

-- Is a request live by what Mono last said: nothing yet, a status mono_pay
-- knows, or resumed? A request Mono shows paused, declined or in any other
-- unknown state is not collecting: its instalments are not missed.
CREATE OR REPLACE FUNCTION mono.is_live_mono_status(p_mono_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_mono_status IS NULL OR p_mono_status = 'resumed'
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
    IF p_data ->> 'table' = 'beneficiaries' THEN
        UPDATE mono.beneficiaries
           SET list_offset = v_offset,
               next_poll_at = CASE WHEN v_offset > 0 THEN now() ELSE next_poll_at END
         WHERE id = v_id;
    ELSIF p_data ->> 'column' = 'payments_offset' THEN
        UPDATE mono.fund_requests
           SET payments_offset = v_offset,
               next_poll_at = CASE WHEN v_offset > 0 THEN now() ELSE next_poll_at END
         WHERE id = v_id;
    ELSE
        UPDATE mono.fund_requests
           SET list_offset = v_offset,
               next_poll_at = CASE WHEN v_offset > 0 THEN now() ELSE next_poll_at END
         WHERE id = v_id;
    END IF;
END;
$$;

-- Apply a Direct Charge ("owo") event, from a webhook or a polling read.
-- Returns applied, stale (would move a row backwards, or already known),
-- unmatched (names a Mono id we have not learned yet: replayed when we do)
-- or ignored (not an owo event we know). A fund request status mono_pay
-- does not know (paused, declined, ...: a read may report one) is kept in
-- mono_status.
CREATE OR REPLACE FUNCTION mono.apply_owo_event(p_event text, p_data jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    CASE
    WHEN p_event = 'owo.beneficiary.linked' THEN
        RETURN mono.apply_linked(p_data);
    WHEN p_event = 'owo.beneficiary.unlinked' THEN
        RETURN mono.apply_unlinked(p_data);
    WHEN p_event = 'owo.fundrequest.created' THEN
        RETURN mono.apply_created(p_data);
    WHEN p_event ~ '^owo\.fundrequest\.[a-z_]{1,40}$' THEN
        RETURN mono.apply_fund_request_status(p_data ->> 'id', split_part(p_event, '.', 3));
    WHEN p_event IN ('owo.payment.successful', 'owo.payment.failed') THEN
        RETURN mono.apply_payment(p_data, split_part(p_event, '.', 3));
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
BEGIN
    SELECT id, status INTO v_id, v_was FROM mono.fund_requests
     WHERE mono_id = p_mono_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unmatched';
    END IF;
    IF mono.is_known_status(p_status) AND mono.advance_fund_request(v_id, p_status) THEN
        PERFORM mono.stop_polling_if_settled(v_id);
        RETURN 'applied';
    END IF;
    -- not a step forward: only news when Mono's word changed, to a status
    -- mono_pay does not know, or back to the one the row has (active after
    -- a pause); a late, older event changes nothing
    UPDATE mono.fund_requests SET mono_status = p_status, updated_at = now()
     WHERE id = v_id AND mono_status IS DISTINCT FROM p_status
       AND (NOT mono.is_known_status(p_status) OR p_status = v_was);
    RETURN CASE WHEN FOUND THEN 'applied' ELSE 'stale' END;
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
        -- a read the database cannot take is kept aside, once, with its error
        IF v_outcome = 'rejected' THEN
            INSERT INTO mono.webhook_events (event_id, event, body, mono_ref, outcome, error)
            VALUES ('poll:' || md5(e::text), e ->> 'event', e,
                    coalesce(e -> 'data' ->> 'id', e -> 'data' ->> 'fund_request'),
                    'rejected', v_error)
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
    UPDATE mono.schedule sc SET status = 'missed', updated_at = now()
     WHERE (sc.fund_request_id, sc.seq) IN (
           SELECT s2.fund_request_id, s2.seq FROM mono.schedule s2
             JOIN mono.fund_requests f ON f.id = s2.fund_request_id
            WHERE s2.status = 'due' AND s2.due_at < v_missed_before
              AND f.status NOT IN ('failed', 'expired', 'cancelled')
              AND mono.is_live_mono_status(f.mono_status)
            LIMIT 1000 FOR UPDATE OF s2 SKIP LOCKED);
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

-- Instalments with their request, for analysts.
CREATE OR REPLACE VIEW mono.instalments AS
SELECT s.fund_request_id, f.reference, f.phone, f.amount, f.period, f."interval",
       f.status AS fund_request_status, s.seq, s.due_at, s.status,
       p.mono_id AS payment_mono_id, p.processed_at AS paid_at, p.message,
       f.mono_status AS fund_request_mono_status
  FROM mono.schedule s
  JOIN mono.fund_requests f ON f.id = s.fund_request_id
  LEFT JOIN mono.payments p ON p.id = s.payment_id;


------------------------------------------------------------------------
-- SQL functions (C)
------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mono_user_status(phone_number text)
RETURNS TABLE (phone text, "exists" boolean, status text)
AS 'MODULE_PATHNAME', 'mono_user_status'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE OR REPLACE FUNCTION mono_link_beneficiary(phone text, account_name text, nip_code text,
                                                 account_number text, bvn text DEFAULT NULL,
                                                 first_charge_amount bigint DEFAULT NULL,
                                                 first_charge_description text DEFAULT NULL)
RETURNS mono.beneficiaries
AS 'MODULE_PATHNAME', 'mono_link_beneficiary'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- a failing call must not log its statement: it may quote a BVN
SET log_min_error_statement = panic;

-- The link with a first fund request that may be recurring, as in Mono's
-- own link example (issue 11). A form of its own beside the 7-argument one
-- (whose calls and GRANTs stay valid): its first eight arguments have no
-- defaults, so no call can match both.
CREATE OR REPLACE FUNCTION mono_link_beneficiary(phone text, account_name text, nip_code text,
                                                 account_number text, bvn text,
                                                 first_charge_amount bigint,
                                                 first_charge_description text,
                                                 first_charge_period text,
                                                 first_charge_interval integer DEFAULT 1,
                                                 first_charge_start_date timestamptz DEFAULT NULL,
                                                 first_charge_end_date timestamptz DEFAULT NULL,
                                                 first_charge_reference text DEFAULT NULL)
RETURNS mono.beneficiaries
AS 'MODULE_PATHNAME', 'mono_link_beneficiary'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- a failing call must not log its statement: it may quote a BVN
SET log_min_error_statement = panic;

CREATE OR REPLACE FUNCTION mono_charge(phone text, amount bigint, description text,
                                       reference text DEFAULT NULL, period text DEFAULT NULL,
                                       "interval" integer DEFAULT 1,
                                       start_date timestamptz DEFAULT NULL,
                                       end_date timestamptz DEFAULT NULL,
                                       currency text DEFAULT 'NGN')
RETURNS mono.fund_requests
AS 'MODULE_PATHNAME', 'mono_charge'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION mono_unlink_beneficiary(phone text)
RETURNS mono.beneficiaries
AS 'MODULE_PATHNAME', 'mono_unlink_beneficiary'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION mono_wait(reference text, timeout interval DEFAULT '10 seconds')
RETURNS mono.fund_requests
AS 'MODULE_PATHNAME', 'mono_wait'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

-- Not SECURITY DEFINER: it only validates and buffers; the buffered rows are
-- inserted with the extension owner's privileges (src/owo_batch.c).
CREATE OR REPLACE FUNCTION mono_charge_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'mono_charge_trigger'
LANGUAGE C;


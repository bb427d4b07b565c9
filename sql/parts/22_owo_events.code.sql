------------------------------------------------------------------------
-- Direct Charge's events, from a webhook or a polling read: each moves a
-- link, a fund request or a payment forward, never back (mono.apply_owo_event).
-- Storing them, and replaying the ones that waited for a Mono id, is the
-- webhooks' part (50_webhooks.code.sql).
------------------------------------------------------------------------

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
       AND mono.in_outbox(status);
    -- (the events that waited for this Mono id are replayed by the
    -- webhooks' trigger replay_unmatched, 50_webhooks.code.sql)
    IF FOUND THEN
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
       AND mono.fund_request_open(status)
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
         WHERE id = f.id AND NOT mono.fund_request_final(status);
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
    v_moved := mono.advance_fund_request(f.id, 'created');
    IF f.mono_id IS NULL THEN
        UPDATE mono.payments SET fund_request_id = f.id
         WHERE fund_request_mono_id = p_data ->> 'id' AND fund_request_id IS NULL;
        PERFORM mono.match_payment(id) FROM mono.payments
         WHERE fund_request_id = f.id AND instalment_seq IS NULL;
    END IF;
    -- the Mono id last: the events that waited for it are replayed as it is
    -- set (the webhooks' trigger replay_unmatched, 50_webhooks.code.sql),
    -- after the request is created and its payments are matched
    UPDATE mono.fund_requests
       SET mono_id = coalesce(mono_id, p_data ->> 'id'),
           beneficiary_mono_id = coalesce(beneficiary_mono_id, p_data ->> 'beneficiary'),
           updated_at = now()
     WHERE id = f.id;
    RETURN CASE WHEN f.mono_id IS NULL OR v_moved THEN 'applied' ELSE 'stale' END;
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

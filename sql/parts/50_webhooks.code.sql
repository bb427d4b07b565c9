------------------------------------------------------------------------
-- Webhooks code: applying and storing events (from mono_handle_webhook(),
-- which the receiver program mono_pay_receiver calls; polling reads of
-- Direct Charge apply theirs through mono.apply_owo_events())
------------------------------------------------------------------------

-- Apply an event; one the database cannot take (a value it cannot store, a
-- Mono id another row holds: SQLSTATE classes 22 and 23) is rolled back and
-- comes back as outcome 'rejected' with its error, so that it never stops
-- the events after it. Other errors (locks, shutdown) are raised: retried.
CREATE OR REPLACE FUNCTION mono.apply_event_safely(p_event text, p_body jsonb,
                                                   OUT outcome text, OUT error text)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_event LIKE 'owo.%' THEN
        outcome := mono.apply_owo_event(p_event, p_body -> 'data');
    ELSIF p_event LIKE 'mono.%' THEN
        outcome := mono.apply_connect_event(p_event, p_body);
    ELSE
        outcome := 'ignored';
    END IF;
    IF outcome LIKE 'rejected: %' THEN
        error := substr(outcome, 11);
        outcome := 'rejected';
    END IF;
EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
    outcome := 'rejected';
    error := SQLSTATE || ': ' || SQLERRM;
END;
$$;


-- Apply again the stored events that waited for the Mono id p_mono_id.
CREATE OR REPLACE FUNCTION mono.replay_unmatched(p_mono_id text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e record;
    r record;
BEGIN
    FOR e IN SELECT id, event, body FROM mono.webhook_events
              WHERE outcome = 'unmatched' AND mono_ref = p_mono_id ORDER BY id
    LOOP
        r := mono.apply_event_safely(e.event, e.body);
        UPDATE mono.webhook_events
           SET outcome = r.outcome, error = r.error,
               applied_at = CASE WHEN r.outcome = 'applied' THEN now() END
         WHERE id = e.id;
    END LOOP;
END;
$$;

-- A link or a fund request that learns its Mono id (a webhook, a settling
-- read, the worker's verdict) replays the stored events that waited for
-- it. A trigger, so that Direct Charge's parts (22_owo_events,
-- 23_owo_outcomes) call nothing of this part above them.
CREATE OR REPLACE FUNCTION mono.on_mono_id_learned() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mono.replay_unmatched(NEW.mono_id);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER replay_unmatched AFTER UPDATE OF mono_id ON mono.fund_requests
    FOR EACH ROW WHEN (NEW.mono_id IS NOT NULL AND OLD.mono_id IS DISTINCT FROM NEW.mono_id)
    EXECUTE FUNCTION mono.on_mono_id_learned();
CREATE OR REPLACE TRIGGER replay_unmatched AFTER UPDATE OF mono_id ON mono.beneficiaries
    FOR EACH ROW WHEN (NEW.mono_id IS NOT NULL AND OLD.mono_id IS DISTINCT FROM NEW.mono_id)
    EXECUTE FUNCTION mono.on_mono_id_learned();

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

-- A JSON value with every BVN masked: a member named bvn (any case) whose
-- value is 11 digits (a string or a number) becomes the string
-- '*******' || its last 4 digits, at any depth.
CREATE OR REPLACE FUNCTION mono.mask_bvns(p_value jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(p_value)
           WHEN 'object' THEN
                (SELECT coalesce(jsonb_object_agg(e.key,
                            CASE WHEN lower(e.key) = 'bvn' AND (e.value #>> '{}') ~ '^[0-9]{11}$'
                                 THEN to_jsonb('*******' || right(e.value #>> '{}', 4))
                                 ELSE mono.mask_bvns(e.value) END), '{}')
                   FROM jsonb_each(p_value) e)
           WHEN 'array' THEN
                (SELECT coalesce(jsonb_agg(mono.mask_bvns(x.v) ORDER BY x.i), '[]')
                   FROM jsonb_array_elements(p_value) WITH ORDINALITY AS x(v, i))
           ELSE p_value
           END
$$;

-- An event as mono.webhook_events keeps it: no full BVN (Mono's real-time
-- mono.events.account_updated carries one, doc/mono-api.md section 4), in
-- body nor in raw. The secret was verified on the bytes as received before
-- this runs, and de-duplication uses the event_id (or a hash of those bytes)
-- computed before too: masking here changes neither. raw keeps Mono's text
-- with the digits masked in place (a numeric BVN becomes a string, as in
-- body); should that text not be the JSON of the masked body (an escaped
-- key, say), raw becomes the masked body's text.
CREATE OR REPLACE FUNCTION mono.mask_event_pii(p_body jsonb, p_raw text,
                                               OUT body jsonb, OUT raw text)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    body := p_body;
    raw := p_raw;
    IF p_body::text !~* 'bvn' THEN
        RETURN;
    END IF;
    body := mono.mask_bvns(p_body);
    IF p_raw IS NULL OR body = p_body THEN
        RETURN;
    END IF;
    raw := regexp_replace(regexp_replace(p_raw,
               '("bvn"\s*:\s*")[0-9]{7}([0-9]{4})"', '\1*******\2"', 'gi'),
               '("bvn"\s*:\s*)[0-9]{7}([0-9]{4})(?![0-9.eE])', '\1"*******\2"', 'gi');
    BEGIN
        IF raw::jsonb IS DISTINCT FROM body THEN
            raw := body::text;
        END IF;
    EXCEPTION WHEN invalid_text_representation THEN
        raw := body::text;
    END;
END;
$$;

-- Apply a verified webhook and store it once (by event_id), with its
-- outcome: one row written per event. Returns 'applied', 'duplicate' or
-- 'ignored' (stored, not applied now: unknown type, stale, or waiting for an
-- id; the row's outcome says which).
-- p_raw: the body as received (mono_handle_webhook passes it); body and raw
-- are stored with any BVN masked (mono.mask_event_pii()).
-- Events of one Mono object (a fund request and its payments, a link, an
-- account) are applied one at a time, in the order their transactions take
-- the object's lock: deliveries arrive in parallel (mono_pay_receiver's
-- threads, an application's pool), and an event applied beside the one
-- that teaches its Mono id would be left 'unmatched' after the replay ran.
CREATE OR REPLACE FUNCTION mono.ingest_webhook(p_event_id text, p_event text, p_body jsonb,
                                               p_raw text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    r record;
    m record;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('mono_pay.webhook'),
        pg_catalog.hashtext(coalesce(p_body -> 'data' ->> 'fund_request', p_body -> 'data' ->> 'id',
                                     p_body -> 'data' -> 'account' ->> '_id', p_body -> 'data' ->> 'account',
                                     p_event_id)));
    IF EXISTS (SELECT 1 FROM mono.webhook_events WHERE event_id = p_event_id) THEN
        RETURN 'duplicate';
    END IF;
    r := mono.apply_event_safely(p_event, p_body);
    m := mono.mask_event_pii(p_body, p_raw);
    -- stored once, with its outcome; a delivery of the same event committed
    -- meanwhile wins the insert (applying an event twice changes nothing:
    -- every step of the state machine is idempotent)
    INSERT INTO mono.webhook_events (event_id, event, body, mono_ref, outcome, applied_at, error,
                                     raw)
    VALUES (p_event_id, p_event, m.body,
            coalesce(p_body -> 'data' ->> 'id', p_body -> 'data' ->> 'fund_request'),
            r.outcome, CASE WHEN r.outcome = 'applied' THEN now() END, r.error, m.raw)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN 'duplicate';
    END IF;
    RETURN CASE r.outcome WHEN 'applied' THEN 'applied' ELSE 'ignored' END;
END;
$$;

-- The 0.1.0 form, without the raw body (raw stays NULL).
CREATE OR REPLACE FUNCTION mono.ingest_webhook(p_event_id text, p_event text, p_body jsonb) RETURNS text
LANGUAGE sql AS $$
    SELECT mono.ingest_webhook(p_event_id, p_event, p_body, NULL::text)
$$;

CREATE OR REPLACE FUNCTION mono_handle_webhook(body text, secret text)
RETURNS text
AS 'MODULE_PATHNAME', 'mono_handle_webhook'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- a failing call must not log its statement: it may quote the secret
SET log_min_error_statement = panic;

-- mono_pay 0.1.0 -> 0.2.0
\echo Use "ALTER EXTENSION mono_pay UPDATE TO '0.2.0'" to load this file. \quit

------------------------------------------------------------------------
-- Value rules: one blank rule, descriptions of at most 255 characters.
-- Rows stored before the upgrade are not re-checked (NOT VALID): the
-- worker fails a queued row it cannot send, with the reason.
------------------------------------------------------------------------
CREATE FUNCTION mono.is_blank(text) RETURNS boolean
AS 'MODULE_PATHNAME', 'mono_is_blank_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
ALTER DOMAIN mono.account_name
    ADD CONSTRAINT account_name_visible CHECK (NOT mono.is_blank(VALUE)) NOT VALID;
ALTER DOMAIN mono.description
    ADD CONSTRAINT description_length CHECK (char_length(VALUE) <= 255) NOT VALID;
ALTER DOMAIN mono.description
    ADD CONSTRAINT description_visible CHECK (NOT mono.is_blank(VALUE)) NOT VALID;

------------------------------------------------------------------------
-- Events the database cannot take are kept aside with their error
------------------------------------------------------------------------
ALTER DOMAIN mono.webhook_outcome DROP CONSTRAINT webhook_outcome_check;
ALTER DOMAIN mono.webhook_outcome ADD CONSTRAINT webhook_outcome_check CHECK (VALUE IN
    ('applied', 'ignored', 'stale', 'unmatched', 'rejected'));
ALTER TABLE mono.webhook_events ADD COLUMN error text;
CREATE INDEX fund_requests_beneficiary ON mono.fund_requests (beneficiary_mono_id)
    WHERE type = 'recurring' AND beneficiary_mono_id IS NOT NULL;

------------------------------------------------------------------------
-- Functions new or changed in 0.2.0
------------------------------------------------------------------------

CREATE FUNCTION mono.iso_timestamp(value text, field text) RETURNS timestamptz
AS 'MODULE_PATHNAME', 'mono_iso_timestamp_sql' LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION mono.kobo_field(p_data jsonb, p_field text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := p_data -> p_field;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF (jsonb_typeof(v) = 'number' AND v::numeric = trunc(v::numeric)
        AND v::numeric BETWEEN 0 AND 9223372036854775807)
       OR (jsonb_typeof(v) = 'string' AND v #>> '{}' ~ '^[0-9]{1,18}$') THEN
        RETURN (v #>> '{}')::numeric::bigint;
    END IF;
    RAISE EXCEPTION 'field data.% is not an amount in kobo: %', p_field, left(v::text, 40)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Mono sends amounts as integers of kobo.';
END;
$$;

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

CREATE FUNCTION mono.apply_event_safely(p_event text, p_body jsonb,
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

CREATE OR REPLACE FUNCTION mono.apply_owo_events(p_events jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e jsonb;
    v_outcome text;
    v_error text;
BEGIN
    FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
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

CREATE OR REPLACE FUNCTION mono.ingest_webhook(p_event_id text, p_event text, p_body jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    r record;
BEGIN
    IF EXISTS (SELECT 1 FROM mono.webhook_events WHERE event_id = p_event_id) THEN
        RETURN 'duplicate';
    END IF;
    r := mono.apply_event_safely(p_event, p_body);
    -- stored once, with its outcome; a delivery of the same event committed
    -- meanwhile wins the insert (applying an event twice changes nothing:
    -- every step of the state machine is idempotent)
    INSERT INTO mono.webhook_events (event_id, event, body, mono_ref, outcome, applied_at, error)
    VALUES (p_event_id, p_event, p_body,
            coalesce(p_body -> 'data' ->> 'id', p_body -> 'data' ->> 'fund_request'),
            r.outcome, CASE WHEN r.outcome = 'applied' THEN now() END, r.error)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN 'duplicate';
    END IF;
    RETURN CASE r.outcome WHEN 'applied' THEN 'applied' ELSE 'ignored' END;
END;
$$;

CREATE OR REPLACE FUNCTION mono.maintain() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s record;
    v_missed_before timestamptz := now() - mono.setting_interval('schedule_grace');
    v_expire_before timestamptz := now() - mono.setting_interval('approval_window');
    v_log_before timestamptz := now() - mono.setting_interval('http_log_retention');
BEGIN
    -- a request that failed, expired or was cancelled misses nothing; rows
    -- another transaction holds are skipped (the next sweep takes them), and
    -- each sweep does at most 1,000 of each kind
    UPDATE mono.schedule sc SET status = 'due', updated_at = now()
     WHERE (sc.fund_request_id, sc.seq) IN (
           SELECT s2.fund_request_id, s2.seq FROM mono.schedule s2
             JOIN mono.fund_requests f ON f.id = s2.fund_request_id
            WHERE s2.status = 'upcoming' AND s2.due_at <= now()
              AND f.status NOT IN ('failed', 'expired', 'cancelled')
            LIMIT 1000 FOR UPDATE OF s2 SKIP LOCKED);
    FOR s IN
        UPDATE mono.schedule sc SET status = 'missed', updated_at = now()
         WHERE (sc.fund_request_id, sc.seq) IN (
               SELECT s2.fund_request_id, s2.seq FROM mono.schedule s2
                 JOIN mono.fund_requests f ON f.id = s2.fund_request_id
                WHERE s2.status = 'due' AND s2.due_at < v_missed_before
                  AND f.status NOT IN ('failed', 'expired', 'cancelled')
                LIMIT 1000 FOR UPDATE OF s2 SKIP LOCKED)
        RETURNING sc.fund_request_id, sc.seq
    LOOP
        PERFORM pg_notify('mono_pay', json_build_object(
            'table', 'schedule', 'id', s.fund_request_id, 'seq', s.seq,
            'reference', (SELECT reference FROM mono.fund_requests
                           WHERE id = s.fund_request_id),
            'status', 'missed')::text);
    END LOOP;
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

CREATE OR REPLACE FUNCTION mono.event_time(ts text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
BEGIN
    RETURN coalesce(mono.iso_timestamp(ts, 'timestamp'), now());
EXCEPTION WHEN data_exception THEN
    RETURN now();
END;
$$;

-- a failing call logs no STATEMENT (it may quote a secret or a BVN)
ALTER FUNCTION mono_link_beneficiary(text, text, text, text, text, bigint, text)
    SET log_min_error_statement = panic;
ALTER FUNCTION mono_handle_webhook(text, text) SET log_min_error_statement = panic;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mono FROM PUBLIC;

------------------------------------------------------------------------
-- High availability, restores and clones (issue 12)
------------------------------------------------------------------------

-- The identity of the database that talks to Mono: the cluster's system
-- identifier and the database, recorded at CREATE EXTENSION, at the upgrade
-- to 0.2.0 and by mono_resume(). pg_dump keeps its rows, so a restored or
-- cloned copy brings the old identity along and its worker pauses (a
-- promoted physical standby has the same identifier and database: no
-- pause). recorded_by 'pg_restore' (CREATE EXTENSION run by pg_restore)
-- pauses too: the dumped identity may arrive after the queued rows.
CREATE TABLE mono.node_identity (
    system_identifier text NOT NULL,
    database_oid    oid NOT NULL,
    database_name   text NOT NULL,
    recorded_by     text NOT NULL
                    CHECK (recorded_by IN ('create extension', 'pg_restore', 'upgrade', 'mono_resume')),
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('mono.node_identity', '');

-- This cluster's system identifier (pg_control_system(), for any caller of the script).
CREATE FUNCTION mono.system_identifier() RETURNS text
AS 'MODULE_PATHNAME', 'mono_system_identifier' LANGUAGE C STABLE STRICT;

INSERT INTO mono.node_identity (system_identifier, database_oid, database_name, recorded_by)
SELECT mono.system_identifier(), d.oid, d.datname,
       CASE WHEN current_setting('application_name') = 'pg_restore' THEN 'pg_restore'
            ELSE 'upgrade' END
  FROM pg_catalog.pg_database d WHERE d.datname = current_database();

-- A superuser confirms that this database may talk to Mono (a restored or
-- cloned copy's worker pauses until then): records this identity.
CREATE FUNCTION mono_resume() RETURNS text
AS 'MODULE_PATHNAME', 'mono_resume'
LANGUAGE C VOLATILE;

-- Instalments are planned by mono_charge() and the trigger's batch insert
-- (C), not by a trigger on mono.fund_requests: pg_restore's COPY of a
-- request must not plan a schedule that the dump brings too.
DROP TRIGGER IF EXISTS plan_schedule ON mono.fund_requests;
DROP FUNCTION IF EXISTS mono.plan_new_schedule();

-- References between mono's tables are checked by triggers, not foreign
-- keys: pg_restore -j loads the tables' data in parallel, in any order, so
-- a foreign key between two of them fails the restore. The triggers do
-- what the keys did (the referenced row must exist and is locked FOR KEY
-- SHARE; deleting a referenced row is refused, or cascades where the key
-- cascaded), except in pg_restore's sessions, which load rows that were
-- consistent when dumped.
ALTER TABLE mono.fund_requests DROP CONSTRAINT fund_requests_link_id_fkey;
ALTER TABLE mono.payments DROP CONSTRAINT payments_fund_request_id_fkey;
ALTER TABLE mono.schedule DROP CONSTRAINT schedule_fund_request_id_fkey;
ALTER TABLE mono.schedule DROP CONSTRAINT schedule_payment_id_fkey;
ALTER TABLE mono.transactions DROP CONSTRAINT transactions_account_id_fkey;

-- Is this session pg_restore's (which skips the reference checks)?
CREATE FUNCTION mono.restoring() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT pg_catalog.current_setting('application_name') = 'pg_restore' $$;

-- Raise the error a foreign key raises.
CREATE FUNCTION mono.missing_reference(p_table text, p_column text, p_value text, p_target text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'insert or update on table "%" violates the reference of % to %', p_table, p_column, p_target
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = format('Key (%s)=(%s) is not present in %s.', p_column, p_value, p_target);
END;
$$;

-- mono.fund_requests.link_id -> mono.beneficiaries (id)
CREATE FUNCTION mono.check_fund_request_link() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT mono.restoring() THEN
        PERFORM 1 FROM mono.beneficiaries WHERE id = NEW.link_id FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM mono.missing_reference('fund_requests', 'link_id', NEW.link_id::text, 'mono.beneficiaries');
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER reference_link AFTER INSERT OR UPDATE OF link_id ON mono.fund_requests
    FOR EACH ROW WHEN (NEW.link_id IS NOT NULL) EXECUTE FUNCTION mono.check_fund_request_link();

-- mono.payments.fund_request_id and mono.schedule.fund_request_id -> mono.fund_requests (id)
CREATE FUNCTION mono.check_fund_request_id() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT mono.restoring() THEN
        PERFORM 1 FROM mono.fund_requests WHERE id = NEW.fund_request_id FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM mono.missing_reference(TG_TABLE_NAME, 'fund_request_id', NEW.fund_request_id::text,
                                           'mono.fund_requests');
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER reference_fund_request AFTER INSERT OR UPDATE OF fund_request_id ON mono.payments
    FOR EACH ROW WHEN (NEW.fund_request_id IS NOT NULL) EXECUTE FUNCTION mono.check_fund_request_id();
CREATE TRIGGER reference_fund_request AFTER INSERT OR UPDATE OF fund_request_id ON mono.schedule
    FOR EACH ROW EXECUTE FUNCTION mono.check_fund_request_id();

-- mono.schedule.payment_id -> mono.payments (id)
CREATE FUNCTION mono.check_schedule_payment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT mono.restoring() THEN
        PERFORM 1 FROM mono.payments WHERE id = NEW.payment_id FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM mono.missing_reference('schedule', 'payment_id', NEW.payment_id::text, 'mono.payments');
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER reference_payment AFTER INSERT OR UPDATE OF payment_id ON mono.schedule
    FOR EACH ROW WHEN (NEW.payment_id IS NOT NULL) EXECUTE FUNCTION mono.check_schedule_payment();

-- mono.transactions.account_id -> mono.accounts (account_id)
CREATE FUNCTION mono.check_transaction_account() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT mono.restoring() THEN
        PERFORM 1 FROM mono.accounts WHERE account_id = NEW.account_id FOR KEY SHARE;
        IF NOT FOUND THEN
            PERFORM mono.missing_reference('transactions', 'account_id', NEW.account_id, 'mono.accounts');
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER reference_account AFTER INSERT OR UPDATE OF account_id ON mono.transactions
    FOR EACH ROW EXECUTE FUNCTION mono.check_transaction_account();

-- Deleting a referenced row: refused while referenced (as NO ACTION was);
-- a fund request's instalments and an account's transactions go with it
-- (as ON DELETE CASCADE did).
CREATE FUNCTION mono.on_referenced_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_by text;
BEGIN
    IF TG_TABLE_NAME = 'fund_requests' THEN
        DELETE FROM mono.schedule WHERE fund_request_id = OLD.id;
        IF EXISTS (SELECT 1 FROM mono.payments WHERE fund_request_id = OLD.id) THEN
            v_by := 'mono.payments';
        END IF;
    ELSIF TG_TABLE_NAME = 'beneficiaries' THEN
        IF EXISTS (SELECT 1 FROM mono.fund_requests WHERE link_id = OLD.id) THEN
            v_by := 'mono.fund_requests';
        END IF;
    ELSIF TG_TABLE_NAME = 'payments' THEN
        IF EXISTS (SELECT 1 FROM mono.schedule WHERE payment_id = OLD.id) THEN
            v_by := 'mono.schedule';
        END IF;
    ELSIF TG_TABLE_NAME = 'accounts' THEN
        DELETE FROM mono.transactions WHERE account_id = OLD.account_id;
    END IF;
    IF v_by IS NOT NULL THEN
        RAISE EXCEPTION 'update or delete on table "%" violates a reference from %', TG_TABLE_NAME, v_by
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = 'The row is still referenced.';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER referenced_delete AFTER DELETE ON mono.fund_requests
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();
CREATE TRIGGER referenced_delete AFTER DELETE ON mono.beneficiaries
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();
CREATE TRIGGER referenced_delete AFTER DELETE ON mono.payments
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();
CREATE TRIGGER referenced_delete AFTER DELETE ON mono.accounts
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mono FROM PUBLIC;
-- Orphans: what Mono told us about that this database does not know (a
-- payment of an unknown fund request, an event naming an unknown
-- reference or Mono id). After a lost failover or a restore these are the
-- charges Mono holds and the database lost. An event waiting for an id
-- that comes later (approved before created) is listed until it matches.
CREATE VIEW mono.orphans AS
SELECT 'payment'::text AS kind, p.mono_id, p.reference, p.fund_request_mono_id,
       p.amount::bigint AS amount, p.status::text AS detail, p.created_at AS seen_at
  FROM mono.payments p
 WHERE p.fund_request_id IS NULL
UNION ALL
SELECT 'event', e.mono_ref, e.body -> 'data' ->> 'reference',
       coalesce(e.body -> 'data' ->> 'fund_request', e.mono_ref),
       CASE WHEN e.body -> 'data' ->> 'amount' ~ '^[0-9]{1,18}$'
            THEN (e.body -> 'data' ->> 'amount')::bigint END,
       e.event, e.received_at
  FROM mono.webhook_events e
 WHERE e.outcome = 'unmatched';

-- NOTIFY mono_pay '{"table":"orphans",...,"status":"unmatched"}' when one appears.
CREATE FUNCTION mono.notify_orphan() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'payments' THEN
        PERFORM pg_notify('mono_pay', json_build_object(
            'table', 'orphans', 'kind', 'payment', 'id', NEW.id, 'mono_id', NEW.mono_id,
            'reference', left(NEW.reference, 64), 'status', 'unmatched')::text);
    ELSE
        PERFORM pg_notify('mono_pay', json_build_object(
            'table', 'orphans', 'kind', 'event', 'id', NEW.id, 'mono_id', left(NEW.mono_ref, 64),
            'reference', left(NEW.body -> 'data' ->> 'reference', 64), 'event', left(NEW.event, 64),
            'status', 'unmatched')::text);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER notify_orphan AFTER INSERT ON mono.payments
    FOR EACH ROW WHEN (NEW.fund_request_id IS NULL) EXECUTE FUNCTION mono.notify_orphan();
CREATE TRIGGER notify_orphan AFTER INSERT ON mono.webhook_events
    FOR EACH ROW WHEN (NEW.outcome = 'unmatched') EXECUTE FUNCTION mono.notify_orphan();
REVOKE ALL ON mono.orphans FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.notify_orphan() FROM PUBLIC;
REVOKE ALL ON TABLE mono.node_identity FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.system_identifier() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_resume() FROM PUBLIC;

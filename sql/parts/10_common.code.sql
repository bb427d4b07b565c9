------------------------------------------------------------------------
-- Common code: helpers of every layer, notifications, and the references
-- between mono's tables
------------------------------------------------------------------------

-- Sends NOTIFY mono_pay with the table, id, reference and new status (C,
-- src/common_notify.c): every status change of a link or fund request
-- except to queued (made by the application's own transaction, or a retry:
-- nothing to tell; and PREPARE TRANSACTION refuses a transaction that sent
-- NOTIFY), and every payment. The triggers are in their tables' parts.
CREATE OR REPLACE FUNCTION mono.notify_status() RETURNS trigger
AS 'MODULE_PATHNAME', 'mono_notify_status'
LANGUAGE C;

-- NOTIFY mono_pay with p_payload, for the SQL triggers: sent in this
-- commit, like mono.notify_status()'s.
CREATE OR REPLACE FUNCTION mono.notify(p_payload text) RETURNS void
AS 'MODULE_PATHNAME', 'mono_notify_sql'
LANGUAGE C STRICT;

-- An ISO 8601 time of a Mono payload, whatever the session's TimeZone and
-- DateStyle; anything else raises 22007 naming the field (C, src/connect_parse.c).
CREATE OR REPLACE FUNCTION mono.iso_timestamp(p_value text, p_field text) RETURNS timestamptz
AS 'MODULE_PATHNAME', 'mono_iso_timestamp_sql' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- An amount in kobo of a Mono payload (a JSON integer, or a string of
-- digits), or NULL when absent; anything else raises 22023 naming the field.
CREATE OR REPLACE FUNCTION mono.kobo_field(p_data jsonb, p_field text) RETURNS bigint
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

-- A setting of mono_pay as an interval (units as SHOW prints them).
CREATE OR REPLACE FUNCTION mono.setting_interval(p_name text) RETURNS interval
LANGUAGE sql STABLE AS $$
    SELECT current_setting('mono_pay.' || p_name)::interval
$$;


-- The worker's retry delay after attempts failures (mono_backoff_ms: base
-- doubling up to mono_pay.retry_max, with jitter).
CREATE OR REPLACE FUNCTION mono.backoff(p_attempts integer) RETURNS interval
AS 'MODULE_PATHNAME', 'mono_connect_backoff'
LANGUAGE C VOLATILE;

-- Wakes the background worker when the current transaction commits.
CREATE OR REPLACE FUNCTION mono.wake_worker() RETURNS void
AS 'MODULE_PATHNAME', 'mono_connect_wake'
LANGUAGE C VOLATILE;


-- References between mono's tables are checked by triggers, not foreign
-- keys: pg_restore -j loads the tables' data in parallel, in any order, so
-- a foreign key between two of them fails the restore (pg_dump sorts the
-- data by the keys, but the archive does not record that order as a
-- dependency, which is all pg_restore -j follows: tested in 0.3.0, see
-- doc/design.md and test/e2e/88_restore_parallel.sh). The triggers do
-- what the keys did (the referenced row must exist and is locked FOR KEY
-- SHARE; deleting a referenced row is refused, or cascades where the key
-- cascaded), except in pg_restore's sessions, which load rows that were
-- consistent when dumped. The triggers are in their tables' parts.

-- Is this session pg_restore's (which skips the reference checks)?
CREATE OR REPLACE FUNCTION mono.restoring() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT pg_catalog.current_setting('application_name') = 'pg_restore' $$;

-- The new row's reference (trigger arguments: its column, and the table
-- it references by id, or mono.accounts by account_id) must exist; raises
-- the error a foreign key raises.
CREATE OR REPLACE FUNCTION mono.check_reference() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_value text := to_jsonb(NEW) ->> TG_ARGV[0];
BEGIN
    IF mono.restoring() THEN
        RETURN NULL;
    END IF;
    CASE TG_ARGV[1]
    WHEN 'mono.beneficiaries' THEN
        PERFORM 1 FROM mono.beneficiaries WHERE id = v_value::bigint FOR KEY SHARE;
    WHEN 'mono.fund_requests' THEN
        PERFORM 1 FROM mono.fund_requests WHERE id = v_value::bigint FOR KEY SHARE;
    WHEN 'mono.payments' THEN
        PERFORM 1 FROM mono.payments WHERE id = v_value::bigint FOR KEY SHARE;
    WHEN 'mono.accounts' THEN
        PERFORM 1 FROM mono.accounts WHERE account_id = v_value FOR KEY SHARE;
    END CASE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" violates the reference of % to %',
                        TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1]
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (%s)=(%s) is not present in %s.', TG_ARGV[0], v_value, TG_ARGV[1]);
    END IF;
    RETURN NULL;
END;
$$;

-- Deleting a referenced row: refused while referenced (as NO ACTION was);
-- a fund request's instalments and an account's transactions go with it
-- (as ON DELETE CASCADE did). One function for four tables: the row's key
-- is read through to_jsonb(OLD), whose fields every table has.
CREATE OR REPLACE FUNCTION mono.on_referenced_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_by text;
    v_old jsonb := to_jsonb(OLD);
    v_id bigint := (v_old ->> 'id')::bigint;
BEGIN
    IF TG_TABLE_NAME = 'fund_requests' THEN
        DELETE FROM mono.schedule WHERE fund_request_id = v_id;
        IF EXISTS (SELECT 1 FROM mono.payments WHERE fund_request_id = v_id) THEN
            v_by := 'mono.payments';
        END IF;
    ELSIF TG_TABLE_NAME = 'beneficiaries' THEN
        IF EXISTS (SELECT 1 FROM mono.fund_requests WHERE link_id = v_id) THEN
            v_by := 'mono.fund_requests';
        END IF;
    ELSIF TG_TABLE_NAME = 'payments' THEN
        IF EXISTS (SELECT 1 FROM mono.schedule WHERE payment_id = v_id) THEN
            v_by := 'mono.schedule';
        END IF;
    ELSIF TG_TABLE_NAME = 'accounts' THEN
        DELETE FROM mono.transactions WHERE account_id = v_old ->> 'account_id';
    END IF;
    IF v_by IS NOT NULL THEN
        RAISE EXCEPTION 'update or delete on table "%" violates a reference from %', TG_TABLE_NAME, v_by
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = 'The row is still referenced.';
    END IF;
    RETURN NULL;
END;
$$;

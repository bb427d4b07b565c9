------------------------------------------------------------------------
-- Connect's webhooks (mono.* events): read into the same facts the worker
-- records (31_connect_outcomes.code.sql).
------------------------------------------------------------------------

-- A webhook's timestamp, or now() when it has none or an unreadable one.
CREATE OR REPLACE FUNCTION mono.event_time(p_ts text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
BEGIN
    RETURN coalesce(mono.iso_timestamp(p_ts, 'timestamp'), now());
EXCEPTION WHEN data_exception THEN
    RETURN now();
END;
$$;

-- The account id a Connect webhook names: an object's _id or id, or a string.
CREATE OR REPLACE FUNCTION mono.event_account_id(p_account jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof($1)
           WHEN 'string' THEN $1 #>> '{}'
           WHEN 'object' THEN coalesce($1 ->> '_id', $1 ->> 'id')
           END
$$;

-- The details facts of mono.events.account_updated (camelCase account, meta),
-- in the shape mono.record_account_outcomes() takes.
CREATE OR REPLACE FUNCTION mono.event_account_facts(p_account jsonb, p_meta jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'name', p_account ->> 'name',
        'account_number', coalesce(p_account ->> 'accountNumber', p_account ->> 'account_number'),
        'type', p_account ->> 'type',
        'currency', p_account ->> 'currency',
        'balance', CASE WHEN jsonb_typeof(p_account -> 'balance') = 'number'
                         AND (p_account ->> 'balance') ~ '^-?[0-9]{1,18}$'
                        THEN p_account -> 'balance' END,
        'institution', CASE WHEN jsonb_typeof(p_account -> 'institution') = 'object'
                            THEN jsonb_build_object(
                                'name', p_account -> 'institution' ->> 'name',
                                'bank_code', coalesce(p_account -> 'institution' ->> 'bankCode',
                                                      p_account -> 'institution' ->> 'bank_code'),
                                'type', p_account -> 'institution' ->> 'type') END,
        'auth_method', coalesce(p_meta ->> 'auth_method', p_account ->> 'authMethod'),
        'ref', p_meta ->> 'ref',
        'data_status', p_meta ->> 'data_status',
        'retrieved_data', CASE WHEN jsonb_typeof(p_meta -> 'retrieved_data') = 'array'
                               THEN p_meta -> 'retrieved_data' END,
        'sync_status', p_meta ->> 'sync_status'))
$$;

-- The refresh facts of mono.events.account_updated: has_new_data (present
-- only after a refresh job) settles the job: finished, or failed when
-- sync_status is FAILED.
CREATE OR REPLACE FUNCTION mono.event_refresh_facts(p_meta jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'job_id', p_meta ->> 'job_id',
        'has_new_data', CASE WHEN lower(p_meta ->> 'has_new_data') IN ('true', 'false')
                             THEN lower(p_meta ->> 'has_new_data') = 'true' END,
        'job_status', CASE WHEN lower(p_meta ->> 'has_new_data') IN ('true', 'false') THEN
                           CASE WHEN upper(p_meta ->> 'sync_status') = 'FAILED'
                                THEN 'failed' ELSE 'finished' END END))
$$;

-- The facts of mono.accounts.jobs.update (data{account, id, name, status}):
-- the job and its status in lower case. Mono documents finished, processing
-- and failed; REAUTHORISATION_REQUIRED, Mono's sync_status for an account
-- whose bank wants the customer again (any case, as status or sync_status),
-- fails the job and is kept as the account's sync_status.
CREATE OR REPLACE FUNCTION mono.event_job_facts(p_data jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'refresh', jsonb_strip_nulls(jsonb_build_object(
            'job_id', p_data ->> 'id',
            'job_status', CASE WHEN r THEN 'failed' ELSE lower(btrim(p_data ->> 'status')) END)),
        'sync_status', CASE WHEN r THEN 'REAUTHORISATION_REQUIRED' END))
      FROM (SELECT 'REAUTHORISATION_REQUIRED' IN (upper(btrim(p_data ->> 'status')),
                                                   upper(btrim(p_data ->> 'sync_status'))) AS r) x
$$;

-- Applies a Mono Connect webhook event (called by mono_handle_webhook()
-- after it verified and stored the event); returns 'applied' or 'ignored'
-- (an event this function does not know, or one naming no usable account).
-- An account the database does not know yet gets a row; with
-- mono_pay.track_webhook_accounts it is tracked (unless the event unlinks
-- it) and the worker reads its details at once.
--   mono.events.account_updated      details, data status, sync_status
--                                    (REAUTHORISATION_REQUIRED shows there),
--                                    has_new_data: true -> transactions next
--   mono.events.account_connected    data status, auth method, customer, ref
--   mono.events.account_reauthorized clears REAUTHORISATION_REQUIRED; details now
--   mono.events.account_unlinked     unlinked, no longer tracked
--   mono.accounts.jobs.update        the refresh job's status; a status (or
--                                    sync_status) REAUTHORISATION_REQUIRED,
--                                    any case, fails the job and shows in
--                                    sync_status
--   mono.events.reauthorisation_required  (legacy) sync_status
--                                    REAUTHORISATION_REQUIRED
--   mono.events.sync_failed          (legacy) sync_status FAILED
-- Events never move an account backwards: details older than the stored
-- ones are ignored, new data is kept until pulled.
CREATE OR REPLACE FUNCTION mono.apply_connect_event(p_event text, p_body jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_data jsonb := CASE WHEN jsonb_typeof(p_body -> 'data') = 'object' THEN p_body -> 'data'
                       ELSE '{}' END;
    v_meta jsonb := CASE WHEN jsonb_typeof(p_body -> 'data' -> 'meta') = 'object'
                       THEN p_body -> 'data' -> 'meta' ELSE '{}' END;
    v_account_id text;
    v_facts jsonb;
BEGIN
    CASE p_event
    WHEN 'mono.events.account_updated' THEN
        v_account_id := mono.event_account_id(v_data -> 'account');
        v_facts := jsonb_build_object('account', mono.event_account_facts(
                                    CASE WHEN jsonb_typeof(v_data -> 'account') = 'object'
                                         THEN v_data -> 'account' ELSE '{}' END, v_meta),
                                'refresh', mono.event_refresh_facts(v_meta));
    WHEN 'mono.events.account_connected' THEN
        v_account_id := coalesce(v_data ->> 'id', mono.event_account_id(v_data -> 'account'));
        v_facts := jsonb_build_object('check_now', true, 'account', jsonb_strip_nulls(jsonb_build_object(
                 'data_status', v_meta ->> 'data_status',
                 'auth_method', v_meta ->> 'auth_method',
                 'ref', v_meta ->> 'ref',
                 'customer_id', mono.event_account_id(v_data -> 'customer'))));
    WHEN 'mono.events.account_reauthorized' THEN
        v_account_id := coalesce(mono.event_account_id(v_data -> 'account'), v_data ->> 'id');
        v_facts := jsonb_build_object('reauthorized', true, 'check_now', true);
    WHEN 'mono.events.account_unlinked' THEN
        v_account_id := coalesce(mono.event_account_id(v_data -> 'account'), v_data ->> 'id');
        v_facts := jsonb_build_object('unlinked', true);
    WHEN 'mono.events.reauthorisation_required' THEN
        v_account_id := coalesce(mono.event_account_id(v_data -> 'account'), v_data ->> 'id');
        v_facts := jsonb_build_object('sync_status', 'REAUTHORISATION_REQUIRED');
    WHEN 'mono.events.sync_failed' THEN
        v_account_id := coalesce(mono.event_account_id(v_data -> 'account'), v_data ->> 'id');
        v_facts := jsonb_build_object('sync_status', 'FAILED');
    WHEN 'mono.accounts.jobs.update' THEN
        v_account_id := mono.event_account_id(v_data -> 'account');
        v_facts := mono.event_job_facts(v_data);
    ELSE
        RETURN 'ignored';
    END CASE;
    IF v_account_id IS NULL OR v_account_id !~ '^[A-Za-z0-9_-]{1,64}$' THEN
        RETURN 'ignored';
    END IF;
    PERFORM mono.record_account_outcomes(jsonb_build_array(v_facts || jsonb_build_object(
                'account_id', v_account_id,
                'event_at', mono.event_time(p_body ->> 'timestamp'))), 'webhook');
    PERFORM mono.wake_worker();
    RETURN 'applied';
END;
$$;

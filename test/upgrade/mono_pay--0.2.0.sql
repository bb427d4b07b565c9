-- mono_pay 0.2.0: Mono Direct Charge and Connect inside PostgreSQL
\echo Use "CREATE EXTENSION mono_pay" to load this file. \quit

-- This install script is made by the Makefile from sql/parts/: first the
-- SCHEMA parts (*.schema.sql: domains, tables, indexes, sequences, the rows
-- a new install starts with; run once), then the CODE parts (*.code.sql:
-- functions, views, triggers, privileges; every statement may run again,
-- CREATE OR REPLACE), each kind in the order of the layers: 10 common,
-- 20 Direct Charge ("owo"), 30 Connect, 40 worker-facing, 50 webhooks,
-- 90 privileges. The upgrade script from 0.1.0 is sql/upgrade/0.1.0--0.2.0.sql
-- (what changed in the schema) followed by the same CODE parts.
--
-- Value rules are domains (checked when a value is stored, not again on
-- every UPDATE of another column: the worker updates rows twice per send),
-- except on columns released with a plain type: a column's type is part of
-- the SQL contract (SELECT, pg_typeof(), record comparisons, the row types
-- the SQL functions return), so those keep it, with a CHECK: Connect's
-- tables (30_connect.schema.sql; mono.account_flow_totals.direction is
-- mono.account_flows.direction again) and mono.node_identity. A new column
-- of the Direct Charge tables takes a domain.
--
-- SET search_path: every SECURITY DEFINER function pins it (pg_catalog,
-- pg_temp). No other function sets it: PUBLIC can call none of them, the
-- SECURITY DEFINER entry points that do, the worker, the receiver and the
-- trigger's batch insert (src/owo_batch.c) all run with that pinned
-- search_path, every relation is schema-qualified, and a SET clause would
-- cost a search-path recomputation on every call and forbid inlining.

-- The wrong database (issue 12): the worker serves mono_pay.database_name
-- only. pg_regress's contrib_regression is exempt (as pg_cron does), and so
-- is pg_restore (a restored copy pauses anyway until mono_resume()).
DO $$
BEGIN
    IF current_database() <> current_setting('mono_pay.database_name', true)
       AND current_database() <> 'contrib_regression'
       AND current_setting('application_name') <> 'pg_restore' THEN
        RAISE EXCEPTION 'mono_pay can only be created in database "%" (mono_pay.database_name)',
                        current_setting('mono_pay.database_name', true)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The background worker sends only the work queued in the database that mono_pay.database_name names.',
                  HINT = format('Create the extension in that database, or set mono_pay.database_name = %L in postgresql.conf and restart.',
                                current_database());
    END IF;
END;
$$;

-- Tables and views live in schema mono; functions in the extension's schema.
CREATE SCHEMA mono;
REVOKE ALL ON SCHEMA mono FROM PUBLIC;

------------------------------------------------------------------------
-- Value rules every layer uses (with the C functions the domains check
-- with: a domain needs its function first, so these live here)
------------------------------------------------------------------------
-- phone: ^234[0-9]{10}$ and reference: ^[A-Za-z0-9]{8,32}$, checked in C
-- (a regular expression costs more than the rest of an insert)
CREATE FUNCTION mono.is_phone(text) RETURNS boolean
AS 'MODULE_PATHNAME', 'mono_is_phone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mono.is_reference(text) RETURNS boolean
AS 'MODULE_PATHNAME', 'mono_is_reference' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE DOMAIN mono.phone AS text CHECK (mono.is_phone(VALUE));
CREATE DOMAIN mono.reference AS text CHECK (mono.is_reference(VALUE));
-- blank: no character that shows anything (spaces, controls, fillers,
-- combining marks only); the one rule every text argument is checked with
CREATE FUNCTION mono.is_blank(text) RETURNS boolean
AS 'MODULE_PATHNAME', 'mono_is_blank_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE DOMAIN mono.account_name AS text
    CHECK (char_length(VALUE) BETWEEN 2 AND 100 AND NOT mono.is_blank(VALUE));
CREATE DOMAIN mono.description AS text
    CHECK (char_length(VALUE) <= 255 AND NOT mono.is_blank(VALUE));
CREATE DOMAIN mono.kobo AS bigint CHECK (VALUE > 0);
CREATE DOMAIN mono.currency AS text CHECK (VALUE = 'NGN');
CREATE DOMAIN mono.paid_kobo AS bigint CHECK (VALUE >= 0);
------------------------------------------------------------------------
-- Direct Charge ("owo"): links, fund requests, debits, instalments
--
-- Vocabulary: Mono's API and mono_pay's public objects say "beneficiary"
-- (mono.beneficiaries, mono_link_beneficiary(), mono_unlink_beneficiary(),
-- owo.beneficiary.* events); they are kept as they are (the SQL contract).
-- Everything else says "link", the word for what a row of
-- mono.beneficiaries is: a phone's link to a fund beneficiary (link_id,
-- mono.link_status, mono.link_action, apply_linked, cancel_link_requests).
------------------------------------------------------------------------

CREATE DOMAIN mono.nip_code AS text CHECK (VALUE ~ '^[0-9]{6}$');
CREATE DOMAIN mono.nuban AS text CHECK (VALUE ~ '^[0-9]{10}$');
CREATE DOMAIN mono.bvn AS text CHECK (VALUE ~ '^[0-9]{11}$');
CREATE DOMAIN mono.charge_type AS text CHECK (VALUE IN ('onetime', 'recurring'));
CREATE DOMAIN mono.period AS text CHECK (VALUE IN ('day', 'week', 'month', 'year'));
CREATE DOMAIN mono.period_count AS integer CHECK (VALUE >= 1);
CREATE DOMAIN mono.link_action AS text CHECK (VALUE IN ('link', 'unlink'));
CREATE DOMAIN mono.link_status AS text CHECK (VALUE IN
    ('queued', 'sending', 'awaiting_authorization', 'linked', 'unlinked', 'failed', 'unknown'));
CREATE DOMAIN mono.fund_request_status AS text CHECK (VALUE IN
    ('queued', 'sending', 'awaiting_authorization', 'created', 'approved', 'processing',
     'active', 'completed', 'expired', 'failed', 'unknown', 'cancelled'));
CREATE DOMAIN mono.payment_status AS text CHECK (VALUE IN ('successful', 'failed'));
CREATE DOMAIN mono.instalment_seq AS integer CHECK (VALUE >= 1);
CREATE DOMAIN mono.instalment_status AS text CHECK (VALUE IN
    ('upcoming', 'due', 'paid', 'failed', 'missed'));

-- A link (beneficiary) of a WhatsApp user, and its outbox state.
-- account_name, nip_code, account_number: Mono's fund_beneficiary, the
-- DESTINATION of the money (the account on the partner's side, e.g. the
-- customer's wallet on your platform), not the customer's own bank account,
-- which the customer links inside WhatsApp.
-- "action" says what the worker does while the row is queued/sending/unknown.
CREATE TABLE mono.beneficiaries (
    id              bigserial PRIMARY KEY,
    phone           mono.phone NOT NULL,
    account_name    mono.account_name NOT NULL,
    nip_code        mono.nip_code NOT NULL,
    account_number  mono.nuban NOT NULL,
    bvn             mono.bvn,
    action          mono.link_action NOT NULL DEFAULT 'link',
    mono_id         text UNIQUE,
    status          mono.link_status NOT NULL DEFAULT 'queued',
    redirect_url    text,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    http_status     integer,
    trace_id        text,
    error_details   jsonb,
    next_poll_at    timestamptz,
    polls           integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    linked_at       timestamptz,
    unlinked_at     timestamptz,
    -- where the next read of the phone's list starts
    list_offset     integer NOT NULL DEFAULT 0
);
-- no planner statistics of BVNs: pg_stats would keep values erased from rows
ALTER TABLE mono.beneficiaries ALTER COLUMN bvn SET STATISTICS 0;
-- one live link per phone
CREATE UNIQUE INDEX beneficiaries_live_phone ON mono.beneficiaries (phone)
    WHERE status NOT IN ('unlinked', 'failed');
CREATE INDEX beneficiaries_due ON mono.beneficiaries (next_attempt_at)
    WHERE status IN ('queued', 'unknown');
-- polled while waiting on the customer, and once linked (an unlink made in
-- WhatsApp whose webhook was lost)
CREATE INDEX beneficiaries_poll ON mono.beneficiaries (next_poll_at)
    WHERE status IN ('awaiting_authorization', 'linked');

-- A fund request (one-time or recurring debit authorisation) and its outbox state.
-- link_id is set when the request travels inside its link's call.
-- (References between mono's tables are checked by triggers, not foreign
-- keys: see mono.check_reference() in 10_common.code.sql.)
CREATE TABLE mono.fund_requests (
    id              bigserial PRIMARY KEY,
    reference       mono.reference NOT NULL UNIQUE,
    phone           mono.phone NOT NULL,
    amount          mono.kobo NOT NULL,
    currency        mono.currency NOT NULL DEFAULT 'NGN',
    description     mono.description NOT NULL,
    type            mono.charge_type NOT NULL,
    period          mono.period,
    "interval"      mono.period_count,
    start_date      timestamptz,
    end_date        timestamptz,
    link_id         bigint,
    mono_id         text,
    beneficiary_mono_id text,
    status          mono.fund_request_status NOT NULL DEFAULT 'queued',
    redirect_url    text,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    http_status     integer,
    trace_id        text,
    error_details   jsonb,
    next_poll_at    timestamptz,
    polls           integer NOT NULL DEFAULT 0,
    accepted_at     timestamptz,
    -- expired by mono_pay.approval_window, not by Mono: Mono's word still wins
    expired_locally boolean NOT NULL DEFAULT false,
    -- the worker process that claimed it last (0 .. mono_pay.workers - 1)
    claimed_by      smallint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- the status Mono last reported, as Mono said it (also ones mono_pay
    -- does not know: paused, declined, ...)
    mono_status     text,
    -- where the next read of the phone's list, and of the payments, starts
    list_offset     integer NOT NULL DEFAULT 0,
    payments_offset integer NOT NULL DEFAULT 0,
    CHECK ((type = 'onetime' AND period IS NULL)
           OR (type = 'recurring' AND period IS NOT NULL
               AND "interval" IS NOT NULL AND start_date IS NOT NULL)),
    CHECK (end_date IS NULL OR end_date > start_date)
);
-- ids are taken in bulk by trigger-charged INSERT ... SELECT
ALTER SEQUENCE mono.fund_requests_id_seq CACHE 64;
CREATE INDEX fund_requests_due ON mono.fund_requests (next_attempt_at)
    WHERE status IN ('queued', 'unknown') AND link_id IS NULL;
-- the claim sends a phone's requests one after another (mono.phone_is_free(),
-- 20_owo_state.code.sql)
CREATE INDEX fund_requests_phone_live ON mono.fund_requests (phone, id)
    WHERE status IN ('queued', 'sending', 'unknown', 'awaiting_authorization');
CREATE INDEX fund_requests_link ON mono.fund_requests (link_id)
    WHERE link_id IS NOT NULL;
-- Mono's id, once known (partial: rows without one cost no index entry)
CREATE UNIQUE INDEX fund_requests_mono_id ON mono.fund_requests (mono_id)
    WHERE mono_id IS NOT NULL;
-- an unlink cancels the phone's recurring requests
CREATE INDEX fund_requests_recurring_phone ON mono.fund_requests (phone)
    WHERE type = 'recurring';
-- an unlink cancels the recurring requests bound to the link
CREATE INDEX fund_requests_beneficiary ON mono.fund_requests (beneficiary_mono_id)
    WHERE type = 'recurring' AND beneficiary_mono_id IS NOT NULL;
-- polled while waiting on Mono, once completed until a payment is seen, and
-- after a local expiry until Mono says what became of it
CREATE INDEX fund_requests_poll ON mono.fund_requests (next_poll_at)
    WHERE status IN ('awaiting_authorization', 'created', 'approved', 'processing',
                     'active', 'completed') OR expired_locally;
CREATE INDEX fund_requests_window ON mono.fund_requests (accepted_at)
    WHERE status = 'awaiting_authorization';

-- One debit of a fund request, as Mono reported it.
CREATE TABLE mono.payments (
    id              bigserial PRIMARY KEY,
    mono_id         text NOT NULL UNIQUE,
    fund_request_id bigint,
    fund_request_mono_id text,
    reference       text,
    amount          mono.paid_kobo NOT NULL,
    currency        text NOT NULL DEFAULT 'NGN',
    status          mono.payment_status NOT NULL,
    message         text,
    processed_at    timestamptz,
    session_id      text,
    instalment_seq  integer,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_fund_request ON mono.payments (fund_request_id);
CREATE INDEX payments_unmatched ON mono.payments (fund_request_mono_id)
    WHERE fund_request_id IS NULL;

-- The expected instalments of each recurring fund request.
CREATE TABLE mono.schedule (
    fund_request_id bigint NOT NULL,
    seq             mono.instalment_seq NOT NULL,
    due_at          timestamptz NOT NULL,
    status          mono.instalment_status NOT NULL DEFAULT 'upcoming',
    payment_id      bigint,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fund_request_id, seq)
);
CREATE INDEX schedule_open ON mono.schedule (due_at)
    WHERE status IN ('upcoming', 'due', 'failed');


-- pg_dump keeps every table and sequence that holds user data
SELECT pg_catalog.pg_extension_config_dump('mono.beneficiaries', '');
SELECT pg_catalog.pg_extension_config_dump('mono.beneficiaries_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.fund_requests', '');
SELECT pg_catalog.pg_extension_config_dump('mono.fund_requests_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.payments', '');
SELECT pg_catalog.pg_extension_config_dump('mono.payments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.schedule', '');
------------------------------------------------------------------------
-- Connect: accounts, transactions, monthly flows
------------------------------------------------------------------------

-- The columns of these tables keep the plain types they were released with
-- (text, bigint, date), each with its CHECK: a column's type is part of the
-- SQL contract (what SELECT, pg_typeof(), a record comparison and the row
-- types of mono_account_sync() and mono_inflow() give), and a domain would
-- change it. See 10_common.schema.sql.

-- A Mono Connect account, its data status, and the worker's state of it
-- (src/connect_worker.c): the call it makes next (details, refresh or
-- transactions) and when (next_sync_at), the lease of a call in flight, a
-- real-time refresh whose outcome is not known yet, and where a
-- transactions pull has got to.
CREATE TABLE mono.accounts (
    account_id      text PRIMARY KEY,
    name            text,
    account_number  text,
    type            text,
    -- as Mono documents it (doc/mono-api.md §3.2), in upper case
    data_status     text CHECK (data_status IN
                        ('AVAILABLE', 'PARTIAL', 'UNAVAILABLE', 'FAILED', 'PROCESSING')),
    retrieved_data  text[] NOT NULL DEFAULT '{}',
    has_new_data    boolean NOT NULL DEFAULT false,
    sync_status     text,
    auth_method     text,
    balance         bigint,
    currency        text,
    institution     jsonb,
    customer_id     text,
    ref             text,
    job_id          text,
    job_status      text,
    tracked         boolean NOT NULL DEFAULT true,
    unlinked        boolean NOT NULL DEFAULT false,
    last_synced_at  timestamptz,
    last_refresh_at timestamptz,
    transactions_synced_at timestamptz,
    next_sync_at    timestamptz DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    next_step       text NOT NULL DEFAULT 'details'
                    CHECK (next_step IN ('details', 'refresh', 'transactions')),
    claimed_until   timestamptz,
    refresh_pending boolean NOT NULL DEFAULT false,
    transactions_page integer NOT NULL DEFAULT 1 CHECK (transactions_page >= 1),
    transactions_since date
);
CREATE INDEX accounts_next_sync ON mono.accounts (next_sync_at) WHERE tracked;

-- Transactions of a Connect account.
CREATE TABLE mono.transactions (
    account_id      text NOT NULL,
    id              text NOT NULL,
    narration       text,
    amount          bigint NOT NULL CHECK (amount >= 0),
    type            text NOT NULL CHECK (type IN ('debit', 'credit')),
    balance         bigint,
    date            timestamptz NOT NULL,
    category        text,
    PRIMARY KEY (account_id, id)
);
-- An account's transactions by date, covering type and amount: the newest
-- one (where a pull starts) and an account's monthly sums in mono.flows are
-- read from the index alone.
CREATE INDEX transactions_account_date ON mono.transactions (account_id, date)
    INCLUDE (type, amount);

-- Monthly inflow/outflow as reported by Mono's credits/debits endpoints.
CREATE TABLE mono.account_flows (
    account_id      text NOT NULL,
    direction       text NOT NULL CHECK (direction IN ('inflow', 'outflow')),
    period          date NOT NULL CHECK (extract(day FROM period) = 1),
    amount          bigint NOT NULL,
    transaction_count integer,
    source          text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'transactions')),
    fetched_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, direction, period)
);

-- The totals of Mono's credits/debits answers: the whole answer's amount
-- and transaction count ("total" and "transactions_count" or "count"), as
-- Mono reported them; NULL when the answer had none.
CREATE TABLE mono.account_flow_totals (
    account_id      text NOT NULL,
    direction       text NOT NULL CHECK (direction IN ('inflow', 'outflow')),
    amount          bigint,
    transaction_count integer,
    fetched_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, direction)
);

-- pg_dump keeps every table that holds user data
SELECT pg_catalog.pg_extension_config_dump('mono.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('mono.transactions', '');
SELECT pg_catalog.pg_extension_config_dump('mono.account_flows', '');
SELECT pg_catalog.pg_extension_config_dump('mono.account_flow_totals', '');
------------------------------------------------------------------------
-- The worker's records: its HTTP log, and the identity of the database
-- that talks to Mono (high availability, restores and clones: issue 12)
------------------------------------------------------------------------

-- One row per API call made by the worker (never headers, never secrets).
CREATE TABLE mono.http_log (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    method          text NOT NULL,
    path            text NOT NULL,
    http_status     integer,
    duration_ms     double precision,
    error           text
);
CREATE INDEX http_log_at ON mono.http_log (at);

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

-- This cluster's system identifier (pg_control_system(), for any caller of
-- the script; the row below needs it, so it lives here).
CREATE FUNCTION mono.system_identifier() RETURNS text
AS 'MODULE_PATHNAME', 'mono_system_identifier' LANGUAGE C STABLE STRICT;

INSERT INTO mono.node_identity (system_identifier, database_oid, database_name, recorded_by)
SELECT mono.system_identifier(), d.oid, d.datname,
       CASE WHEN current_setting('application_name') = 'pg_restore' THEN 'pg_restore'
            ELSE 'create extension' END
  FROM pg_catalog.pg_database d WHERE d.datname = current_database();

-- pg_dump keeps every table and sequence that holds user data
SELECT pg_catalog.pg_extension_config_dump('mono.http_log', '');
SELECT pg_catalog.pg_extension_config_dump('mono.http_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.node_identity', '');
------------------------------------------------------------------------
-- Webhooks: every event received, from Mono (Direct Charge and Connect)
-- or read back by polling
------------------------------------------------------------------------

-- rejected: the database cannot take the event (kept aside with its error)
CREATE DOMAIN mono.webhook_outcome AS text CHECK (VALUE IN
    ('applied', 'ignored', 'stale', 'unmatched', 'rejected'));

-- Every webhook received, raw, de-duplicated by event_id (or a body hash).
CREATE TABLE mono.webhook_events (
    id              bigserial PRIMARY KEY,
    event_id        text NOT NULL UNIQUE,
    event           text NOT NULL,
    body            jsonb NOT NULL,
    mono_ref        text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    applied_at      timestamptz,
    outcome         mono.webhook_outcome NOT NULL,
    -- why a rejected event could not be applied
    error           text,
    -- the body exactly as received (body is its parsed form: jsonb
    -- reorders keys and writes 1.50 as 1.5); NULL for events stored
    -- before 0.2.0 and for polled reads
    raw             text
);
CREATE INDEX webhook_events_received ON mono.webhook_events (received_at);
-- events waiting for the Mono id they name (e.g. approved before created)
CREATE INDEX webhook_events_unmatched ON mono.webhook_events (mono_ref)
    WHERE outcome = 'unmatched';

-- pg_dump keeps every table and sequence that holds user data
SELECT pg_catalog.pg_extension_config_dump('mono.webhook_events', '');
SELECT pg_catalog.pg_extension_config_dump('mono.webhook_events_id_seq', '');
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

-- NOTIFY mono_pay with p_payload, for the SQL triggers: sent by the same
-- road as mono.notify_status()'s (in this commit, or handed to the worker
-- when mono_pay.notify_by_worker is on), so that their order holds.
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
-- a foreign key between two of them fails the restore. The triggers do
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
--   refused          any other 4xx
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
    SELECT CASE WHEN p_verdict IN ('accepted', 'reference_named', 'retry', 'ambiguous', 'refused')
                THEN 'sending' ELSE 'unknown' END
$$;

-- Mono's statuses of a fund request that mono.fund_requests takes as they
-- are; anything else Mono says (paused, declined, ...) means at least created.
CREATE OR REPLACE FUNCTION mono.fund_request_status_of(p_mono_status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_mono_status IN ('created', 'approved', 'processing', 'active',
                                       'completed', 'expired', 'cancelled')
                THEN p_mono_status ELSE 'created' END
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
                WHEN p_verdict = 'absent' AND s.status = 'awaiting_authorization'
                THEN 'Mono already had this reference from an earlier attempt; its redirect_url was not received'
                WHEN p_verdict = 'absent' AND s.status = 'failed'
                THEN format('Mono refused reference %s %s times (HTTP 400 naming it) and its reads show no such request', p_reference, p_attempts)
                WHEN p_verdict = 'absent'
                THEN 'Mono had no record after an ambiguous attempt; sending again'
                ELSE p_error END,
           CASE WHEN s.status = 'failed' OR p_verdict IN ('found', 'read_failed') THEN NULL
                WHEN p_verdict = 'partial' OR (p_verdict = 'absent' AND s.status = 'queued') THEN 0
                WHEN p_verdict = 'absent' THEN NULL
                ELSE p_retry_ms END,
           s.status = 'failed' OR p_verdict = 'accepted'
      FROM (SELECT CASE p_verdict
                WHEN 'accepted' THEN 'awaiting_authorization'
                WHEN 'retry' THEN CASE WHEN p_attempts >= current_setting('mono_pay.max_attempts')::integer
                                       THEN 'failed' ELSE 'queued' END
                WHEN 'refused' THEN 'failed'
                WHEN 'found' THEN mono.fund_request_status_of(p_mono_status)
                WHEN 'foreign' THEN 'failed'
                WHEN 'absent' THEN CASE
                    WHEN p_prior_http = 409 THEN 'awaiting_authorization'
                    WHEN p_prior_http = 400
                         AND p_attempts >= current_setting('mono_pay.max_attempts')::integer THEN 'failed'
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
                WHEN 'found' THEN 'linked'
                WHEN 'absent' THEN 'awaiting_authorization'
                WHEN 'gone' THEN 'unlinked'
                WHEN 'present' THEN 'queued'
                ELSE 'unknown' END AS status) s
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
           redirect_url = coalesce(v.redirect_url, f.redirect_url),
           mono_id = coalesce(f.mono_id, v.mono_id),
           mono_status = coalesce(v.mono_status, f.mono_status),
           list_offset = coalesce(v.read_offset, f.list_offset),
           http_status = coalesce(v.http_status, f.http_status),
           trace_id = v.trace_id, last_error = v.error, error_details = v.error_details,
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
                  redirect_url = coalesce(v.redirect_url, b.redirect_url),
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
                           b.trace_id, b.error_details)
    UPDATE mono.fund_requests f SET
           status = CASE b.status WHEN 'linked' THEN 'awaiting_authorization' ELSE b.status END,
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
                     ORDER BY q.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING f.id, f.attempts, f.reference::text, f.phone::text, f.type::text,
              CASE WHEN octet_length(f.description) <= 1020 THEN f.description::text END,
              f.amount::bigint, f.currency::text, f.period::text, f."interval"::integer,
              to_char(f.start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
              to_char(f.end_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
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
              to_char(f.start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
              to_char(f.end_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
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
               || CASE WHEN octet_length(description) > 1020
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
------------------------------------------------------------------------
-- Direct Charge ("owo") code: notifications, references between its
-- tables, the view of instalments, and the SQL functions (C). Its state
-- machine is 20_owo_state.code.sql. Links and beneficiaries: see the
-- vocabulary note of 20_owo.schema.sql.
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
    PERFORM mono.notify(json_build_object(
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

------------------------------------------------------------------------
-- Connect code: account sync, webhooks, inflow/outflow
-- (no SET search_path but on the SECURITY DEFINER functions: see
-- 10_common.schema.sql)
------------------------------------------------------------------------

-- References (mono.check_reference(), 10_common.code.sql)
CREATE OR REPLACE TRIGGER reference_account AFTER INSERT OR UPDATE OF account_id ON mono.transactions
    FOR EACH ROW EXECUTE FUNCTION mono.check_reference('account_id', 'mono.accounts');
CREATE OR REPLACE TRIGGER referenced_delete AFTER DELETE ON mono.accounts
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();

-- Does a webhook naming an account the database does not know start
-- tracking it (mono_pay.track_webhook_accounts, off when unset)? Tracking
-- costs Mono calls: see the README.
CREATE OR REPLACE FUNCTION mono.track_webhook_accounts() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('mono_pay.track_webhook_accounts', true), '')::boolean,
                    false)
$$;

-- May a real-time refresh start for an account in this data_status? A
-- sync is how an account leaves FAILED, UNAVAILABLE and PARTIAL (Mono's
-- docs, doc/mono-api.md §3.2), so each of the four settled statuses may
-- refresh; PROCESSING (Mono is still fetching after linking) and an unknown
-- status may not. Reading the data afterwards stays under
-- mono.data_status_action().
CREATE OR REPLACE FUNCTION mono.may_refresh(p_data_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(upper(btrim(p_data_status)) IN ('AVAILABLE', 'PARTIAL', 'UNAVAILABLE', 'FAILED'),
                    false)
$$;

-- mono_pay.account_refresh_interval as an interval (1 hour when unset).
CREATE OR REPLACE FUNCTION mono.account_refresh_interval() RETURNS interval
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('mono_pay.account_refresh_interval', true), ''),
                    '1h')::interval
$$;

-- May a real-time refresh start now? Mono allows one per account per 5 minutes.
CREATE OR REPLACE FUNCTION mono.realtime_allowed(p_last_refresh_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT $1 IS NULL OR $1 <= now() - interval '5 minutes'
$$;

-- data_status as stored: upper case whatever case Mono sends; NULL when it
-- is not one of the five Mono documents.
CREATE OR REPLACE FUNCTION mono.normalize_data_status(p_data_status text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT s FROM (SELECT upper(btrim($1)) AS s) x
     WHERE s IN ('AVAILABLE', 'PARTIAL', 'UNAVAILABLE', 'FAILED', 'PROCESSING')
$$;

-- retrieved_data as stored: the array's strings in lower case; NULL when
-- it is not an array.
CREATE OR REPLACE FUNCTION mono.normalize_retrieved_data(p_retrieved_data jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof($1) = 'array' THEN
           ARRAY(SELECT lower(btrim(e #>> '{}')) FROM jsonb_array_elements($1) e
                  WHERE jsonb_typeof(e) = 'string') END
$$;

-- The data_status rules (doc/mono-api.md §3.2), the one place they are written:
-- what to do about an item ('balance' or 'transactions') of an account.
--   AVAILABLE                          read   the item may be read
--   PARTIAL, item in retrieved_data    read
--   PARTIAL, item not retrieved        skip   record the account, fetch nothing
--   UNAVAILABLE                        skip
--   PROCESSING (or not known yet)      wait   check the details again soon
--   FAILED (a Mono-side fault)         retry  check again after a backoff
-- Case-insensitive, like Mono's payloads (older ones are lower case).
CREATE OR REPLACE FUNCTION mono.data_status_action(p_data_status text, p_retrieved_data text[], p_item text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE upper(btrim(p_data_status))
           WHEN 'AVAILABLE' THEN 'read'
           WHEN 'PARTIAL' THEN
                CASE WHEN lower(p_item) IN (SELECT lower(btrim(x)) FROM unnest(p_retrieved_data) x)
                     THEN 'read' ELSE 'skip' END
           WHEN 'UNAVAILABLE' THEN 'skip'
           WHEN 'FAILED' THEN 'retry'
           ELSE 'wait'
           END
$$;

-- about it (the one place the worker's schedule is decided):
--   untracked                              nothing
--   transactions: wait                     details again in min(interval, 1 min)
--   transactions: retry                    details again after mono.backoff(attempts)
--   transactions: skip                     details again after the interval
--   transactions: read, and
--     new data, never pulled, or a pull    transactions now
--       in progress
--     a refresh still running at Mono      transactions min(interval, 1 min) after
--                                            it started, unless its webhook says first
--     refresh due (interval since the last details, then refresh now
--       refresh or full pull; 5 minutes
--       since the last refresh; no
--       re-authorisation pending)
--     otherwise                            details again after the interval
CREATE OR REPLACE FUNCTION mono.account_next_step(p_account mono.accounts, OUT step text, OUT due timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_every interval := mono.account_refresh_interval();
    v_soon interval := least(mono.account_refresh_interval(), interval '1 minute');
BEGIN
    step := 'details';
    IF NOT p_account.tracked THEN
        RETURN;
    END IF;
    CASE mono.data_status_action(p_account.data_status, p_account.retrieved_data, 'transactions')
    WHEN 'wait' THEN
        due := now() + v_soon;
    WHEN 'retry' THEN
        due := now() + mono.backoff(p_account.attempts);
    WHEN 'skip' THEN
        due := now() + v_every;
    ELSE
        IF p_account.has_new_data OR p_account.transactions_synced_at IS NULL OR p_account.transactions_page > 1 THEN
            step := 'transactions';
            due := now();
        ELSIF p_account.refresh_pending THEN
            step := 'transactions';
            due := greatest(now(), coalesce(p_account.last_refresh_at, now()) + v_soon);
        ELSIF p_account.sync_status IS DISTINCT FROM 'REAUTHORISATION_REQUIRED'
              AND coalesce(p_account.last_refresh_at, p_account.transactions_synced_at) <= now() - v_every
              AND mono.realtime_allowed(p_account.last_refresh_at) THEN
            step := 'refresh';
            due := now();
        ELSE
            due := now() + v_every;
        END IF;
    END CASE;
END;
$$;

-- Stores failed calls (outcomes with error): after a 429, a 5xx, a transfer
-- failure or a bad body, the same step again after retry_ms; after another
-- 4xx (no retry_ms), back to details after the refresh interval.
CREATE OR REPLACE FUNCTION mono.record_account_failures(p_outcomes jsonb) RETURNS void
LANGUAGE sql VOLATILE AS $$
    UPDATE mono.accounts a SET
           attempts = a.attempts + 1,
           last_error = o.error,
           next_step = CASE WHEN o.retry_ms IS NULL THEN 'details' ELSE a.next_step END,
           transactions_page = CASE WHEN o.retry_ms IS NULL THEN 1 ELSE a.transactions_page END,
           transactions_since = CASE WHEN o.retry_ms IS NULL THEN NULL ELSE a.transactions_since END,
           next_sync_at = now() + coalesce(o.retry_ms * interval '1 millisecond',
                                           mono.account_refresh_interval()),
           claimed_until = NULL,
           updated_at = now()
      FROM jsonb_to_recordset(p_outcomes) AS o(account_id text, error text, retry_ms bigint)
     WHERE a.account_id = o.account_id AND o.error IS NOT NULL;
$$;

-- Stores account details (outcomes with account): data_status in upper
-- case, retrieved_data in lower case, the balance only while the
-- data_status rules allow reading it. Details from a webhook older than the
-- stored ones change nothing.
CREATE OR REPLACE FUNCTION mono.record_account_details(p_outcomes jsonb, p_from_webhook boolean) RETURNS void
LANGUAGE sql VOLATILE AS $$
    UPDATE mono.accounts a SET
           name = coalesce(o.account ->> 'name', a.name),
           account_number = coalesce(o.account ->> 'account_number', a.account_number),
           type = coalesce(o.account ->> 'type', a.type),
           currency = coalesce(o.account ->> 'currency', a.currency),
           institution = CASE WHEN jsonb_typeof(o.account -> 'institution') = 'object'
                              THEN coalesce(a.institution, '{}')
                                   || jsonb_strip_nulls(o.account -> 'institution')
                              ELSE a.institution END,
           customer_id = coalesce(o.account ->> 'customer_id', a.customer_id),
           ref = coalesce(o.account ->> 'ref', a.ref),
           auth_method = coalesce(o.account ->> 'auth_method', a.auth_method),
           data_status = coalesce(o.ds, a.data_status),
           retrieved_data = coalesce(o.rd, a.retrieved_data),
           sync_status = coalesce(upper(o.account ->> 'sync_status'), a.sync_status),
           last_synced_at = CASE WHEN p_from_webhook THEN greatest(a.last_synced_at, o.event_at)
                                 ELSE now() END,
           attempts = CASE WHEN o.ds = 'FAILED' THEN a.attempts + 1 ELSE 0 END,
           last_error = CASE WHEN o.account ? 'data_status' AND o.ds IS NULL
                             THEN format('Mono sent an unknown data_status %s',
                                         o.account ->> 'data_status')
                             WHEN p_from_webhook THEN a.last_error END,
           updated_at = now()
      FROM (SELECT x.account_id, x.account, x.event_at,
                   mono.normalize_data_status(x.account ->> 'data_status') AS ds,
                   mono.normalize_retrieved_data(x.account -> 'retrieved_data') AS rd
              FROM jsonb_to_recordset(p_outcomes) AS x(account_id text, account jsonb,
                                                     event_at timestamptz)
             WHERE x.account IS NOT NULL) o
     WHERE a.account_id = o.account_id
       AND (NOT p_from_webhook OR a.last_synced_at IS NULL OR o.event_at >= a.last_synced_at);

    UPDATE mono.accounts a SET balance = (o.account ->> 'balance')::bigint
      FROM jsonb_to_recordset(p_outcomes) AS o(account_id text, account jsonb, event_at timestamptz)
     WHERE a.account_id = o.account_id
       AND (o.account ->> 'balance') ~ '^-?[0-9]{1,18}$'
       AND mono.data_status_action(a.data_status, a.retrieved_data, 'balance') = 'read'
       AND (NOT p_from_webhook OR o.event_at >= a.last_synced_at);
$$;

-- Stores real-time refreshes (outcomes with refresh: our call's headers,
-- or a webhook). New data is kept until pulled, whichever job found it,
-- except that a webhook repeating what the refresh's headers said, about a
-- job whose data has been pulled since, is no news. A job still running
-- (x-job-status processing) leaves refresh_pending until its webhook or the
-- fallback pull settles it. A webhook about an older job than the stored
-- one changes no job field.
CREATE OR REPLACE FUNCTION mono.record_account_refreshes(p_outcomes jsonb) RETURNS void
LANGUAGE sql VOLATILE AS $$
    UPDATE mono.accounts a SET
           has_new_data = true,
           refresh_pending = false,
           updated_at = now()
      FROM jsonb_to_recordset(p_outcomes) AS o(account_id text, refresh jsonb)
     WHERE a.account_id = o.account_id AND (o.refresh ->> 'has_new_data') = 'true'
       AND ((o.refresh ->> 'called') = 'true'
            OR a.job_id IS DISTINCT FROM o.refresh ->> 'job_id'
            OR a.last_refresh_at IS NULL OR a.transactions_synced_at IS NULL
            OR a.transactions_synced_at <= a.last_refresh_at);

    UPDATE mono.accounts a SET
           job_id = coalesce(o.refresh ->> 'job_id', a.job_id),
           job_status = coalesce(lower(o.refresh ->> 'job_status'), a.job_status),
           last_refresh_at = CASE WHEN o.called THEN now() ELSE a.last_refresh_at END,
           refresh_pending = CASE
               WHEN o.called THEN coalesce(lower(o.refresh ->> 'job_status') = 'processing', false)
                                  AND NOT a.has_new_data
               WHEN o.refresh ? 'has_new_data' OR lower(o.refresh ->> 'job_status') = 'failed'
                    THEN false
               ELSE a.refresh_pending END,
           attempts = CASE WHEN o.called THEN 0 ELSE a.attempts END,
           last_error = CASE WHEN lower(o.refresh ->> 'job_status') = 'failed'
                             THEN format('real-time refresh job %s failed at Mono',
                                         coalesce(o.refresh ->> 'job_id', '(no id)'))
                             WHEN o.called THEN NULL ELSE a.last_error END,
           updated_at = now()
      FROM (SELECT x.account_id, x.refresh, x.event_at,
                   coalesce((x.refresh ->> 'called') = 'true', false) AS called
              FROM jsonb_to_recordset(p_outcomes) AS x(account_id text, refresh jsonb,
                                                     event_at timestamptz)
             WHERE x.refresh IS NOT NULL) o
     WHERE a.account_id = o.account_id
       AND (o.called OR a.job_id IS NULL OR a.job_id = o.refresh ->> 'job_id'
            OR a.last_refresh_at IS NULL OR o.event_at >= a.last_refresh_at);
$$;

-- Stores a page of transactions (outcomes with transactions; a page may
-- list one twice: the first is kept) and where the pull has got to: the
-- next page when Mono names one (at most 1000 pages), else done: new data
-- pulled, transactions_synced_at now.
CREATE OR REPLACE FUNCTION mono.record_account_transactions(p_outcomes jsonb) RETURNS void
LANGUAGE sql VOLATILE AS $$
    INSERT INTO mono.transactions AS t (account_id, id, narration, amount, type, balance,
                                        date, category)
    SELECT DISTINCT ON (o.account_id, x.id)
           o.account_id, x.id, x.narration, x.amount, x.type, x.balance, x.date, x.category
      FROM jsonb_to_recordset(p_outcomes) AS o(account_id text, transactions jsonb)
      JOIN mono.accounts a ON a.account_id = o.account_id
     CROSS JOIN LATERAL jsonb_to_recordset(
           CASE WHEN jsonb_typeof(o.transactions) = 'array' THEN o.transactions
                ELSE '[]' END)
           AS x(id text, narration text, amount bigint, type text, balance bigint,
                date timestamptz, category text)
     ORDER BY o.account_id, x.id
    ON CONFLICT (account_id, id) DO UPDATE SET
           narration = excluded.narration, amount = excluded.amount, type = excluded.type,
           balance = excluded.balance, date = excluded.date, category = excluded.category
     WHERE (t.narration, t.amount, t.type, t.balance, t.date, t.category)
           IS DISTINCT FROM (excluded.narration, excluded.amount, excluded.type,
                             excluded.balance, excluded.date, excluded.category);

    UPDATE mono.accounts a SET
           transactions_page = CASE WHEN o.more THEN a.transactions_page + 1 ELSE 1 END,
           transactions_since = CASE WHEN o.more THEN a.transactions_since END,
           transactions_synced_at = CASE WHEN o.more THEN a.transactions_synced_at
                                         ELSE now() END,
           has_new_data = o.more AND a.has_new_data,
           refresh_pending = o.more AND a.refresh_pending,
           attempts = 0,
           last_error = CASE WHEN o.skipped > 0
                             THEN format('%s transactions on page %s had an unusable shape and were skipped',
                                         o.skipped, a.transactions_page) END,
           updated_at = now()
      FROM (SELECT x.account_id, coalesce(x.skipped, 0) AS skipped,
                   coalesce(x.more, false) AND y.transactions_page < 1000 AS more
              FROM jsonb_to_recordset(p_outcomes) AS x(account_id text, transactions jsonb,
                                                     more boolean, skipped integer)
              JOIN mono.accounts y ON y.account_id = x.account_id
             WHERE x.transactions IS NOT NULL) o
     WHERE a.account_id = o.account_id;
$$;

-- Stores what Mono said about accounts and schedules each one's next step.
-- p_outcomes: a JSON array of objects, each with account_id and any of
--   account        details facts (src/connect_parse.c): name, account_number,
--                  type, currency, balance, institution, customer_id, ref,
--                  auth_method, data_status, retrieved_data, sync_status
--   refresh        {called, job_id, job_status, has_new_data}
--   transactions   [{id, narration, amount, type, balance, date, category}],
--                  with more (a further page) and skipped (unusable items)
--   error, retry_ms  a failed call
--   unlinked, reauthorized, check_now, event_at  (webhooks)
--   sync_status    a sync status on its own (legacy webhooks)
-- An account first seen here gets a row; a webhook's is tracked only with
-- mono_pay.track_webhook_accounts (a sync's always is).
-- p_source: 'worker' (rows exist and are leased), 'sync' or 'webhook' (rows
-- are created when new; the schedule is left alone while the worker holds
-- a lease). Returns how many of the accounts are due now.
CREATE OR REPLACE FUNCTION mono.record_account_outcomes(p_outcomes jsonb, p_source text) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_created text[] := '{}';
    v_due integer;
BEGIN
    IF p_source NOT IN ('worker', 'sync', 'webhook') OR jsonb_typeof(p_outcomes) <> 'array' THEN
        RAISE EXCEPTION 'invalid account outcomes from "%"', p_source
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- lock the accounts first, in one order: a concurrent DELETE then
    -- either waits for us or is seen by every statement below
    PERFORM 1 FROM mono.accounts a
     WHERE a.account_id IN (SELECT x.account_id
                              FROM jsonb_to_recordset(p_outcomes) AS x(account_id text))
     ORDER BY a.account_id
       FOR UPDATE;

    -- an account seen for the first time (sync, webhook) gets a row; a
    -- sync (re)starts tracking
    IF p_source <> 'worker' THEN
        WITH n AS (
            INSERT INTO mono.accounts (account_id, tracked, unlinked)
            SELECT DISTINCT ON (o.account_id) o.account_id,
                   NOT coalesce(o.unlinked, false)
                       AND (p_source = 'sync' OR mono.track_webhook_accounts()),
                   coalesce(o.unlinked, false)
              FROM jsonb_to_recordset(p_outcomes) AS o(account_id text, unlinked boolean)
             ORDER BY o.account_id
            ON CONFLICT (account_id) DO NOTHING
            RETURNING account_id)
        SELECT coalesce(array_agg(account_id), '{}') INTO v_created FROM n;
    END IF;
    IF p_source = 'sync' THEN
        UPDATE mono.accounts a SET tracked = true, unlinked = false
          FROM jsonb_to_recordset(p_outcomes) AS o(account_id text)
         WHERE a.account_id = o.account_id AND NOT (a.tracked AND NOT a.unlinked);
    END IF;

    PERFORM mono.record_account_failures(p_outcomes);
    PERFORM mono.record_account_details(p_outcomes, p_source = 'webhook');
    PERFORM mono.record_account_refreshes(p_outcomes);
    PERFORM mono.record_account_transactions(p_outcomes);

    -- unlinked at Mono: no longer tracked; re-authorised: works again
    UPDATE mono.accounts a SET unlinked = true, tracked = false, updated_at = now()
      FROM jsonb_to_recordset(p_outcomes) AS o(account_id text, unlinked boolean)
     WHERE a.account_id = o.account_id AND o.unlinked;
    UPDATE mono.accounts a SET
           sync_status = CASE WHEN a.sync_status = 'REAUTHORISATION_REQUIRED'
                              THEN NULL ELSE a.sync_status END,
           updated_at = now()
      FROM jsonb_to_recordset(p_outcomes) AS o(account_id text, reauthorized boolean)
     WHERE a.account_id = o.account_id AND o.reauthorized;
    -- a sync_status of its own (legacy events), unless older than the details
    UPDATE mono.accounts a SET
           sync_status = upper(o.sync_status),
           last_error = CASE WHEN upper(o.sync_status) = 'FAILED'
                             THEN 'Mono reported that a sync of the account failed'
                             ELSE a.last_error END,
           updated_at = now()
      FROM jsonb_to_recordset(p_outcomes) AS o(account_id text, sync_status text,
                                             event_at timestamptz)
     WHERE a.account_id = o.account_id AND o.sync_status IS NOT NULL
       AND (a.last_synced_at IS NULL OR o.event_at IS NULL OR o.event_at >= a.last_synced_at);

    -- what next, and when (not while the worker holds the account's lease;
    -- check_now, and a webhook's new account: details at once)
    UPDATE mono.accounts a SET
           (next_step, next_sync_at) =
               (SELECT CASE WHEN o.check_now THEN 'details' ELSE s.step END,
                       CASE WHEN o.check_now AND a.tracked THEN now() ELSE s.due END
                  FROM mono.account_next_step(a) s),
           claimed_until = CASE WHEN p_source = 'worker' THEN NULL ELSE a.claimed_until END
      FROM (SELECT x.account_id,
                   bool_or(coalesce(x.check_now, false)
                           OR (p_source = 'webhook' AND x.account_id = ANY (v_created)))
                       AS check_now
              FROM jsonb_to_recordset(p_outcomes) AS x(account_id text, error text,
                                                     check_now boolean)
             WHERE x.error IS NULL
             GROUP BY x.account_id) o
     WHERE a.account_id = o.account_id
       AND (p_source = 'worker' OR a.claimed_until IS NULL OR a.claimed_until < now());

    SELECT count(*)::integer INTO v_due
      FROM mono.accounts a
     WHERE a.account_id IN (SELECT x.account_id
                              FROM jsonb_to_recordset(p_outcomes) AS x(account_id text))
       AND a.tracked AND a.next_sync_at <= now()
       AND (a.claimed_until IS NULL OR a.claimed_until < now());
    RETURN v_due;
END;
$$;

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
--   mono.accounts.jobs.update        the refresh job's status
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
        v_facts := jsonb_build_object('refresh', jsonb_strip_nulls(jsonb_build_object(
                 'job_id', v_data ->> 'id', 'job_status', lower(v_data ->> 'status'))));
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

------------------------------------------------------------------------
-- Connect's SQL functions (C)
------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mono_account_sync(account_id text, realtime boolean DEFAULT false)
RETURNS mono.accounts
AS 'MODULE_PATHNAME', 'mono_account_sync'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION mono_inflow(account_id text)
RETURNS SETOF mono.account_flows
AS 'MODULE_PATHNAME', 'mono_inflow'
LANGUAGE C CALLED ON NULL INPUT VOLATILE ROWS 12
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION mono_outflow(account_id text)
RETURNS SETOF mono.account_flows
AS 'MODULE_PATHNAME', 'mono_outflow'
LANGUAGE C CALLED ON NULL INPUT VOLATILE ROWS 12
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

------------------------------------------------------------------------
-- Views for analysts
------------------------------------------------------------------------

-- Monthly flows per account: Mono's figures where fetched, else sums of
-- synced transactions (months in UTC). Each direction is its own branch
-- (WHERE direction = ... skips the other), transactions are summed per month
-- before the months Mono reported are set aside, and an account's months
-- come from an index-only scan (transactions_account_date).
CREATE OR REPLACE VIEW mono.flows AS
SELECT account_id, direction, period, amount,
       round(amount / 100.0, 2) AS amount_naira,
       transaction_count, source
  FROM mono.account_flows
UNION ALL
SELECT m.account_id, 'inflow', m.period, m.amount, round(m.amount / 100.0, 2),
       m.transaction_count, 'transactions'
  FROM (SELECT t.account_id, date_trunc('month', t.date AT TIME ZONE 'UTC')::date AS period,
               sum(t.amount)::bigint AS amount, count(*)::integer AS transaction_count
          FROM mono.transactions t
         WHERE t.type = 'credit'
         GROUP BY 1, 2) m
 WHERE NOT EXISTS (SELECT 1 FROM mono.account_flows f
                    WHERE f.account_id = m.account_id AND f.direction = 'inflow'
                      AND f.period = m.period)
UNION ALL
SELECT m.account_id, 'outflow', m.period, m.amount, round(m.amount / 100.0, 2),
       m.transaction_count, 'transactions'
  FROM (SELECT t.account_id, date_trunc('month', t.date AT TIME ZONE 'UTC')::date AS period,
               sum(t.amount)::bigint AS amount, count(*)::integer AS transaction_count
          FROM mono.transactions t
         WHERE t.type = 'debit'
         GROUP BY 1, 2) m
 WHERE NOT EXISTS (SELECT 1 FROM mono.account_flows f
                    WHERE f.account_id = m.account_id AND f.direction = 'outflow'
                      AND f.period = m.period);

CREATE OR REPLACE VIEW mono.inflow AS
SELECT account_id, period, amount, amount_naira, transaction_count, source
  FROM mono.flows WHERE direction = 'inflow';

CREATE OR REPLACE VIEW mono.outflow AS
SELECT account_id, period, amount, amount_naira, transaction_count, source
  FROM mono.flows WHERE direction = 'outflow';
------------------------------------------------------------------------
-- Worker-facing code: the worker's status, monitoring, and high
-- availability (mono_resume(), orphans)
------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mono_worker_status()
RETURNS TABLE (running boolean, pid integer, state text, database text,
               queued bigint, sending bigint, unknown bigint,
               awaiting_authorization bigint, in_flight integer,
               sent_total bigint, last_error text, last_error_at timestamptz,
               config_loaded_at timestamptz, workers integer)
AS 'MODULE_PATHNAME', 'mono_worker_status'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

------------------------------------------------------------------------
-- Monitoring: one row per figure, for Prometheus (queries.yaml) and for
-- people. A monitoring role needs USAGE on schema mono and SELECT on this
-- view (it reads the tables with the extension owner's rights), and EXECUTE
-- on mono_worker_status() for the worker's own figures.
------------------------------------------------------------------------

-- name (the figure), kind (links, charges, webhooks, accounts),
-- label (a status, a class, an outcome), value.
CREATE OR REPLACE VIEW mono.metrics AS
-- queue depth by status: every row not yet settled
SELECT 'queue_depth'::text AS name, 'charges'::text AS kind, status::text AS label,
       count(*)::float8 AS value
  FROM mono.fund_requests
 WHERE status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')
 GROUP BY status
UNION ALL
SELECT 'queue_depth', 'links', status::text, count(*)::float8
  FROM mono.beneficiaries
 WHERE status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')
 GROUP BY status
UNION ALL
-- how long the oldest row has waited to be sent (0 when none waits)
SELECT 'oldest_queued_seconds', kind, 'queued',
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
  FROM (SELECT 'charges'::text AS kind, created_at FROM mono.fund_requests
         WHERE status IN ('queued', 'unknown')
        UNION ALL
        SELECT 'links', created_at FROM mono.beneficiaries
         WHERE status IN ('queued', 'unknown')) q
 GROUP BY kind
UNION ALL
-- failures and retries by class of Mono's last answer
SELECT m.name, 'charges', m.class, sum(m.n)::float8
  FROM (SELECT CASE WHEN http_status BETWEEN 400 AND 499 THEN 'http_4xx'
                    WHEN http_status >= 500 THEN 'http_5xx'
                    WHEN http_status IS NULL AND last_error IS NOT NULL THEN 'network'
                    ELSE 'other' END AS class,
               status, attempts
          FROM mono.fund_requests
         WHERE status = 'failed' OR attempts > 1) f,
       LATERAL (VALUES ('failures', f.class, CASE WHEN f.status = 'failed' THEN 1 ELSE 0 END),
                       ('retries', f.class, greatest(f.attempts - 1, 0))) m(name, class, n)
 GROUP BY m.name, m.class
UNION ALL
-- webhook outcomes (applied, ignored, stale, unmatched, rejected)
SELECT 'webhook_events', 'webhooks', outcome::text, count(*)::float8
  FROM mono.webhook_events GROUP BY outcome
UNION ALL
-- Connect accounts by data status (tracked ones)
SELECT 'accounts', 'accounts', coalesce(data_status, 'UNKNOWN'), count(*)::float8
  FROM mono.accounts WHERE tracked GROUP BY data_status;

------------------------------------------------------------------------
-- High availability, restores and clones (issue 12)
------------------------------------------------------------------------

-- A superuser confirms that this database may talk to Mono (a restored or
-- cloned copy's worker pauses until then): records this identity.
CREATE OR REPLACE FUNCTION mono_resume() RETURNS text
AS 'MODULE_PATHNAME', 'mono_resume'
LANGUAGE C VOLATILE;

-- Orphans: what Mono told us about that this database does not know (a
-- payment of an unknown fund request, an event naming an unknown
-- reference or Mono id). After a lost failover or a restore these are the
-- charges Mono holds and the database lost. An event waiting for an id
-- that comes later (approved before created) is listed until it matches.
CREATE OR REPLACE VIEW mono.orphans AS
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

-- NOTIFY mono_pay '{"table":"orphans",...,"status":"unmatched"}' when one
-- appears. One function for two tables: their fields through to_jsonb(NEW).
CREATE OR REPLACE FUNCTION mono.notify_orphan() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_new jsonb := to_jsonb(NEW);
BEGIN
    IF TG_TABLE_NAME = 'payments' THEN
        PERFORM mono.notify(json_build_object(
            'table', 'orphans', 'kind', 'payment', 'id', (v_new ->> 'id')::bigint,
            'mono_id', v_new ->> 'mono_id', 'reference', left(v_new ->> 'reference', 64),
            'status', 'unmatched')::text);
    ELSE
        PERFORM mono.notify(json_build_object(
            'table', 'orphans', 'kind', 'event', 'id', (v_new ->> 'id')::bigint,
            'mono_id', left(v_new ->> 'mono_ref', 64),
            'reference', left(v_new -> 'body' -> 'data' ->> 'reference', 64),
            'event', left(v_new ->> 'event', 64), 'status', 'unmatched')::text);
    END IF;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE TRIGGER notify_orphan AFTER INSERT ON mono.payments
    FOR EACH ROW WHEN (NEW.fund_request_id IS NULL) EXECUTE FUNCTION mono.notify_orphan();
CREATE OR REPLACE TRIGGER notify_orphan AFTER INSERT ON mono.webhook_events
    FOR EACH ROW WHEN (NEW.outcome = 'unmatched') EXECUTE FUNCTION mono.notify_orphan();
------------------------------------------------------------------------
-- Webhooks code: applying and storing events (from mono_handle_webhook()
-- and the receiver; polling reads of Direct Charge apply theirs through
-- mono.apply_owo_events()), and the receiver's status
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

-- Apply a verified webhook and store it once (by event_id), with its
-- outcome: one row written per event. Returns 'applied', 'duplicate' or
-- 'ignored' (stored, not applied now: unknown type, stale, or waiting for an
-- id; the row's outcome says which).
-- p_raw: the body exactly as received (mono_handle_webhook passes it).
CREATE OR REPLACE FUNCTION mono.ingest_webhook(p_event_id text, p_event text, p_body jsonb,
                                               p_raw text) RETURNS text
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
    INSERT INTO mono.webhook_events (event_id, event, body, mono_ref, outcome, applied_at, error,
                                     raw)
    VALUES (p_event_id, p_event, p_body,
            coalesce(p_body -> 'data' ->> 'id', p_body -> 'data' ->> 'fund_request'),
            r.outcome, CASE WHEN r.outcome = 'applied' THEN now() END, r.error, p_raw)
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

-- The webhook receiver (issue 14), its state and counters. One row: is
-- the receiver (mono_pay.webhook_listen) running (pid: of its first
-- process; processes: how many run), where, how many connections are open,
-- its 200 answers by kind, and the requests it refused, by reason (HTTP
-- status, or closed connection), summed over its processes.
CREATE OR REPLACE FUNCTION mono_receiver_status()
RETURNS TABLE (running boolean, pid integer, listen text, path text, tls boolean,
               connections integer, connections_total bigint,
               applied bigint, duplicate bigint, ignored bigint,
               rejected_unauthorized bigint, rejected_too_large bigint,
               rejected_not_json bigint, rejected_method bigint,
               rejected_not_found bigint, rejected_unavailable bigint,
               rejected_connection_limit bigint, rejected_timeout bigint,
               rejected_header_too_large bigint, processes integer)
AS 'MODULE_PATHNAME', 'mono_receiver_status'
LANGUAGE C VOLATILE;
------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; grant explicitly (see README). Every
-- object of every part, in one place (a REVOKE may run again).
------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA mono FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA mono FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mono FROM PUBLIC;
-- the SQL functions, in the extension's schema
REVOKE ALL ON FUNCTION mono_user_status(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_link_beneficiary(text, text, text, text, text, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_link_beneficiary(text, text, text, text, text, bigint, text,
    text, integer, timestamptz, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_charge(text, bigint, text, text, text, integer, timestamptz,
    timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_unlink_beneficiary(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_wait(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_charge_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_account_sync(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_inflow(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_outflow(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_worker_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_resume() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_handle_webhook(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_receiver_status() FROM PUBLIC;

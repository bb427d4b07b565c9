-- mono_pay 0.1.0 -> 0.2.0
\echo Use "ALTER EXTENSION mono_pay UPDATE TO '0.2.0'" to load this file. \quit

-- What changed in the schema from 0.1.0 (domains, tables, columns,
-- indexes, rows), and what 0.2.0 no longer has. The Makefile appends every
-- CODE part of sql/parts/ to this file: functions, views, triggers and
-- privileges are never written here, they have one home, in the parts.

-- Internal functions whose parameters are named p_<name> since 0.2.0 (as
-- the rest): CREATE OR REPLACE cannot rename a parameter, so they go first
-- and the CODE parts create them again (PUBLIC could call none of them).
DROP FUNCTION mono.fund_request_rank(text);
DROP FUNCTION mono.setting_interval(text);
DROP FUNCTION mono.backoff(integer);
DROP FUNCTION mono.realtime_allowed(timestamptz);
DROP FUNCTION mono.normalize_data_status(text);
DROP FUNCTION mono.normalize_retrieved_data(jsonb);
DROP FUNCTION mono.data_status_action(text, text[], text);
DROP FUNCTION mono.account_next_step(mono.accounts);
DROP FUNCTION mono.record_account_failures(jsonb);
DROP FUNCTION mono.record_account_details(jsonb, boolean);
DROP FUNCTION mono.record_account_refreshes(jsonb);
DROP FUNCTION mono.record_account_transactions(jsonb);
DROP FUNCTION mono.record_account_outcomes(jsonb, text);
DROP FUNCTION mono.event_time(text);
DROP FUNCTION mono.event_account_id(jsonb);
DROP FUNCTION mono.event_account_facts(jsonb, jsonb);
DROP FUNCTION mono.event_refresh_facts(jsonb);
DROP FUNCTION mono.apply_connect_event(text, jsonb);

------------------------------------------------------------------------
-- Value rules: one blank rule, descriptions of at most 255 characters.
-- The same constraints as a fresh install, NOT VALID: rows stored under
-- 0.1.0 that break the new rules are kept (the worker fails a queued row
-- it cannot send, with the reason).
------------------------------------------------------------------------
CREATE FUNCTION mono.is_blank(text) RETURNS boolean
AS 'MODULE_PATHNAME', 'mono_is_blank_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
ALTER DOMAIN mono.account_name DROP CONSTRAINT account_name_check;
ALTER DOMAIN mono.account_name ADD CONSTRAINT account_name_check
    CHECK (char_length(VALUE) BETWEEN 2 AND 100 AND NOT mono.is_blank(VALUE)) NOT VALID;
ALTER DOMAIN mono.description DROP CONSTRAINT description_check;
ALTER DOMAIN mono.description ADD CONSTRAINT description_check
    CHECK (char_length(VALUE) <= 255 AND NOT mono.is_blank(VALUE)) NOT VALID;

------------------------------------------------------------------------
-- Webhooks: events the database cannot take are kept aside with their
-- error; the body exactly as received
------------------------------------------------------------------------
ALTER DOMAIN mono.webhook_outcome DROP CONSTRAINT webhook_outcome_check;
ALTER DOMAIN mono.webhook_outcome ADD CONSTRAINT webhook_outcome_check CHECK (VALUE IN
    ('applied', 'ignored', 'stale', 'unmatched', 'rejected'));
ALTER TABLE mono.webhook_events
    ADD COLUMN error text,
    ADD COLUMN raw text;

------------------------------------------------------------------------
-- Direct Charge: statuses Mono reports that mono_pay does not know, paged
-- lists, one prompt per phone at a time, an unlink cancels only the link's
-- own requests
------------------------------------------------------------------------
ALTER TABLE mono.fund_requests
    ADD COLUMN mono_status text,
    ADD COLUMN list_offset integer NOT NULL DEFAULT 0,
    ADD COLUMN payments_offset integer NOT NULL DEFAULT 0;
ALTER TABLE mono.beneficiaries
    ADD COLUMN list_offset integer NOT NULL DEFAULT 0;
CREATE INDEX fund_requests_phone_live ON mono.fund_requests (phone, id)
    WHERE status IN ('queued', 'sending', 'unknown', 'awaiting_authorization');
CREATE INDEX fund_requests_beneficiary ON mono.fund_requests (beneficiary_mono_id)
    WHERE type = 'recurring' AND beneficiary_mono_id IS NOT NULL;
-- instalments are planned by mono_charge() and the trigger's batch insert
DROP TRIGGER plan_schedule ON mono.fund_requests;
DROP FUNCTION mono.plan_new_schedule();

------------------------------------------------------------------------
-- Connect fidelity (issue 11): the totals of Mono's credits/debits answers
------------------------------------------------------------------------
CREATE TABLE mono.account_flow_totals (
    account_id      text NOT NULL,
    direction       text NOT NULL CHECK (direction IN ('inflow', 'outflow')),
    amount          bigint,
    transaction_count integer,
    fetched_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, direction)
);
SELECT pg_catalog.pg_extension_config_dump('mono.account_flow_totals', '');

------------------------------------------------------------------------
-- High availability, restores and clones (issue 12)
------------------------------------------------------------------------
-- The identity of the database that talks to Mono, recorded by this upgrade.
CREATE TABLE mono.node_identity (
    system_identifier text NOT NULL,
    database_oid    oid NOT NULL,
    database_name   text NOT NULL,
    recorded_by     text NOT NULL
                    CHECK (recorded_by IN ('create extension', 'pg_restore', 'upgrade', 'mono_resume')),
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('mono.node_identity', '');
CREATE FUNCTION mono.system_identifier() RETURNS text
AS 'MODULE_PATHNAME', 'mono_system_identifier' LANGUAGE C STABLE STRICT;
INSERT INTO mono.node_identity (system_identifier, database_oid, database_name, recorded_by)
SELECT mono.system_identifier(), d.oid, d.datname,
       CASE WHEN current_setting('application_name') = 'pg_restore' THEN 'pg_restore'
            ELSE 'upgrade' END
  FROM pg_catalog.pg_database d WHERE d.datname = current_database();

-- References between mono's tables are checked by triggers, not foreign
-- keys (pg_restore -j loads tables in any order: see 10_common.code.sql)
ALTER TABLE mono.fund_requests DROP CONSTRAINT fund_requests_link_id_fkey;
ALTER TABLE mono.payments DROP CONSTRAINT payments_fund_request_id_fkey;
ALTER TABLE mono.schedule DROP CONSTRAINT schedule_fund_request_id_fkey;
ALTER TABLE mono.schedule DROP CONSTRAINT schedule_payment_id_fkey;
ALTER TABLE mono.transactions DROP CONSTRAINT transactions_account_id_fkey;

------------------------------------------------------------------------
-- The CODE parts of sql/parts/ follow (added by the Makefile)
------------------------------------------------------------------------

-- mono_pay 0.3.0: Mono Direct Charge and Connect inside PostgreSQL
\echo Use "CREATE EXTENSION mono_pay" to load this file. \quit

-- This install script is made by the Makefile from sql/parts/: first the
-- SCHEMA parts (*.schema.sql: domains, tables, indexes, sequences, the rows
-- a new install starts with; run once), then the CODE parts (*.code.sql:
-- functions, views, triggers, privileges; every statement may run again,
-- CREATE OR REPLACE), each kind in the order of the layers: 10 common,
-- 20-28 Direct Charge ("owo"), 30-38 Connect, 40 worker-facing, 50 webhooks,
-- 90 privileges, 95 comments. A code part calls only its own functions and
-- those of lower-numbered parts, and none is over 500 lines
-- (test/lint/sql-layers; doc/design.md lists the parts).
-- The upgrade script from 0.2.0 is sql/upgrade/0.2.0--0.3.0.sql (0.1.0 -> 0.2.0 is frozen in sql/released/)
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
-- SECURITY DEFINER entry points that do, the worker and the
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

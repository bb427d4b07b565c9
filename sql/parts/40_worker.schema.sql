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
-- pauses too: the dumped identity may arrive after the queued rows; and
-- 'restored rows' (issue 23) is the mark mono.restored_rows() leaves in the
-- transaction that inserts rows it did not create (a COPY of a restore).
CREATE TABLE mono.node_identity (
    system_identifier text NOT NULL,
    database_oid    oid NOT NULL,
    database_name   text NOT NULL,
    recorded_by     text NOT NULL
                    CONSTRAINT node_identity_recorded_by_check
                    CHECK (recorded_by IN ('create extension', 'pg_restore', 'upgrade', 'mono_resume',
                                           'restored rows')),
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

-- References Mono holds that this database does not know (issue 23b):
-- read from Mono's list of fund requests when a promoted standby's worker
-- starts (the charges an asynchronous failover lost). Listed in
-- mono.orphans as 'unknown_reference', each once.
CREATE TABLE mono.unknown_references (
    reference       text PRIMARY KEY,
    mono_id         text,
    amount          bigint,
    phone           text,
    status          text,
    seen_at         timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('mono.unknown_references', '');

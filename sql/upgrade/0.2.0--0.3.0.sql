-- mono_pay 0.2.0 -> 0.3.0: what changed in the schema (tables, types,
-- columns, data). The Makefile appends every CODE part of sql/parts/ to
-- this file, so functions, views and triggers are (re)created from the
-- same source as a fresh install. Sections follow the issues of 0.3.0.
\echo Use "ALTER EXTENSION mono_pay UPDATE TO '0.3.0'" to load this file. \quit


-- issue 22b: Connect and personal data. The balance says how old it is; a
-- real-time refresh asked for by mono_account_sync(id, true) waits for the
-- worker (nothing leaves before COMMIT); no full BVN in webhook_events and
-- no full phone in http_log paths (rows kept by 0.2.0 are masked here; the
-- code parts mask new ones).
ALTER TABLE mono.accounts ADD COLUMN balance_updated_at timestamptz,
                          ADD COLUMN refresh_requested_at timestamptz;
UPDATE mono.accounts SET balance_updated_at = last_synced_at WHERE balance IS NOT NULL;
-- 0.2.0 kept Mono's real-time account_updated whole: its data.account.bvn
-- is masked to the last 4 digits, in body and raw
UPDATE mono.webhook_events
   SET body = jsonb_set(body, '{data,account,bvn}',
                        to_jsonb(repeat('*', length(body #>> '{data,account,bvn}') - 4)
                                 || right(body #>> '{data,account,bvn}', 4))),
       raw = regexp_replace(raw, '("bvn"\s*:\s*"?)[0-9]{7}([0-9]{4})', '\1*******\2', 'gi')
 WHERE body #>> '{data,account,bvn}' ~ '^[0-9]{11}$';
-- (one phone per path: every digit of its value but the last 4)
UPDATE mono.http_log
   SET path = (SELECT m[1] || regexp_replace(m[2], '[0-9]', '*', 'g') || m[3]
                 FROM regexp_match(path, '^(.*[?&]phone=)([^&]*)([0-9]{4}(&.*)?)$') m)
 WHERE path ~ '[?&]phone=[^&]*[0-9]{5}';

-- issue 25: mono_worker_status() gains oldest_sendable_seconds, send_rate
-- and seconds_left. A function's result type cannot change in place: it
-- is dropped here and made again by the code parts; the roles that could
-- execute it (a monitoring role) keep that right (sql/parts/90_grants.code.sql
-- grants it again from mono_upgrade.worker_status_grantees).
DO $$
BEGIN
    PERFORM set_config('mono_upgrade.worker_status_grantees',
        coalesce((SELECT string_agg(quote_ident(r.rolname), ',')
                    FROM pg_proc p, aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
                   WHERE p.oid = 'mono_worker_status()'::regprocedure
                     AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner), ''), true);
END;
$$;
DROP FUNCTION mono_worker_status();

-- issue 21: the webhook receiver left the server's process tree; it is the
-- program mono_pay_receiver now (its /metrics page replaces the status)
DROP FUNCTION IF EXISTS mono_receiver_status();

-- issue 22a: statuses Mono reports that mono_pay cannot map are kept as
-- events with the outcome unknown (listed in mono.orphans)
ALTER DOMAIN mono.webhook_outcome DROP CONSTRAINT webhook_outcome_check;
ALTER DOMAIN mono.webhook_outcome ADD CONSTRAINT webhook_outcome_check CHECK (VALUE IN
    ('applied', 'ignored', 'stale', 'unmatched', 'rejected', 'unknown'));
-- issue 22a: requests with a description longer than the 255 characters
-- Mono takes, failed by 0.2.0 as "cannot be encoded as JSON", say why
UPDATE mono.fund_requests
   SET last_error = 'mono_pay could not build a request Mono takes from this row: '
                    'its description is longer than the 255 characters Mono takes'
 WHERE status = 'failed' AND char_length(description) > 255
   AND last_error LIKE '%cannot be encoded as JSON';

-- issue 26: a phone probe of the claim stays an index look-up whatever
-- ANALYZE saw (20_owo.schema.sql); the statistics taken again with it
ALTER TABLE mono.fund_requests ALTER COLUMN phone SET (n_distinct = -1);
ANALYZE mono.fund_requests;

-- issue 23: restored rows leave a mark in mono.node_identity (the trigger
-- mono.restored_rows(), in the code part), which pauses the worker
ALTER TABLE mono.node_identity DROP CONSTRAINT node_identity_recorded_by_check,
    ADD CONSTRAINT node_identity_recorded_by_check
    CHECK (recorded_by IN ('create extension', 'pg_restore', 'upgrade', 'mono_resume',
                           'restored rows'));

-- issue 23b: a promoted standby reconciles with Mono: the references Mono
-- holds that the database does not know
CREATE TABLE mono.unknown_references (
    reference       text PRIMARY KEY,
    mono_id         text,
    amount          bigint,
    phone           text,
    status          text,
    seen_at         timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('mono.unknown_references', '');

------------------------------------------------------------------------
-- issue 24: types
------------------------------------------------------------------------

-- The worker's verdicts become an enum, and its outcomes composite types
-- (20_owo.schema.sql, 30_connect.schema.sql say what each field is): an
-- unknown verdict is an error, and the functions that read outcomes name
-- one type instead of a column list each.
CREATE TYPE mono.verdict AS ENUM (
    'accepted', 'reference_named', 'retry', 'ambiguous', 'refused', 'refused_resend',
    'key_refused',
    'read_failed', 'found', 'foreign', 'partial', 'absent', 'gone', 'present',
    'unrecordable');
CREATE TYPE mono.owo_outcome AS (
    id              bigint,
    verdict         mono.verdict,
    "of"            mono.verdict,
    redirect_url    text,
    mono_id         text,
    mono_status     text,
    http_status     integer,
    trace_id        text,
    last_error      text,
    error_details   jsonb,
    retry_ms        bigint,
    read_offset     integer
);
CREATE TYPE mono.account_outcome AS (
    account_id      text,
    step            text,
    error           text,
    retry_ms        bigint,
    key_refused     boolean,
    account         jsonb,
    refresh         jsonb,
    transactions    jsonb,
    more            boolean,
    skipped         integer,
    event_at        timestamptz,
    unlinked        boolean,
    reauthorized    boolean,
    sync_status     text,
    refresh_requested boolean,
    check_now       boolean
);
-- the functions whose verdict parameters were text (made again by the
-- code parts with mono.verdict)
DROP FUNCTION mono.verdict_expects(text);
DROP FUNCTION mono.charge_verdict(text, text, integer, integer, text, text, text, bigint);
DROP FUNCTION mono.link_verdict(text, text, integer, text, text, bigint);

-- issue 24: the last of the several workers (mono_pay.workers, gone in
-- 0.3.0). The worker that claimed a fund request was always 0; the claim
-- and the start-up recovery lose their worker parameters (a new signature:
-- the old ones go, the code parts make the new ones).
DROP FUNCTION mono.claim_charges(integer, smallint, boolean);
DROP FUNCTION mono.recover_sends(smallint, smallint);
ALTER TABLE mono.fund_requests DROP COLUMN claimed_by;

-- issue 24: mono_pay.one_prompt_per_phone is gone: a phone's next request
-- always waits until the customer has acted on its prompt (Mono's rule).
-- The claims and their phone check lose the parameter.
DROP FUNCTION mono.claim_links(integer, boolean);
DROP FUNCTION mono.phone_is_free(text, bigint, boolean);

-- issue 24: the claims return named row types (20_owo.schema.sql), one
-- per thing handed to the worker, instead of a column list each: a new
-- return type, so the old functions go and the code parts make the new.
CREATE TYPE mono.charge_to_send AS (
    id bigint, attempts integer, reference text, phone text, type text,
    description text, amount bigint, currency text, period text,
    "interval" integer, start_iso text, end_iso text
);
CREATE TYPE mono.link_to_send AS (
    id bigint, attempts integer, action text, phone text, bvn text,
    account_name text, nip_code text, account_number text, mono_id text
);
CREATE TYPE mono.charge_to_read AS (
    id bigint, attempts integer, phone text, reference text, mono_id text,
    amount bigint, type text, http_status integer, list_offset integer,
    payments_offset integer
);
CREATE TYPE mono.link_to_read AS (
    id bigint, attempts integer, action text, phone text, mono_id text,
    linked boolean, list_offset integer
);
DROP FUNCTION mono.claim_first_charge(bigint);
DROP FUNCTION mono.claim_unknown_charges(integer, bigint);
DROP FUNCTION mono.claim_unknown_links(integer, bigint);
DROP FUNCTION mono.claim_poll_charges(integer, bigint, bigint);
DROP FUNCTION mono.claim_poll_links(integer, bigint, bigint);

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
-- keys, which pg_restore -j would break: see mono.check_reference() in
-- 10_common.code.sql and doc/design.md.)
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
-- The claim probes a phone's rows one phone at a time (mono.phone_is_free(),
-- 20_owo_statuses.code.sql), and each probe must stay a look-up of the phone
-- index whatever ANALYZE last saw: after the statistics of a batch of one
-- phone's rows, the planner took every row for a match of any phone and
-- scanned the whole table under every candidate row of a burst (orders of
-- magnitude slower). Planned as if every row had its own phone.
ALTER TABLE mono.fund_requests ALTER COLUMN phone SET (n_distinct = -1);
CREATE INDEX fund_requests_due ON mono.fund_requests (next_attempt_at)
    WHERE status IN ('queued', 'unknown') AND link_id IS NULL;
-- the claim sends a phone's requests one after another (mono.phone_is_free(),
-- 20_owo_statuses.code.sql)
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

-- What the worker (C, src/owo_outcome.c) reports of a call to Mono: the
-- verdict, which mono.charge_verdict() and mono.link_verdict() turn into a
-- status (23_owo_outcomes.code.sql says what each one means). An enum, so
-- that a verdict SQL does not know is an error, never a silent no-op.
-- Of a send (the row is expected in sending), of a settling read (in
-- unknown), and unrecordable (the worker could not record its verdict).
CREATE TYPE mono.verdict AS ENUM (
    'accepted', 'reference_named', 'retry', 'ambiguous', 'refused', 'refused_resend',
    'key_refused',
    'read_failed', 'found', 'foreign', 'partial', 'absent', 'gone', 'present',
    'unrecordable');

-- One outcome the worker records on a fund request or a link, as it sends
-- them in JSON (mono.record_charge_outcomes(), mono.record_link_outcomes()):
-- the row, its verdict ("of": the verdict an unrecordable one stands for),
-- and what Mono answered. A link has no mono_status.
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

-- What the worker's claims (24_owo_claims) hand it, one shape each: a fund
-- request to send (the fields of its body; a description longer than Mono
-- takes comes back NULL), a link or unlink to send, and a fund request or
-- link to read back, by a settling read or by polling (a column the claim
-- does not need is NULL). The C reads them by column name.
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

-- pg_dump keeps every table and sequence that holds user data
SELECT pg_catalog.pg_extension_config_dump('mono.beneficiaries', '');
SELECT pg_catalog.pg_extension_config_dump('mono.beneficiaries_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.fund_requests', '');
SELECT pg_catalog.pg_extension_config_dump('mono.fund_requests_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.payments', '');
SELECT pg_catalog.pg_extension_config_dump('mono.payments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.schedule', '');

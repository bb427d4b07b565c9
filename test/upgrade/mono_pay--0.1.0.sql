-- mono_pay 0.1.0: Mono Direct Charge and Connect inside PostgreSQL
\echo Use "CREATE EXTENSION mono_pay" to load this file. \quit

-- Tables and views live in schema mono; functions in the extension's schema.
CREATE SCHEMA mono;
REVOKE ALL ON SCHEMA mono FROM PUBLIC;

------------------------------------------------------------------------
-- Value rules, as domains: checked when a value is stored, not again on
-- every UPDATE of another column (the worker updates rows twice per send)
------------------------------------------------------------------------
-- phone: ^234[0-9]{10}$ and reference: ^[A-Za-z0-9]{8,32}$, checked in C
-- (a regular expression costs more than the rest of an insert)
CREATE FUNCTION mono.is_phone(text) RETURNS boolean
AS 'MODULE_PATHNAME', 'mono_is_phone' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION mono.is_reference(text) RETURNS boolean
AS 'MODULE_PATHNAME', 'mono_is_reference' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE DOMAIN mono.phone AS text CHECK (mono.is_phone(VALUE));
CREATE DOMAIN mono.reference AS text CHECK (mono.is_reference(VALUE));
CREATE DOMAIN mono.nip_code AS text CHECK (VALUE ~ '^[0-9]{6}$');
CREATE DOMAIN mono.nuban AS text CHECK (VALUE ~ '^[0-9]{10}$');
CREATE DOMAIN mono.bvn AS text CHECK (VALUE ~ '^[0-9]{11}$');
CREATE DOMAIN mono.account_name AS text CHECK (char_length(VALUE) BETWEEN 2 AND 100);
CREATE DOMAIN mono.description AS text CHECK (btrim(VALUE) <> '');
CREATE DOMAIN mono.kobo AS bigint CHECK (VALUE > 0);
CREATE DOMAIN mono.currency AS text CHECK (VALUE = 'NGN');
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
CREATE DOMAIN mono.paid_kobo AS bigint CHECK (VALUE >= 0);
CREATE DOMAIN mono.instalment_seq AS integer CHECK (VALUE >= 1);
CREATE DOMAIN mono.instalment_status AS text CHECK (VALUE IN
    ('upcoming', 'due', 'paid', 'failed', 'missed'));
CREATE DOMAIN mono.webhook_outcome AS text CHECK (VALUE IN
    ('applied', 'ignored', 'stale', 'unmatched'));

------------------------------------------------------------------------
-- Direct Charge: links, fund requests, debits, instalments
------------------------------------------------------------------------

-- A bank-account link (beneficiary) of a WhatsApp user, and its outbox state.
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
    unlinked_at     timestamptz
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
    link_id         bigint REFERENCES mono.beneficiaries (id),
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
    CHECK ((type = 'onetime' AND period IS NULL)
           OR (type = 'recurring' AND period IS NOT NULL
               AND "interval" IS NOT NULL AND start_date IS NOT NULL)),
    CHECK (end_date IS NULL OR end_date > start_date)
);
-- ids are taken in bulk by trigger-charged INSERT ... SELECT
ALTER SEQUENCE mono.fund_requests_id_seq CACHE 64;
CREATE INDEX fund_requests_due ON mono.fund_requests (next_attempt_at)
    WHERE status IN ('queued', 'unknown') AND link_id IS NULL;
CREATE INDEX fund_requests_link ON mono.fund_requests (link_id)
    WHERE link_id IS NOT NULL;
-- Mono's id, once known (partial: rows without one cost no index entry)
CREATE UNIQUE INDEX fund_requests_mono_id ON mono.fund_requests (mono_id)
    WHERE mono_id IS NOT NULL;
-- an unlink cancels the phone's recurring requests
CREATE INDEX fund_requests_recurring_phone ON mono.fund_requests (phone)
    WHERE type = 'recurring';
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
    fund_request_id bigint REFERENCES mono.fund_requests (id),
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
    fund_request_id bigint NOT NULL REFERENCES mono.fund_requests (id) ON DELETE CASCADE,
    seq             mono.instalment_seq NOT NULL,
    due_at          timestamptz NOT NULL,
    status          mono.instalment_status NOT NULL DEFAULT 'upcoming',
    payment_id      bigint REFERENCES mono.payments (id),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fund_request_id, seq)
);
CREATE INDEX schedule_open ON mono.schedule (due_at)
    WHERE status IN ('upcoming', 'due', 'failed');

-- Every webhook received, raw, de-duplicated by event_id (or a body hash).
CREATE TABLE mono.webhook_events (
    id              bigserial PRIMARY KEY,
    event_id        text NOT NULL UNIQUE,
    event           text NOT NULL,
    body            jsonb NOT NULL,
    mono_ref        text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    applied_at      timestamptz,
    outcome         mono.webhook_outcome NOT NULL
);
CREATE INDEX webhook_events_received ON mono.webhook_events (received_at);
-- events waiting for the Mono id they name (e.g. approved before created)
CREATE INDEX webhook_events_unmatched ON mono.webhook_events (mono_ref)
    WHERE outcome = 'unmatched';

------------------------------------------------------------------------
-- Connect: accounts, transactions, monthly flows
------------------------------------------------------------------------

-- A Mono Connect account and its data status.
CREATE TABLE mono.accounts (
    account_id      text PRIMARY KEY,
    name            text,
    account_number  text,
    type            text,
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
    next_sync_at    timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_next_sync ON mono.accounts (next_sync_at) WHERE tracked;

-- Transactions of a Connect account.
CREATE TABLE mono.transactions (
    account_id      text NOT NULL REFERENCES mono.accounts (account_id) ON DELETE CASCADE,
    id              text NOT NULL,
    narration       text,
    amount          bigint NOT NULL CHECK (amount >= 0),
    type            text NOT NULL CHECK (type IN ('debit', 'credit')),
    balance         bigint,
    date            timestamptz NOT NULL,
    category        text,
    PRIMARY KEY (account_id, id)
);

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

------------------------------------------------------------------------
-- Operations
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

------------------------------------------------------------------------
-- pg_dump keeps every table and sequence that holds user data
------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('mono.beneficiaries', '');
SELECT pg_catalog.pg_extension_config_dump('mono.beneficiaries_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.fund_requests', '');
SELECT pg_catalog.pg_extension_config_dump('mono.fund_requests_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.payments', '');
SELECT pg_catalog.pg_extension_config_dump('mono.payments_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.schedule', '');
SELECT pg_catalog.pg_extension_config_dump('mono.webhook_events', '');
SELECT pg_catalog.pg_extension_config_dump('mono.webhook_events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('mono.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('mono.transactions', '');
SELECT pg_catalog.pg_extension_config_dump('mono.account_flows', '');
SELECT pg_catalog.pg_extension_config_dump('mono.http_log', '');
SELECT pg_catalog.pg_extension_config_dump('mono.http_log_id_seq', '');

------------------------------------------------------------------------
-- Views for analysts
------------------------------------------------------------------------

-- Monthly flows per account: Mono's figures where fetched, else sums of
-- synced transactions (months in UTC). Each direction is its own branch
-- (WHERE direction = ... skips the other), transactions are summed per month
-- before the months Mono reported are set aside, and an account's months
-- come from an index-only scan (transactions_account_date).
CREATE VIEW mono.flows AS
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

CREATE VIEW mono.inflow AS
SELECT account_id, period, amount, amount_naira, transaction_count, source
  FROM mono.flows WHERE direction = 'inflow';

CREATE VIEW mono.outflow AS
SELECT account_id, period, amount, amount_naira, transaction_count, source
  FROM mono.flows WHERE direction = 'outflow';

------------------------------------------------------------------------
-- Notifications: every status change of a link or fund request, except to
-- queued (made by the application's own transaction, or a retry: nothing to
-- tell; and PREPARE TRANSACTION refuses a transaction that sent NOTIFY)
------------------------------------------------------------------------

-- Sends NOTIFY mono_pay with the table, id, reference and new status (C, notify.c).
CREATE FUNCTION mono.notify_status() RETURNS trigger
AS 'MODULE_PATHNAME', 'mono_notify_status'
LANGUAGE C;

CREATE TRIGGER notify_update AFTER UPDATE OF status ON mono.beneficiaries
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'queued')
    EXECUTE FUNCTION mono.notify_status();
CREATE TRIGGER notify_update AFTER UPDATE OF status ON mono.fund_requests
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'queued')
    EXECUTE FUNCTION mono.notify_status();

------------------------------------------------------------------------
-- The state machine: webhooks and polling reads both go through here
--
-- These internal functions carry no SET search_path: PUBLIC cannot call
-- them, the SECURITY DEFINER entry points that do (and the worker) run with
-- a pinned search_path, every relation is schema-qualified, and a SET clause
-- would cost a search-path recomputation on every call (and forbid inlining).
------------------------------------------------------------------------

-- The order of fund request states. A row only ever moves to a higher rank;
-- rank 9 is final (completed, expired, failed, cancelled).
-- (No SET clause: it must stay inlinable; it names nothing but literals.)
CREATE FUNCTION mono.fund_request_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status
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

-- A setting of mono_pay as an interval (units as SHOW prints them).
CREATE FUNCTION mono.setting_interval(name text) RETURNS interval
LANGUAGE sql STABLE AS $$
    SELECT current_setting('mono_pay.' || name)::interval
$$;

-- Move a fund request to a higher-ranked status; false when that would go
-- backwards. A local expiry (approval window) is only a guess: whatever Mono
-- reports after it, from approved on, replaces it.
CREATE FUNCTION mono.advance_fund_request(p_id bigint, p_status text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mono.fund_requests
       SET status = p_status, expired_locally = false, updated_at = now(),
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
CREATE FUNCTION mono.stop_polling_if_settled(p_id bigint) RETURNS void
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
CREATE FUNCTION mono.instalment_for(p_fund_request_id bigint, p_at timestamptz) RETURNS integer
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
CREATE FUNCTION mono.refresh_instalment(p_fund_request_id bigint, p_seq integer) RETURNS void
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
CREATE FUNCTION mono.match_payment(p_payment_id bigint) RETURNS void
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
-- falls on the last day of shorter months and returns to the 31st).
CREATE FUNCTION mono.plan_instalments(p_fund_request_id bigint, p_until timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    f record;
    v_step interval;
    v_n integer;
BEGIN
    SELECT * INTO f FROM mono.fund_requests WHERE id = p_fund_request_id AND type = 'recurring';
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    v_step := ('1 ' || f.period)::interval * f."interval";
    -- an upper bound on the count, from the shortest length of a period
    v_n := least(9999, greatest(0, ceil(extract(epoch FROM
               least(coalesce(f.end_date, 'infinity'), p_until) - f.start_date)
               / (86400.0 * f."interval" * CASE f.period WHEN 'day' THEN 1 WHEN 'week' THEN 7
                                                         WHEN 'month' THEN 28 ELSE 365 END)))::integer);
    INSERT INTO mono.schedule (fund_request_id, seq, due_at)
    SELECT f.id, n + 1, (f.start_date AT TIME ZONE 'UTC' + v_step * n) AT TIME ZONE 'UTC'
      FROM generate_series(0, v_n) AS n
     WHERE (f.start_date AT TIME ZONE 'UTC' + v_step * n) AT TIME ZONE 'UTC'
               <= least(coalesce(f.end_date, 'infinity'), p_until)
        OR n = 0
    ON CONFLICT (fund_request_id, seq) DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END;
$$;

-- Plan the instalments of a new recurring request (a year ahead when open-ended).
CREATE FUNCTION mono.plan_new_schedule() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mono.plan_instalments(NEW.id, greatest(now(), NEW.start_date) + interval '1 year');
    RETURN NULL;
END;
$$;

CREATE TRIGGER plan_schedule AFTER INSERT ON mono.fund_requests
    FOR EACH ROW WHEN (NEW.type = 'recurring')
    EXECUTE FUNCTION mono.plan_new_schedule();

-- Apply a Direct Charge ("owo") event, from a webhook or a polling read.
-- Returns applied, stale (would move a row backwards, or already known),
-- unmatched (names a Mono id we have not learned yet: replayed when we do)
-- or ignored (not an owo event we know).
CREATE FUNCTION mono.apply_owo_event(p_event text, p_data jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    CASE
    WHEN p_event = 'owo.beneficiary.linked' THEN
        RETURN mono.apply_linked(p_data);
    WHEN p_event = 'owo.beneficiary.unlinked' THEN
        RETURN mono.apply_unlinked(p_data);
    WHEN p_event = 'owo.fundrequest.created' THEN
        RETURN mono.apply_created(p_data);
    WHEN p_event IN ('owo.fundrequest.approved', 'owo.fundrequest.processing',
                     'owo.fundrequest.active', 'owo.fundrequest.completed',
                     'owo.fundrequest.expired', 'owo.fundrequest.cancelled') THEN
        RETURN mono.apply_fund_request_status(p_data ->> 'id', split_part(p_event, '.', 3));
    WHEN p_event IN ('owo.payment.successful', 'owo.payment.failed') THEN
        RETURN mono.apply_payment(p_data, split_part(p_event, '.', 3));
    ELSE
        RETURN 'ignored';
    END CASE;
END;
$$;

-- owo.beneficiary.linked: the phone's pending link gets its Mono id (and is
-- read back now and then from now on: an unlink made in WhatsApp).
CREATE FUNCTION mono.apply_linked(p_data jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mono.beneficiaries
       SET mono_id = p_data ->> 'id', status = 'linked', bvn = NULL,
           linked_at = coalesce(linked_at, now()), updated_at = now(),
           next_poll_at = coalesce(next_poll_at, now() + coalesce(
               nullif(current_setting('mono_pay.poll_max', true), ''), '6h')::interval)
     WHERE phone = p_data ->> 'phone' AND action = 'link'
       AND status IN ('queued', 'sending', 'awaiting_authorization', 'unknown');
    IF FOUND THEN
        PERFORM mono.replay_unmatched(p_data ->> 'id');
        RETURN 'applied';
    END IF;
    IF EXISTS (SELECT 1 FROM mono.beneficiaries WHERE mono_id = p_data ->> 'id') THEN
        RETURN 'stale';
    END IF;
    RETURN 'unmatched';
END;
$$;

-- owo.beneficiary.unlinked: the link ends, and with it its recurring requests.
CREATE FUNCTION mono.apply_unlinked(p_data jsonb) RETURNS text
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
CREATE FUNCTION mono.cancel_link_requests(p_link_id bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    b record;
    n integer;
BEGIN
    SELECT mono_id, phone INTO b FROM mono.beneficiaries WHERE id = p_link_id;
    UPDATE mono.fund_requests
       SET status = 'cancelled', updated_at = now()
     WHERE type = 'recurring'
       AND status IN ('awaiting_authorization', 'created', 'approved', 'processing', 'active')
       AND (beneficiary_mono_id = b.mono_id
            OR (beneficiary_mono_id IS NULL AND phone = b.phone));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;

-- A link that ends (unlink answered, webhook, or never sent) ends its
-- recurring requests, whoever recorded it.
CREATE FUNCTION mono.on_link_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mono.cancel_link_requests(NEW.id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER link_ended AFTER UPDATE OF status ON mono.beneficiaries
    FOR EACH ROW WHEN (NEW.status = 'unlinked' AND OLD.status <> 'unlinked')
    EXECUTE FUNCTION mono.on_link_ended();

-- owo.fundrequest.created: our request (by reference) learns its Mono id.
CREATE FUNCTION mono.apply_created(p_data jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    f record;
    v_moved boolean;
BEGIN
    SELECT id, mono_id INTO f FROM mono.fund_requests
     WHERE reference = p_data ->> 'reference' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unmatched';
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

-- owo.fundrequest.<status>: move the request named by its Mono id forward.
CREATE FUNCTION mono.apply_fund_request_status(p_mono_id text, p_status text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT id INTO v_id FROM mono.fund_requests WHERE mono_id = p_mono_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'unmatched';
    END IF;
    IF NOT mono.advance_fund_request(v_id, p_status) THEN
        RETURN 'stale';
    END IF;
    PERFORM mono.stop_polling_if_settled(v_id);
    RETURN 'applied';
END;
$$;

-- owo.payment.successful / failed: one debit, kept once, matched to its instalment.
CREATE FUNCTION mono.apply_payment(p_data jsonb, p_status text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_fund_request bigint;
    v_type text;
    v_status text;
BEGIN
    SELECT id, type, status INTO v_fund_request, v_type, v_status
      FROM mono.fund_requests WHERE mono_id = p_data ->> 'fund_request';
    INSERT INTO mono.payments (mono_id, fund_request_id, fund_request_mono_id, reference,
                               amount, currency, status, message, processed_at, session_id)
    VALUES (p_data ->> 'id', v_fund_request,
            p_data ->> 'fund_request', p_data ->> 'reference',
            (p_data ->> 'amount')::bigint, coalesce(p_data ->> 'currency', 'NGN'),
            p_status, p_data ->> 'message',
            (p_data ->> 'processed_at')::timestamptz, p_data ->> 'session_id')
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

-- Apply, in order, the events a polling read stands for: [{event, data}, ...].
CREATE FUNCTION mono.apply_owo_events(p_events jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e jsonb;
BEGIN
    FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
        PERFORM mono.apply_owo_event(e ->> 'event', e -> 'data');
    END LOOP;
END;
$$;

-- Apply again the stored events that waited for the Mono id p_mono_id.
CREATE FUNCTION mono.replay_unmatched(p_mono_id text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e record;
    v_outcome text;
BEGIN
    FOR e IN SELECT id, event, body FROM mono.webhook_events
              WHERE outcome = 'unmatched' AND mono_ref = p_mono_id ORDER BY id
    LOOP
        v_outcome := mono.apply_owo_event(e.event, e.body -> 'data');
        UPDATE mono.webhook_events
           SET outcome = v_outcome,
               applied_at = CASE WHEN v_outcome = 'applied' THEN now() END
         WHERE id = e.id;
    END LOOP;
END;
$$;

-- Apply a verified webhook and store it once (by event_id), with its
-- outcome: one row written per event. Returns 'applied', 'duplicate' or
-- 'ignored' (stored, not applied now: unknown type, stale, or waiting for an
-- id; the row's outcome says which).
CREATE FUNCTION mono.ingest_webhook(p_event_id text, p_event text, p_body jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_outcome text;
BEGIN
    IF EXISTS (SELECT 1 FROM mono.webhook_events WHERE event_id = p_event_id) THEN
        RETURN 'duplicate';
    END IF;
    IF p_event LIKE 'owo.%' THEN
        v_outcome := mono.apply_owo_event(p_event, p_body -> 'data');
    ELSIF p_event LIKE 'mono.%' THEN
        v_outcome := mono.apply_connect_event(p_event, p_body);
    ELSE
        v_outcome := 'ignored';
    END IF;
    -- stored once, with its outcome; a delivery of the same event committed
    -- meanwhile wins the insert (applying an event twice changes nothing:
    -- every step of the state machine is idempotent)
    INSERT INTO mono.webhook_events (event_id, event, body, mono_ref, outcome, applied_at)
    VALUES (p_event_id, p_event, p_body,
            coalesce(p_body -> 'data' ->> 'id', p_body -> 'data' ->> 'fund_request'),
            v_outcome, CASE WHEN v_outcome = 'applied' THEN now() END)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN 'duplicate';
    END IF;
    RETURN CASE v_outcome WHEN 'applied' THEN 'applied' ELSE 'ignored' END;
END;
$$;

-- The worker's periodic upkeep: instalments fall due or are missed (with a
-- NOTIFY each), open-ended schedules are extended, requests nobody
-- authorised within mono_pay.approval_window expire, and mono.http_log
-- keeps mono_pay.http_log_retention. The settings are read once, so every
-- statement compares with a constant and uses its index: upkeep costs what
-- is due, not the size of the tables.
CREATE FUNCTION mono.maintain() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s record;
    v_missed_before timestamptz := now() - mono.setting_interval('schedule_grace');
    v_expire_before timestamptz := now() - mono.setting_interval('approval_window');
    v_log_before timestamptz := now() - mono.setting_interval('http_log_retention');
BEGIN
    -- a request that failed, expired or was cancelled misses nothing
    UPDATE mono.schedule sc SET status = 'due', updated_at = now()
      FROM mono.fund_requests f
     WHERE sc.status = 'upcoming' AND sc.due_at <= now()
       AND f.id = sc.fund_request_id AND f.status NOT IN ('failed', 'expired', 'cancelled');
    FOR s IN
        UPDATE mono.schedule sc SET status = 'missed', updated_at = now()
          FROM mono.fund_requests f
         WHERE sc.status = 'due'
           AND sc.due_at < v_missed_before
           AND f.id = sc.fund_request_id AND f.status NOT IN ('failed', 'expired', 'cancelled')
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
            < now() + interval '3 months';
    UPDATE mono.fund_requests
       SET status = 'expired', expired_locally = true, updated_at = now(),
           last_error = 'not authorised within mono_pay.approval_window'
     WHERE status = 'awaiting_authorization'
       AND accepted_at < v_expire_before;
    DELETE FROM mono.http_log
     WHERE at < v_log_before;
END;
$$;

-- Instalments with their request, for analysts.
CREATE VIEW mono.instalments AS
SELECT s.fund_request_id, f.reference, f.phone, f.amount, f.period, f."interval",
       f.status AS fund_request_status, s.seq, s.due_at, s.status,
       p.mono_id AS payment_mono_id, p.processed_at AS paid_at, p.message
  FROM mono.schedule s
  JOIN mono.fund_requests f ON f.id = s.fund_request_id
  LEFT JOIN mono.payments p ON p.id = s.payment_id;

------------------------------------------------------------------------
-- SQL functions (C)
------------------------------------------------------------------------

CREATE FUNCTION mono_user_status(phone_number text)
RETURNS TABLE (phone text, "exists" boolean, status text)
AS 'MODULE_PATHNAME', 'mono_user_status'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION mono_link_beneficiary(phone text, account_name text, nip_code text,
                                      account_number text, bvn text DEFAULT NULL,
                                      first_charge_amount bigint DEFAULT NULL,
                                      first_charge_description text DEFAULT NULL)
RETURNS mono.beneficiaries
AS 'MODULE_PATHNAME', 'mono_link_beneficiary'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION mono_charge(phone text, amount bigint, description text,
                            reference text DEFAULT NULL, period text DEFAULT NULL,
                            "interval" integer DEFAULT 1,
                            start_date timestamptz DEFAULT NULL,
                            end_date timestamptz DEFAULT NULL,
                            currency text DEFAULT 'NGN')
RETURNS mono.fund_requests
AS 'MODULE_PATHNAME', 'mono_charge'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION mono_unlink_beneficiary(phone text)
RETURNS mono.beneficiaries
AS 'MODULE_PATHNAME', 'mono_unlink_beneficiary'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION mono_wait(reference text, timeout interval DEFAULT '10 seconds')
RETURNS mono.fund_requests
AS 'MODULE_PATHNAME', 'mono_wait'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

-- Not SECURITY DEFINER: it only validates and buffers; the buffered rows are
-- inserted with the extension owner's privileges (batch.c).
CREATE FUNCTION mono_charge_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'mono_charge_trigger'
LANGUAGE C;

CREATE FUNCTION mono_handle_webhook(body text, secret text)
RETURNS text
AS 'MODULE_PATHNAME', 'mono_handle_webhook'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION mono_worker_status()
RETURNS TABLE (running boolean, pid integer, state text, database text,
               queued bigint, sending bigint, unknown bigint,
               awaiting_authorization bigint, in_flight integer,
               sent_total bigint, last_error text, last_error_at timestamptz,
               config_loaded_at timestamptz, workers integer)
AS 'MODULE_PATHNAME', 'mono_worker_status'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; grant explicitly (see README)
------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA mono FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA mono FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.notify_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_user_status(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_link_beneficiary(text, text, text, text, text, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_charge(text, bigint, text, text, text, integer, timestamptz, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_unlink_beneficiary(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_wait(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_charge_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_worker_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_handle_webhook(text, text) FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mono FROM PUBLIC;

------------------------------------------------------------------------
-- Connect: account sync, webhooks, inflow/outflow
-- (this section is owned by the Connect work; keep other edits above it)
------------------------------------------------------------------------

-- The worker's state of each account (src/connect.c): the call it makes
-- next (details, refresh or transactions) and when (next_sync_at), the
-- lease of a call in flight, a real-time refresh whose outcome is not known
-- yet, and where a transactions pull has got to.
ALTER TABLE mono.accounts
    ADD COLUMN next_step text NOT NULL DEFAULT 'details'
        CHECK (next_step IN ('details', 'refresh', 'transactions')),
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN refresh_pending boolean NOT NULL DEFAULT false,
    ADD COLUMN transactions_page integer NOT NULL DEFAULT 1
        CHECK (transactions_page >= 1),
    ADD COLUMN transactions_since date,
    ALTER COLUMN next_sync_at SET DEFAULT now();

-- An account's transactions by date, covering type and amount: the newest
-- one (where a pull starts) and an account's monthly sums in mono.flows are
-- read from the index alone.
CREATE INDEX transactions_account_date ON mono.transactions (account_id, date)
    INCLUDE (type, amount);

-- mono_pay.account_refresh_interval as an interval (1 hour when unset).
CREATE FUNCTION mono.account_refresh_interval() RETURNS interval
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(nullif(current_setting('mono_pay.account_refresh_interval', true), ''),
                    '1h')::interval
$$;

-- May a real-time refresh start now? Mono allows one per account per 5 minutes.
CREATE FUNCTION mono.realtime_allowed(last_refresh_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT $1 IS NULL OR $1 <= now() - interval '5 minutes'
$$;

-- data_status as stored: upper case whatever case Mono sends; NULL when it
-- is not one of the five Mono documents.
CREATE FUNCTION mono.normalize_data_status(data_status text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s FROM (SELECT upper(btrim($1)) AS s) x
     WHERE s IN ('AVAILABLE', 'PARTIAL', 'UNAVAILABLE', 'FAILED', 'PROCESSING')
$$;

-- retrieved_data as stored: the array's strings in lower case; NULL when
-- it is not an array.
CREATE FUNCTION mono.normalize_retrieved_data(retrieved_data jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN jsonb_typeof($1) = 'array' THEN
           ARRAY(SELECT lower(btrim(e #>> '{}')) FROM jsonb_array_elements($1) e
                  WHERE jsonb_typeof(e) = 'string') END
$$;

-- The data_status rules (mono-api.md §3.2), the one place they are written:
-- what to do about an item ('balance' or 'transactions') of an account.
--   AVAILABLE                          read   the item may be read
--   PARTIAL, item in retrieved_data    read
--   PARTIAL, item not retrieved        skip   record the account, fetch nothing
--   UNAVAILABLE                        skip
--   PROCESSING (or not known yet)      wait   check the details again soon
--   FAILED (a Mono-side fault)         retry  check again after a backoff
-- Case-insensitive, like Mono's payloads (older ones are lower case).
CREATE FUNCTION mono.data_status_action(data_status text, retrieved_data text[], item text)
RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE upper(btrim(data_status))
           WHEN 'AVAILABLE' THEN 'read'
           WHEN 'PARTIAL' THEN
                CASE WHEN lower(item) IN (SELECT lower(btrim(x)) FROM unnest(retrieved_data) x)
                     THEN 'read' ELSE 'skip' END
           WHEN 'UNAVAILABLE' THEN 'skip'
           WHEN 'FAILED' THEN 'retry'
           ELSE 'wait'
           END
$$;

-- The worker's retry delay after attempts failures (mono_backoff_ms: base
-- doubling up to mono_pay.retry_max, with jitter).
CREATE FUNCTION mono.backoff(attempts integer) RETURNS interval
AS 'MODULE_PATHNAME', 'mono_connect_backoff'
LANGUAGE C VOLATILE;

-- Wakes the background worker when the current transaction commits.
CREATE FUNCTION mono.wake_worker() RETURNS void
AS 'MODULE_PATHNAME', 'mono_connect_wake'
LANGUAGE C VOLATILE;

-- What the worker does next for an account, and when, from what is known
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
CREATE FUNCTION mono.account_next_step(a mono.accounts, OUT step text, OUT due timestamptz)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    every interval := mono.account_refresh_interval();
    soon interval := least(mono.account_refresh_interval(), interval '1 minute');
BEGIN
    step := 'details';
    IF NOT a.tracked THEN
        RETURN;
    END IF;
    CASE mono.data_status_action(a.data_status, a.retrieved_data, 'transactions')
    WHEN 'wait' THEN
        due := now() + soon;
    WHEN 'retry' THEN
        due := now() + mono.backoff(a.attempts);
    WHEN 'skip' THEN
        due := now() + every;
    ELSE
        IF a.has_new_data OR a.transactions_synced_at IS NULL OR a.transactions_page > 1 THEN
            step := 'transactions';
            due := now();
        ELSIF a.refresh_pending THEN
            step := 'transactions';
            due := greatest(now(), coalesce(a.last_refresh_at, now()) + soon);
        ELSIF a.sync_status IS DISTINCT FROM 'REAUTHORISATION_REQUIRED'
              AND coalesce(a.last_refresh_at, a.transactions_synced_at) <= now() - every
              AND mono.realtime_allowed(a.last_refresh_at) THEN
            step := 'refresh';
            due := now();
        ELSE
            due := now() + every;
        END IF;
    END CASE;
END;
$$;

-- Stores failed calls (outcomes with error): after a 429, a 5xx, a transfer
-- failure or a bad body, the same step again after retry_ms; after another
-- 4xx (no retry_ms), back to details after the refresh interval.
CREATE FUNCTION mono.record_account_failures(outcomes jsonb) RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
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
      FROM jsonb_to_recordset(outcomes) AS o(account_id text, error text, retry_ms bigint)
     WHERE a.account_id = o.account_id AND o.error IS NOT NULL;
$$;

-- Stores account details (outcomes with account): data_status in upper
-- case, retrieved_data in lower case, the balance only while the
-- data_status rules allow reading it. Details from a webhook older than the
-- stored ones change nothing.
CREATE FUNCTION mono.record_account_details(outcomes jsonb, from_webhook boolean) RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
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
           last_synced_at = CASE WHEN from_webhook THEN greatest(a.last_synced_at, o.event_at)
                                 ELSE now() END,
           attempts = CASE WHEN o.ds = 'FAILED' THEN a.attempts + 1 ELSE 0 END,
           last_error = CASE WHEN o.account ? 'data_status' AND o.ds IS NULL
                             THEN format('Mono sent an unknown data_status %s',
                                         o.account ->> 'data_status')
                             WHEN from_webhook THEN a.last_error END,
           updated_at = now()
      FROM (SELECT x.account_id, x.account, x.event_at,
                   mono.normalize_data_status(x.account ->> 'data_status') AS ds,
                   mono.normalize_retrieved_data(x.account -> 'retrieved_data') AS rd
              FROM jsonb_to_recordset(outcomes) AS x(account_id text, account jsonb,
                                                     event_at timestamptz)
             WHERE x.account IS NOT NULL) o
     WHERE a.account_id = o.account_id
       AND (NOT from_webhook OR a.last_synced_at IS NULL OR o.event_at >= a.last_synced_at);

    UPDATE mono.accounts a SET balance = (o.account ->> 'balance')::bigint
      FROM jsonb_to_recordset(outcomes) AS o(account_id text, account jsonb, event_at timestamptz)
     WHERE a.account_id = o.account_id
       AND (o.account ->> 'balance') ~ '^-?[0-9]{1,18}$'
       AND mono.data_status_action(a.data_status, a.retrieved_data, 'balance') = 'read'
       AND (NOT from_webhook OR o.event_at >= a.last_synced_at);
$$;

-- Stores real-time refreshes (outcomes with refresh: our call's headers,
-- or a webhook). New data is kept until pulled, whichever job found it,
-- except that a webhook repeating what the refresh's headers said, about a
-- job whose data has been pulled since, is no news. A job still running
-- (x-job-status processing) leaves refresh_pending until its webhook or the
-- fallback pull settles it. A webhook about an older job than the stored
-- one changes no job field.
CREATE FUNCTION mono.record_account_refreshes(outcomes jsonb) RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    UPDATE mono.accounts a SET
           has_new_data = true,
           refresh_pending = false,
           updated_at = now()
      FROM jsonb_to_recordset(outcomes) AS o(account_id text, refresh jsonb)
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
              FROM jsonb_to_recordset(outcomes) AS x(account_id text, refresh jsonb,
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
CREATE FUNCTION mono.record_account_transactions(outcomes jsonb) RETURNS void
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO mono.transactions AS t (account_id, id, narration, amount, type, balance,
                                        date, category)
    SELECT DISTINCT ON (o.account_id, x.id)
           o.account_id, x.id, x.narration, x.amount, x.type, x.balance, x.date, x.category
      FROM jsonb_to_recordset(outcomes) AS o(account_id text, transactions jsonb)
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
              FROM jsonb_to_recordset(outcomes) AS x(account_id text, transactions jsonb,
                                                     more boolean, skipped integer)
              JOIN mono.accounts y ON y.account_id = x.account_id
             WHERE x.transactions IS NOT NULL) o
     WHERE a.account_id = o.account_id;
$$;

-- Stores what Mono said about accounts and schedules each one's next step.
-- outcomes: a JSON array of objects, each with account_id and any of
--   account        details facts (src/connect_parse.c): name, account_number,
--                  type, currency, balance, institution, customer_id, ref,
--                  auth_method, data_status, retrieved_data, sync_status
--   refresh        {called, job_id, job_status, has_new_data}
--   transactions   [{id, narration, amount, type, balance, date, category}],
--                  with more (a further page) and skipped (unusable items)
--   error, retry_ms  a failed call
--   unlinked, reauthorized, check_now, event_at  (webhooks)
-- source: 'worker' (rows exist and are leased), 'sync' or 'webhook' (rows
-- are created when new; the schedule is left alone while the worker holds
-- a lease). Returns how many of the accounts are due now.
CREATE FUNCTION mono.record_account_outcomes(outcomes jsonb, source text) RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    created text[] := '{}';
    due integer;
BEGIN
    IF source NOT IN ('worker', 'sync', 'webhook') OR jsonb_typeof(outcomes) <> 'array' THEN
        RAISE EXCEPTION 'invalid account outcomes from "%"', source
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- lock the accounts first, in one order: a concurrent DELETE then
    -- either waits for us or is seen by every statement below
    PERFORM 1 FROM mono.accounts a
     WHERE a.account_id IN (SELECT x.account_id
                              FROM jsonb_to_recordset(outcomes) AS x(account_id text))
     ORDER BY a.account_id
       FOR UPDATE;

    -- an account seen for the first time (sync, webhook) gets a row; a
    -- sync (re)starts tracking
    IF source <> 'worker' THEN
        WITH n AS (
            INSERT INTO mono.accounts (account_id, tracked, unlinked)
            SELECT DISTINCT ON (o.account_id) o.account_id,
                   NOT coalesce(o.unlinked, false), coalesce(o.unlinked, false)
              FROM jsonb_to_recordset(outcomes) AS o(account_id text, unlinked boolean)
             ORDER BY o.account_id
            ON CONFLICT (account_id) DO NOTHING
            RETURNING account_id)
        SELECT coalesce(array_agg(account_id), '{}') INTO created FROM n;
    END IF;
    IF source = 'sync' THEN
        UPDATE mono.accounts a SET tracked = true, unlinked = false
          FROM jsonb_to_recordset(outcomes) AS o(account_id text)
         WHERE a.account_id = o.account_id AND NOT (a.tracked AND NOT a.unlinked);
    END IF;

    PERFORM mono.record_account_failures(outcomes);
    PERFORM mono.record_account_details(outcomes, source = 'webhook');
    PERFORM mono.record_account_refreshes(outcomes);
    PERFORM mono.record_account_transactions(outcomes);

    -- unlinked at Mono: no longer tracked; re-authorised: works again
    UPDATE mono.accounts a SET unlinked = true, tracked = false, updated_at = now()
      FROM jsonb_to_recordset(outcomes) AS o(account_id text, unlinked boolean)
     WHERE a.account_id = o.account_id AND o.unlinked;
    UPDATE mono.accounts a SET
           sync_status = CASE WHEN a.sync_status = 'REAUTHORISATION_REQUIRED'
                              THEN NULL ELSE a.sync_status END,
           updated_at = now()
      FROM jsonb_to_recordset(outcomes) AS o(account_id text, reauthorized boolean)
     WHERE a.account_id = o.account_id AND o.reauthorized;

    -- what next, and when (not while the worker holds the account's lease;
    -- check_now, and a webhook's new account: details at once)
    UPDATE mono.accounts a SET
           (next_step, next_sync_at) =
               (SELECT CASE WHEN o.check_now THEN 'details' ELSE s.step END,
                       CASE WHEN o.check_now AND a.tracked THEN now() ELSE s.due END
                  FROM mono.account_next_step(a) s),
           claimed_until = CASE WHEN source = 'worker' THEN NULL ELSE a.claimed_until END
      FROM (SELECT x.account_id,
                   bool_or(coalesce(x.check_now, false)
                           OR (source = 'webhook' AND x.account_id = ANY (created)))
                       AS check_now
              FROM jsonb_to_recordset(outcomes) AS x(account_id text, error text,
                                                     check_now boolean)
             WHERE x.error IS NULL
             GROUP BY x.account_id) o
     WHERE a.account_id = o.account_id
       AND (source = 'worker' OR a.claimed_until IS NULL OR a.claimed_until < now());

    SELECT count(*)::integer INTO due
      FROM mono.accounts a
     WHERE a.account_id IN (SELECT x.account_id
                              FROM jsonb_to_recordset(outcomes) AS x(account_id text))
       AND a.tracked AND a.next_sync_at <= now()
       AND (a.claimed_until IS NULL OR a.claimed_until < now());
    RETURN due;
END;
$$;

-- A webhook's timestamp, or now() when it has none or an unreadable one.
CREATE FUNCTION mono.event_time(ts text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
BEGIN
    RETURN coalesce(ts::timestamptz, now());
EXCEPTION WHEN data_exception THEN
    RETURN now();
END;
$$;

-- The account id a Connect webhook names: an object's _id or id, or a string.
CREATE FUNCTION mono.event_account_id(account jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE jsonb_typeof($1)
           WHEN 'string' THEN $1 #>> '{}'
           WHEN 'object' THEN coalesce($1 ->> '_id', $1 ->> 'id')
           END
$$;

-- The details facts of mono.events.account_updated (camelCase account, meta),
-- in the shape mono.record_account_outcomes() takes.
CREATE FUNCTION mono.event_account_facts(account jsonb, meta jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'name', account ->> 'name',
        'account_number', coalesce(account ->> 'accountNumber', account ->> 'account_number'),
        'type', account ->> 'type',
        'currency', account ->> 'currency',
        'balance', CASE WHEN jsonb_typeof(account -> 'balance') = 'number'
                         AND (account ->> 'balance') ~ '^-?[0-9]{1,18}$'
                        THEN account -> 'balance' END,
        'institution', CASE WHEN jsonb_typeof(account -> 'institution') = 'object'
                            THEN jsonb_build_object(
                                'name', account -> 'institution' ->> 'name',
                                'bank_code', coalesce(account -> 'institution' ->> 'bankCode',
                                                      account -> 'institution' ->> 'bank_code'),
                                'type', account -> 'institution' ->> 'type') END,
        'auth_method', coalesce(meta ->> 'auth_method', account ->> 'authMethod'),
        'ref', meta ->> 'ref',
        'data_status', meta ->> 'data_status',
        'retrieved_data', CASE WHEN jsonb_typeof(meta -> 'retrieved_data') = 'array'
                               THEN meta -> 'retrieved_data' END,
        'sync_status', meta ->> 'sync_status'))
$$;

-- The refresh facts of mono.events.account_updated: has_new_data (present
-- only after a refresh job) settles the job: finished, or failed when
-- sync_status is FAILED.
CREATE FUNCTION mono.event_refresh_facts(meta jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'job_id', meta ->> 'job_id',
        'has_new_data', CASE WHEN lower(meta ->> 'has_new_data') IN ('true', 'false')
                             THEN lower(meta ->> 'has_new_data') = 'true' END,
        'job_status', CASE WHEN lower(meta ->> 'has_new_data') IN ('true', 'false') THEN
                           CASE WHEN upper(meta ->> 'sync_status') = 'FAILED'
                                THEN 'failed' ELSE 'finished' END END))
$$;

-- Applies a Mono Connect webhook event (called by mono_handle_webhook()
-- after it verified and stored the event); returns 'applied' or 'ignored'
-- (an event this function does not know, or one naming no usable account).
-- An account the database does not know yet gets a row, tracked (unless
-- the event unlinks it), and the worker reads its details at once.
--   mono.events.account_updated      details, data status, sync_status
--                                    (REAUTHORISATION_REQUIRED shows there),
--                                    has_new_data: true -> transactions next
--   mono.events.account_connected    data status, auth method, customer, ref
--   mono.events.account_reauthorized clears REAUTHORISATION_REQUIRED; details now
--   mono.events.account_unlinked     unlinked, no longer tracked
--   mono.accounts.jobs.update        the refresh job's status
-- Events never move an account backwards: details older than the stored
-- ones are ignored, new data is kept until pulled.
CREATE FUNCTION mono.apply_connect_event(event text, body jsonb) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    data jsonb := CASE WHEN jsonb_typeof(body -> 'data') = 'object' THEN body -> 'data'
                       ELSE '{}' END;
    meta jsonb := CASE WHEN jsonb_typeof(body -> 'data' -> 'meta') = 'object'
                       THEN body -> 'data' -> 'meta' ELSE '{}' END;
    account_id text;
    o jsonb;
BEGIN
    CASE event
    WHEN 'mono.events.account_updated' THEN
        account_id := mono.event_account_id(data -> 'account');
        o := jsonb_build_object('account', mono.event_account_facts(
                                    CASE WHEN jsonb_typeof(data -> 'account') = 'object'
                                         THEN data -> 'account' ELSE '{}' END, meta),
                                'refresh', mono.event_refresh_facts(meta));
    WHEN 'mono.events.account_connected' THEN
        account_id := coalesce(data ->> 'id', mono.event_account_id(data -> 'account'));
        o := jsonb_build_object('check_now', true, 'account', jsonb_strip_nulls(jsonb_build_object(
                 'data_status', meta ->> 'data_status',
                 'auth_method', meta ->> 'auth_method',
                 'ref', meta ->> 'ref',
                 'customer_id', mono.event_account_id(data -> 'customer'))));
    WHEN 'mono.events.account_reauthorized' THEN
        account_id := coalesce(mono.event_account_id(data -> 'account'), data ->> 'id');
        o := jsonb_build_object('reauthorized', true, 'check_now', true);
    WHEN 'mono.events.account_unlinked' THEN
        account_id := coalesce(mono.event_account_id(data -> 'account'), data ->> 'id');
        o := jsonb_build_object('unlinked', true);
    WHEN 'mono.accounts.jobs.update' THEN
        account_id := mono.event_account_id(data -> 'account');
        o := jsonb_build_object('refresh', jsonb_strip_nulls(jsonb_build_object(
                 'job_id', data ->> 'id', 'job_status', lower(data ->> 'status'))));
    ELSE
        RETURN 'ignored';
    END CASE;
    IF account_id IS NULL OR account_id !~ '^[A-Za-z0-9_-]{1,64}$' THEN
        RETURN 'ignored';
    END IF;
    PERFORM mono.record_account_outcomes(jsonb_build_array(o || jsonb_build_object(
                'account_id', account_id,
                'event_at', mono.event_time(body ->> 'timestamp'))), 'webhook');
    PERFORM mono.wake_worker();
    RETURN 'applied';
END;
$$;

------------------------------------------------------------------------
-- Connect's SQL functions (C)
------------------------------------------------------------------------

CREATE FUNCTION mono_account_sync(account_id text, realtime boolean DEFAULT false)
RETURNS mono.accounts
AS 'MODULE_PATHNAME', 'mono_account_sync'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION mono_inflow(account_id text)
RETURNS SETOF mono.account_flows
AS 'MODULE_PATHNAME', 'mono_inflow'
LANGUAGE C CALLED ON NULL INPUT VOLATILE ROWS 12
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION mono_outflow(account_id text)
RETURNS SETOF mono.account_flows
AS 'MODULE_PATHNAME', 'mono_outflow'
LANGUAGE C CALLED ON NULL INPUT VOLATILE ROWS 12
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- nothing for PUBLIC (the REVOKEs above ran before these existed)
REVOKE ALL ON ALL TABLES IN SCHEMA mono FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.account_refresh_interval() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.realtime_allowed(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.normalize_data_status(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.normalize_retrieved_data(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.data_status_action(text, text[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.backoff(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.wake_worker() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.account_next_step(mono.accounts) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.record_account_failures(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.record_account_details(jsonb, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.record_account_refreshes(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.record_account_transactions(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.record_account_outcomes(jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.event_time(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.event_account_id(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.event_account_facts(jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.event_refresh_facts(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono.apply_connect_event(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_account_sync(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_inflow(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_outflow(text) FROM PUBLIC;

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
    transactions_since date,
    -- when the stored balance was read from Mono (a details read, or the
    -- time of the webhook that carried it): how old the balance is
    balance_updated_at timestamptz,
    -- a real-time refresh asked for by mono_account_sync(id, true), which
    -- the worker makes after COMMIT (NULL: none waiting)
    refresh_requested_at timestamptz
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

-- One outcome about an account, as the worker (src/connect_worker.c), a
-- webhook (mono.apply_connect_event()) or mono_account_sync() send them in
-- JSON to mono.record_account_outcomes(): each names the account and
-- carries some of the other fields.
CREATE TYPE mono.account_outcome AS (
    account_id      text,
    -- the worker's call: details, refresh or transactions
    step            text,
    -- a failed call: its error; retry_ms (NULL: no retry, back to details
    -- after the refresh interval); key_refused (Mono refused the key)
    error           text,
    retry_ms        bigint,
    key_refused     boolean,
    -- account details (Mono's account object, read by connect_parse.c)
    account         jsonb,
    -- a real-time refresh: {called, job_id, job_status, has_new_data}
    refresh         jsonb,
    -- a page of transactions, whether another follows, and how many of
    -- its items had an unusable shape
    transactions    jsonb,
    more            boolean,
    skipped         integer,
    -- a webhook's time (details older than the stored ones change nothing)
    event_at        timestamptz,
    unlinked        boolean,
    reauthorized    boolean,
    sync_status     text,
    -- mono_account_sync(id, true): a real-time refresh is asked for
    refresh_requested boolean,
    -- look at the account now (its next step: details, due at once)
    check_now       boolean
);

-- pg_dump keeps every table that holds user data
SELECT pg_catalog.pg_extension_config_dump('mono.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('mono.transactions', '');
SELECT pg_catalog.pg_extension_config_dump('mono.account_flows', '');
SELECT pg_catalog.pg_extension_config_dump('mono.account_flow_totals', '');

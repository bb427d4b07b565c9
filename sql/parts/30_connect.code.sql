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

-- Is a real-time refresh of the account due now? Mono allows one per
-- account per 5 minutes, and bills those that find new data. It is due
--   when mono_account_sync(id, true) asked for one (refresh_requested_at),
--     once the account may refresh (mono.may_refresh()) and Mono allows it;
--   else, on the worker's own schedule, once per p_every (and never
--     within 5 minutes of the last) for an account that may refresh and needs no
--     re-authorisation: an AVAILABLE account (or a PARTIAL one with its
--     transactions) an interval after its last refresh or full pull, and a
--     FAILED, UNAVAILABLE or PARTIAL one an interval after its last refresh
--     (at once when it never had one): a sync is how an account leaves those
--     statuses (Mono's sync table, doc/mono-api.md §4).
CREATE OR REPLACE FUNCTION mono.refresh_due(p_account mono.accounts, p_every interval) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT mono.may_refresh(p_account.data_status)
       AND mono.realtime_allowed(p_account.last_refresh_at)
       AND (p_account.refresh_requested_at IS NOT NULL
            OR (p_account.sync_status IS DISTINCT FROM 'REAUTHORISATION_REQUIRED'
                AND coalesce(p_account.last_refresh_at,
                             CASE mono.data_status_action(p_account.data_status,
                                                          p_account.retrieved_data, 'transactions')
                             WHEN 'read' THEN p_account.transactions_synced_at
                             ELSE '-infinity' END)
                    <= now() - p_every))
$$;

-- What the worker does next for an account, and when: its next step and
-- when it is due (the one place the worker's schedule is decided):
--   untracked                              nothing
--   transactions: wait (PROCESSING)        details again after a minute
--                                            (at most the interval), doubling
--                                            with each read, up to the interval
--   a refresh asked for and allowed        refresh now (not in the middle of a
--     (mono.refresh_due())                   paged pull)
--   transactions: read, and new data,      transactions now
--     never pulled, or a pull in progress
--   a refresh still running at Mono        transactions (read) or details
--                                            min(interval, 1 min) after it
--                                            started, unless its webhook says
--                                            first
--   a refresh due (mono.refresh_due())     refresh now
--   a refresh ended since the details      details now (the balance and the
--     were last read                         data_status it brought)
--   transactions: retry (FAILED)           details again after mono.backoff(attempts)
--   otherwise                              details again after the interval
CREATE OR REPLACE FUNCTION mono.account_next_step(p_account mono.accounts, OUT step text, OUT due timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_every interval := mono.account_refresh_interval();
    v_soon interval := least(mono.account_refresh_interval(), interval '1 minute');
    v_action text := mono.data_status_action(p_account.data_status, p_account.retrieved_data,
                                             'transactions');
BEGIN
    step := 'details';
    IF NOT p_account.tracked THEN
        RETURN;
    ELSIF v_action = 'wait' THEN
        due := now() + least(v_soon * power(2, least(greatest(p_account.attempts - 1, 0), 20)),
                             greatest(v_every, v_soon));
    ELSIF p_account.refresh_requested_at IS NOT NULL AND p_account.transactions_page = 1
          AND mono.refresh_due(p_account, v_every) THEN
        step := 'refresh';
        due := now();
    ELSIF v_action = 'read' AND (p_account.has_new_data OR p_account.transactions_synced_at IS NULL
                                 OR p_account.transactions_page > 1) THEN
        step := 'transactions';
        due := now();
    ELSIF p_account.refresh_pending
          AND (v_action = 'read' OR coalesce(p_account.last_synced_at, '-infinity')
                                    < p_account.last_refresh_at + v_soon) THEN
        step := CASE WHEN v_action = 'read' THEN 'transactions' ELSE 'details' END;
        due := greatest(now(), coalesce(p_account.last_refresh_at, now()) + v_soon);
    ELSIF mono.refresh_due(p_account, v_every) THEN
        step := 'refresh';
        due := now();
    ELSIF p_account.last_refresh_at > coalesce(p_account.last_synced_at, '-infinity') THEN
        due := now();
    ELSIF v_action = 'retry' THEN
        due := now() + mono.backoff(p_account.attempts);
    ELSE
        due := now() + v_every;
    END IF;
END;
$$;

-- Stores failed calls (outcomes with error): after a 429, a 5xx, a transfer
-- failure or a bad body, the same step again after retry_ms; after another
-- 4xx (no retry_ms), back to details after the refresh interval. A 401 or
-- 403 (key_refused, retry_ms 0: Mono refused the Connect app's key, not the
-- account) keeps the step, is due at once and counts no attempt; the
-- worker holds Connect's claims back until Mono takes the key (issue 22).
CREATE OR REPLACE FUNCTION mono.record_account_failures(p_outcomes jsonb) RETURNS void
LANGUAGE sql VOLATILE AS $$
    UPDATE mono.accounts a SET
           attempts = a.attempts + CASE WHEN o.key_refused THEN 0 ELSE 1 END,
           last_error = o.error,
           next_step = CASE WHEN o.retry_ms IS NULL THEN 'details' ELSE a.next_step END,
           transactions_page = CASE WHEN o.retry_ms IS NULL THEN 1 ELSE a.transactions_page END,
           transactions_since = CASE WHEN o.retry_ms IS NULL THEN NULL ELSE a.transactions_since END,
           next_sync_at = now() + coalesce(o.retry_ms * interval '1 millisecond',
                                           mono.account_refresh_interval()),
           claimed_until = NULL,
           updated_at = now()
      FROM jsonb_to_recordset(p_outcomes) AS o(account_id text, error text, retry_ms bigint,
                                             key_refused boolean)
     WHERE a.account_id = o.account_id AND o.error IS NOT NULL;
$$;

-- Stores account details (outcomes with account): data_status in upper
-- case, retrieved_data in lower case, the balance only while the
-- data_status rules allow reading it, with the time it was read
-- (balance_updated_at: now, or the webhook's time). attempts counts the
-- reads that found the account FAILED or PROCESSING (their backoff).
-- Details from a webhook older than the stored ones change nothing.
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
           attempts = CASE WHEN o.ds IN ('FAILED', 'PROCESSING') THEN a.attempts + 1 ELSE 0 END,
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

    UPDATE mono.accounts a SET balance = (o.account ->> 'balance')::bigint,
           balance_updated_at = CASE WHEN p_from_webhook THEN o.event_at ELSE now() END
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
-- fallback pull settles it. A refresh made answers the one asked for
-- (refresh_requested_at). A webhook about an older job than the stored one
-- changes no job field.
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
           refresh_requested_at = CASE WHEN o.called THEN NULL ELSE a.refresh_requested_at END,
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
--   sync_status    a sync status on its own (legacy webhooks, jobs.update)
--   refresh_requested  mono_account_sync(id, true): a real-time refresh for
--                  the worker to make (after COMMIT)
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
    UPDATE mono.accounts a SET refresh_requested_at = coalesce(a.refresh_requested_at, now()),
           updated_at = now()
      FROM jsonb_to_recordset(p_outcomes) AS o(account_id text, refresh_requested boolean)
     WHERE a.account_id = o.account_id AND o.refresh_requested;

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

------------------------------------------------------------------------
-- Connect's outcomes: what the worker (or a webhook) learned of an account,
-- recorded, and the account's next step decided (mono.record_account_outcomes).
------------------------------------------------------------------------

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
      FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) o
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
              FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) x
             WHERE x.account IS NOT NULL) o
     WHERE a.account_id = o.account_id
       AND (NOT p_from_webhook OR a.last_synced_at IS NULL OR o.event_at >= a.last_synced_at);

    UPDATE mono.accounts a SET balance = (o.account ->> 'balance')::bigint,
           balance_updated_at = CASE WHEN p_from_webhook THEN o.event_at ELSE now() END
      FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) o
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
      FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) o
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
              FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) x
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
      FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) o
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
              FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) x
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
                              FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) x)
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
              FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) o
             ORDER BY o.account_id
            ON CONFLICT (account_id) DO NOTHING
            RETURNING account_id)
        SELECT coalesce(array_agg(account_id), '{}') INTO v_created FROM n;
    END IF;
    IF p_source = 'sync' THEN
        UPDATE mono.accounts a SET tracked = true, unlinked = false
          FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) o
         WHERE a.account_id = o.account_id AND NOT (a.tracked AND NOT a.unlinked);
    END IF;

    PERFORM mono.record_account_failures(p_outcomes);
    PERFORM mono.record_account_details(p_outcomes, p_source = 'webhook');
    PERFORM mono.record_account_refreshes(p_outcomes);
    PERFORM mono.record_account_transactions(p_outcomes);
    UPDATE mono.accounts a SET refresh_requested_at = coalesce(a.refresh_requested_at, now()),
           updated_at = now()
      FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) o
     WHERE a.account_id = o.account_id AND o.refresh_requested;

    -- unlinked at Mono: no longer tracked; re-authorised: works again
    UPDATE mono.accounts a SET unlinked = true, tracked = false, updated_at = now()
      FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) o
     WHERE a.account_id = o.account_id AND o.unlinked;
    UPDATE mono.accounts a SET
           sync_status = CASE WHEN a.sync_status = 'REAUTHORISATION_REQUIRED'
                              THEN NULL ELSE a.sync_status END,
           updated_at = now()
      FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) o
     WHERE a.account_id = o.account_id AND o.reauthorized;
    -- a sync_status of its own (legacy events), unless older than the details
    UPDATE mono.accounts a SET
           sync_status = upper(o.sync_status),
           last_error = CASE WHEN upper(o.sync_status) = 'FAILED'
                             THEN 'Mono reported that a sync of the account failed'
                             ELSE a.last_error END,
           updated_at = now()
      FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) o
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
              FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) x
             WHERE x.error IS NULL
             GROUP BY x.account_id) o
     WHERE a.account_id = o.account_id
       AND (p_source = 'worker' OR a.claimed_until IS NULL OR a.claimed_until < now());

    SELECT count(*)::integer INTO v_due
      FROM mono.accounts a
     WHERE a.account_id IN (SELECT x.account_id
                              FROM jsonb_populate_recordset(NULL::mono.account_outcome, p_outcomes) x)
       AND a.tracked AND a.next_sync_at <= now()
       AND (a.claimed_until IS NULL OR a.claimed_until < now());
    RETURN v_due;
END;
$$;

------------------------------------------------------------------------
-- Connect's statuses: what an account's data_status allows, and its next
-- step (mono.account_next_step). The layers above: 31 the outcomes the
-- worker records, 32 webhooks, 38 the API, the claim and the views. (No
-- SET search_path but on the SECURITY DEFINER functions: see
-- 10_common.schema.sql.)
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

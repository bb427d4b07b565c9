------------------------------------------------------------------------
-- Connect's synchronous functions (src/connect_sql.c: mono_account_sync(),
-- mono_inflow(), mono_outflow()): what they store of Mono's answers, and
-- what they read first (issue 24: no SQL bodies in the C)
------------------------------------------------------------------------

-- When the next real-time refresh of the account is allowed (text, for
-- the error); no row when one is allowed now (Mono: one every 5 minutes).
CREATE OR REPLACE FUNCTION mono.next_realtime_refresh(p_account_id text)
RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT to_char(last_refresh_at + interval '5 minutes', 'YYYY-MM-DD HH24:MI:SS TZ')
      FROM mono.accounts
     WHERE account_id = p_account_id AND NOT mono.realtime_allowed(last_refresh_at)
$$;

-- May a real-time refresh start for an account whose details (the facts
-- of GET /v2/accounts/{id}) are p_details? And its data_status, for the
-- NOTICE when not.
CREATE OR REPLACE FUNCTION mono.sync_may_refresh(p_details jsonb)
RETURNS TABLE (may boolean, data_status text)
LANGUAGE sql STABLE AS $$
    SELECT mono.may_refresh(mono.normalize_data_status(p_details ->> 'data_status')),
           coalesce(p_details ->> 'data_status', 'missing')
$$;

-- Record a sync's facts (and a real-time refresh asked for), as the worker
-- records its own; the account's row.
CREATE OR REPLACE FUNCTION mono.record_sync(p_account_id text, p_details jsonb, p_refresh boolean)
RETURNS mono.accounts
LANGUAGE sql AS $$
    SELECT mono.record_account_outcomes(jsonb_build_array(jsonb_build_object(
               'account_id', p_account_id, 'step', 'details', 'account', p_details,
               'refresh_requested', p_refresh)), 'sync');
    SELECT * FROM mono.accounts WHERE account_id = p_account_id;
$$;

-- Store the months ({period, amount, count} each) and the totals ({amount,
-- count}) of a credits or debits answer: upserted into mono.account_flows
-- and mono.account_flow_totals. Returns the months' rows, by period.
CREATE OR REPLACE FUNCTION mono.store_account_flows(p_account_id text, p_direction text,
                                                    p_months jsonb, p_totals jsonb)
RETURNS SETOF mono.account_flows
LANGUAGE sql AS $$
    INSERT INTO mono.account_flow_totals AS t (account_id, direction, amount,
                                               transaction_count, fetched_at)
    SELECT p_account_id, p_direction, (p_totals ->> 'amount')::bigint,
           (p_totals ->> 'count')::integer, now()
    ON CONFLICT (account_id, direction) DO UPDATE
       SET amount = excluded.amount, transaction_count = excluded.transaction_count,
           fetched_at = excluded.fetched_at;
    WITH r AS (
        INSERT INTO mono.account_flows AS f (account_id, direction, period, amount,
                                             transaction_count, source, fetched_at)
        SELECT p_account_id, p_direction, m.period, m.amount, m.count, 'api', now()
          FROM jsonb_to_recordset(p_months) AS m(period date, amount bigint, count integer)
        ON CONFLICT (account_id, direction, period) DO UPDATE
           SET amount = excluded.amount, transaction_count = excluded.transaction_count,
               source = 'api', fetched_at = excluded.fetched_at
        RETURNING f.*)
    SELECT * FROM r ORDER BY period;
$$;

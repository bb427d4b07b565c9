------------------------------------------------------------------------
-- Connect's SQL functions (C), the worker's claim of due accounts, and the
-- views for analysts.
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

-- Claim due Connect accounts: lease them (p_lease_ms) and return what to call.
CREATE OR REPLACE FUNCTION mono.claim_accounts(p_limit integer, p_lease_ms bigint)
RETURNS TABLE (account_id text, attempts integer, step text, transactions_page integer,
               since text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE mono.accounts a SET next_sync_at = now() + p_lease_ms * interval '1 millisecond',
           claimed_until = now() + p_lease_ms * interval '1 millisecond',
           transactions_since = CASE WHEN a.next_step <> 'transactions' THEN NULL
               WHEN a.transactions_page > 1 THEN a.transactions_since
               ELSE (SELECT (max(t.date) AT TIME ZONE 'UTC')::date - 1 FROM mono.transactions t
                      WHERE t.account_id = a.account_id) END
     WHERE a.account_id IN (SELECT q.account_id FROM mono.accounts q
                             WHERE q.tracked AND q.next_sync_at <= now()
                             ORDER BY q.next_sync_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING a.account_id::text, a.attempts + 1,
              (CASE WHEN a.next_step = 'refresh' AND NOT mono.realtime_allowed(a.last_refresh_at)
                    THEN 'details' ELSE a.next_step END)::text,
              a.transactions_page, to_char(a.transactions_since, 'DD-MM-YYYY');
END;
$$;


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

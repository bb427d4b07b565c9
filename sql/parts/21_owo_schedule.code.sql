------------------------------------------------------------------------
-- Direct Charge's instalments: the schedule of a recurring fund request,
-- planned ahead, and each debit matched to its instalment.
------------------------------------------------------------------------

-- Which instalment of a recurring request a debit at p_at belongs to: the
-- latest due by then (12 hours' tolerance), else the first. (plpgsql, not
-- sql: its plans are kept for the session instead of re-planned per call.)
CREATE OR REPLACE FUNCTION mono.instalment_for(p_fund_request_id bigint, p_at timestamptz) RETURNS integer
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
CREATE OR REPLACE FUNCTION mono.refresh_instalment(p_fund_request_id bigint, p_seq integer) RETURNS void
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
CREATE OR REPLACE FUNCTION mono.match_payment(p_payment_id bigint) RETURNS void
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
-- falls on the last day of shorter months and returns to the 31st). Plans
-- on from the last instalment planned, at most 400 at once: planning costs
-- what is due next, never the whole history.
CREATE OR REPLACE FUNCTION mono.plan_instalments(p_fund_request_id bigint, p_until timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    f record;
    v_step interval;
    v_last integer;
    v_n integer;
BEGIN
    SELECT * INTO f FROM mono.fund_requests WHERE id = p_fund_request_id AND type = 'recurring';
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    v_step := ('1 ' || f.period)::interval * f."interval";
    SELECT coalesce(max(seq), 0) INTO v_last FROM mono.schedule
     WHERE fund_request_id = f.id;
    -- an upper bound on the count, from the shortest length of a period
    v_n := least(v_last + 399, greatest(0, ceil(extract(epoch FROM
               least(coalesce(f.end_date, 'infinity'), p_until) - f.start_date)
               / (86400.0 * f."interval" * CASE f.period WHEN 'day' THEN 1 WHEN 'week' THEN 7
                                                         WHEN 'month' THEN 28 ELSE 365 END)))::integer);
    INSERT INTO mono.schedule (fund_request_id, seq, due_at)
    SELECT f.id, n + 1, (f.start_date AT TIME ZONE 'UTC' + v_step * n) AT TIME ZONE 'UTC'
      FROM generate_series(v_last, v_n) AS n
     WHERE (f.start_date AT TIME ZONE 'UTC' + v_step * n) AT TIME ZONE 'UTC'
               <= least(coalesce(f.end_date, 'infinity'), p_until)
        OR n = 0
    ON CONFLICT (fund_request_id, seq) DO NOTHING;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END;
$$;

-- (instalments of a new recurring request are planned by
-- mono.enqueue_fund_requests(), 26_owo_intake, not by a trigger on mono.fund_requests:
-- pg_restore's COPY of a request must not plan a schedule that the dump
-- brings too)

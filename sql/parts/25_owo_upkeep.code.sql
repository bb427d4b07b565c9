------------------------------------------------------------------------
-- Direct Charge's upkeep, run by the worker now and then: instalments fall
-- due or are missed, schedules are extended, requests expire.
------------------------------------------------------------------------

-- The worker's periodic upkeep: instalments fall due or are missed, open-ended
-- schedules are extended, requests nobody
-- authorised within mono_pay.approval_window expire, and mono.http_log
-- keeps mono_pay.http_log_retention. The settings are read once, so every
-- statement compares with a constant and uses its index: upkeep costs what
-- is due, not the size of the tables.
CREATE OR REPLACE FUNCTION mono.maintain() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_missed_before timestamptz := now() - mono.setting_interval('schedule_grace');
    v_expire_before timestamptz := now() - mono.setting_interval('approval_window');
    v_log_before timestamptz := now() - mono.setting_interval('http_log_retention');
BEGIN
    -- a request that failed, expired or was cancelled misses nothing, nor
    -- one Mono shows in a state mono_pay does not know (paused, ...); rows
    -- another transaction holds are skipped (the next sweep takes them), and
    -- each sweep does at most 1,000 of each kind
    UPDATE mono.schedule sc SET status = 'due', updated_at = now()
     WHERE (sc.fund_request_id, sc.seq) IN (
           SELECT s2.fund_request_id, s2.seq FROM mono.schedule s2
             JOIN mono.fund_requests f ON f.id = s2.fund_request_id
            WHERE s2.status = 'upcoming' AND s2.due_at <= now()
              AND NOT mono.fund_request_given_up(f.status)
            LIMIT 1000 FOR UPDATE OF s2 SKIP LOCKED);
    -- (the schedule's notify_update trigger tells LISTENers)
    -- missed (issue 22): only once the customer approved the plan (Mono
    -- collects nothing before), and only after mono_pay.schedule_grace
    -- (default 5 days): Mono retries a failed debit and reports the failure
    -- only after its retries (its sample: 4 days 1 hour after the due date);
    -- Mono's own word (a payment) always decides first
    UPDATE mono.schedule sc SET status = 'missed', updated_at = now()
     WHERE (sc.fund_request_id, sc.seq) IN (
           SELECT s2.fund_request_id, s2.seq FROM mono.schedule s2
             JOIN mono.fund_requests f ON f.id = s2.fund_request_id
            WHERE s2.status = 'due' AND s2.due_at < v_missed_before
              AND mono.fund_request_approved(f.status)
              AND mono.is_live_mono_status(f.mono_status)
            LIMIT 1000 FOR UPDATE OF s2 SKIP LOCKED);
    -- a recurring request held back (one prompt per phone) until its start
    -- date passed is never sent with a date in the past: it fails, saying so
    UPDATE mono.fund_requests
       SET status = 'failed', updated_at = now(),
           last_error = format('its start_date %s passed while it waited to be sent (an earlier request'
                               ' or link of phone %s was in flight or awaiting the customer);'
                               ' nothing was sent: queue it again with a later start_date',
                               to_char(start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD'), phone)
     WHERE id IN (SELECT id FROM mono.fund_requests q
                   WHERE q.status = 'queued' AND mono.start_passed(q.type, q.start_date, q.created_at)
                   LIMIT 1000 FOR UPDATE SKIP LOCKED);
    PERFORM mono.plan_instalments(f.id, now() + interval '1 year')
       FROM mono.fund_requests f
      WHERE f.type = 'recurring' AND f.end_date IS NULL
        AND mono.fund_request_open(f.status)
        AND (SELECT max(due_at) FROM mono.schedule WHERE fund_request_id = f.id)
            < now() + interval '3 months'
      LIMIT 100;
    UPDATE mono.fund_requests
       SET status = 'expired', expired_locally = true, updated_at = now(),
           last_error = 'not authorised within mono_pay.approval_window'
     WHERE id IN (SELECT id FROM mono.fund_requests
                   WHERE status = 'awaiting_authorization' AND accepted_at < v_expire_before
                   LIMIT 1000 FOR UPDATE SKIP LOCKED);
    DELETE FROM mono.http_log
     WHERE at < v_log_before;
END;
$$;

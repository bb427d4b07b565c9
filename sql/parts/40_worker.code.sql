------------------------------------------------------------------------
-- Worker-facing code: the worker's status, monitoring, and high
-- availability (mono_resume(), orphans)
------------------------------------------------------------------------

-- Store the worker's mono.http_log rows.
CREATE OR REPLACE FUNCTION mono.record_http_log(p_rows jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO mono.http_log (at, method, path, http_status, duration_ms, error)
    SELECT at, method, path, http_status, duration_ms, error
      FROM jsonb_to_recordset(p_rows) AS l(at timestamptz, method text, path text,
                                           http_status integer, duration_ms double precision,
                                           error text)
$$;

-- (issue 25: oldest_sendable_seconds, send_rate and seconds_left, after
-- the columns of 0.2.0)
CREATE OR REPLACE FUNCTION mono_worker_status()
RETURNS TABLE (running boolean, pid integer, state text, database text,
               queued bigint, sending bigint, unknown bigint,
               awaiting_authorization bigint, in_flight integer,
               sent_total bigint, last_error text, last_error_at timestamptz,
               config_loaded_at timestamptz, workers integer,
               oldest_sendable_seconds double precision, send_rate double precision,
               seconds_left double precision)
AS 'MODULE_PATHNAME', 'mono_worker_status'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- The workers' counters (issue 22): key_refused (1 while
-- Mono refuses the payments app's key), key_refusals, connect_key_refused
-- and connect_key_refusals (the same for the Connect app), list_pages_read (the
-- cost of Owo list reads), phone_filter_ignored (pages where Mono ignored
-- the undocumented ?phone= filter). Like mono_worker_status(), a monitoring
-- role needs EXECUTE on it (mono.metrics needs no function grant).
CREATE OR REPLACE FUNCTION mono.worker_counters()
RETURNS TABLE (name text, value float8)
AS 'MODULE_PATHNAME', 'mono_worker_counters'
LANGUAGE C VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

------------------------------------------------------------------------
-- Monitoring: one row per figure, for Prometheus (queries.yaml) and for
-- people. A monitoring role needs USAGE on schema mono and SELECT on this
-- view (it reads the tables with the extension owner's rights), and EXECUTE
-- on mono_worker_status() for the worker's own figures.
------------------------------------------------------------------------

-- name (the figure), kind (links, charges, webhooks, accounts),
-- label (a status, a class, an outcome), value.
CREATE OR REPLACE VIEW mono.metrics AS
-- queue depth by status: every row not yet settled
SELECT 'queue_depth'::text AS name, 'charges'::text AS kind, status::text AS label,
       count(*)::float8 AS value
  FROM mono.fund_requests
 WHERE status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')
 GROUP BY status
UNION ALL
SELECT 'queue_depth', 'links', status::text, count(*)::float8
  FROM mono.beneficiaries
 WHERE status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')
 GROUP BY status
UNION ALL
-- how long the oldest row has waited to be sent (0 when none waits)
SELECT 'oldest_queued_seconds', k.kind, 'queued',
       coalesce(extract(epoch FROM now() - min(q.created_at)), 0)::float8
  FROM (VALUES ('charges'), ('links')) k(kind)
  LEFT JOIN (SELECT 'charges'::text AS kind, created_at FROM mono.fund_requests
              WHERE status IN ('queued', 'unknown')
             UNION ALL
             SELECT 'links', created_at FROM mono.beneficiaries
              WHERE status IN ('queued', 'unknown')) q ON q.kind = k.kind
 GROUP BY k.kind
UNION ALL
-- how long the next row the worker can send has been due (rows held for
-- their phone by one prompt per phone excluded; 0 when none can go): the
-- figure to page on
-- (mono.claim_charges() and mono.phone_is_free() pick the same row; written
-- out here since a view's reader needs EXECUTE on each function it calls:
-- so are the named status sets, mono.in_outbox(), mono.in_flight(),
-- mono.unanswered(), 20_owo_statuses.code.sql)
SELECT 'oldest_sendable_seconds', 'charges', 'queued',
       coalesce(extract(epoch FROM now() - (
           SELECT q.next_attempt_at FROM mono.fund_requests q
            WHERE q.status = 'queued' AND q.link_id IS NULL AND q.next_attempt_at <= now()
              AND NOT EXISTS (SELECT 1 FROM mono.fund_requests e WHERE e.phone = q.phone
                      AND e.status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')
                      AND (e.status IN ('sending', 'unknown') OR (e.status = 'queued' AND e.id < q.id)
                           OR e.status = 'awaiting_authorization') OFFSET 0)
              AND NOT EXISTS (SELECT 1 FROM mono.beneficiaries l WHERE l.phone = q.phone
                      AND l.action = 'link' AND (l.status IN ('queued', 'sending', 'unknown')
                           OR (l.status = 'awaiting_authorization'
                               AND l.updated_at > now() - o.approval_window)) OFFSET 0)
            ORDER BY q.next_attempt_at LIMIT 1)), 0)::float8
  FROM (SELECT current_setting('mono_pay.approval_window')::interval AS approval_window) o
UNION ALL
SELECT 'oldest_sendable_seconds', 'links', 'queued',
       coalesce(extract(epoch FROM now() - (
           SELECT q.next_attempt_at FROM mono.beneficiaries q
            WHERE q.status = 'queued' AND q.next_attempt_at <= now()
              AND (q.action = 'unlink' OR NOT EXISTS (SELECT 1 FROM mono.fund_requests e
                   WHERE e.phone = q.phone AND e.link_id IS NULL
                     AND e.status IN ('sending', 'unknown', 'awaiting_authorization')))
            ORDER BY q.next_attempt_at LIMIT 1)), 0)::float8
UNION ALL
-- failures and retries by class of Mono's last answer; a row mono_pay
-- could not make a request of (never sent) is its own class, unbuildable
SELECT m.name, 'charges', m.class, sum(m.n)::float8
  FROM (SELECT CASE WHEN last_error LIKE 'mono_pay could not build a request%'
                      OR last_error LIKE 'its link could not be sent%' THEN 'unbuildable'
                    WHEN http_status BETWEEN 400 AND 499 THEN 'http_4xx'
                    WHEN http_status >= 500 THEN 'http_5xx'
                    WHEN http_status IS NULL AND last_error IS NOT NULL THEN 'network'
                    ELSE 'other' END AS class,
               status, attempts
          FROM mono.fund_requests
         WHERE status = 'failed' OR attempts > 1) f,
       LATERAL (VALUES ('failures', f.class, CASE WHEN f.status = 'failed' THEN 1 ELSE 0 END),
                       ('retries', f.class, greatest(f.attempts - 1, 0))) m(name, class, n)
 GROUP BY m.name, m.class
UNION ALL
-- webhook outcomes (applied, ignored, stale, unmatched, rejected)
SELECT 'webhook_events', 'webhooks', outcome::text, count(*)::float8
  FROM mono.webhook_events GROUP BY outcome
UNION ALL
-- Connect accounts by data status (tracked ones)
SELECT 'accounts', 'accounts', coalesce(data_status, 'UNKNOWN'), count(*)::float8
  FROM mono.accounts WHERE tracked GROUP BY data_status;

------------------------------------------------------------------------
-- High availability, restores and clones (issue 12)
------------------------------------------------------------------------

-- A superuser confirms that this database may talk to Mono (a restored or
-- cloned copy's worker pauses until then): records this identity.
CREATE OR REPLACE FUNCTION mono_resume() RETURNS text
AS 'MODULE_PATHNAME', 'mono_resume'
LANGUAGE C VOLATILE;

-- Restored rows (issue 23): a row of mono.fund_requests or mono.beneficiaries
-- whose created_at is not this transaction's now(), or of mono.accounts
-- whose next_sync_at is not, was not made by mono_pay here: a restore's
-- COPY (psql running a plain dump, pg_restore), or rows copied in by hand.
-- Before the row is inserted, the trigger takes a lock on mono.node_identity
-- that the worker's claim conflicts with, and records the mark 'restored
-- rows' there: the worker never claims such rows, whatever the order in
-- which the dump's tables arrive (its check runs after that lock, in the
-- claiming transaction), and it pauses until a superuser's mono_resume().
CREATE OR REPLACE FUNCTION mono.restored_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    LOCK TABLE mono.node_identity IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO mono.node_identity (system_identifier, database_oid, database_name, recorded_by)
    SELECT mono.system_identifier(), d.oid, d.datname, 'restored rows'
      FROM pg_catalog.pg_database d
     WHERE d.datname = pg_catalog.current_database()
       AND NOT EXISTS (SELECT 1 FROM mono.node_identity i WHERE i.recorded_by = 'restored rows');
    RETURN NEW;
END;
$$;
CREATE OR REPLACE TRIGGER restored_rows BEFORE INSERT ON mono.fund_requests
    FOR EACH ROW WHEN (NEW.created_at IS DISTINCT FROM pg_catalog.now())
    EXECUTE FUNCTION mono.restored_rows();
CREATE OR REPLACE TRIGGER restored_rows BEFORE INSERT ON mono.beneficiaries
    FOR EACH ROW WHEN (NEW.created_at IS DISTINCT FROM pg_catalog.now())
    EXECUTE FUNCTION mono.restored_rows();
CREATE OR REPLACE TRIGGER restored_rows BEFORE INSERT ON mono.accounts
    FOR EACH ROW WHEN (NEW.next_sync_at IS DISTINCT FROM pg_catalog.now())
    EXECUTE FUNCTION mono.restored_rows();

-- Orphans: what Mono told us about that this database does not know (a
-- payment of an unknown fund request, an event naming an unknown
-- reference or Mono id, a reference Mono listed at a promotion). After a
-- lost failover or a restore these are the charges Mono holds and the
-- database lost. An event waiting for an id that comes later (approved
-- before created) is listed until it matches.
CREATE OR REPLACE VIEW mono.orphans AS
SELECT 'payment'::text AS kind, p.mono_id, p.reference, p.fund_request_mono_id,
       p.amount::bigint AS amount, p.status::text AS detail, p.created_at AS seen_at
  FROM mono.payments p
 WHERE p.fund_request_id IS NULL
UNION ALL
SELECT 'event', e.mono_ref, e.body -> 'data' ->> 'reference',
       coalesce(e.body -> 'data' ->> 'fund_request', e.mono_ref),
       CASE WHEN e.body -> 'data' ->> 'amount' ~ '^[0-9]{1,18}$'
            THEN (e.body -> 'data' ->> 'amount')::bigint END,
       e.event, e.received_at
  FROM mono.webhook_events e
 WHERE e.outcome = 'unmatched'
UNION ALL
-- a status Mono reported that mono_pay cannot map (issue 22): kept, listed
SELECT 'unknown_status', e.mono_ref, e.body -> 'data' ->> 'reference',
       coalesce(e.body -> 'data' ->> 'fund_request', e.mono_ref),
       CASE WHEN e.body -> 'data' ->> 'amount' ~ '^[0-9]{1,18}$'
            THEN (e.body -> 'data' ->> 'amount')::bigint END,
       e.event, e.received_at
  FROM mono.webhook_events e
 WHERE e.outcome = 'unknown'
UNION ALL
-- a reference Mono holds that the database does not know, found by the
-- reconciliation of a promoted standby (issue 23b)
SELECT 'unknown_reference', u.mono_id, u.reference, u.mono_id, u.amount,
       u.status, u.seen_at
  FROM mono.unknown_references u
 WHERE NOT EXISTS (SELECT 1 FROM mono.fund_requests f WHERE f.reference = u.reference);

-- NOTIFY mono_pay '{"table":"orphans",...,"status":"unmatched"}' when one
-- appears. One function for two tables: their fields through to_jsonb(NEW).
CREATE OR REPLACE FUNCTION mono.notify_orphan() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_new jsonb := to_jsonb(NEW);
BEGIN
    IF TG_TABLE_NAME = 'payments' THEN
        PERFORM mono.notify(json_build_object(
            'table', 'orphans', 'kind', 'payment', 'id', (v_new ->> 'id')::bigint,
            'mono_id', v_new ->> 'mono_id', 'reference', left(v_new ->> 'reference', 64),
            'status', 'unmatched')::text);
    ELSE
        PERFORM mono.notify(json_build_object(
            'table', 'orphans', 'kind', 'event', 'id', (v_new ->> 'id')::bigint,
            'mono_id', left(v_new ->> 'mono_ref', 64),
            'reference', left(v_new -> 'body' -> 'data' ->> 'reference', 64),
            'event', left(v_new ->> 'event', 64), 'status', 'unmatched')::text);
    END IF;
    RETURN NULL;
END;
$$;
CREATE OR REPLACE TRIGGER notify_orphan AFTER INSERT ON mono.payments
    FOR EACH ROW WHEN (NEW.fund_request_id IS NULL) EXECUTE FUNCTION mono.notify_orphan();
CREATE OR REPLACE TRIGGER notify_orphan AFTER INSERT ON mono.webhook_events
    FOR EACH ROW WHEN (NEW.outcome = 'unmatched') EXECUTE FUNCTION mono.notify_orphan();

------------------------------------------------------------------------
-- Issue 24 (C side): the statements the library ran as SQL in C strings
------------------------------------------------------------------------

-- mono_worker_status()'s queue: rows per status across links and fund
-- requests, and how long the next sendable row has been due.
CREATE OR REPLACE FUNCTION mono.worker_queue_status()
RETURNS TABLE (queued bigint, sending bigint, unknown bigint, awaiting_authorization bigint,
               oldest_sendable_seconds double precision)
LANGUAGE sql STABLE AS $$
    SELECT c.queued, c.sending, c.unknown, c.awaiting_authorization,
           (SELECT max(m.value) FROM mono.metrics m WHERE m.name = 'oldest_sendable_seconds')
      FROM mono.outbox_counts() c
$$;

-- Is an identity recorded in mono.node_identity that is not this node's
-- (another system identifier or database), or one that pg_restore or
-- restored rows recorded? The count of such identities, of all identities,
-- and the first foreign one, described.
CREATE OR REPLACE FUNCTION mono.foreign_identities(p_system_identifier text, p_database_oid oid)
RETURNS TABLE (foreign_count bigint, recorded_count bigint, first_foreign text)
LANGUAGE sql STABLE AS $$
    SELECT count(*) FILTER (WHERE f.is_foreign), count(*),
           min(format('%s: system identifier %s, database %s',
                      f.recorded_by, f.system_identifier, f.database_name)) FILTER (WHERE f.is_foreign)
      FROM (SELECT i.*, i.system_identifier::text <> p_system_identifier
                        OR i.database_oid <> p_database_oid
                        OR i.recorded_by::text IN ('pg_restore', 'restored rows') AS is_foreign
              FROM mono.node_identity i) f
$$;

-- mono_resume(): this cluster and database become the only identity recorded.
CREATE OR REPLACE FUNCTION mono.record_node_identity(p_system_identifier text)
RETURNS void
LANGUAGE sql AS $$
    DELETE FROM mono.node_identity;
    INSERT INTO mono.node_identity (system_identifier, database_oid, database_name, recorded_by)
    SELECT p_system_identifier, d.oid, d.datname, 'mono_resume'
      FROM pg_database d WHERE d.datname = current_database();
$$;

-- After a promotion (src/worker_reconcile.c): record the fund requests
-- Mono holds (the items of its list) whose reference the database does
-- not know; mono.orphans lists them. Returns how many were new.
CREATE OR REPLACE FUNCTION mono.record_unknown_references(p_items jsonb)
RETURNS bigint
LANGUAGE sql AS $$
    WITH r AS (
        INSERT INTO mono.unknown_references (reference, mono_id, amount, phone, status)
        SELECT i ->> 'reference', i ->> 'id',
               CASE WHEN i ->> 'amount' ~ '^[0-9]{1,18}$' THEN (i ->> 'amount')::bigint END,
               i ->> 'phone', lower(i ->> 'status')
          FROM jsonb_array_elements(p_items) i
         WHERE jsonb_typeof(i -> 'reference') = 'string'
           AND NOT EXISTS (SELECT 1 FROM mono.fund_requests f WHERE f.reference = i ->> 'reference')
        ON CONFLICT (reference) DO NOTHING
        RETURNING 1)
    SELECT count(*) FROM r
$$;

-- The standbys streaming from this server (base backups aside), each with
-- how far it has flushed: what mono_pay.standby_names waits for, and the
-- count behind its warnings (src/common_ha.c).
CREATE OR REPLACE FUNCTION mono.streaming_standbys()
RETURNS TABLE (application_name text, flush_lsn pg_lsn)
LANGUAGE sql STABLE AS $$
    SELECT r.application_name, r.flush_lsn FROM pg_stat_replication r
     WHERE r.state <> 'backup'
$$;

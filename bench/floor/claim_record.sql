-- bench/floor/claim_record.sql: one turn of a mono_pay worker's loop for
-- charges, without HTTP, as a pgbench script (the database floor of the
-- dispatch ratio in bench/run). A worker's turn (mono_queue_exchange in
-- src/worker_queue.c) is one transaction: record the verdicts of the
-- requests that finished (in a subtransaction: try_record), then claim as
-- many due rows as there are free slots (links, then charges). It runs the
-- very SQL functions the worker calls (src/owo_queue.c's statements, the
-- state machine of sql/parts/2*_owo_*.code.sql). Each turn records the
-- rows the previous turn of the same client claimed with the verdict
-- Mono's 202 answer gets (accepted), and claims :batch more.
-- Variables (pgbench -D): outcomes ('[]' at first), batch (free slots: at
-- most min(mono_pay.max_in_flight, 500)), poll_base (mono_pay.poll_base
-- in ms). Run with -M prepared: the worker's plans are prepared once too.
BEGIN;
SAVEPOINT record;
SELECT * FROM mono.record_charge_outcomes(p_outcomes => :outcomes::jsonb, p_poll_ms => :poll_base::bigint);
RELEASE SAVEPOINT record;
-- the first worker claims links before charges (none are queued here)
SELECT * FROM mono.claim_links(p_limit => :batch::integer);
-- the claimed charges become the next turn's outcomes
WITH claimed AS (
SELECT * FROM mono.claim_charges(p_limit => :batch::integer))
SELECT count(*) AS claimed,
 coalesce(jsonb_agg(jsonb_build_object('id', id, 'verdict', 'accepted',
  'http_status', 202, 'redirect_url', 'https://wa.me/2348000000000?text=bench')),
  '[]') AS outcomes
 FROM claimed \gset
COMMIT;

--
-- High availability, restores and clones (issue 12), as a database that
-- no worker serves sees them (pg_regress runs in contrib_regression, which
-- the wrong-database refusal of CREATE EXTENSION exempts).
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS mono_pay CASCADE;
CREATE EXTENSION mono_pay;
RESET client_min_messages;

-- CREATE EXTENSION records the identity of this cluster and database
SELECT system_identifier = mono.system_identifier() AS this_cluster,
       database_name = current_database() AS this_database,
       database_oid = (SELECT oid FROM pg_database WHERE datname = current_database()) AS this_oid,
       recorded_by
  FROM mono.node_identity;

-- no worker serves this database, and mono_worker_status() says so (it
-- names the server's mono_pay.database_name, whatever it is)
SELECT running, pid IS NULL AS no_pid, workers,
       replace(state, '"' || current_setting('mono_pay.database_name') || '"', '"<database_name>"') AS state
  FROM mono_worker_status();

-- in a read-only transaction (a standby, a demoted primary) the functions
-- that write, or call Mono and store the answer, refuse before any call
BEGIN READ ONLY;
SELECT mono_charge('2348012345678', 5000, 'Read-only');
ROLLBACK;
BEGIN READ ONLY;
SELECT mono_link_beneficiary('2348012345678', 'Ada Obi', '000013', '0123456789');
ROLLBACK;
BEGIN READ ONLY;
SELECT mono_unlink_beneficiary('2348012345678');
ROLLBACK;
BEGIN READ ONLY;
SELECT mono_account_sync('acc_ha_regress');
ROLLBACK;
BEGIN READ ONLY;
SELECT * FROM mono_inflow('acc_ha_regress');
ROLLBACK;
BEGIN READ ONLY;
SELECT * FROM mono_outflow('acc_ha_regress');
ROLLBACK;
-- nothing was stored or sent
SELECT count(*) AS accounts FROM mono.accounts;

-- a recurring charge's instalments are planned by mono_charge() itself (no
-- trigger on mono.fund_requests: pg_restore's COPY must plan nothing)
SELECT reference, status FROM mono_charge('2348012345678', 5000, 'Monthly plan', 'HAREGRESS0001',
                                          'month', 1, '2030-01-31 00:00:00+00', '2030-04-30 00:00:00+00');
SET TimeZone = 'UTC';
SELECT s.seq, s.due_at, s.status
  FROM mono.schedule s JOIN mono.fund_requests f ON f.id = s.fund_request_id
 WHERE f.reference = 'HAREGRESS0001' ORDER BY s.seq;
SELECT count(*) AS triggers FROM pg_trigger
 WHERE tgrelid = 'mono.fund_requests'::regclass AND tgname = 'plan_schedule';

-- DROP EXTENSION refuses while work is queued, sending or unknown
DROP EXTENSION mono_pay;
SELECT count(*) AS still_there FROM pg_extension WHERE extname = 'mono_pay';

-- mono_resume() is for superusers only, even when granted
CREATE ROLE mono_ha_regress_user;
GRANT EXECUTE ON FUNCTION mono_resume() TO mono_ha_regress_user;
SET ROLE mono_ha_regress_user;
SELECT mono_resume();
RESET ROLE;
-- a superuser's mono_resume() records this identity in place of all others
INSERT INTO mono.node_identity (system_identifier, database_oid, database_name, recorded_by)
VALUES ('1', 1, 'elsewhere', 'pg_restore');
SELECT mono_resume() LIKE 'resumed: this database%' AS resumed;
SELECT system_identifier = mono.system_identifier() AS this_cluster, recorded_by FROM mono.node_identity;

-- discarding the queue is an explicit act: delete it, then drop
TRUNCATE mono.fund_requests, mono.beneficiaries;
DROP EXTENSION mono_pay;
DROP ROLE mono_ha_regress_user;

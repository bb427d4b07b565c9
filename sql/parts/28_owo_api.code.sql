------------------------------------------------------------------------
-- Direct Charge ("owo") API: notifications, references between its
-- tables, the view of instalments, and the SQL functions (C). Its statuses
-- are decided in the parts below (20_owo_statuses.code.sql to
-- 25_owo_upkeep.code.sql). Links and beneficiaries: see the vocabulary note
-- of 20_owo.schema.sql.
------------------------------------------------------------------------

-- Notifications (mono.notify_status(), 10_common.code.sql)
CREATE OR REPLACE TRIGGER notify_update AFTER UPDATE OF status ON mono.beneficiaries
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'queued')
    EXECUTE FUNCTION mono.notify_status();
-- a fund request also tells when the status Mono reports changes (mono_status)
CREATE OR REPLACE TRIGGER notify_update AFTER UPDATE OF status, mono_status ON mono.fund_requests
    FOR EACH ROW WHEN ((OLD.status IS DISTINCT FROM NEW.status
                        OR OLD.mono_status IS DISTINCT FROM NEW.mono_status)
                       AND NEW.status <> 'queued')
    EXECUTE FUNCTION mono.notify_status();
-- every payment (recurring debits included), and a payment matched later
CREATE OR REPLACE TRIGGER notify_insert AFTER INSERT ON mono.payments
    FOR EACH ROW EXECUTE FUNCTION mono.notify_status('fund_request_id');
CREATE OR REPLACE TRIGGER notify_update AFTER UPDATE OF fund_request_id ON mono.payments
    FOR EACH ROW WHEN (OLD.fund_request_id IS NULL AND NEW.fund_request_id IS NOT NULL)
    EXECUTE FUNCTION mono.notify_status('fund_request_id');

-- An instalment paid, failed or missed: {"table": "schedule", "id" (of the
-- fund request), "seq", "reference" (of the fund request), "status"}.
CREATE OR REPLACE FUNCTION mono.notify_instalment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mono.notify(json_build_object(
        'table', 'schedule', 'id', NEW.fund_request_id, 'seq', NEW.seq,
        'reference', (SELECT reference FROM mono.fund_requests WHERE id = NEW.fund_request_id),
        'status', NEW.status)::text);
    RETURN NULL;
END;
$$;
CREATE OR REPLACE TRIGGER notify_update AFTER UPDATE OF status ON mono.schedule
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('paid', 'failed', 'missed'))
    EXECUTE FUNCTION mono.notify_instalment();

-- References (mono.check_reference(), 10_common.code.sql)
CREATE OR REPLACE TRIGGER reference_link AFTER INSERT OR UPDATE OF link_id ON mono.fund_requests
    FOR EACH ROW WHEN (NEW.link_id IS NOT NULL)
    EXECUTE FUNCTION mono.check_reference('link_id', 'mono.beneficiaries');
CREATE OR REPLACE TRIGGER reference_fund_request AFTER INSERT OR UPDATE OF fund_request_id ON mono.payments
    FOR EACH ROW WHEN (NEW.fund_request_id IS NOT NULL)
    EXECUTE FUNCTION mono.check_reference('fund_request_id', 'mono.fund_requests');
CREATE OR REPLACE TRIGGER reference_fund_request AFTER INSERT OR UPDATE OF fund_request_id ON mono.schedule
    FOR EACH ROW EXECUTE FUNCTION mono.check_reference('fund_request_id', 'mono.fund_requests');
CREATE OR REPLACE TRIGGER reference_payment AFTER INSERT OR UPDATE OF payment_id ON mono.schedule
    FOR EACH ROW WHEN (NEW.payment_id IS NOT NULL)
    EXECUTE FUNCTION mono.check_reference('payment_id', 'mono.payments');
CREATE OR REPLACE TRIGGER referenced_delete AFTER DELETE ON mono.fund_requests
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();
CREATE OR REPLACE TRIGGER referenced_delete AFTER DELETE ON mono.beneficiaries
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();
CREATE OR REPLACE TRIGGER referenced_delete AFTER DELETE ON mono.payments
    FOR EACH ROW EXECUTE FUNCTION mono.on_referenced_delete();

-- Instalments with their request, for analysts.
CREATE OR REPLACE VIEW mono.instalments AS
SELECT s.fund_request_id, f.reference, f.phone, f.amount, f.period, f."interval",
       f.status AS fund_request_status, s.seq, s.due_at, s.status,
       p.mono_id AS payment_mono_id, p.processed_at AS paid_at, p.message,
       f.mono_status AS fund_request_mono_status
  FROM mono.schedule s
  JOIN mono.fund_requests f ON f.id = s.fund_request_id
  LEFT JOIN mono.payments p ON p.id = s.payment_id;


------------------------------------------------------------------------
-- SQL functions (C)
------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION mono_user_status(phone_number text)
RETURNS TABLE (phone text, "exists" boolean, status text)
AS 'MODULE_PATHNAME', 'mono_user_status'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE OR REPLACE FUNCTION mono_link_beneficiary(phone text, account_name text, nip_code text,
                                                 account_number text, bvn text DEFAULT NULL,
                                                 first_charge_amount bigint DEFAULT NULL,
                                                 first_charge_description text DEFAULT NULL)
RETURNS mono.beneficiaries
AS 'MODULE_PATHNAME', 'mono_link_beneficiary'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- a failing call must not log its statement: it may quote a BVN
SET log_min_error_statement = panic;

-- The link with a first fund request that may be recurring, as in Mono's
-- own link example (issue 11). A form of its own beside the 7-argument one
-- (whose calls and GRANTs stay valid): its first eight arguments have no
-- defaults, so no call can match both.
CREATE OR REPLACE FUNCTION mono_link_beneficiary(phone text, account_name text, nip_code text,
                                                 account_number text, bvn text,
                                                 first_charge_amount bigint,
                                                 first_charge_description text,
                                                 first_charge_period text,
                                                 first_charge_interval integer DEFAULT 1,
                                                 first_charge_start_date timestamptz DEFAULT NULL,
                                                 first_charge_end_date timestamptz DEFAULT NULL,
                                                 first_charge_reference text DEFAULT NULL)
RETURNS mono.beneficiaries
AS 'MODULE_PATHNAME', 'mono_link_beneficiary'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- a failing call must not log its statement: it may quote a BVN
SET log_min_error_statement = panic;

CREATE OR REPLACE FUNCTION mono_charge(phone text, amount bigint, description text,
                                       reference text DEFAULT NULL, period text DEFAULT NULL,
                                       "interval" integer DEFAULT 1,
                                       start_date timestamptz DEFAULT NULL,
                                       end_date timestamptz DEFAULT NULL,
                                       currency text DEFAULT 'NGN')
RETURNS mono.fund_requests
AS 'MODULE_PATHNAME', 'mono_charge'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION mono_unlink_beneficiary(phone text)
RETURNS mono.beneficiaries
AS 'MODULE_PATHNAME', 'mono_unlink_beneficiary'
LANGUAGE C CALLED ON NULL INPUT VOLATILE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION mono_wait(reference text, timeout interval DEFAULT '10 seconds')
RETURNS mono.fund_requests
AS 'MODULE_PATHNAME', 'mono_wait'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

-- Not SECURITY DEFINER: it only validates and buffers; the buffered rows are
-- inserted with the extension owner's privileges (src/owo_batch.c).
CREATE OR REPLACE FUNCTION mono_charge_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'mono_charge_trigger'
LANGUAGE C;


------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; grant explicitly (see README). Every
-- object of every part, in one place (a REVOKE may run again).
------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA mono FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA mono FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA mono FROM PUBLIC;
-- the SQL functions, in the extension's schema
REVOKE ALL ON FUNCTION mono_user_status(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_link_beneficiary(text, text, text, text, text, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_link_beneficiary(text, text, text, text, text, bigint, text,
    text, integer, timestamptz, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_charge(text, bigint, text, text, text, integer, timestamptz,
    timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_unlink_beneficiary(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_wait(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_charge_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_account_sync(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_inflow(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_outflow(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_worker_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_resume() FROM PUBLIC;
REVOKE ALL ON FUNCTION mono_handle_webhook(text, text) FROM PUBLIC;

-- (issue 25) an upgrade that made mono_worker_status() again gives it back
-- to the roles that could execute it before (empty on a fresh install)
DO $$
BEGIN
    IF coalesce(current_setting('mono_upgrade.worker_status_grantees', true), '') <> '' THEN
        EXECUTE 'GRANT EXECUTE ON FUNCTION mono_worker_status() TO '
                || current_setting('mono_upgrade.worker_status_grantees');
        PERFORM set_config('mono_upgrade.worker_status_grantees', '', true);
    END IF;
END;
$$;

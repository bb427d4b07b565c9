-- test/lib/helpers.sql: SQL helpers of the mono_pay test suite, installed by
-- test/run into the pgTAP database (schema mono_test). Idempotent.

CREATE SCHEMA IF NOT EXISTS mono_test;
-- tests switch to unprivileged roles and still call these helpers
GRANT USAGE ON SCHEMA mono_test TO PUBLIC;

-- Wait until a boolean query returns true, checking every 10 ms; false when
-- the timeout passes first. Each check is a new statement, so in READ
-- COMMITTED it sees what other sessions (the background worker) committed
-- since the previous one. Use this, never fixed sleeps.
CREATE OR REPLACE FUNCTION mono_test.wait_until(condition text,
                                                timeout interval DEFAULT '10 seconds')
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + timeout;
    ok boolean;
BEGIN
    LOOP
        EXECUTE format('SELECT (%s)::boolean', condition) INTO ok;
        IF ok THEN
            RETURN true;
        END IF;
        IF clock_timestamp() >= deadline THEN
            RETURN false;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
END;
$$;

-- Reload the configuration and wait (10 s at most) until the worker has
-- read it, so that what a test commits next is handled with the new
-- settings; false when the worker did not reload in time.
CREATE OR REPLACE FUNCTION mono_test.reload()
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    before timestamptz := clock_timestamp();
BEGIN
    PERFORM pg_reload_conf();
    RETURN mono_test.wait_until(format(
        '(SELECT coalesce(config_loaded_at > %L, true) FROM mono_worker_status())', before));
END;
$$;

-- Run a statement, optionally as another role, and report what happened:
-- code, message, detail, hint of the error it raised (NULL when none), and
-- output, its rows joined by newlines, columns by '|' (like psql -At). Catches query cancellation
-- (57014) too, which pgTAP's throws_ok cannot (WHEN OTHERS skips it).
-- Everything the statement did, the role switch included, is undone
-- afterwards (it runs in a subtransaction that is always rolled back), so
-- pgTAP keeps running as the caller: e.g.
--   SELECT is(r.code, '42501') FROM mono_test.run('SHOW x', 'mono_app') r;
CREATE OR REPLACE FUNCTION mono_test.run(statement text, as_role name DEFAULT NULL,
    OUT code text, OUT message text, OUT detail text, OUT hint text,
    OUT output text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r record;
    lines text[] := '{}';
BEGIN
    BEGIN
        IF as_role IS NOT NULL THEN
            EXECUTE format('SET LOCAL ROLE %I', as_role);
        END IF;
        BEGIN
            FOR r IN EXECUTE statement LOOP
                lines := lines || (SELECT string_agg(coalesce(value, ''), '|')
                                     FROM json_each_text(row_to_json(r)));
            END LOOP;
        EXCEPTION WHEN invalid_cursor_definition THEN
            -- SET, RESET and other utility statements return no rows and
            -- cannot run as a cursor (refused before they run)
            EXECUTE statement;
        END;
        -- no error: roll the subtransaction back all the same
        RAISE EXCEPTION 'statement succeeded' USING ERRCODE = 'MT000';
    EXCEPTION
        WHEN query_canceled THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE,
                message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                hint = PG_EXCEPTION_HINT;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE,
                message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                hint = PG_EXCEPTION_HINT;
    END;
    IF code = 'MT000' THEN
        code := NULL;
        message := NULL;
        detail := NULL;
        hint := NULL;
    END IF;
    output := array_to_string(lines, E'\n');
END;
$$;

-- The whole text of the error a statement raises (message, detail and hint
-- joined by newlines), for checking what a user could read in it; NULL when
-- the statement raised nothing.
CREATE OR REPLACE FUNCTION mono_test.error_text(statement text, as_role name DEFAULT NULL)
RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN r.code IS NOT NULL THEN
        concat_ws(E'\n', r.message, NULLIF(r.detail, ''), NULLIF(r.hint, '')) END
      FROM mono_test.run(statement, as_role) r
$$;



-- Move a recurring request's schedule into the past, as if it had been
-- created days ago (mono_charge refuses start dates before today): sets
-- start_date and end_date and plans the instalments again. Call it in the
-- statement that creates the request, so the worker sends the moved dates:
--   SELECT mono_test.backdate(id, now() - interval '2 days') FROM mono_charge(...)
CREATE OR REPLACE FUNCTION mono_test.backdate(p_id bigint, p_start timestamptz,
                                              p_end timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    DELETE FROM mono.schedule WHERE fund_request_id = p_id;
    UPDATE mono.fund_requests SET start_date = p_start, end_date = p_end WHERE id = p_id;
    PERFORM mono.plan_instalments(p_id, greatest(now(), p_start) + interval '1 year');
    RETURN p_id;
END;
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA mono_test TO PUBLIC;

-- "hmac-sha256:<hex>" of a body keyed with a secret (RFC 2104 over
-- PostgreSQL's sha256(), no pgcrypto): what mono_pay_receiver or an
-- application passes to mono_handle_webhook() instead of the secret.
CREATE OR REPLACE FUNCTION mono_test.hmac(secret text, body text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    WITH k AS (
        SELECT CASE WHEN octet_length(convert_to(secret, 'UTF8')) > 64
                    THEN sha256(convert_to(secret, 'UTF8')) ELSE convert_to(secret, 'UTF8') END AS k),
    padded AS (SELECT k || decode(repeat('00', 64 - octet_length(k)), 'hex') AS k FROM k),
    pads AS (
        SELECT decode(string_agg(lpad(to_hex(get_byte(k, i) # 54), 2, '0'), '' ORDER BY i), 'hex') AS ipad,
               decode(string_agg(lpad(to_hex(get_byte(k, i) # 92), 2, '0'), '' ORDER BY i), 'hex') AS opad
          FROM padded, generate_series(0, 63) i)
    SELECT 'hmac-sha256:' || encode(sha256(opad || sha256(ipad || convert_to(body, 'UTF8'))), 'hex') FROM pads
$$;

-- 70_bad_input: every SQL function of mono_pay (mono_user_status,
-- mono_link_beneficiary, mono_charge, mono_unlink_beneficiary, mono_wait,
-- mono_handle_webhook, mono_account_sync, mono_inflow, mono_outflow, and
-- mono_charge_trigger through tables) given NULLs, empty strings, 10 kB
-- strings, values of the wrong type (casts that fail, trigger columns of
-- the wrong type), boundary amounts and impossible dates. Each must raise
-- a clear error with the SQLSTATE of the README's table (22023 for an
-- invalid argument; PostgreSQL's own codes where a cast fails before the
-- call), an errmsg that quotes at most a short excerpt of the bad value,
-- write no row and send nothing (doc/design.md principle 8).
-- The number of bad inputs tried is printed at the end (a TAP comment).
--
-- Decisions recorded here:
--   amount 9223372036854775807 (the largest bigint) is accepted: it is a
--   valid bigint and Mono documents no maximum; it must then reach the
--   simulator exactly (a JSON integer, no float rounding).
--   A start_date before year 1 or after year 9999 cannot be written as the
--   ISO 8601 date Mono expects, so it is an invalid argument.
\ir setup.psql

TRUNCATE mono.accounts, mono.transactions, mono.account_flows RESTART IDENTITY CASCADE;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS t70 CASCADE;
RESET client_min_messages;

SELECT plan(14);

------------------------------------------------------------------------
-- Tables whose triggers are set up right (rows carry the bad values) and
-- wrong (the configuration is bad)
------------------------------------------------------------------------
CREATE SCHEMA t70;
CREATE TABLE t70.orders (phone text, amount bigint, note text, ref text, period text,
                         iv bigint, start_at timestamptz, end_at timestamptz, start_day date,
                         cur varchar(8));
CREATE TRIGGER charge AFTER INSERT ON t70.orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note',
        'reference=ref', 'period=period', 'interval=iv', 'start_date=start_at',
        'end_date=end_at', 'currency=cur');
CREATE TABLE t70.by_day (phone text, amount integer, note text, period text, start_day date);
CREATE TRIGGER charge AFTER INSERT ON t70.by_day FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note',
        'period=period', 'start_date=start_day');
CREATE TABLE t70.amount_text (phone text, amount text, note text);
CREATE TRIGGER charge AFTER INSERT ON t70.amount_text FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note');
CREATE TABLE t70.amount_numeric (phone text, amount numeric, note text);
CREATE TRIGGER charge AFTER INSERT ON t70.amount_numeric FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note');
CREATE TABLE t70.phone_int (phone bigint, amount bigint, note text);
CREATE TRIGGER charge AFTER INSERT ON t70.phone_int FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note');
CREATE TABLE t70.start_text (phone text, amount bigint, note text, period text, start_at text);
CREATE TRIGGER charge AFTER INSERT ON t70.start_text FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note',
        'period=period', 'start_date=start_at');
CREATE TABLE t70.unknown_key (phone text, amount bigint, note text);
CREATE TRIGGER charge AFTER INSERT ON t70.unknown_key FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note', 'colour=note');
CREATE TABLE t70.missing_column (phone text, amount bigint, note text);
CREATE TRIGGER charge AFTER INSERT ON t70.missing_column FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=nope');
CREATE TABLE t70.missing_key (phone text, amount bigint, note text);
CREATE TRIGGER charge AFTER INSERT ON t70.missing_key FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount');
CREATE TABLE t70.injected_arg (phone text, amount bigint, note text);
CREATE TRIGGER charge AFTER INSERT ON t70.injected_arg FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount',
        'description=note"; DROP TABLE mono.fund_requests; --');
CREATE TABLE t70.before_trigger (phone text, amount bigint, note text);
CREATE TRIGGER charge BEFORE INSERT ON t70.before_trigger FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note');
CREATE TABLE t70.statement_trigger (phone text, amount bigint, note text);
CREATE TRIGGER charge AFTER INSERT ON t70.statement_trigger FOR EACH STATEMENT
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note');
CREATE TABLE t70.update_trigger (phone text, amount bigint, note text);
INSERT INTO t70.update_trigger VALUES ('2348012345678', 100, 'an order');
CREATE TRIGGER charge AFTER UPDATE ON t70.update_trigger FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=phone', 'amount=amount', 'description=note');

-- a request that exists (for mono_wait) and a used reference
SELECT mono_charge('2348012345678', 5000, 'Existing', 'EXISTING70REF') AS ignored \gset
SELECT mono_test.wait_until($$(SELECT status <> 'queued' FROM mono.fund_requests)$$) AS sent \gset

------------------------------------------------------------------------
-- The cases: function, statement, expected SQLSTATE
------------------------------------------------------------------------
CREATE TEMP TABLE cases (n serial, fn text, label text, stmt text, code text);
\set big 'repeat(''7'', 10240)'
\set bigx 'repeat(''x'', 10240)'
\set phone '''2348012345678'''
INSERT INTO cases (fn, label, stmt, code) VALUES
-- mono_user_status(phone_number)
('mono_user_status', 'NULL phone', $$SELECT * FROM mono_user_status(NULL)$$, '22023'),
('mono_user_status', 'empty phone', $$SELECT * FROM mono_user_status('')$$, '22023'),
('mono_user_status', '10 kB of digits', $$SELECT * FROM mono_user_status(repeat('7', 10240))$$, '22023'),
('mono_user_status', '10 kB of quotes and text', $$SELECT * FROM mono_user_status(repeat('''"x', 3414))$$, '22023'),
('mono_user_status', 'a phone followed by SQL', $$SELECT * FROM mono_user_status('2348012345678; DROP TABLE mono.fund_requests')$$, '22023'),
('mono_user_status', 'a phone with a NUL-like escape', $$SELECT * FROM mono_user_status(E'234801234567\\u0000')$$, '22023'),
('mono_user_status', 'an integer that fails its cast to text', $$SELECT * FROM mono_user_status(('x' || 1)::integer::text)$$, '22P02'),
-- mono_link_beneficiary(phone, account_name, nip_code, account_number, bvn, first_charge_amount, first_charge_description)
('mono_link_beneficiary', 'NULL phone', $$SELECT mono_link_beneficiary(NULL, 'Ada Obi', '000013', '0123456789')$$, '22023'),
('mono_link_beneficiary', 'empty phone', $$SELECT mono_link_beneficiary('', 'Ada Obi', '000013', '0123456789')$$, '22023'),
('mono_link_beneficiary', '10 kB phone', $$SELECT mono_link_beneficiary(repeat('7', 10240), 'Ada Obi', '000013', '0123456789')$$, '22023'),
('mono_link_beneficiary', 'NULL account_name', $$SELECT mono_link_beneficiary('2348012345670', NULL, '000013', '0123456789')$$, '22023'),
('mono_link_beneficiary', 'empty account_name', $$SELECT mono_link_beneficiary('2348012345670', '', '000013', '0123456789')$$, '22023'),
('mono_link_beneficiary', '10 kB account_name', $$SELECT mono_link_beneficiary('2348012345670', repeat('x', 10240), '000013', '0123456789')$$, '22023'),
('mono_link_beneficiary', 'account_name of two spaces (Mono: 2-100 characters of a name)', $$SELECT mono_link_beneficiary('2348012345671', '  ', '000013', '0123456789')$$, '22023'),
('mono_link_beneficiary', 'NULL nip_code', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', NULL, '0123456789')$$, '22023'),
('mono_link_beneficiary', 'empty nip_code', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '', '0123456789')$$, '22023'),
('mono_link_beneficiary', '10 kB nip_code', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', repeat('7', 10240), '0123456789')$$, '22023'),
('mono_link_beneficiary', 'nip_code of Arabic-Indic digits', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '٠٠٠٠١٣', '0123456789')$$, '22023'),
('mono_link_beneficiary', 'NULL account_number', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', NULL)$$, '22023'),
('mono_link_beneficiary', 'empty account_number', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', '')$$, '22023'),
('mono_link_beneficiary', '10 kB account_number', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', repeat('7', 10240))$$, '22023'),
('mono_link_beneficiary', 'empty bvn', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', '0123456789', '')$$, '22023'),
('mono_link_beneficiary', '10 kB bvn', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', '0123456789', repeat('7', 10240))$$, '22023'),
('mono_link_beneficiary', 'first charge of 0', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', '0123456789', NULL, 0, 'x')$$, '22023'),
('mono_link_beneficiary', 'first charge of -1', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', '0123456789', NULL, -1, 'x')$$, '22023'),
('mono_link_beneficiary', 'first charge of 9223372036854775808 (not a bigint)', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', '0123456789', NULL, '9223372036854775808'::bigint, 'x')$$, '22003'),
('mono_link_beneficiary', 'first charge of ''abc''::bigint', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', '0123456789', NULL, 'abc'::bigint, 'x')$$, '22P02'),
('mono_link_beneficiary', 'empty first charge description', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', '0123456789', NULL, 500, '')$$, '22023'),
('mono_link_beneficiary', 'first charge amount without description', $$SELECT mono_link_beneficiary('2348012345670', 'Ada Obi', '000013', '0123456789', NULL, 500, NULL)$$, '22023'),
-- mono_charge(phone, amount, description, reference, period, interval, start_date, end_date, currency)
('mono_charge', 'NULL phone', $$SELECT mono_charge(NULL, 500, 'x')$$, '22023'),
('mono_charge', 'empty phone', $$SELECT mono_charge('', 500, 'x')$$, '22023'),
('mono_charge', '10 kB phone', $$SELECT mono_charge(repeat('7', 10240), 500, 'x')$$, '22023'),
('mono_charge', 'phone of fullwidth digits', $$SELECT mono_charge('２３４８０１２３４５６７８', 500, 'x')$$, '22023'),
('mono_charge', 'phone with a newline', $$SELECT mono_charge(E'2348012345678\n', 500, 'x')$$, '22023'),
('mono_charge', 'NULL amount', $$SELECT mono_charge('2348012345678', NULL, 'x')$$, '22023'),
('mono_charge', 'amount 0', $$SELECT mono_charge('2348012345678', 0, 'x')$$, '22023'),
('mono_charge', 'amount -1', $$SELECT mono_charge('2348012345678', -1, 'x')$$, '22023'),
('mono_charge', 'amount -9223372036854775808', $$SELECT mono_charge('2348012345678', -9223372036854775808, 'x')$$, '22023'),
('mono_charge', 'amount 9223372036854775808 (not a bigint)', $$SELECT mono_charge('2348012345678', '9223372036854775808'::bigint, 'x')$$, '22003'),
('mono_charge', 'amount ''1e3''::bigint', $$SELECT mono_charge('2348012345678', '1e3'::bigint, 'x')$$, '22P02'),
('mono_charge', 'amount 1.5 (numeric: no such function)', $$SELECT mono_charge('2348012345678', 1.5, 'x')$$, '42883'),
('mono_charge', 'amount as text ''500'' in a variable of type text', $$SELECT mono_charge('2348012345678', '500'::text, 'x')$$, '42883'),
('mono_charge', 'NULL description', $$SELECT mono_charge('2348012345678', 500, NULL)$$, '22023'),
('mono_charge', 'empty description', $$SELECT mono_charge('2348012345678', 500, '')$$, '22023'),
('mono_charge', 'blank description', $$SELECT mono_charge('2348012345678', 500, E' \t\r\n ')$$, '22023'),
('mono_charge', 'empty reference', $$SELECT mono_charge('2348012345678', 500, 'x', '')$$, '22023'),
('mono_charge', '10 kB reference', $$SELECT mono_charge('2348012345678', 500, 'x', repeat('R', 10240))$$, '22023'),
('mono_charge', 'reference with SQL', $$SELECT mono_charge('2348012345678', 500, 'x', 'ABCD1234''; DROP TABLE mono.fund_requests; --')$$, '22023'),
('mono_charge', 'reference of fullwidth letters', $$SELECT mono_charge('2348012345678', 500, 'x', 'ＲＥＦ１２３４５６７８')$$, '22023'),
('mono_charge', 'reference with a trailing newline', $$SELECT mono_charge('2348012345678', 500, 'x', E'REF000000001\n')$$, '22023'),
('mono_charge', 'a reference used already', $$SELECT mono_charge('2348012345678', 500, 'x', 'EXISTING70REF')$$, '23505'),
('mono_charge', 'empty period', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, '', 1, now())$$, '22023'),
('mono_charge', '10 kB period', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, repeat('m', 10240), 1, now())$$, '22023'),
('mono_charge', 'period MONTH', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'MONTH', 1, now())$$, '22023'),
('mono_charge', 'period months', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'months', 1, now())$$, '22023'),
('mono_charge', 'interval 0', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', 0, now())$$, '22023'),
('mono_charge', 'interval -1', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', -1, now())$$, '22023'),
('mono_charge', 'NULL interval', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', NULL, now())$$, '22023'),
('mono_charge', 'interval 2147483648 (not an integer)', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', '2147483648'::integer, now())$$, '22003'),
('mono_charge', 'interval 2147483647 years (no date follows the start)', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'year', 2147483647, now())$$, '22023'),
('mono_charge', 'recurring without start_date', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month')$$, '22023'),
('mono_charge', 'start_date infinity', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', 1, 'infinity')$$, '22023'),
('mono_charge', 'start_date -infinity', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', 1, '-infinity')$$, '22023'),
('mono_charge', 'start_date ''yesterday-ish'' (no such date)', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', 1, 'yesterday-ish')$$, '22007'),
('mono_charge', 'start_date 2031-02-30 (no such day)', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', 1, '2031-02-30')$$, '22008'),
('mono_charge', 'start_date 0001-01-01 BC (no ISO 8601 date for Mono)', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', 1, '0001-01-01 BC')$$, '22023'),
('mono_charge', 'start_date 12345-01-01 (no ISO 8601 date for Mono)', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', 1, '12345-01-01')$$, '22023'),
('mono_charge', 'end_date before start_date', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', 1, '2031-02-01', '2031-01-01')$$, '22023'),
('mono_charge', 'end_date equal to start_date', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'week', 1, '2031-02-01', '2031-02-01')$$, '22023'),
('mono_charge', 'end_date one microsecond before start_date', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'day', 1, '2031-02-01 00:00:00.000001', '2031-02-01')$$, '22023'),
('mono_charge', 'end_date infinity', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', 1, '2031-02-01', 'infinity')$$, '22023'),
('mono_charge', 'end_date -infinity', $$SELECT mono_charge('2348012345678', 500, 'x', NULL, 'month', 1, '2031-02-01', '-infinity')$$, '22023'),
('mono_charge', 'a one-time charge with an end_date', $$SELECT mono_charge('2348012345678', 500, 'x', end_date => '2031-02-01')$$, '22023'),
('mono_charge', 'NULL currency', $$SELECT mono_charge('2348012345678', 500, 'x', currency => NULL)$$, '22023'),
('mono_charge', 'empty currency', $$SELECT mono_charge('2348012345678', 500, 'x', currency => '')$$, '22023'),
('mono_charge', 'currency ngn', $$SELECT mono_charge('2348012345678', 500, 'x', currency => 'ngn')$$, '22023'),
('mono_charge', '10 kB currency', $$SELECT mono_charge('2348012345678', 500, 'x', currency => repeat('N', 10240))$$, '22023'),
-- mono_unlink_beneficiary(phone)
('mono_unlink_beneficiary', 'NULL phone', $$SELECT mono_unlink_beneficiary(NULL)$$, '22023'),
('mono_unlink_beneficiary', 'empty phone', $$SELECT mono_unlink_beneficiary('')$$, '22023'),
('mono_unlink_beneficiary', '10 kB phone', $$SELECT mono_unlink_beneficiary(repeat('7', 10240))$$, '22023'),
-- mono_wait(reference, timeout)
('mono_wait', 'NULL reference', $$SELECT mono_wait(NULL)$$, '22023'),
('mono_wait', 'NULL timeout', $$SELECT mono_wait('EXISTING70REF', NULL)$$, '22023'),
('mono_wait', 'empty reference (README: P0002 for an unknown reference)', $$SELECT mono_wait('')$$, 'P0002'),
('mono_wait', '10 kB reference (README: P0002 for an unknown reference)', $$SELECT mono_wait(repeat('R', 10240))$$, 'P0002'),
('mono_wait', 'timeout ''soon'' (not an interval)', $$SELECT mono_wait('EXISTING70REF', 'soon')$$, '22007'),
-- mono_handle_webhook(body, secret)
('mono_handle_webhook', 'NULL secret', $$SELECT mono_handle_webhook('{"event":"owo.x"}', NULL)$$, '28000'),
('mono_handle_webhook', 'empty secret', $$SELECT mono_handle_webhook('{"event":"owo.x"}', '')$$, '28000'),
('mono_handle_webhook', '10 kB secret', $$SELECT mono_handle_webhook('{"event":"owo.x"}', repeat('s', 10240))$$, '28000'),
('mono_handle_webhook', 'the secret with a trailing newline', $$SELECT mono_handle_webhook('{"event":"owo.x"}', current_setting('qa.whsec') || E'\n')$$, '28000'),
('mono_handle_webhook', 'empty body', $$SELECT mono_handle_webhook('', current_setting('qa.whsec'))$$, '22P02'),
('mono_handle_webhook', '10 kB body that is not JSON', $$SELECT mono_handle_webhook(repeat('{', 10240), current_setting('qa.whsec'))$$, '22P02'),
('mono_handle_webhook', 'body: a JSON array', $$SELECT mono_handle_webhook('[]', current_setting('qa.whsec'))$$, '22023'),
('mono_handle_webhook', 'body: event is a number', $$SELECT mono_handle_webhook('{"event": 5}', current_setting('qa.whsec'))$$, '22023'),
('mono_handle_webhook', 'body: event is empty', $$SELECT mono_handle_webhook('{"event": ""}', current_setting('qa.whsec'))$$, '22023'),
('mono_handle_webhook', 'body: a key twice', $$SELECT mono_handle_webhook('{"event":"owo.x","event":"owo.y"}', current_setting('qa.whsec'))$$, '22P02'),
('mono_handle_webhook', 'body: a \u0000 escape', $$SELECT mono_handle_webhook('{"event":"owo.x\u0000y","event_id":"evt_nul"}', current_setting('qa.whsec'))$$, '22P02'),
('mono_handle_webhook', 'body: larger than webhook_max_size', $$SELECT mono_handle_webhook('{"event":"owo.x","pad":"' || repeat('p', 300000) || '"}', current_setting('qa.whsec'))$$, '54000'),
-- mono_account_sync(account_id, realtime), mono_inflow(account_id), mono_outflow(account_id)
('mono_account_sync', 'NULL account_id', $$SELECT mono_account_sync(NULL)$$, '22023'),
('mono_account_sync', 'empty account_id', $$SELECT mono_account_sync('')$$, '22023'),
('mono_account_sync', '10 kB account_id', $$SELECT mono_account_sync(repeat('a', 10240))$$, '22023'),
('mono_account_sync', 'account_id with a path', $$SELECT mono_account_sync('acc_1/../../owo/v1/beneficiaries')$$, '22023'),
('mono_account_sync', 'account_id with a query string', $$SELECT mono_account_sync('acc_1?x=1')$$, '22023'),
('mono_account_sync', 'account_id with SQL', $$SELECT mono_account_sync('acc''; DROP TABLE mono.accounts; --')$$, '22023'),
('mono_account_sync', 'NULL realtime', $$SELECT mono_account_sync('acc_1', NULL)$$, '22023'),
('mono_account_sync', 'realtime ''maybe'' (not a boolean)', $$SELECT mono_account_sync('acc_1', 'maybe')$$, '22P02'),
('mono_inflow', 'NULL account_id', $$SELECT * FROM mono_inflow(NULL)$$, '22023'),
('mono_inflow', 'empty account_id', $$SELECT * FROM mono_inflow('')$$, '22023'),
('mono_inflow', '10 kB account_id', $$SELECT * FROM mono_inflow(repeat('a', 10240))$$, '22023'),
('mono_inflow', 'account_id with a space', $$SELECT * FROM mono_inflow('acc 1')$$, '22023'),
('mono_outflow', 'NULL account_id', $$SELECT * FROM mono_outflow(NULL)$$, '22023'),
('mono_outflow', 'empty account_id', $$SELECT * FROM mono_outflow('')$$, '22023'),
('mono_outflow', '10 kB account_id', $$SELECT * FROM mono_outflow(repeat('a', 10240))$$, '22023'),
('mono_outflow', 'account_id with a slash', $$SELECT * FROM mono_outflow('acc/1')$$, '22023'),
-- mono_charge_trigger(), through tables
('mono_charge_trigger', 'amount column of type text', $$INSERT INTO t70.amount_text VALUES ('2348012345678', '500', 'x')$$, '42804'),
('mono_charge_trigger', 'amount column of type numeric', $$INSERT INTO t70.amount_numeric VALUES ('2348012345678', 500, 'x')$$, '42804'),
('mono_charge_trigger', 'phone column of type bigint', $$INSERT INTO t70.phone_int VALUES (2348012345678, 500, 'x')$$, '42804'),
('mono_charge_trigger', 'start_date column of type text', $$INSERT INTO t70.start_text VALUES ('2348012345678', 500, 'x', 'month', '2031-01-01')$$, '42804'),
('mono_charge_trigger', 'an unknown key', $$INSERT INTO t70.unknown_key VALUES ('2348012345678', 500, 'x')$$, '22023'),
('mono_charge_trigger', 'a column that does not exist', $$INSERT INTO t70.missing_column VALUES ('2348012345678', 500, 'x')$$, '42703'),
('mono_charge_trigger', 'no description mapped', $$INSERT INTO t70.missing_key VALUES ('2348012345678', 500, 'x')$$, '22023'),
('mono_charge_trigger', 'an argument with SQL in it', $$INSERT INTO t70.injected_arg VALUES ('2348012345678', 500, 'x')$$, '42703'),
('mono_charge_trigger', 'a BEFORE trigger', $$INSERT INTO t70.before_trigger VALUES ('2348012345678', 500, 'x')$$, '39P01'),
('mono_charge_trigger', 'a statement trigger', $$INSERT INTO t70.statement_trigger VALUES ('2348012345678', 500, 'x')$$, '39P01'),
('mono_charge_trigger', 'an UPDATE trigger', $$UPDATE t70.update_trigger SET note = 'changed'$$, '39P01'),
('mono_charge_trigger', 'called as a function', $$SELECT mono_charge_trigger()$$, '39P01'),
('mono_charge_trigger', 'row: NULL phone', $$INSERT INTO t70.orders (phone, amount, note) VALUES (NULL, 500, 'x')$$, '22023'),
('mono_charge_trigger', 'row: 10 kB phone', $$INSERT INTO t70.orders (phone, amount, note) VALUES (repeat('7', 10240), 500, 'x')$$, '22023'),
('mono_charge_trigger', 'row: NULL amount', $$INSERT INTO t70.orders (phone, amount, note) VALUES ('2348012345678', NULL, 'x')$$, '22023'),
('mono_charge_trigger', 'row: amount 0', $$INSERT INTO t70.orders (phone, amount, note) VALUES ('2348012345678', 0, 'x')$$, '22023'),
('mono_charge_trigger', 'row: amount -9223372036854775808', $$INSERT INTO t70.orders (phone, amount, note) VALUES ('2348012345678', -9223372036854775808, 'x')$$, '22023'),
('mono_charge_trigger', 'row: empty description', $$INSERT INTO t70.orders (phone, amount, note) VALUES ('2348012345678', 500, '')$$, '22023'),
('mono_charge_trigger', 'row: 10 kB reference', $$INSERT INTO t70.orders (phone, amount, note, ref) VALUES ('2348012345678', 500, 'x', repeat('R', 10240))$$, '22023'),
('mono_charge_trigger', 'row: a period of 10 kB', $$INSERT INTO t70.orders (phone, amount, note, period, start_at) VALUES ('2348012345678', 500, 'x', repeat('m', 10240), now())$$, '22023'),
('mono_charge_trigger', 'row: interval 0', $$INSERT INTO t70.orders (phone, amount, note, period, iv, start_at) VALUES ('2348012345678', 500, 'x', 'month', 0, now())$$, '22023'),
('mono_charge_trigger', 'row: interval 4294967297 in a bigint column', $$INSERT INTO t70.orders (phone, amount, note, period, iv, start_at) VALUES ('2348012345678', 500, 'x', 'month', 4294967297, now())$$, '22023'),
('mono_charge_trigger', 'row: interval 2147483648 in a bigint column', $$INSERT INTO t70.orders (phone, amount, note, period, iv, start_at) VALUES ('2348012345678', 500, 'x', 'month', 2147483648, now())$$, '22023'),
('mono_charge_trigger', 'row: recurring without start_date', $$INSERT INTO t70.orders (phone, amount, note, period) VALUES ('2348012345678', 500, 'x', 'week')$$, '22023'),
('mono_charge_trigger', 'row: start_date infinity (date column)', $$INSERT INTO t70.by_day VALUES ('2348012345678', 500, 'x', 'week', 'infinity')$$, '22023'),
('mono_charge_trigger', 'row: start_date -infinity', $$INSERT INTO t70.orders (phone, amount, note, period, start_at) VALUES ('2348012345678', 500, 'x', 'week', '-infinity')$$, '22023'),
('mono_charge_trigger', 'row: end_date before start_date', $$INSERT INTO t70.orders (phone, amount, note, period, start_at, end_at) VALUES ('2348012345678', 500, 'x', 'week', '2031-02-01', '2031-01-01')$$, '22023'),
('mono_charge_trigger', 'row: end_date on a one-time charge', $$INSERT INTO t70.orders (phone, amount, note, end_at) VALUES ('2348012345678', 500, 'x', '2031-01-01')$$, '22023'),
('mono_charge_trigger', 'row: currency USD (varchar column)', $$INSERT INTO t70.orders (phone, amount, note, cur) VALUES ('2348012345678', 500, 'x', 'USD')$$, '22023'),
('mono_charge_trigger', 'rows: two good, the third bad (nothing queued)', $$INSERT INTO t70.orders (phone, amount, note) VALUES ('2348012345678', 500, 'a'), ('2348012345678', 501, 'b'), ('2348012345678', -1, 'c')$$, '22023'),
('mono_charge_trigger', 'rows: one reference twice in one INSERT', $$INSERT INTO t70.orders (phone, amount, note, ref) VALUES ('2348012345678', 500, 'a', 'TWICE0000001'), ('2348012345678', 501, 'b', 'TWICE0000001')$$, '23505');

SELECT set_config('qa.whsec', :'webhook_secret', false) AS ignored \gset

------------------------------------------------------------------------
-- Run each case, noting whether it wrote a row anywhere in schema mono
-- (a case that wrongly succeeds stays committed: then the worker would
-- send it, and the checks below see that too)
------------------------------------------------------------------------
CREATE FUNCTION pg_temp.mono_rows() RETURNS bigint LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM mono.fund_requests) + (SELECT count(*) FROM mono.beneficiaries)
         + (SELECT count(*) FROM mono.webhook_events) + (SELECT count(*) FROM mono.accounts)
         + (SELECT count(*) FROM mono.payments) + (SELECT count(*) FROM mono.schedule)
         + (SELECT count(*) FROM mono.account_flows)
$$;
CREATE TEMP TABLE results (n int, code text, message text, hint text, wrote bigint);
CREATE FUNCTION pg_temp.try(p_n int, p_stmt text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_temp.mono_rows();
    v_code text;
    v_message text;
    v_hint text;
BEGIN
    BEGIN
        EXECUTE p_stmt;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_code = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                                v_hint = PG_EXCEPTION_HINT;
    END;
    INSERT INTO results VALUES (p_n, v_code, v_message, v_hint, pg_temp.mono_rows() - before);
END;
$$;

SELECT pg_temp.mono_rows() AS rows0 \gset
\set total0 `"$MONO_TEST_LIB"/sim total`
SELECT count(pg_temp.try(n, stmt)) AS tried FROM (SELECT n, stmt FROM cases ORDER BY n) c \gset

------------------------------------------------------------------------
-- What happened
------------------------------------------------------------------------
SELECT is_empty($$SELECT c.fn || ': ' || c.label FROM cases c JOIN results r USING (n) WHERE r.code IS NULL$$,
                'every bad input raised an error (none was accepted)');
SELECT is_empty($$SELECT format('%s: %s: got %s (%s), expected %s', c.fn, c.label, r.code, left(r.message, 100), c.code)
                    FROM cases c JOIN results r USING (n)
                   WHERE r.code IS NOT NULL AND r.code <> c.code$$,
                'each error has the expected SQLSTATE (22023 for an invalid argument)');
SELECT is_empty($$SELECT format('%s: %s: %s characters: %s...', c.fn, c.label, length(r.message), left(r.message, 80))
                    FROM cases c JOIN results r USING (n) WHERE length(r.message) > 200$$,
                'no errmsg is longer than 200 characters (10 kB values are quoted as a short excerpt)');
SELECT is_empty($$SELECT c.fn || ': ' || c.label FROM cases c JOIN results r USING (n)
                   WHERE r.code = '22023' AND coalesce(r.hint, '') = ''$$,
                'every 22023 error carries a hint with the fix');
SELECT is_empty($$SELECT c.fn || ': ' || c.label FROM cases c JOIN results r USING (n) WHERE r.wrote <> 0$$,
                'no bad input wrote a row in schema mono');
SELECT is(pg_temp.mono_rows(), :rows0::bigint, 'schema mono holds as many rows as before');
SELECT is(count(*), 0::bigint, 'the SQL in the values ran nowhere: every mono table is still there')
  FROM (VALUES ('fund_requests'), ('beneficiaries'), ('accounts'), ('payments'), ('webhook_events')) t(name)
 WHERE to_regclass('mono.' || name) IS NULL;
SELECT pg_sleep(1) AS slept \gset
\set total1 `"$MONO_TEST_LIB"/sim total`
SELECT is(:total1 - :total0, 0, 'nothing was sent to the simulator');

------------------------------------------------------------------------
-- Boundary amount: the largest bigint is a valid amount (Mono documents no
-- maximum). It is stored and reaches the simulator exactly.
------------------------------------------------------------------------
-- (another phone: EXISTING70REF awaits the customer on 2348012345678, and
-- Mono takes a phone's next prompt only once none of its earlier ones does)
SELECT mono_charge('2348012345672', 9223372036854775807, 'The largest bigint', 'MAXAMOUNT70A') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT status NOT IN ('queued', 'sending') FROM mono.fund_requests
                                   WHERE reference = 'MAXAMOUNT70A')$$),
          'amount 9223372036854775807 is accepted and sent');
\set log `"$MONO_TEST_LIB"/sim get 'requests/log?path=/owo/v1/fund-requests&limit=5'`
SELECT is((SELECT e -> 'body' ->> 'amount' FROM jsonb_array_elements(:'log'::jsonb) e
            WHERE e -> 'body' ->> 'reference' = 'MAXAMOUNT70A' LIMIT 1),
          '9223372036854775807', 'the simulator received the amount exactly (a JSON integer, not a rounded float)');
SELECT is(status::text, 'awaiting_authorization', 'and accepted it') FROM mono.fund_requests WHERE reference = 'MAXAMOUNT70A';
-- through the trigger too
INSERT INTO t70.orders (phone, amount, note, ref) VALUES ('2348012345678', 9223372036854775807, 'max', 'MAXAMOUNT70B');
SELECT is(amount::text, '9223372036854775807', 'the trigger queues the largest bigint unchanged')
  FROM mono.fund_requests WHERE reference = 'MAXAMOUNT70B';

------------------------------------------------------------------------
-- mono_wait's timeout: a huge interval means "wait", not "return at once"
------------------------------------------------------------------------
ALTER SYSTEM SET mono_pay.enabled = off;
SELECT mono_test.reload() AS reloaded \gset
SELECT pg_sleep(0.5) AS slept \gset
SELECT mono_charge('2348012345678', 500, 'Waited for', 'WAITHUGE70REF') AS ignored \gset
SET statement_timeout = '800ms';
SELECT is(r.code, '57014',
          'mono_wait(ref, ''100000000 years'') waits (cancelled by statement_timeout) instead of returning at once: got '
          || coalesce(r.code, 'no error: ' || r.output))
  FROM mono_test.run($$SELECT status FROM mono_wait('WAITHUGE70REF', '100000000 years')$$) r;
SELECT is(r.code, '57014', 'mono_wait(ref, ''1 day'') waits likewise (the control case)')
  FROM mono_test.run($$SELECT status FROM mono_wait('WAITHUGE70REF', '1 day')$$) r;
RESET statement_timeout;
ALTER SYSTEM RESET ALL;
SELECT mono_test.reload() AS reloaded \gset

SELECT diag(format('%s bad inputs tried: %s', sum(k),
                   string_agg(fn || ' ' || k, ', ' ORDER BY fn)))
  FROM (SELECT fn, count(*) AS k FROM cases GROUP BY fn) s;
SELECT diag(format('accepted although bad: %s', coalesce(string_agg(c.fn || ': ' || c.label, '; '), 'none')))
  FROM cases c JOIN results r USING (n) WHERE r.code IS NULL;

SELECT * FROM finish();
SET client_min_messages = warning;
DROP SCHEMA t70 CASCADE;

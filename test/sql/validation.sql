--
-- Validation: what a user reads when mono_charge(), mono_link_beneficiary(),
-- mono_unlink_beneficiary() or mono_charge_trigger() refuse their input.
-- Every error names the bad value and says how to fix it (HINT). No worker
-- runs in this database, so nothing is ever sent from here.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS mono_pay CASCADE;
CREATE EXTENSION mono_pay;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set VERBOSITY default

-- a valid charge and a valid link, for reference
SELECT reference, phone, amount, currency, type, status
  FROM mono_charge('08012345678', 150000, 'Order 1001', 'ORDER1001REF');
SELECT phone, account_name, nip_code, account_number, bvn IS NOT NULL AS has_bvn, status
  FROM mono_link_beneficiary('+2348022222222', 'Ada Obi', '000013', '0123456789', '22212345678');

--
-- mono_charge(phone, amount, description, reference, period, interval,
--             start_date, end_date, currency)
--

-- phone
SELECT mono_charge('abc', 5000, 'Order 1002');
SELECT mono_charge('2348012345', 5000, 'Order 1002');
SELECT mono_charge('+447911123456', 5000, 'Order 1002');
SELECT mono_charge(NULL, 5000, 'Order 1002');

-- amount, in kobo, greater than zero
SELECT mono_charge('2348012345678', 0, 'Order 1002');
SELECT mono_charge('2348012345678', -1, 'Order 1002');
SELECT mono_charge('2348012345678', NULL, 'Order 1002');

-- description, shown to the customer in WhatsApp
SELECT mono_charge('2348012345678', 5000, '');
SELECT mono_charge('2348012345678', 5000, '   ');
SELECT mono_charge('2348012345678', 5000, NULL);

-- reference: 8 to 32 letters or digits, used once
SELECT mono_charge('2348012345678', 5000, 'Order 1002', 'ABCDEF7');
SELECT mono_charge('2348012345678', 5000, 'Order 1002', repeat('A', 33));
SELECT mono_charge('2348012345678', 5000, 'Order 1002', 'ORDER-1002');
SELECT mono_charge('2348012345678', 5000, 'Order 1002', 'ORDER1001REF');

-- a recurring charge: period, interval, start_date, end_date
SELECT mono_charge('2348012345678', 5000, 'Plan', 'PLAN00000001', 'fortnight', 1, '2031-01-01');
SELECT mono_charge('2348012345678', 5000, 'Plan', 'PLAN00000001', 'month', 0, '2031-01-01');
SELECT mono_charge('2348012345678', 5000, 'Plan', 'PLAN00000001', 'month', NULL, '2031-01-01');
SELECT mono_charge('2348012345678', 5000, 'Plan', 'PLAN00000001', 'month');
SELECT mono_charge('2348012345678', 5000, 'Plan', 'PLAN00000001', 'month', 1, '2031-02-01', '2031-01-01');
SELECT mono_charge('2348012345678', 5000, 'Plan', 'PLAN00000001', 'month', 1, 'infinity');
-- dates without a period
SELECT mono_charge('2348012345678', 5000, 'Order 1002', start_date => '2031-01-01');

-- currency
SELECT mono_charge('2348012345678', 5000, 'Order 1002', currency => 'USD');
SELECT mono_charge('2348012345678', 5000, 'Order 1002', currency => NULL);

--
-- mono_link_beneficiary(phone, account_name, nip_code, account_number, bvn,
--                       first_charge_amount, first_charge_description)
--
SELECT mono_link_beneficiary('abc', 'Ada Obi', '000013', '0123456789');
SELECT mono_link_beneficiary(NULL, 'Ada Obi', '000013', '0123456789');
-- account name: 2 to 100 characters
SELECT mono_link_beneficiary('2348033333333', 'A', '000013', '0123456789');
SELECT mono_link_beneficiary('2348033333333', repeat('A', 101), '000013', '0123456789');
SELECT mono_link_beneficiary('2348033333333', NULL, '000013', '0123456789');
-- NIP code: 6 digits
SELECT mono_link_beneficiary('2348033333333', 'Ada Obi', '12345', '0123456789');
SELECT mono_link_beneficiary('2348033333333', 'Ada Obi', 'abcdef', '0123456789');
SELECT mono_link_beneficiary('2348033333333', 'Ada Obi', NULL, '0123456789');
-- NUBAN: 10 digits
SELECT mono_link_beneficiary('2348033333333', 'Ada Obi', '000013', '012345678');
SELECT mono_link_beneficiary('2348033333333', 'Ada Obi', '000013', NULL);
-- BVN: 11 digits, or NULL
SELECT mono_link_beneficiary('2348033333333', 'Ada Obi', '000013', '0123456789', '2221234567');
SELECT mono_link_beneficiary('2348033333333', 'Ada Obi', '000013', '0123456789', '2221234567a');
-- the first charge
SELECT mono_link_beneficiary('2348033333333', 'Ada Obi', '000013', '0123456789', NULL, 5000);
SELECT mono_link_beneficiary('2348033333333', 'Ada Obi', '000013', '0123456789', NULL, 0, 'Welcome box');
SELECT mono_link_beneficiary('2348033333333', 'Ada Obi', '000013', '0123456789', NULL, 5000, '');
-- one live link per phone
SELECT mono_link_beneficiary('08022222222', 'Ada Obi', '000013', '0123456789');

--
-- mono_unlink_beneficiary(phone)
--
SELECT mono_unlink_beneficiary('abc');
SELECT mono_unlink_beneficiary(NULL);
SELECT mono_unlink_beneficiary('2348099999999');
UPDATE mono.beneficiaries SET status = 'awaiting_authorization' WHERE phone = '2348022222222';
SELECT mono_unlink_beneficiary('2348022222222');

--
-- mono_charge_trigger(): a misconfigured trigger names the column or key
--
CREATE TABLE orders (id serial, customer_phone text, total_kobo bigint,
                     total_naira numeric, note text, order_ref text);
CREATE TRIGGER charge AFTER INSERT ON orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo',
                                         'description=notes');
INSERT INTO orders (customer_phone, total_kobo, note) VALUES ('2348012345678', 5000, 'x');
DROP TRIGGER charge ON orders;
CREATE TRIGGER charge AFTER INSERT ON orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_naira',
                                         'description=note');
INSERT INTO orders (customer_phone, total_naira, note) VALUES ('2348012345678', 50, 'x');
DROP TRIGGER charge ON orders;
CREATE TRIGGER charge AFTER INSERT ON orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo',
                                         'description=note', 'colour=note');
INSERT INTO orders (customer_phone, total_kobo, note) VALUES ('2348012345678', 5000, 'x');
DROP TRIGGER charge ON orders;
CREATE TRIGGER charge AFTER INSERT ON orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo');
INSERT INTO orders (customer_phone, total_kobo, note) VALUES ('2348012345678', 5000, 'x');
DROP TRIGGER charge ON orders;
CREATE TRIGGER charge BEFORE INSERT ON orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo',
                                         'description=note');
INSERT INTO orders (customer_phone, total_kobo, note) VALUES ('2348012345678', 5000, 'x');
DROP TRIGGER charge ON orders;
-- a correct trigger and a row it cannot charge
CREATE TRIGGER charge AFTER INSERT ON orders FOR EACH ROW
    EXECUTE FUNCTION mono_charge_trigger('phone=customer_phone', 'amount=total_kobo',
                                         'description=note', 'reference=order_ref');
INSERT INTO orders (customer_phone, total_kobo, note, order_ref) VALUES ('2348012345678', 0, 'x', 'ORDER1003REF');
INSERT INTO orders (customer_phone, total_kobo, note, order_ref) VALUES ('2348012345678', 5000, 'x', 'ORDER1001REF');
INSERT INTO orders (customer_phone, total_kobo, note, order_ref) VALUES ('2348012345678', 5000, 'Order 1003', 'ORDER1003REF');
DROP TABLE orders;

-- only the valid calls wrote rows
SELECT reference, status FROM mono.fund_requests ORDER BY id;
SELECT phone, status FROM mono.beneficiaries ORDER BY id;

-- the queued rows are discarded on purpose (DROP EXTENSION refuses otherwise)
TRUNCATE mono.fund_requests, mono.beneficiaries;
DROP EXTENSION mono_pay;

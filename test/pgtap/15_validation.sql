-- 15_validation: every validation rule of mono_charge(),
-- mono_link_beneficiary() and mono_unlink_beneficiary(): the SQLSTATE, an
-- errmsg naming the bad value, a hint, nothing written and nothing sent
-- (doc/design.md principle 8). sql/validation.sql shows the same errors as a
-- user reads them.
\ir setup.psql

\set ignored `"$MONO_TEST_LIB"/sim user 2348033333333 active`
SET TimeZone = 'UTC';

SELECT plan(81);

-- setup: a live link (2348011111111, still awaiting the customer) and a
-- used reference (another phone: Mono takes a phone's next prompt only
-- once its earlier one is answered)
SELECT mono_link_beneficiary('2348011111111', 'Ada Obi', '000013', '0123456789', '22212345678') AS ignored \gset
SELECT mono_charge('2348011111115', 5000, 'A used reference', 'USEDREF0000001') AS ignored \gset
SELECT ok(mono_test.wait_until($$(SELECT (SELECT status FROM mono.beneficiaries) = 'awaiting_authorization'
                                    AND (SELECT status FROM mono.fund_requests) = 'awaiting_authorization')$$),
          'setup: a link and a charge are accepted by Mono');

SELECT (SELECT count(*) FROM mono.fund_requests) AS fr0, (SELECT count(*) FROM mono.beneficiaries) AS ben0,
       (SELECT max(updated_at) FROM mono.beneficiaries) AS ben_updated0 \gset
\set total0 `"$MONO_TEST_LIB"/sim total`

-- Every rule: the call, the SQLSTATE and the exact errmsg.
CREATE TEMP TABLE cases (n serial, label text, stmt text, code text, msg text);
INSERT INTO cases (label, stmt, code, msg) VALUES
-- mono_charge: phone
('charge: letters for a phone', $$SELECT mono_charge('abc', 5000, 'x')$$, '22023', 'invalid phone number "abc"'),
('charge: an empty phone', $$SELECT mono_charge('', 5000, 'x')$$, '22023', 'invalid phone number ""'),
('charge: a short phone', $$SELECT mono_charge('2348012345', 5000, 'x')$$, '22023', 'invalid phone number "2348012345"'),
('charge: a phone outside +234', $$SELECT mono_charge('+447911123456', 5000, 'x')$$, '22023', 'invalid phone number "+447911123456"'),
('charge: a NULL phone', $$SELECT mono_charge(NULL, 5000, 'x')$$, '22023', 'phone must not be null'),
-- amount
('charge: amount 0', $$SELECT mono_charge('2348012345678', 0, 'x')$$, '22023', 'invalid amount 0'),
('charge: amount -1', $$SELECT mono_charge('2348012345678', -1, 'x')$$, '22023', 'invalid amount -1'),
('charge: a NULL amount', $$SELECT mono_charge('2348012345678', NULL, 'x')$$, '22023', 'amount must not be null'),
-- description
('charge: an empty description', $$SELECT mono_charge('2348012345678', 5000, '')$$, '22023', 'description must not be empty'),
('charge: a blank description', $$SELECT mono_charge('2348012345678', 5000, E' \t ')$$, '22023', 'description must not be empty'),
('charge: a description of Unicode spaces only', $$SELECT mono_charge('2348012345678', 5000, E'\u00a0\u3000\u2009\ufeff')$$, '22023', 'description must not be empty'),
('charge: a NULL description', $$SELECT mono_charge('2348012345678', 5000, NULL)$$, '22023', 'description must not be null'),
-- reference
('charge: a 7-character reference', $$SELECT mono_charge('2348012345678', 5000, 'x', 'ABCDEF7')$$, '22023', 'invalid reference "ABCDEF7"'),
('charge: a 33-character reference', $$SELECT mono_charge('2348012345678', 5000, 'x', repeat('A', 33))$$, '22023', 'invalid reference "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"'),
('charge: a reference with a dash', $$SELECT mono_charge('2348012345678', 5000, 'x', 'REF-0000001')$$, '22023', 'invalid reference "REF-0000001"'),
('charge: a reference with an accent', $$SELECT mono_charge('2348012345678', 5000, 'x', 'RÉF0000001')$$, '22023', 'invalid reference "RÉF0000001"'),
('charge: an empty reference', $$SELECT mono_charge('2348012345678', 5000, 'x', '')$$, '22023', 'invalid reference ""'),
('charge: a reference already used', $$SELECT mono_charge('2348012345678', 5000, 'x', 'USEDREF0000001')$$, '23505', 'reference "USEDREF0000001" is already used'),
-- period and interval
('charge: period fortnight', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, 'fortnight', 1, '2031-01-01')$$, '22023', 'invalid period "fortnight"'),
('charge: period Month (case matters)', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, 'Month', 1, '2031-01-01')$$, '22023', 'invalid period "Month"'),
('charge: an empty period', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, '', 1, '2031-01-01')$$, '22023', 'invalid period ""'),
('charge: interval 0', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, 'month', 0, '2031-01-01')$$, '22023', 'invalid interval 0'),
('charge: interval -3', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, 'week', -3, '2031-01-01')$$, '22023', 'invalid interval -3'),
('charge: a NULL interval', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, 'week', NULL, '2031-01-01')$$, '22023', 'interval must not be null'),
-- dates
('charge: recurring without start_date', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, 'month')$$, '22023', 'start_date must not be null for a recurring charge'),
('charge: end_date before start_date', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, 'month', 1, '2031-02-01', '2031-01-01')$$, '22023', 'invalid end_date "2031-01-01 00:00:00+00"'),
('charge: end_date equal to start_date', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, 'month', 1, '2031-02-01', '2031-02-01')$$, '22023', 'invalid end_date "2031-02-01 00:00:00+00"'),
('charge: an infinite start_date', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, 'month', 1, 'infinity')$$, '22023', 'invalid start_date "infinity"'),
('charge: an infinite end_date', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, 'month', 1, '2031-02-01', 'infinity')$$, '22023', 'invalid end_date "infinity"'),
('charge: a one-time charge with a start_date', $$SELECT mono_charge('2348012345678', 5000, 'x', NULL, NULL, 1, '2031-02-01')$$, '22023', 'start_date and end_date apply to recurring charges only'),
('charge: a one-time charge with an end_date', $$SELECT mono_charge('2348012345678', 5000, 'x', end_date => '2031-02-01')$$, '22023', 'start_date and end_date apply to recurring charges only'),
-- currency
('charge: currency USD', $$SELECT mono_charge('2348012345678', 5000, 'x', currency => 'USD')$$, '22023', 'invalid currency "USD"'),
('charge: an empty currency', $$SELECT mono_charge('2348012345678', 5000, 'x', currency => '')$$, '22023', 'invalid currency ""'),
('charge: a NULL currency', $$SELECT mono_charge('2348012345678', 5000, 'x', currency => NULL)$$, '22023', 'currency must not be null'),
-- mono_link_beneficiary: phone
('link: letters for a phone', $$SELECT mono_link_beneficiary('abc', 'Ada Obi', '000013', '0123456789')$$, '22023', 'invalid phone number "abc"'),
('link: a NULL phone', $$SELECT mono_link_beneficiary(NULL, 'Ada Obi', '000013', '0123456789')$$, '22023', 'phone must not be null'),
-- account name
('link: a 1-character account name', $$SELECT mono_link_beneficiary('2348022222222', 'A', '000013', '0123456789')$$, '22023', 'invalid account_name "A"'),
('link: a 101-character account name', $$SELECT mono_link_beneficiary('2348022222222', repeat('A', 101), '000013', '0123456789')$$, '22023', 'invalid account_name "' || repeat('A', 60) || '..."'),
('link: an empty account name', $$SELECT mono_link_beneficiary('2348022222222', '', '000013', '0123456789')$$, '22023', 'invalid account_name ""'),
-- NIP code
('link: a 5-digit NIP code', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '12345', '0123456789')$$, '22023', 'invalid nip_code "12345"'),
('link: a 7-digit NIP code', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '1234567', '0123456789')$$, '22023', 'invalid nip_code "1234567"'),
('link: letters for a NIP code', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', 'abcdef', '0123456789')$$, '22023', 'invalid nip_code "abcdef"'),
-- NUBAN
('link: a 9-digit account number', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '012345678')$$, '22023', 'invalid account_number "012345678"'),
('link: an 11-digit account number', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '01234567890')$$, '22023', 'invalid account_number "01234567890"'),
('link: an account number with a space', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '01234 6789')$$, '22023', 'invalid account_number "01234 6789"'),
-- BVN
('link: a 10-digit BVN', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', '2221234567')$$, '22023', 'invalid bvn'),
('link: a 12-digit BVN', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', '222123456789')$$, '22023', 'invalid bvn'),
('link: a BVN with a letter', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', '2221234567a')$$, '22023', 'invalid bvn'),
('link: an empty BVN', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', '')$$, '22023', 'invalid bvn'),
-- first charge
('link: a first charge amount without a description', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', NULL, 5000)$$, '22023', 'first_charge_amount and first_charge_description go together'),
('link: a first charge description without an amount', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', NULL, NULL, 'x')$$, '22023', 'first_charge_amount and first_charge_description go together'),
('link: a first charge of 0', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', NULL, 0, 'x')$$, '22023', 'invalid amount 0'),
('link: a first charge of -1', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', NULL, -1, 'x')$$, '22023', 'invalid amount -1'),
('link: a blank first charge description', $$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', '0123456789', NULL, 5000, '  ')$$, '22023', 'description must not be empty'),
-- a second live link
('link: a second link for a phone with a live link', $$SELECT mono_link_beneficiary('08011111111', 'Ada Obi', '000013', '0123456789')$$, '23505', 'phone "2348011111111" already has a link'),
-- mono_unlink_beneficiary
('unlink: letters for a phone', $$SELECT mono_unlink_beneficiary('abc')$$, '22023', 'invalid phone number "abc"'),
('unlink: a NULL phone', $$SELECT mono_unlink_beneficiary(NULL)$$, '22023', 'phone must not be null'),
('unlink: a phone without a link', $$SELECT mono_unlink_beneficiary('2348099999999')$$, 'P0002', 'phone "2348099999999" has no link to unlink'),
('unlink: a link the customer has not completed', $$SELECT mono_unlink_beneficiary('2348011111111')$$, '55000', 'the link of phone "2348011111111" is not confirmed yet');

SELECT throws_ok(stmt, code, msg, label || ': ' || code || ' ' || msg) FROM cases ORDER BY n;

-- Every rule's error carries a hint with the fix.
SELECT is(array_agg(c.label ORDER BY c.n), NULL, 'every one of these errors has a hint')
  FROM cases c, LATERAL mono_test.run(c.stmt) r WHERE coalesce(r.hint, '') = '';

-- NULLs in mono_link_beneficiary
SELECT throws_ok($$SELECT mono_link_beneficiary('2348022222222', NULL, '000013', '0123456789')$$,
                 '22023', 'account_name must not be null', 'link: a NULL account name is refused');
SELECT throws_ok($$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', NULL, '0123456789')$$,
                 '22023', 'nip_code must not be null', 'link: a NULL NIP code is refused');
SELECT throws_ok($$SELECT mono_link_beneficiary('2348022222222', 'Ada Obi', '000013', NULL)$$,
                 '22023', 'account_number must not be null', 'link: a NULL account number is refused');

------------------------------------------------------------------------
-- Details and hints of a few errors, as a user reads them
------------------------------------------------------------------------
SELECT results_eq($$SELECT detail, hint FROM mono_test.run('SELECT mono_charge(''2348012345678'', 0, ''x'')')$$,
                  $$VALUES ('Amounts are in kobo and must be greater than zero.',
                            'Pass the amount in kobo, e.g. 150000 for NGN 1,500.00.')$$,
                  'invalid amount: detail and hint explain kobo');
SELECT results_eq($$SELECT detail, hint FROM mono_test.run('SELECT mono_charge(''2348012345678'', 5, ''x'', ''ABC'')')$$,
                  $$VALUES ('Mono accepts references of 8 to 32 letters or digits.',
                            'Pass a reference matching ^[A-Za-z0-9]{8,32}$, or NULL to have one generated.')$$,
                  'invalid reference: detail and hint give the rule');
SELECT results_eq($$SELECT detail, hint FROM mono_test.run('SELECT mono_link_beneficiary(''2348022222222'', ''A'', ''000013'', ''0123456789'')')$$,
                  $$VALUES ('The name has 1 character.', 'Pass the name of the destination account (where the money is paid, e.g. the customer''s wallet on your platform), 2 to 100 characters.')$$,
                  'invalid account_name: detail counts the characters, hint gives the rule');
SELECT ok(hint LIKE '%mono_unlink_beneficiary()%', 'a second link: the hint says to unlink first')
  FROM mono_test.run($$SELECT mono_link_beneficiary('08011111111', 'Ada Obi', '000013', '0123456789')$$);
SELECT ok(detail = 'Its status is awaiting_authorization; Mono gives the link an id only once the customer completes it in WhatsApp.'
          AND hint = 'Wait for status linked, then unlink.',
          'an unconfirmed link: the detail gives its status, the hint says what to wait for')
  FROM mono_test.run($$SELECT mono_unlink_beneficiary('2348011111111')$$);

------------------------------------------------------------------------
-- The edges that are valid (in a transaction rolled back)
------------------------------------------------------------------------
BEGIN;
SELECT lives_ok($$SELECT mono_charge('2348012345678', 1, 'x', 'ABCDEFG8')$$, 'amount 1 and an 8-character reference are valid');
SELECT lives_ok($$SELECT mono_charge('2348012345678', 1, 'x', repeat('Z', 32))$$, 'a 32-character reference is valid');
SELECT lives_ok($$SELECT mono_charge('0801 234-5678', 1, 'x')$$, 'a local phone with a space and a dash is valid');
SELECT is(phone, '2348012345678', 'and is normalised to 2348012345678')
  FROM mono.fund_requests WHERE amount = 1 AND reference NOT IN ('ABCDEFG8', repeat('Z', 32));
SELECT lives_ok($$SELECT mono_charge('2348012345678', 1, 'x', NULL, 'day', 1, now())$$, 'a daily charge starting now is valid');
SELECT lives_ok($$SELECT mono_link_beneficiary('2348022222222', 'Al', '000013', '0123456789', '22212345678')$$,
                'a 2-character account name and an 11-digit BVN are valid');
SELECT lives_ok($$SELECT mono_link_beneficiary('2348044444444', repeat('é', 100), '000013', '0123456789')$$,
                'an account name of 100 characters (200 bytes) is valid: characters are counted, not bytes');
ROLLBACK;

------------------------------------------------------------------------
-- Nothing was written, nothing was sent
------------------------------------------------------------------------
SELECT pg_sleep(3 * 0.2) AS slept \gset
SELECT is(count(*), :fr0::bigint, 'no fund request was written by any refused call') FROM mono.fund_requests;
SELECT is(count(*), :ben0::bigint, 'no link was written by any refused call') FROM mono.beneficiaries;
SELECT results_eq($$SELECT action::text, status::text FROM mono.beneficiaries WHERE phone = '2348011111111'$$,
                  $$VALUES ('link', 'awaiting_authorization')$$,
                  'the refused unlink left the live link as it was');
SELECT is(max(updated_at), :'ben_updated0'::timestamptz, 'and did not touch it') FROM mono.beneficiaries;
\set total1 `"$MONO_TEST_LIB"/sim total`
SELECT is(:total1 - :total0, 0, 'the simulator received nothing');

SELECT * FROM finish();

-- leave nothing behind for the worker to send or poll during later files
\ir clean.psql
DROP TABLE cases;

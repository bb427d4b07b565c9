-- 09_references: the references between mono's tables (issue 24). They are
-- triggers, not foreign keys (pg_restore -j would break keys: doc/design.md,
-- e2e 88), and must do what the keys of 0.1.0 did: a row naming a link,
-- fund request, payment or account that does not exist is refused with
-- SQLSTATE 23503, as a key refuses it; deleting a referenced row is refused,
-- except that a fund request's instalments and an account's transactions
-- go with it; only pg_restore's sessions load rows unchecked. Everything
-- happens in one transaction that is rolled back: the worker sees nothing.
\ir ../lib/tap.psql

BEGIN;
SELECT plan(14);

INSERT INTO mono.beneficiaries (phone, account_name, nip_code, account_number, status)
VALUES ('2348090000001', 'Ref Test', '000013', '0123456789', 'linked') RETURNING id AS link \gset
INSERT INTO mono.fund_requests (reference, phone, amount, description, type, period, "interval", start_date,
                                status, link_id)
VALUES ('REF09PAID', '2348090000001', 1000, 'Paid plan', 'recurring', 'month', 1, now(), 'active', :link),
       ('REF09BARE', '2348090000001', 1000, 'Plan without payments', 'recurring', 'month', 1, now(), 'active', NULL);
SELECT id AS paid FROM mono.fund_requests WHERE reference = 'REF09PAID' \gset
SELECT id AS bare FROM mono.fund_requests WHERE reference = 'REF09BARE' \gset
INSERT INTO mono.payments (mono_id, fund_request_id, amount, status)
VALUES ('pay_ref09', :paid, 1000, 'successful') RETURNING id AS payment \gset
INSERT INTO mono.schedule (fund_request_id, seq, due_at, status, payment_id)
VALUES (:paid, 1, now(), 'paid', :payment), (:bare, 1, now(), 'upcoming', NULL), (:bare, 2, now(), 'upcoming', NULL);
INSERT INTO mono.accounts (account_id, tracked) VALUES ('acc_ref09', false);
INSERT INTO mono.transactions (account_id, id, amount, type, date) VALUES ('acc_ref09', 't1', 5, 'credit', now());

-- a row naming what does not exist
SELECT throws_ok($$INSERT INTO mono.fund_requests (reference, phone, amount, description, type, link_id)
                   VALUES ('REF09ORPH', '2348090000001', 1, 'x', 'onetime', -1)$$,
                 '23503', 'insert or update on table "fund_requests" violates the reference of link_id to mono.beneficiaries',
                 'a fund request inside a link that does not exist is refused (23503)');
SELECT throws_ok($$UPDATE mono.fund_requests SET link_id = -1 WHERE reference = 'REF09BARE'$$,
                 '23503', NULL, 'so is moving a fund request into a link that does not exist');
SELECT throws_ok($$INSERT INTO mono.payments (mono_id, fund_request_id, amount, status)
                   VALUES ('pay_ref09_orphan', -1, 1, 'successful')$$,
                 '23503', 'insert or update on table "payments" violates the reference of fund_request_id to mono.fund_requests',
                 'a payment of a fund request that does not exist is refused (23503)');
SELECT lives_ok($$INSERT INTO mono.payments (mono_id, fund_request_id, amount, status)
                  VALUES ('pay_ref09_unmatched', NULL, 1, 'successful')$$,
                'a payment not matched to a fund request yet (NULL) is accepted');
SELECT throws_ok(format($$INSERT INTO mono.schedule (fund_request_id, seq, due_at) VALUES (%s, 1, now())$$, -1),
                 '23503', NULL, 'an instalment of a fund request that does not exist is refused (23503)');
SELECT throws_ok(format($$UPDATE mono.schedule SET payment_id = -1 WHERE fund_request_id = %s AND seq = 1$$, :bare),
                 '23503', NULL, 'an instalment paid by a payment that does not exist is refused (23503)');
SELECT throws_ok($$INSERT INTO mono.transactions (account_id, id, amount, type, date)
                   VALUES ('acc_nobody', 't1', 1, 'debit', now())$$,
                 '23503', NULL, 'a transaction of an account that does not exist is refused (23503)');

-- deleting what is referenced
SELECT throws_ok(format('DELETE FROM mono.beneficiaries WHERE id = %s', :link),
                 '23503', 'update or delete on table "beneficiaries" violates a reference from mono.fund_requests',
                 'a link that a fund request travelled in cannot be deleted (23503)');
SELECT throws_ok(format('DELETE FROM mono.fund_requests WHERE id = %s', :paid),
                 '23503', 'update or delete on table "fund_requests" violates a reference from mono.payments',
                 'a fund request with payments cannot be deleted (23503)');
SELECT throws_ok(format('DELETE FROM mono.payments WHERE id = %s', :payment),
                 '23503', 'update or delete on table "payments" violates a reference from mono.schedule',
                 'a payment that paid an instalment cannot be deleted (23503)');
DELETE FROM mono.fund_requests WHERE reference = 'REF09BARE';
SELECT is((SELECT count(*)::int FROM mono.schedule WHERE fund_request_id = :bare), 0,
          'a deleted fund request takes its instalments with it');
DELETE FROM mono.accounts WHERE account_id = 'acc_ref09';
SELECT is((SELECT count(*)::int FROM mono.transactions WHERE account_id = 'acc_ref09'), 0,
          'a deleted account takes its transactions with it');

-- pg_restore's sessions load rows unchecked (pg_restore -j loads tables in any order)
SET LOCAL application_name = 'pg_restore';
SELECT lives_ok($$INSERT INTO mono.payments (mono_id, fund_request_id, amount, status)
                  VALUES ('pay_ref09_restored', 999999, 1, 'successful')$$,
                'pg_restore''s session loads a payment before its fund request');
RESET application_name;
SELECT throws_ok($$INSERT INTO mono.payments (mono_id, fund_request_id, amount, status)
                   VALUES ('pay_ref09_after', 999999, 1, 'successful')$$,
                 '23503', NULL, 'and any other session is checked again');

SELECT * FROM finish();
ROLLBACK;

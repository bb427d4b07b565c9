------------------------------------------------------------------------
-- Comments: what \df+ and \d+ say about every public function, table,
-- view and column (test/pgtap/08_comments.sql checks none is missing).
-- COMMENT ON may run again: the upgrade script gets this part too.
--
-- Public and internal (the rule, stated once, also in doc/design.md):
-- functions named mono_* in the extension's schema are the API; tables
-- and views of schema mono are read by applications and analysts (their
-- columns marked "Internal:" are the worker's bookkeeping); functions,
-- domains and types in schema mono are internal, called by the API, the
-- worker and the triggers, and may change in any release.
------------------------------------------------------------------------
COMMENT ON SCHEMA mono IS 'mono_pay''s tables and views (read them; write only through the mono_* functions). Functions in this schema are internal: the API is the mono_* functions of the extension''s schema.';

COMMENT ON FUNCTION mono_user_status(text) IS 'Asks Mono (now, synchronously) whether a phone is a WhatsApp user Mono knows: phone, exists, status. not_found is a result, not an error.';
COMMENT ON FUNCTION mono_link_beneficiary(text,text,text,text,text,bigint,text) IS 'Queues a link of a phone to a destination account (and optionally a first one-time charge); sent by the worker after COMMIT. Returns the mono.beneficiaries row.';
COMMENT ON FUNCTION mono_link_beneficiary(text,text,text,text,text,bigint,text,text,integer,timestamptz,timestamptz,text) IS 'Queues a link with a first recurring charge (period, interval, start and end date); sent by the worker after COMMIT. Returns the mono.beneficiaries row.';
COMMENT ON FUNCTION mono_charge(text,bigint,text,text,text,integer,timestamptz,timestamptz,text) IS 'Queues a fund request: one-time when period is NULL, recurring otherwise; generates a reference when none is given. Sent by the worker after COMMIT. Returns the mono.fund_requests row.';
COMMENT ON FUNCTION mono_unlink_beneficiary(text) IS 'Queues the unlink of the phone''s live link; sent by the worker after COMMIT. Returns the mono.beneficiaries row.';
COMMENT ON FUNCTION mono_wait(text,interval) IS 'Waits until the fund request with this reference has left queued/sending (call it after the COMMIT that queued it); returns the row, e.g. with redirect_url.';
COMMENT ON FUNCTION mono_charge_trigger() IS 'Trigger function for AFTER INSERT ... FOR EACH ROW: charges each new row; arguments map columns, e.g. ''phone=customer_phone'', ''amount=total_kobo''.';
COMMENT ON FUNCTION mono_account_sync(text,boolean) IS 'Reads a Connect account from Mono now (and starts a real-time refresh when asked); records it in mono.accounts and tracks it. Returns the row.';
COMMENT ON FUNCTION mono_inflow(text) IS 'Reads a Connect account''s monthly credits from Mono now; stores and returns them (mono.account_flows).';
COMMENT ON FUNCTION mono_outflow(text) IS 'Reads a Connect account''s monthly debits from Mono now; stores and returns them (mono.account_flows).';
COMMENT ON FUNCTION mono_worker_status() IS 'The worker: running, its state, queue depth, requests in flight, last error.';
COMMENT ON FUNCTION mono_resume() IS 'Superuser only: lets this (restored or cloned) database talk to Mono; records its identity in mono.node_identity.';
COMMENT ON FUNCTION mono_handle_webhook(text,text) IS 'Verifies a Mono webhook (the mono-webhook-secret header value, or hmac-sha256:<hex> of the body), stores it in mono.webhook_events and applies it: applied, duplicate or ignored; a wrong secret raises an error and stores nothing.';

COMMENT ON TABLE mono.beneficiaries IS 'Links (beneficiaries): a WhatsApp user''s phone linked to the destination account of the money; one live link per phone. Written by mono_link_beneficiary() and mono_unlink_beneficiary(), moved by the worker, webhooks and reads.';
COMMENT ON COLUMN mono.beneficiaries.id IS 'Row id.';
COMMENT ON COLUMN mono.beneficiaries.phone IS 'Customer phone, digits 234… (normalised).';
COMMENT ON COLUMN mono.beneficiaries.account_name IS 'Name of the destination account (Mono''s fund_beneficiary: where the money is paid, e.g. the customer''s wallet on your platform).';
COMMENT ON COLUMN mono.beneficiaries.nip_code IS 'NIP code (6 digits) of the destination bank.';
COMMENT ON COLUMN mono.beneficiaries.account_number IS 'NUBAN (10 digits) of the destination account.';
COMMENT ON COLUMN mono.beneficiaries.bvn IS 'The BVN, kept only until it has been sent; NULL after.';
COMMENT ON COLUMN mono.beneficiaries.action IS 'What the worker does while queued, sending or unknown: link or unlink.';
COMMENT ON COLUMN mono.beneficiaries.status IS 'queued, sending, awaiting_authorization, linked, unlinked, failed or unknown (an ambiguous send, settled by a read).';
COMMENT ON COLUMN mono.beneficiaries.linked_at IS 'When the link became linked.';
COMMENT ON COLUMN mono.beneficiaries.unlinked_at IS 'When the link became unlinked.';
COMMENT ON COLUMN mono.beneficiaries.list_offset IS 'Internal: where the next read of the phone''s list at Mono starts.';
COMMENT ON COLUMN mono.beneficiaries.mono_id IS 'Mono''s id, once Mono has answered.';
COMMENT ON COLUMN mono.beneficiaries.redirect_url IS 'The WhatsApp link Mono returned, where the customer authorises.';
COMMENT ON COLUMN mono.beneficiaries.attempts IS 'Sends tried so far (a retry adds one).';
COMMENT ON COLUMN mono.beneficiaries.next_attempt_at IS 'When the worker may send it (again).';
COMMENT ON COLUMN mono.beneficiaries.last_error IS 'Why the last attempt failed, in words (Mono''s message when it gave one); NULL after success.';
COMMENT ON COLUMN mono.beneficiaries.http_status IS 'HTTP status of Mono''s last answer.';
COMMENT ON COLUMN mono.beneficiaries.trace_id IS 'Mono''s trace_id of its last error answer (quote it to Mono''s support).';
COMMENT ON COLUMN mono.beneficiaries.error_details IS 'Mono''s field errors of its last error answer, as Mono sent them.';
COMMENT ON COLUMN mono.beneficiaries.next_poll_at IS 'When the worker next reads Mono''s state of it (a GET), NULL when no read is due.';
COMMENT ON COLUMN mono.beneficiaries.polls IS 'Reads of Mono''s state made so far.';
COMMENT ON COLUMN mono.beneficiaries.created_at IS 'When the row was created (the application''s transaction).';
COMMENT ON COLUMN mono.beneficiaries.updated_at IS 'When the row last changed.';

COMMENT ON TABLE mono.fund_requests IS 'Fund requests: one-time or recurring debit authorisations, one row per reference. Written by mono_charge(), mono_charge_trigger() and mono_link_beneficiary(); the worker sends them after COMMIT; webhooks and reads move their status.';
COMMENT ON COLUMN mono.fund_requests.id IS 'Row id.';
COMMENT ON COLUMN mono.fund_requests.reference IS 'Your reference, fixed at creation and reused on every attempt (idempotency).';
COMMENT ON COLUMN mono.fund_requests.phone IS 'Customer phone, digits 234….';
COMMENT ON COLUMN mono.fund_requests.amount IS 'Amount in kobo.';
COMMENT ON COLUMN mono.fund_requests.currency IS 'Currency (NGN).';
COMMENT ON COLUMN mono.fund_requests.description IS 'Description shown to the customer.';
COMMENT ON COLUMN mono.fund_requests.type IS 'onetime or recurring.';
COMMENT ON COLUMN mono.fund_requests.period IS 'Recurring: day, week, month or year; NULL for one-time.';
COMMENT ON COLUMN mono.fund_requests."interval" IS 'Recurring: every how many periods.';
COMMENT ON COLUMN mono.fund_requests.start_date IS 'Recurring: first debit date.';
COMMENT ON COLUMN mono.fund_requests.end_date IS 'Recurring: last date (NULL: open-ended).';
COMMENT ON COLUMN mono.fund_requests.link_id IS 'The link (mono.beneficiaries.id) whose call carries this request, when sent inside a link.';
COMMENT ON COLUMN mono.fund_requests.beneficiary_mono_id IS 'Mono''s id of the link the request is bound to.';
COMMENT ON COLUMN mono.fund_requests.status IS 'queued, sending, awaiting_authorization, created, approved, processing, active, completed, expired, failed, unknown (settled by a read) or cancelled.';
COMMENT ON COLUMN mono.fund_requests.accepted_at IS 'When Mono accepted it (the approval window starts here).';
COMMENT ON COLUMN mono.fund_requests.expired_locally IS 'True when mono_pay.approval_window expired it, not Mono (Mono''s later word still wins).';
COMMENT ON COLUMN mono.fund_requests.mono_status IS 'The status Mono last reported, as Mono said it (also ones mono_pay does not know, e.g. paused).';
COMMENT ON COLUMN mono.fund_requests.list_offset IS 'Internal: where the next read of the phone''s list at Mono starts.';
COMMENT ON COLUMN mono.fund_requests.payments_offset IS 'Internal: where the next read of its payments at Mono starts.';
COMMENT ON COLUMN mono.fund_requests.mono_id IS 'Mono''s id, once Mono has answered.';
COMMENT ON COLUMN mono.fund_requests.redirect_url IS 'The WhatsApp link Mono returned, where the customer authorises.';
COMMENT ON COLUMN mono.fund_requests.attempts IS 'Sends tried so far (a retry adds one).';
COMMENT ON COLUMN mono.fund_requests.next_attempt_at IS 'When the worker may send it (again).';
COMMENT ON COLUMN mono.fund_requests.last_error IS 'Why the last attempt failed, in words (Mono''s message when it gave one); NULL after success.';
COMMENT ON COLUMN mono.fund_requests.http_status IS 'HTTP status of Mono''s last answer.';
COMMENT ON COLUMN mono.fund_requests.trace_id IS 'Mono''s trace_id of its last error answer (quote it to Mono''s support).';
COMMENT ON COLUMN mono.fund_requests.error_details IS 'Mono''s field errors of its last error answer, as Mono sent them.';
COMMENT ON COLUMN mono.fund_requests.next_poll_at IS 'When the worker next reads Mono''s state of it (a GET), NULL when no read is due.';
COMMENT ON COLUMN mono.fund_requests.polls IS 'Reads of Mono''s state made so far.';
COMMENT ON COLUMN mono.fund_requests.created_at IS 'When the row was created (the application''s transaction).';
COMMENT ON COLUMN mono.fund_requests.updated_at IS 'When the row last changed.';

COMMENT ON TABLE mono.payments IS 'Debits: one row per payment Mono reported for a fund request (webhook or read).';
COMMENT ON COLUMN mono.payments.id IS 'Row id.';
COMMENT ON COLUMN mono.payments.mono_id IS 'Mono''s id of the debit.';
COMMENT ON COLUMN mono.payments.fund_request_id IS 'The fund request (mono.fund_requests.id); NULL while unmatched (see mono.orphans).';
COMMENT ON COLUMN mono.payments.fund_request_mono_id IS 'Mono''s id of the fund request it belongs to.';
COMMENT ON COLUMN mono.payments.reference IS 'Reference of the fund request, as Mono sent it.';
COMMENT ON COLUMN mono.payments.amount IS 'Amount debited, in kobo.';
COMMENT ON COLUMN mono.payments.currency IS 'Currency (NGN).';
COMMENT ON COLUMN mono.payments.status IS 'successful or failed.';
COMMENT ON COLUMN mono.payments.message IS 'Mono''s message (e.g. why it failed).';
COMMENT ON COLUMN mono.payments.processed_at IS 'When Mono processed the debit.';
COMMENT ON COLUMN mono.payments.session_id IS 'NIP session id of the transfer.';
COMMENT ON COLUMN mono.payments.instalment_seq IS 'The instalment (mono.schedule.seq) it pays, for recurring requests.';
COMMENT ON COLUMN mono.payments.created_at IS 'When it was recorded here.';

COMMENT ON TABLE mono.schedule IS 'The expected instalments of each recurring fund request, and what became of each.';
COMMENT ON COLUMN mono.schedule.fund_request_id IS 'The recurring fund request (mono.fund_requests.id).';
COMMENT ON COLUMN mono.schedule.seq IS 'Instalment number, from 1.';
COMMENT ON COLUMN mono.schedule.due_at IS 'When it is due.';
COMMENT ON COLUMN mono.schedule.status IS 'upcoming, due, paid, failed or missed (no successful payment mono_pay.schedule_grace after due_at).';
COMMENT ON COLUMN mono.schedule.payment_id IS 'The payment (mono.payments.id) that paid it.';
COMMENT ON COLUMN mono.schedule.updated_at IS 'When the row last changed.';

COMMENT ON TABLE mono.accounts IS 'Mono Connect accounts: details, data status and balance, and the worker''s tracking of them. Written by mono_account_sync(), the worker and Connect webhooks.';
COMMENT ON COLUMN mono.accounts.account_id IS 'Mono''s account id.';
COMMENT ON COLUMN mono.accounts.name IS 'Account holder name.';
COMMENT ON COLUMN mono.accounts.account_number IS 'Account number.';
COMMENT ON COLUMN mono.accounts.type IS 'Account type, as Mono reports it.';
COMMENT ON COLUMN mono.accounts.data_status IS 'AVAILABLE, PARTIAL, UNAVAILABLE, FAILED or PROCESSING (Mono''s).';
COMMENT ON COLUMN mono.accounts.retrieved_data IS 'What Mono could retrieve (e.g. {transactions,balance}).';
COMMENT ON COLUMN mono.accounts.has_new_data IS 'Whether the last real-time refresh found new data.';
COMMENT ON COLUMN mono.accounts.sync_status IS 'Mono''s sync status of the last refresh.';
COMMENT ON COLUMN mono.accounts.auth_method IS 'How the customer authenticated.';
COMMENT ON COLUMN mono.accounts.balance IS 'Balance in kobo.';
COMMENT ON COLUMN mono.accounts.currency IS 'Currency of the balance.';
COMMENT ON COLUMN mono.accounts.institution IS 'The bank, as Mono describes it (jsonb).';
COMMENT ON COLUMN mono.accounts.customer_id IS 'Mono''s customer id.';
COMMENT ON COLUMN mono.accounts.ref IS 'Your reference for the account, as given to Mono Connect.';
COMMENT ON COLUMN mono.accounts.job_id IS 'Mono''s id of the last real-time refresh job.';
COMMENT ON COLUMN mono.accounts.job_status IS 'Status of that job.';
COMMENT ON COLUMN mono.accounts.tracked IS 'Whether the worker refreshes it every mono_pay.account_refresh_interval.';
COMMENT ON COLUMN mono.accounts.unlinked IS 'Whether the customer unlinked it (Mono said so).';
COMMENT ON COLUMN mono.accounts.last_synced_at IS 'When its details were last read.';
COMMENT ON COLUMN mono.accounts.last_refresh_at IS 'When a real-time refresh was last started.';
COMMENT ON COLUMN mono.accounts.transactions_synced_at IS 'When its transactions were last pulled.';
COMMENT ON COLUMN mono.accounts.next_sync_at IS 'When the worker next checks it.';
COMMENT ON COLUMN mono.accounts.attempts IS 'Failed calls since the last success.';
COMMENT ON COLUMN mono.accounts.last_error IS 'Why the last call failed; NULL after success.';
COMMENT ON COLUMN mono.accounts.updated_at IS 'When the row last changed.';
COMMENT ON COLUMN mono.accounts.next_step IS 'Internal: the worker''s next call for it (details, refresh, transactions).';
COMMENT ON COLUMN mono.accounts.claimed_until IS 'Internal: lease of a call in flight.';
COMMENT ON COLUMN mono.accounts.refresh_pending IS 'Internal: a refresh whose outcome is not known yet.';
COMMENT ON COLUMN mono.accounts.transactions_page IS 'Internal: page of the transactions pull in progress.';
COMMENT ON COLUMN mono.accounts.transactions_since IS 'Internal: date the pull in progress starts from.';
COMMENT ON COLUMN mono.accounts.balance_updated_at IS 'When the stored balance was read from Mono (how old it is); renew it with mono_account_sync().';
COMMENT ON COLUMN mono.accounts.refresh_requested_at IS 'When mono_account_sync(id, true) asked for a real-time refresh; the worker makes it after COMMIT.';

COMMENT ON TABLE mono.transactions IS 'Transactions of Connect accounts, as pulled from Mono.';
COMMENT ON COLUMN mono.transactions.account_id IS 'The account (mono.accounts.account_id).';
COMMENT ON COLUMN mono.transactions.id IS 'Mono''s transaction id.';
COMMENT ON COLUMN mono.transactions.narration IS 'Narration.';
COMMENT ON COLUMN mono.transactions.amount IS 'Amount in kobo (positive).';
COMMENT ON COLUMN mono.transactions.type IS 'debit or credit.';
COMMENT ON COLUMN mono.transactions.balance IS 'Balance after it, in kobo, when Mono gives one.';
COMMENT ON COLUMN mono.transactions.date IS 'When it happened.';
COMMENT ON COLUMN mono.transactions.category IS 'Mono''s category.';

COMMENT ON TABLE mono.account_flows IS 'Monthly inflow and outflow of Connect accounts, from Mono''s credits/debits endpoints or summed from transactions.';
COMMENT ON COLUMN mono.account_flows.account_id IS 'The account.';
COMMENT ON COLUMN mono.account_flows.direction IS 'inflow or outflow.';
COMMENT ON COLUMN mono.account_flows.period IS 'The month (its first day).';
COMMENT ON COLUMN mono.account_flows.amount IS 'Sum in kobo.';
COMMENT ON COLUMN mono.account_flows.transaction_count IS 'Transactions in it.';
COMMENT ON COLUMN mono.account_flows.source IS 'api (Mono''s credits/debits) or transactions (summed here).';
COMMENT ON COLUMN mono.account_flows.fetched_at IS 'When it was read.';

COMMENT ON TABLE mono.account_flow_totals IS 'The totals of Mono''s credits/debits answers, as Mono reported them.';
COMMENT ON COLUMN mono.account_flow_totals.account_id IS 'The account.';
COMMENT ON COLUMN mono.account_flow_totals.direction IS 'inflow or outflow.';
COMMENT ON COLUMN mono.account_flow_totals.amount IS 'Total in kobo; NULL when the answer had none.';
COMMENT ON COLUMN mono.account_flow_totals.transaction_count IS 'Total count; NULL when none.';
COMMENT ON COLUMN mono.account_flow_totals.fetched_at IS 'When it was read.';

COMMENT ON TABLE mono.http_log IS 'One row per API call of the worker, when mono_pay.http_log is on (kept mono_pay.http_log_retention); never headers, bodies or secrets.';
COMMENT ON COLUMN mono.http_log.id IS 'Row id.';
COMMENT ON COLUMN mono.http_log.at IS 'When the call started.';
COMMENT ON COLUMN mono.http_log.method IS 'HTTP method.';
COMMENT ON COLUMN mono.http_log.path IS 'Path called (no query secrets).';
COMMENT ON COLUMN mono.http_log.http_status IS 'HTTP status (NULL: no answer).';
COMMENT ON COLUMN mono.http_log.duration_ms IS 'Duration in milliseconds.';
COMMENT ON COLUMN mono.http_log.error IS 'Transport error, if any.';

COMMENT ON TABLE mono.node_identity IS 'The identity of the database that may talk to Mono; a restored or cloned copy pauses until mono_resume().';
COMMENT ON COLUMN mono.node_identity.system_identifier IS 'Cluster''s system identifier.';
COMMENT ON COLUMN mono.node_identity.database_oid IS 'Database oid.';
COMMENT ON COLUMN mono.node_identity.database_name IS 'Database name.';
COMMENT ON COLUMN mono.node_identity.recorded_by IS 'create extension, pg_restore, upgrade or mono_resume.';
COMMENT ON COLUMN mono.node_identity.recorded_at IS 'When it was recorded.';

COMMENT ON TABLE mono.webhook_events IS 'Every webhook received (and every event read back by polling), raw, de-duplicated by event_id.';
COMMENT ON COLUMN mono.webhook_events.id IS 'Row id.';
COMMENT ON COLUMN mono.webhook_events.event_id IS 'Mono''s event id (or a hash of the body when it has none).';
COMMENT ON COLUMN mono.webhook_events.event IS 'Event name, e.g. owo.fund_request.approved.';
COMMENT ON COLUMN mono.webhook_events.body IS 'The body, parsed.';
COMMENT ON COLUMN mono.webhook_events.mono_ref IS 'The Mono id the event is about.';
COMMENT ON COLUMN mono.webhook_events.received_at IS 'When it arrived.';
COMMENT ON COLUMN mono.webhook_events.applied_at IS 'When it was applied (NULL: not applied).';
COMMENT ON COLUMN mono.webhook_events.outcome IS 'applied, ignored, stale (older than what is known), unmatched (waits for the row it names) or rejected.';
COMMENT ON COLUMN mono.webhook_events.error IS 'Why a rejected event could not be applied.';
COMMENT ON COLUMN mono.webhook_events.raw IS 'The body exactly as received; NULL for polled reads and events stored before 0.2.0.';

COMMENT ON VIEW mono.instalments IS 'Instalments of recurring fund requests with their request and payment: what is due, paid, failed or missed.';
COMMENT ON COLUMN mono.instalments.fund_request_id IS 'The fund request.';
COMMENT ON COLUMN mono.instalments.reference IS 'Its reference.';
COMMENT ON COLUMN mono.instalments.phone IS 'Customer phone.';
COMMENT ON COLUMN mono.instalments.amount IS 'Amount of each instalment, kobo.';
COMMENT ON COLUMN mono.instalments.period IS 'Period.';
COMMENT ON COLUMN mono.instalments."interval" IS 'Every how many periods.';
COMMENT ON COLUMN mono.instalments.fund_request_status IS 'The fund request''s status.';
COMMENT ON COLUMN mono.instalments.seq IS 'Instalment number.';
COMMENT ON COLUMN mono.instalments.due_at IS 'When due.';
COMMENT ON COLUMN mono.instalments.status IS 'upcoming, due, paid, failed or missed.';
COMMENT ON COLUMN mono.instalments.payment_mono_id IS 'Mono''s id of the payment.';
COMMENT ON COLUMN mono.instalments.paid_at IS 'When paid.';
COMMENT ON COLUMN mono.instalments.message IS 'Mono''s message of the payment.';
COMMENT ON COLUMN mono.instalments.fund_request_mono_status IS 'The status Mono last reported of the fund request.';

COMMENT ON VIEW mono.flows IS 'Monthly flows of Connect accounts, both directions, with naira amounts.';
COMMENT ON COLUMN mono.flows.direction IS 'inflow or outflow.';
COMMENT ON COLUMN mono.flows.account_id IS 'The account.';
COMMENT ON COLUMN mono.flows.period IS 'The month (its first day).';
COMMENT ON COLUMN mono.flows.amount IS 'Sum in kobo.';
COMMENT ON COLUMN mono.flows.amount_naira IS 'Sum in naira.';
COMMENT ON COLUMN mono.flows.transaction_count IS 'Transactions.';
COMMENT ON COLUMN mono.flows.source IS 'api or transactions.';

COMMENT ON VIEW mono.inflow IS 'Monthly inflow (credits) of Connect accounts.';
COMMENT ON COLUMN mono.inflow.account_id IS 'The account.';
COMMENT ON COLUMN mono.inflow.period IS 'The month (its first day).';
COMMENT ON COLUMN mono.inflow.amount IS 'Sum in kobo.';
COMMENT ON COLUMN mono.inflow.amount_naira IS 'Sum in naira.';
COMMENT ON COLUMN mono.inflow.transaction_count IS 'Transactions.';
COMMENT ON COLUMN mono.inflow.source IS 'api or transactions.';

COMMENT ON VIEW mono.outflow IS 'Monthly outflow (debits) of Connect accounts.';
COMMENT ON COLUMN mono.outflow.account_id IS 'The account.';
COMMENT ON COLUMN mono.outflow.period IS 'The month (its first day).';
COMMENT ON COLUMN mono.outflow.amount IS 'Sum in kobo.';
COMMENT ON COLUMN mono.outflow.amount_naira IS 'Sum in naira.';
COMMENT ON COLUMN mono.outflow.transaction_count IS 'Transactions.';
COMMENT ON COLUMN mono.outflow.source IS 'api or transactions.';

COMMENT ON VIEW mono.metrics IS 'Monitoring figures (queue depth by status, ages, outcomes): one row per figure, for Prometheus or any query.';
COMMENT ON COLUMN mono.metrics.name IS 'Figure name.';
COMMENT ON COLUMN mono.metrics.kind IS 'What it counts (e.g. charges, links).';
COMMENT ON COLUMN mono.metrics.label IS 'Its label (e.g. a status).';
COMMENT ON COLUMN mono.metrics.value IS 'Value.';

COMMENT ON VIEW mono.orphans IS 'What Mono reported that matches no row here (payments, events): to look into.';
COMMENT ON COLUMN mono.orphans.kind IS 'What it is (payment, event, unknown_status, unknown_reference).';
COMMENT ON COLUMN mono.orphans.mono_id IS 'Mono''s id.';
COMMENT ON COLUMN mono.orphans.reference IS 'Reference Mono gave.';
COMMENT ON COLUMN mono.orphans.fund_request_mono_id IS 'Mono''s fund request id it names.';
COMMENT ON COLUMN mono.orphans.amount IS 'Amount, kobo.';
COMMENT ON COLUMN mono.orphans.detail IS 'Status or event.';
COMMENT ON COLUMN mono.orphans.seen_at IS 'When it was seen.';
COMMENT ON TABLE mono.unknown_references IS 'References Mono listed at a promotion that this database does not know (a failover lost them); shown in mono.orphans.';
COMMENT ON COLUMN mono.unknown_references.reference IS 'Reference Mono holds.';
COMMENT ON COLUMN mono.unknown_references.mono_id IS 'Mono''s fund request id.';
COMMENT ON COLUMN mono.unknown_references.amount IS 'Amount, kobo.';
COMMENT ON COLUMN mono.unknown_references.phone IS 'Customer phone Mono gave.';
COMMENT ON COLUMN mono.unknown_references.status IS 'Status Mono gave when it was read.';
COMMENT ON COLUMN mono.unknown_references.seen_at IS 'When the reconciliation found it.';

/*
 * queue.c
 *		The worker's side of the outbox, in short transactions with plans
 *		prepared once: mark interrupted sends at start-up, claim due rows
 *		(status sending, attempts + 1, FOR UPDATE SKIP LOCKED), and record a
 *		group of outcomes in one statement per table.
 */
#include "worker.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

/*
 * Columns every claimed charge returns (see mono_charge_body). Free text
 * longer than Mono takes comes back NULL, so that a hostile row costs no
 * memory: the row then fails on its own.
 */
#define CHARGE_COLUMNS \
	"id, attempts, reference, phone, type," \
	" CASE WHEN octet_length(description) <= 1020 THEN description END AS description," \
	" amount, currency, period," \
	" \"interval\", to_char(start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS start_iso," \
	" to_char(end_date AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS end_iso"

/*
 * A phone's requests leave one after another, in queue order (issue 11):
 * Mono ties a redirect_url to the user's most recent request, so a row is
 * claimed only when no request or link of its phone is in flight (sending,
 * or unknown until a read settles it), none earlier is still queued, and,
 * with mono_pay.one_prompt_per_phone ($3), none awaits the customer's
 * authorisation (a link, which never expires, within approval_window).
 * Other phones' rows pass by: the queue does not wait.
 */
#define PHONE_IS_FREE(t) \
	" NOT EXISTS (SELECT 1 FROM mono.fund_requests e WHERE e.phone = " t ".phone" \
	"  AND e.status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')" \
	"  AND (e.status IN ('sending', 'unknown') OR (e.status = 'queued' AND e.id < " t ".id)" \
	"   OR ($3 AND e.status = 'awaiting_authorization')))" \
	" AND NOT EXISTS (SELECT 1 FROM mono.beneficiaries l WHERE l.phone = " t ".phone" \
	"  AND l.action = 'link' AND (l.status IN ('queued', 'sending', 'unknown')" \
	"   OR ($3 AND l.status = 'awaiting_authorization'" \
	"    AND l.updated_at > now() - mono.setting_interval('approval_window'))))"

static const char *const claim_charges_sql =
"UPDATE mono.fund_requests SET status = 'sending', attempts = attempts + 1,"
" claimed_by = $2, updated_at = now()"
" WHERE id IN (SELECT f.id FROM mono.fund_requests f"
"  WHERE f.status = 'queued' AND f.link_id IS NULL AND f.next_attempt_at <= now()"
"  AND " PHONE_IS_FREE("f")
"  ORDER BY f.next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
" RETURNING " CHARGE_COLUMNS;

/* A link waits for its phone's fund requests in flight (an unlink does not). */
static const char *const claim_links_sql =
"UPDATE mono.beneficiaries SET status = 'sending', attempts = attempts + 1,"
" updated_at = now()"
" WHERE id IN (SELECT b.id FROM mono.beneficiaries b"
"  WHERE b.status = 'queued' AND b.next_attempt_at <= now()"
"  AND (b.action = 'unlink' OR NOT EXISTS (SELECT 1 FROM mono.fund_requests e"
"   WHERE e.phone = b.phone AND e.link_id IS NULL"
"   AND (e.status IN ('sending', 'unknown') OR ($2 AND e.status = 'awaiting_authorization'))))"
"  ORDER BY b.next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
" RETURNING id, attempts, action, phone, bvn,"
" CASE WHEN octet_length(account_name) <= 400 THEN account_name END AS account_name,"
" nip_code, account_number, mono_id";

static const char *const claim_first_charge_sql =
"UPDATE mono.fund_requests SET status = 'sending', attempts = attempts + 1,"
" claimed_by = 0, updated_at = now()"
" WHERE link_id = $1 AND status IN ('queued', 'unknown')"
" RETURNING " CHARGE_COLUMNS;

/* Unknown rows are read back; the claim only pushes their next read ahead. */
static const char *const claim_unknown_charges_sql =
"UPDATE mono.fund_requests SET next_attempt_at = now() + $2 * interval '1 millisecond'"
" WHERE id IN (SELECT id FROM mono.fund_requests"
"  WHERE status = 'unknown' AND link_id IS NULL AND next_attempt_at <= now()"
"  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
" RETURNING id, attempts, phone, reference, amount, type, http_status, list_offset";

static const char *const claim_unknown_links_sql =
"UPDATE mono.beneficiaries SET next_attempt_at = now() + $2 * interval '1 millisecond'"
" WHERE id IN (SELECT id FROM mono.beneficiaries"
"  WHERE status = 'unknown' AND next_attempt_at <= now()"
"  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
" RETURNING id, attempts, action, phone, mono_id, list_offset";

#define OUTCOME_COLUMNS \
	"o(id bigint, expect text, status text, redirect_url text, mono_id text," \
	" http_status integer, trace_id text, last_error text, error_details jsonb," \
	" retry_ms bigint, erase_bvn boolean, mono_status text, read_offset integer)"

static const char *const record_charges_sql =
"UPDATE mono.fund_requests f SET status = o.status,"
" redirect_url = coalesce(o.redirect_url, f.redirect_url),"
" mono_id = coalesce(f.mono_id, o.mono_id),"
" mono_status = coalesce(o.mono_status, f.mono_status),"
" list_offset = coalesce(o.read_offset, f.list_offset),"
" http_status = coalesce(o.http_status, f.http_status),"
" trace_id = o.trace_id, last_error = o.last_error, error_details = o.error_details,"
" next_attempt_at = CASE WHEN o.retry_ms IS NULL THEN f.next_attempt_at"
"  ELSE now() + o.retry_ms * interval '1 millisecond' END,"
" accepted_at = CASE WHEN o.status = 'awaiting_authorization' THEN now() ELSE f.accepted_at END,"
" next_poll_at = CASE WHEN mono.fund_request_rank(o.status) BETWEEN 2 AND 8"
"  THEN now() + $2 * interval '1 millisecond' ELSE f.next_poll_at END,"
" updated_at = now()"
" FROM jsonb_to_recordset($1) AS " OUTCOME_COLUMNS
" WHERE f.id = o.id AND f.status = o.expect";

/* A link's first fund request follows its link while both are in the outbox. */
static const char *const record_links_sql =
"WITH r AS (SELECT * FROM jsonb_to_recordset($1) AS " OUTCOME_COLUMNS "),"
/* a Mono id another of our links holds (an old link of the phone) is not this one's */
" o AS (SELECT r.id, r.expect, r.redirect_url, r.http_status, r.trace_id, r.last_error,"
"  r.error_details, r.retry_ms, r.erase_bvn, r.read_offset,"
"  CASE WHEN held THEN 'awaiting_authorization' ELSE r.status END AS status,"
"  CASE WHEN held THEN NULL ELSE r.mono_id END AS mono_id"
"  FROM r, LATERAL (SELECT r.mono_id IS NOT NULL AND EXISTS (SELECT 1 FROM mono.beneficiaries x"
"   WHERE x.mono_id = r.mono_id AND x.id <> r.id) AS held) h),"
" b AS (UPDATE mono.beneficiaries b SET status = o.status,"
"  redirect_url = coalesce(o.redirect_url, b.redirect_url),"
"  mono_id = coalesce(b.mono_id, o.mono_id),"
"  list_offset = coalesce(o.read_offset, b.list_offset),"
"  bvn = CASE WHEN o.erase_bvn THEN NULL ELSE b.bvn END,"
"  http_status = coalesce(o.http_status, b.http_status),"
"  trace_id = o.trace_id, last_error = o.last_error, error_details = o.error_details,"
"  next_attempt_at = CASE WHEN o.retry_ms IS NULL THEN b.next_attempt_at"
"   ELSE now() + o.retry_ms * interval '1 millisecond' END,"
"  next_poll_at = CASE WHEN o.status IN ('awaiting_authorization', 'linked')"
"   THEN now() + $2 * interval '1 millisecond' ELSE b.next_poll_at END,"
"  linked_at = CASE WHEN o.status = 'linked' THEN now() ELSE b.linked_at END,"
"  unlinked_at = CASE WHEN o.status = 'unlinked' THEN now() ELSE b.unlinked_at END,"
"  updated_at = now()"
"  FROM o WHERE b.id = o.id AND b.status = o.expect"
"  RETURNING b.id, b.action, b.status, b.redirect_url, b.last_error, b.http_status,"
"   b.trace_id, b.error_details)"
" UPDATE mono.fund_requests f SET"
"  status = CASE b.status WHEN 'linked' THEN 'awaiting_authorization' ELSE b.status END,"
"  redirect_url = coalesce(b.redirect_url, f.redirect_url),"
"  accepted_at = CASE WHEN b.status IN ('awaiting_authorization', 'linked') THEN now()"
"   ELSE f.accepted_at END,"
"  next_poll_at = CASE WHEN b.status IN ('awaiting_authorization', 'linked')"
"   THEN now() + $2 * interval '1 millisecond' ELSE f.next_poll_at END,"
"  last_error = b.last_error, http_status = b.http_status, trace_id = b.trace_id,"
"  error_details = b.error_details, updated_at = now()"
" FROM b WHERE f.link_id = b.id AND b.action = 'link'"
"  AND f.status IN ('queued', 'sending', 'unknown')"
"  AND b.status IN ('queued', 'awaiting_authorization', 'failed', 'unknown', 'linked')";

/* Reads of requests and links that wait on Mono, backing off as they age. */
static const char *const claim_poll_charges_sql =
"UPDATE mono.fund_requests SET polls = polls + 1,"
" next_poll_at = now() + least($3::float8, $2::float8 * power(2, least(polls, 40)))"
"  * interval '1 millisecond'"
" WHERE id IN (SELECT id FROM mono.fund_requests"
"  WHERE (status IN ('awaiting_authorization', 'created', 'approved', 'processing',"
"   'active', 'completed') OR expired_locally)"
"  AND next_poll_at <= now() ORDER BY next_poll_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
" RETURNING id, attempts, phone, reference, mono_id, status, amount, type,"
"  list_offset, payments_offset";

static const char *const claim_poll_links_sql =
"UPDATE mono.beneficiaries SET polls = polls + 1,"
" next_poll_at = now() + least($3::float8, $2::float8 * power(2, least(polls, 40)))"
"  * interval '1 millisecond'"
" WHERE id IN (SELECT id FROM mono.beneficiaries"
"  WHERE status IN ('awaiting_authorization', 'linked')"
"  AND next_poll_at <= now() ORDER BY next_poll_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
" RETURNING id, attempts, phone, mono_id, status, list_offset";

static SPIPlanPtr plans[12];

/* Prepare (once) and return plan i. */
static SPIPlanPtr
plan(int i, const char *sql, int nargs, Oid *types)
{
	if (plans[i] == NULL)
	{
		plans[i] = SPI_prepare(sql, nargs, types);
		if (plans[i] == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plans[i]);
	}
	return plans[i];
}

/* Open a short transaction with SPI and a snapshot. */
static void
begin_tx(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/* Commit the short transaction. */
static void
commit_tx(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * The version of the extension installed in this database (palloc'd in the
 * caller's context), or NULL when it is not installed.
 */
char *
mono_extension_version(void)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *version = NULL;

	begin_tx("mono_pay: checking for the extension");
	if (SPI_execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'mono_pay'",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up pg_extension");
	if (SPI_processed > 0)
		version = MemoryContextStrdup(caller,
									  SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	commit_tx();
	return version;
}

/*
 * At start-up, rows this worker left in sending become unknown: its own
 * charges (the first worker also takes those of numbers no longer
 * configured) and, for the first worker, links. Other workers' sends go on.
 */
void
mono_queue_recover(void)
{
	uint64		charges,
				links;
	Oid			types[2] = {INT2OID, INT2OID};
	Datum		args[2] = {Int16GetDatum(mono_worker_number), Int16GetDatum(mono_workers)};

	begin_tx("mono_pay: recovering interrupted sends");
	SPI_execute_with_args("UPDATE mono.fund_requests SET status = 'unknown', next_attempt_at = now(),"
						  " last_error = 'worker stopped while sending', updated_at = now()"
						  " WHERE status = 'sending'"
						  "  AND (claimed_by = $1 OR ($1 = 0 AND claimed_by >= $2))",
						  2, types, args, NULL, false, 0);
	charges = SPI_processed;
	links = 0;
	if (mono_worker_number == 0)
	{
		SPI_execute("UPDATE mono.beneficiaries SET status = 'unknown', next_attempt_at = now(),"
					" last_error = 'worker stopped while sending', updated_at = now()"
					" WHERE status = 'sending'", false, 0);
		links = SPI_processed;
	}
	commit_tx();
	if (charges + links > 0)
		ereport(LOG,
				(errmsg("mono_pay: %llu fund requests and %llu links were being sent when the worker stopped; they will be settled by reading Mono's state",
						(unsigned long long) charges, (unsigned long long) links)));
}

/* A new job in cxt for row i of the current SPI result. */
static MonoJob *
new_job(MemoryContext cxt, MonoJobKind kind, int i)
{
	MonoJob    *job = MemoryContextAllocZero(cxt, sizeof(MonoJob));
	HeapTuple	t = SPI_tuptable->vals[i];
	TupleDesc	d = SPI_tuptable->tupdesc;
	bool		isnull;
	MemoryContext old = MemoryContextSwitchTo(cxt);
	int			col;

	job->kind = kind;
	job->id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	job->attempts = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
	job->phone = SPI_getvalue(t, d, SPI_fnumber(d, "phone"));
	if ((col = SPI_fnumber(d, "reference")) > 0)
		job->reference = SPI_getvalue(t, d, col);
	if ((col = SPI_fnumber(d, "mono_id")) > 0)
		job->mono_id = SPI_getvalue(t, d, col);
	if ((col = SPI_fnumber(d, "type")) > 0)
		job->type = SPI_getvalue(t, d, col);
	if ((col = SPI_fnumber(d, "status")) > 0)
		job->row_status = SPI_getvalue(t, d, col);
	if ((col = SPI_fnumber(d, "amount")) > 0)
		job->amount = DatumGetInt64(SPI_getbinval(t, d, col, &isnull));
	if ((col = SPI_fnumber(d, "http_status")) > 0)
	{
		Datum		v = SPI_getbinval(t, d, col, &isnull);

		job->prior_http = isnull ? 0 : DatumGetInt32(v);
	}
	MemoryContextSwitchTo(old);
	return job;
}

/* Set the job's HTTP call (strings copied into cxt). */
static void
set_call(MonoJob *job, MemoryContext cxt, const char *method, char *path, char *body)
{
	job->method = MemoryContextStrdup(cxt, method);
	job->path = MemoryContextStrdup(cxt, path);
	job->body = body ? MemoryContextStrdup(cxt, body) : NULL;
}

/*
 * Make the job a paged read of an Owo list (path without limit/offset),
 * starting at the offset in column offset_column of the claimed row i.
 */
static void
set_list_call(MonoJob *job, MemoryContext cxt, char *list_path, int i,
			  const char *offset_column)
{
	bool		isnull;
	int			col = SPI_fnumber(SPI_tuptable->tupdesc, offset_column);
	Datum		v = col > 0 ? SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
										   col, &isnull) : (Datum) 0;

	job->first_offset = (col > 0 && !isnull) ? Max(DatumGetInt32(v), 0) : 0;
	job->offset = job->first_offset;
	job->list_path = MemoryContextStrdup(cxt, list_path);
	set_call(job, cxt, "GET", mono_page_path(list_path, job->offset), NULL);
}

/*
 * Fail a claimed row (of fund_requests or beneficiaries) that cannot make a
 * request body Mono takes; the other rows of the claim go on.
 */
static void
fail_unbuildable(const char *table, int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		arg = Int64GetDatum(id);
	bool		link = strcmp(table, "beneficiaries") == 0;
	/* the claim's limits (its CASE WHEN octet_length) name the culprit */
	const char *why = link ?
		"CASE WHEN octet_length(account_name) > 400 THEN 'its account_name is longer than the 100 characters Mono takes'"
		" ELSE 'a text of it cannot be encoded as JSON' END" :
		"CASE WHEN octet_length(description) > 1020 THEN 'its description is longer than the 255 characters Mono takes'"
		" ELSE 'a text of it cannot be encoded as JSON' END";
	/* a link fails with the first charge that travels inside it */
	char	   *sql = psprintf("WITH r AS (UPDATE mono.%s SET status = 'failed', updated_at = now(),"
							   "  last_error = 'mono_pay could not build a request Mono takes from this row: ' || %s"
							   "  WHERE id = $1 AND status = 'sending' RETURNING id)"
							   " UPDATE mono.fund_requests f SET status = 'failed', updated_at = now(),"
							   "  last_error = 'its link could not be sent: see the link''s last_error'"
							   " WHERE %s AND f.status = 'sending'", table, why,
							   link ? "f.link_id IN (SELECT id FROM r)" : "false");

	if (SPI_execute_with_args(sql, 1, types, &arg, NULL, false, 0) < 0)
		elog(ERROR, "could not fail the unbuildable row " INT64_FORMAT " of mono.%s", id, table);
	mono_set_last_error(psprintf("row " INT64_FORMAT " of mono.%s could not be sent: it cannot make a request body",
								 id, table));
}

/* Claim due one-time and recurring charges. */
static int
claim_charges(int limit, dlist_head *jobs, MemoryContext cxt)
{
	Oid			types[3] = {INT4OID, INT2OID, BOOLOID};
	Datum		args[3] = {Int32GetDatum(limit), Int16GetDatum(mono_worker_number),
	BoolGetDatum(mono_one_prompt_per_phone)};
	uint64		i;

	SPITupleTable *tt;
	uint64		n;
	char	   *body;

	SPI_execute_plan(plan(0, claim_charges_sql, 3, types), args, NULL, false, 0);
	tt = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		MonoJob    *job;
		bool		isnull;

		body = mono_charge_body(tt->vals[i], tt->tupdesc, true);
		if (body == NULL)
		{
			fail_unbuildable("fund_requests",
							 DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull)));
			continue;
		}
		SPI_tuptable = tt;
		job = new_job(cxt, JOB_CHARGE, i);
		set_call(job, cxt, "POST", "/owo/v1/fund-requests", body);
		dlist_push_tail(jobs, &job->node);
	}
	return (int) n;
}

/*
 * Claim the first fund request travelling inside link id: its body, or
 * NULL when there is none (*ok false when there is one that makes none).
 */
static char *
claim_first_charge(int64 link_id, bool *ok)
{
	Oid			types[1] = {INT8OID};
	Datum		arg = Int64GetDatum(link_id);
	SPITupleTable *saved = SPI_tuptable;
	uint64		saved_n = SPI_processed;
	char	   *body = NULL;

	SPI_execute_plan(plan(2, claim_first_charge_sql, 1, types), &arg, NULL, false, 1);
	if (SPI_processed > 0)
		body = mono_charge_body(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, false);
	*ok = SPI_processed == 0 || body != NULL;
	SPI_tuptable = saved;
	SPI_processed = saved_n;
	return body;
}

/* Claim due links and unlinks. */
static int
claim_links(int limit, dlist_head *jobs, MemoryContext cxt)
{
	Oid			types[2] = {INT4OID, BOOLOID};
	Datum		args[2] = {Int32GetDatum(limit), BoolGetDatum(mono_one_prompt_per_phone)};
	uint64		i,
				n;
	SPITupleTable *tt;

	SPI_execute_plan(plan(1, claim_links_sql, 2, types), args, NULL, false, 0);
	tt = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		char	   *action = SPI_getvalue(tt->vals[i], tt->tupdesc, 3);
		bool		unlink = strcmp(action, "unlink") == 0;
		MonoJob    *job;

		SPI_tuptable = tt;
		job = new_job(cxt, unlink ? JOB_UNLINK : JOB_LINK, i);
		if (unlink)
			set_call(job, cxt, "POST", "/owo/v1/beneficiaries/unlink",
					 psprintf("{\"id\":\"%s\"}", job->mono_id ? job->mono_id : ""));
		else
		{
			bool		ok;
			char	   *first = claim_first_charge(job->id, &ok);
			char	   *body = ok ? mono_link_body(tt->vals[i], tt->tupdesc, first) : NULL;

			if (body == NULL)
			{
				fail_unbuildable("beneficiaries", job->id);
				continue;
			}
			set_call(job, cxt, "POST", "/owo/v1/beneficiaries/link", body);
		}
		dlist_push_tail(jobs, &job->node);
	}
	return (int) n;
}

/* Claim unknown rows whose settling read is due. */
static int
claim_unknown(int limit, dlist_head *jobs, MemoryContext cxt)
{
	Oid			types[2] = {INT4OID, INT8OID};
	Datum		args[2] = {Int32GetDatum(limit),
	Int64GetDatum((int64) mono_request_timeout + mono_backoff_ms(6))};
	uint64		i;
	int			n;

	SPI_execute_plan(plan(3, claim_unknown_charges_sql, 2, types), args, NULL, false, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		MonoJob    *job = new_job(cxt, JOB_SETTLE_CHARGE, i);

		set_list_call(job, cxt, psprintf("/owo/v1/fund-requests?phone=%s", job->phone),
					  i, "list_offset");
		dlist_push_tail(jobs, &job->node);
	}
	n = (int) SPI_processed;
	args[0] = Int32GetDatum(Max(limit - n, 0));
	if (limit - n <= 0)
		return n;
	SPI_execute_plan(plan(4, claim_unknown_links_sql, 2, types), args, NULL, false, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *action = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		bool		unlink = strcmp(action, "unlink") == 0;
		MonoJob    *job = new_job(cxt, unlink ? JOB_SETTLE_UNLINK : JOB_SETTLE_LINK, i);

		if (unlink)
			set_call(job, cxt, "GET", psprintf("/owo/v1/beneficiaries/%s",
											   mono_url_escape(job->mono_id ? job->mono_id : "")), NULL);
		else
			set_list_call(job, cxt, psprintf("/owo/v1/beneficiaries?phone=%s", job->phone),
						  i, "list_offset");
		dlist_push_tail(jobs, &job->node);
	}
	return n + (int) SPI_processed;
}

/* Queue a polling read of the job's kind: one object, or a paged list. */
static void
poll_job(MemoryContext cxt, MonoJobKind kind, int i, char *path, dlist_head *jobs,
		 const char *offset_column)
{
	MonoJob    *job = new_job(cxt, kind, i);

	if (offset_column != NULL)
		set_list_call(job, cxt, path, i, offset_column);
	else
		set_call(job, cxt, "GET", path, NULL);
	dlist_push_tail(jobs, &job->node);
}

/*
 * Claim the polling reads due, within budget: links by their phone's list
 * (Mono lists a beneficiary once linked, and no more once unlinked); fund
 * requests by id (with their payments, page by page) once Mono's id is
 * known, else in their phone's list.
 */
static void
claim_polls(int budget, dlist_head *jobs, MemoryContext cxt)
{
	Oid			types[3] = {INT4OID, INT8OID, INT8OID};
	Datum		args[3] = {Int32GetDatum(budget / 2 + 1), Int64GetDatum(mono_poll_base),
	Int64GetDatum(mono_poll_max)};
	uint64		i;
	int			n = 0;

	SPI_execute_plan(plan(7, claim_poll_links_sql, 3, types), args, NULL, false, 0);
	for (i = 0; i < SPI_processed; i++, n++)
		poll_job(cxt, JOB_POLL_LINK, i,
				 psprintf("/owo/v1/beneficiaries?phone=%s",
						  SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3)),
				 jobs, "list_offset");
	args[0] = Int32GetDatum(Max((budget - n) / 2, 1));
	SPI_execute_plan(plan(8, claim_poll_charges_sql, 3, types), args, NULL, false, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *mono_id = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 5);
		char	   *phone = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);

		if (mono_id == NULL)
		{
			poll_job(cxt, JOB_POLL_CHARGE, i,
					 psprintf("/owo/v1/fund-requests?phone=%s", phone), jobs, "list_offset");
			continue;
		}
		mono_id = mono_url_escape(mono_id);
		poll_job(cxt, JOB_POLL_CHARGE, i, psprintf("/owo/v1/fund-requests/%s", mono_id),
				 jobs, NULL);
		poll_job(cxt, JOB_POLL_PAYMENTS, i,
				 psprintf("/owo/v1/fund-requests/%s/payments", mono_id), jobs,
				 "payments_offset");
	}
}

/*
 * Claim up to limit due jobs: links first (rare, and a customer is waiting),
 * then charges, then settling reads, then Connect; plus up to poll_budget
 * reconciliation reads. Returns the count (reads excluded). A sender (a
 * worker other than the first) claims charges only.
 */
static int
claim(int limit, int poll_budget, dlist_head *jobs, MemoryContext cxt)
{
	int			n = 0;

	if (mono_worker_number > 0)
		return limit > 0 ? claim_charges(limit, jobs, cxt) : 0;
	if (limit > 0)
		n += claim_links(limit, jobs, cxt);
	if (n < limit)
		n += claim_charges(limit - n, jobs, cxt);
	if (n < limit)
		n += claim_unknown(limit - n, jobs, cxt);
	if (n < limit)
		n += mono_connect_claim(limit - n, jobs, cxt);
	if (poll_budget > 0)
		claim_polls(poll_budget, jobs, cxt);
	return n;
}

/* Periodic upkeep (schedules, approval window) in its own transaction. */
void
mono_queue_maintain(void)
{
	begin_tx("mono_pay: maintaining schedules");
	if (SPI_execute("SELECT mono.maintain()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run mono.maintain()");
	commit_tx();
}

/* Apply one array of outcomes with its statement ($2: mono_pay.poll_base). */
static void
record(int i, const char *sql, json_t *outcomes)
{
	Oid			types[2] = {JSONBOID, INT8OID};
	char	   *text;
	Datum		arg[2];

	if (json_array_size(outcomes) == 0)
		return;
	text = json_dumps(outcomes, JSON_COMPACT);
	if (text == NULL)
		elog(ERROR, "out of memory serialising outcomes");
	arg[0] = DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
	arg[1] = Int64GetDatum(mono_poll_base);
	free(text);
	if (SPI_execute_plan(plan(i, sql, i >= 9 ? 1 : 2, types), arg, NULL, false, 0) < 0)
		elog(ERROR, "could not record outcomes");
}

/* The groups of outcomes, each recorded by one statement. */
typedef enum RecordGroup
{
	GROUP_CHARGES,
	GROUP_LINKS,
	GROUP_EVENTS,
	GROUP_LOG,
	GROUP_ACCOUNTS,
	NUM_GROUPS
} RecordGroup;

static const char *const group_names[NUM_GROUPS] = {
	"fund request outcomes", "link outcomes", "polled events", "HTTP log rows",
	"Connect outcomes"
};

/* Outcomes whose rows another transaction held: tried again at the next sweep. */
static json_t *carried[NUM_GROUPS];

/* The array of a group in a set of outcomes. */
static json_t **
group_array(MonoOutcomes *out, RecordGroup g)
{
	switch (g)
	{
		case GROUP_CHARGES:
			return &out->charges;
		case GROUP_LINKS:
			return &out->links;
		case GROUP_EVENTS:
			return &out->events;
		case GROUP_LOG:
			return &out->log;
		default:
			return &out->accounts;
	}
}

/* Record an array of one group's outcomes with its statement. */
static void
record_group(RecordGroup g, json_t *outcomes)
{
	switch (g)
	{
		case GROUP_CHARGES:
			record(5, record_charges_sql, outcomes);
			break;
		case GROUP_LINKS:
			record(6, record_links_sql, outcomes);
			break;
		case GROUP_EVENTS:
			record(9, "SELECT mono.apply_owo_events($1)", outcomes);
			break;
		case GROUP_LOG:
			record(10, "INSERT INTO mono.http_log (at, method, path, http_status, duration_ms, error)"
				   " SELECT at, method, path, http_status, duration_ms, error"
				   " FROM jsonb_to_recordset($1) AS l(at timestamptz, method text, path text,"
				   " http_status integer, duration_ms double precision, error text)", outcomes);
			break;
		default:
			mono_connect_record(outcomes);
	}
}

/*
 * Record outcomes in a subtransaction: true when done; else false with the
 * error, and nothing of it kept. FATAL errors (shutdown) pass through.
 */
static bool
try_record(RecordGroup g, json_t *outcomes, ErrorData **error)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		record_group(g, outcomes);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		*error = CopyErrorData();
		if ((*error)->elevel >= FATAL)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}

/* Is the error one that passes (a lock held by another transaction, a deadlock, a cancel)? */
static bool
passing_error(ErrorData *e)
{
	return e->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		e->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
		e->sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE ||
		e->sqlerrcode == ERRCODE_QUERY_CANCELED;
}

/*
 * An outcome that cannot be recorded, for a reason that will not pass. A
 * send's row becomes unknown (settled later by a read, never re-sent
 * blindly) with the reason; a polled event is kept aside as rejected;
 * anything else (a log row, a Connect outcome whose lease will lapse) is
 * reported and dropped.
 */
static void
set_aside(RecordGroup g, json_t *o, ErrorData *e)
{
	json_t	   *one = json_array();
	const char *expect = mono_json_str(o, "expect");
	ErrorData  *again;
	char	   *why = psprintf("mono_pay could not record this: %s", e->message);

	if (g == GROUP_CHARGES || g == GROUP_LINKS)
	{
		json_t	   *u = mono_json_object();

		json_object_set_new(u, "id", json_deep_copy(json_object_get(o, "id")));
		json_object_set_new(u, "expect", json_string(expect ? expect : "sending"));
		json_object_set_new(u, "status", json_string(expect && strcmp(expect, "sending") != 0 ?
													 expect : "unknown"));
		json_object_set_new(u, "last_error", json_string(why));
		json_object_set_new(u, "retry_ms", json_integer(mono_backoff_ms(1)));
		json_array_append_new(one, u);
	}
	else if (g == GROUP_EVENTS)
	{
		json_t	   *ev = json_deep_copy(o);

		json_object_set_new(ev, "reject", json_string(why));
		json_array_append_new(one, ev);
	}
	mono_set_last_error(psprintf("%s: %s", group_names[g], why));
	ereport(WARNING,
			(errmsg("mono_pay worker: an outcome could not be recorded: %s", e->message),
			 errdetail("It was among the %s; the others were recorded.", group_names[g])));
	if (json_array_size(one) > 0 && !try_record(g, one, &again))
		ereport(WARNING,
				(errmsg("mono_pay worker: could not set the outcome aside either: %s",
						again->message)));
	json_decref(one);
}

/*
 * Record each group of outcomes. A group whose statement fails is recorded
 * one outcome at a time, so that one bad outcome never stops the others:
 * an outcome whose row another transaction holds waits for the next sweep
 * (the worker never waits on an application's lock), and one that cannot
 * be recorded at all is set aside with its reason.
 */
static void
record_all(MonoOutcomes *out)
{
	int			g;

	for (g = 0; g < NUM_GROUPS; g++)
	{
		json_t	   *outcomes = *group_array(out, g);
		ErrorData  *e;
		size_t		i;
		json_t	   *o;

		if (json_array_size(outcomes) == 0 || try_record(g, outcomes, &e))
			continue;
		json_array_foreach(outcomes, i, o)
		{
			json_t	   *one = json_array();

			json_array_append(one, o);
			if (!try_record(g, one, &e))
			{
				if (!passing_error(e))
					set_aside(g, o, e);
				else
				{
					if (carried[g] == NULL)
						carried[g] = json_array();
					json_array_append(carried[g], o);
				}
			}
			json_decref(one);
		}
	}
}

/* At a sweep, add the carried outcomes to this turn's. */
static void
take_carried(MonoOutcomes *out)
{
	int			g;

	for (g = 0; g < NUM_GROUPS; g++)
		if (carried[g] != NULL)
		{
			json_array_extend(*group_array(out, g), carried[g]);
			json_decref(carried[g]);
			carried[g] = NULL;
		}
}

/* Does the group hold any outcome? */
static bool
has_outcomes(MonoOutcomes *out)
{
	return json_array_size(out->charges) > 0 || json_array_size(out->links) > 0 ||
		json_array_size(out->accounts) > 0 || json_array_size(out->events) > 0 ||
		json_array_size(out->log) > 0;
}

/*
 * One short transaction per turn of the worker's loop: record the outcomes
 * of finished jobs, then claim up to limit new ones (and the polling reads
 * of a sweep). The claim is committed before any of its requests is sent.
 * Returns the number claimed.
 */
int
mono_queue_exchange(MonoOutcomes *out, bool sweep, int limit, int poll_budget,
					dlist_head *jobs, MemoryContext cxt)
{
	int			n;

	if (sweep)
		take_carried(out);
	if (!has_outcomes(out) && limit <= 0 && poll_budget <= 0)
		return 0;
	begin_tx("mono_pay: recording and claiming");
	record_all(out);
	n = claim(limit, poll_budget, jobs, cxt);
	commit_tx();
	return n;
}

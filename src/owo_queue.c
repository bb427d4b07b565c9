/*
 * owo_queue.c
 *		Direct Charge's part of the worker's transactions: the claims of
 *		links, charges, settling reads and polling reads (each through an SQL
 *		function of the outbox's state machine), the jobs they make, and the
 *		statements that record the verdicts of finished jobs.
 */
#include "owo.h"

#include "catalog/pg_type.h"

/* The claims of Direct Charge's part of the worker, each an SQL function of the state machine. */
typedef enum OwoStatement
{
	CLAIM_CHARGES,
	CLAIM_FIRST_CHARGE,
	CLAIM_LINKS,
	CLAIM_UNKNOWN_CHARGES,
	CLAIM_UNKNOWN_LINKS,
	CLAIM_POLL_CHARGES,
	CLAIM_POLL_LINKS,
	/* what the worker records or repairs */
	FAIL_UNBUILDABLE_CHARGE,
	FAIL_UNBUILDABLE_LINK,
	RECOVER_SENDS,
	RECORD_CHARGES,
	RECORD_LINKS,
	RECORD_EVENTS,
	NUM_STATEMENTS
} OwoStatement;

/* a call of the SQL function mono.f with named arguments */
#define CALL(f, ...) "SELECT * FROM mono." f "(" __VA_ARGS__ ")"

static MonoStatement statements[NUM_STATEMENTS] = {
	[CLAIM_CHARGES] = {"claim due fund requests", CALL("claim_charges", "p_limit => $1"), 1, {INT4OID}},
	[CLAIM_FIRST_CHARGE] = {"claim a link's first fund request", CALL("claim_first_charge", "p_link_id => $1"), 1, {INT8OID}},
	[CLAIM_LINKS] = {"claim due links and unlinks", CALL("claim_links", "p_limit => $1"), 1, {INT4OID}},
	[CLAIM_UNKNOWN_CHARGES] = {"claim settling reads of fund requests", CALL("claim_unknown_charges", "p_limit => $1, p_push_ms => $2"), 2, {INT4OID, INT8OID}},
	[CLAIM_UNKNOWN_LINKS] = {"claim settling reads of links", CALL("claim_unknown_links", "p_limit => $1, p_push_ms => $2"), 2, {INT4OID, INT8OID}},
	[CLAIM_POLL_CHARGES] = {"claim polling reads of fund requests", CALL("claim_poll_charges", "p_limit => $1, p_base_ms => $2, p_max_ms => $3"), 3, {INT4OID, INT8OID, INT8OID}},
	[CLAIM_POLL_LINKS] = {"claim polling reads of links", CALL("claim_poll_links", "p_limit => $1, p_base_ms => $2, p_max_ms => $3"), 3, {INT4OID, INT8OID, INT8OID}},
	[FAIL_UNBUILDABLE_CHARGE] = {"fail a fund request that makes no request body", CALL("fail_unbuildable_charge", "p_id => $1"), 1, {INT8OID}},
	[FAIL_UNBUILDABLE_LINK] = {"fail a link that makes no request body", CALL("fail_unbuildable_link", "p_id => $1"), 1, {INT8OID}},
	[RECOVER_SENDS] = {"recover interrupted sends", CALL("recover_sends", ""), 0},
	[RECORD_CHARGES] = {"record fund request verdicts", CALL("record_charge_outcomes", "p_outcomes => $1, p_poll_ms => $2"), 2, {JSONBOID, INT8OID}},
	[RECORD_LINKS] = {"record link verdicts", CALL("record_link_outcomes", "p_outcomes => $1, p_poll_ms => $2"), 2, {JSONBOID, INT8OID}},
	[RECORD_EVENTS] = {"apply polled events", CALL("apply_owo_events", "p_events => $1"), 1, {JSONBOID}},
};

/* Run a claim statement; returns the rows claimed (SPI_tuptable). */
static uint64
run(OwoStatement which, Datum *args)
{
	return mono_spi_run(&statements[which], args, NULL, 0);
}

/* A new job in cxt for row i of the current SPI result. */
static MonoJob *
new_job(MemoryContext cxt, OwoJobKind kind, int i)
{
	MonoJob *job = MemoryContextAllocZero(cxt, sizeof(MonoJob));
	bool isnull;
	MemoryContext old = MemoryContextSwitchTo(cxt);
	int col;
	TupleDesc d = SPI_tuptable->tupdesc;

	job->product = &mono_owo_product;
	job->kind = kind;
	job->id = DatumGetInt64(mono_spi_value(i, SPI_fnumber(d, "id"), &isnull));
	job->attempts = DatumGetInt32(mono_spi_value(i, SPI_fnumber(d, "attempts"), &isnull));
	job->phone = mono_spi_text(i, "phone");
	job->reference = mono_spi_text(i, "reference");
	job->mono_id = mono_spi_text(i, "mono_id");
	job->type = mono_spi_text(i, "type");
	if ((col = SPI_fnumber(d, "linked")) > 0)
		job->linked = DatumGetBool(mono_spi_value(i, col, &isnull));
	if ((col = SPI_fnumber(d, "amount")) > 0)
		job->amount = DatumGetInt64(mono_spi_value(i, col, &isnull));
	MemoryContextSwitchTo(old);
	return job;
}

/*
 * Make the job a paged read of an Owo list (path without limit/offset),
 * starting at the offset in column offset_column of the claimed row i.
 */
static void
set_list_call(MonoJob *job, MemoryContext cxt, char *list_path, int i,
			  const char *offset_column)
{
	bool isnull;
	Datum v = mono_spi_value(i, SPI_fnumber(SPI_tuptable->tupdesc, offset_column), &isnull);

	job->first_offset = isnull ? 0 : Max(DatumGetInt32(v), 0);
	job->offset = job->first_offset;
	job->list_path = MemoryContextStrdup(cxt, list_path);
	mono_job_call(job, cxt, "GET", mono_page_path(list_path, job->offset), NULL);
}

/* Fail a claimed row that cannot make a request body Mono takes; the others go on. */
static void
fail_unbuildable(OwoStatement which, const char *table, int64 id)
{
	Datum arg = Int64GetDatum(id);

	mono_spi_run(&statements[which], &arg, NULL, 0);
	mono_set_last_error(psprintf("row " INT64_FORMAT " of mono.%s could not be sent: it cannot make a request body",
								 id, table));
}

/* Claim due one-time and recurring charges. */
static int
claim_charges(int limit, dlist_head *jobs, MemoryContext cxt)
{
	Datum arg = Int32GetDatum(limit);
	uint64 n = run(CLAIM_CHARGES, &arg);
	SPITupleTable *tt = SPI_tuptable;
	uint64 i;

	for (i = 0; i < n; i++)
	{
		char *body = mono_charge_body(tt->vals[i], tt->tupdesc, true);
		MonoJob *job;
		bool isnull;

		SPI_tuptable = tt;
		if (body == NULL)
		{
			fail_unbuildable(FAIL_UNBUILDABLE_CHARGE, "fund_requests",
							 DatumGetInt64(mono_spi_value(i, 1, &isnull)));
			continue;
		}
		job = new_job(cxt, OWO_CHARGE, i);
		mono_job_call(job, cxt, "POST", "/owo/v1/fund-requests", body);
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
	Datum arg = Int64GetDatum(link_id);
	SPITupleTable *saved = SPI_tuptable;
	uint64 saved_n = SPI_processed;
	char *body = NULL;
	uint64 n = mono_spi_run(&statements[CLAIM_FIRST_CHARGE], &arg, NULL, 1);

	if (n > 0)
		body = mono_charge_body(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, false);
	*ok = n == 0 || body != NULL;
	SPI_tuptable = saved;
	SPI_processed = saved_n;
	return body;
}

/* Claim due links and unlinks. */
static int
claim_links(int limit, dlist_head *jobs, MemoryContext cxt)
{
	Datum arg = Int32GetDatum(limit);
	uint64 n = run(CLAIM_LINKS, &arg);
	SPITupleTable *tt = SPI_tuptable;
	uint64 i;

	for (i = 0; i < n; i++)
	{
		bool unlink;
		MonoJob *job;

		SPI_tuptable = tt;
		unlink = strcmp(mono_spi_text(i, "action"), "unlink") == 0;
		job = new_job(cxt, unlink ? OWO_UNLINK : OWO_LINK, i);
		if (unlink)
			mono_job_call(job, cxt, "POST", "/owo/v1/beneficiaries/unlink",
						  psprintf("{\"id\":\"%s\"}", job->mono_id ? job->mono_id : ""));
		else
		{
			bool ok;
			char *first = claim_first_charge(job->id, &ok);
			char *body = ok ? mono_link_body(tt->vals[i], tt->tupdesc, first) : NULL;

			if (body == NULL)
			{
				fail_unbuildable(FAIL_UNBUILDABLE_LINK, "beneficiaries", job->id);
				continue;
			}
			mono_job_call(job, cxt, "POST", "/owo/v1/beneficiaries/link", body);
		}
		dlist_push_tail(jobs, &job->node);
	}
	return (int) n;
}

/* Claim unknown rows whose settling read is due. */
static int
claim_unknown(int limit, dlist_head *jobs, MemoryContext cxt)
{
	Datum args[2] = {Int32GetDatum(limit),
					 Int64GetDatum((int64) mono_request_timeout + mono_backoff_ms(6))};
	uint64 i;
	uint64 n = run(CLAIM_UNKNOWN_CHARGES, args);
	uint64 links;

	for (i = 0; i < n; i++)
	{
		MonoJob *job = new_job(cxt, OWO_SETTLE_CHARGE, i);

		set_list_call(job, cxt, psprintf("/owo/v1/fund-requests?phone=%s", job->phone),
					  i, "list_offset");
		dlist_push_tail(jobs, &job->node);
	}
	if (limit - (int) n <= 0)
		return (int) n;
	args[0] = Int32GetDatum(limit - (int) n);
	links = run(CLAIM_UNKNOWN_LINKS, args);
	for (i = 0; i < links; i++)
	{
		bool unlink = strcmp(mono_spi_text(i, "action"), "unlink") == 0;
		MonoJob *job = new_job(cxt, unlink ? OWO_SETTLE_UNLINK : OWO_SETTLE_LINK, i);

		if (unlink)
			mono_job_call(job, cxt, "GET", psprintf("/owo/v1/beneficiaries/%s", mono_url_escape(job->mono_id ? job->mono_id : "")), NULL);
		else
			set_list_call(job, cxt, psprintf("/owo/v1/beneficiaries?phone=%s", job->phone),
						  i, "list_offset");
		dlist_push_tail(jobs, &job->node);
	}
	return (int) (n + links);
}

/* Queue a polling read of the job's kind: one object, or a paged list. */
static void
poll_job(MemoryContext cxt, OwoJobKind kind, int i, char *path, dlist_head *jobs,
		 const char *offset_column)
{
	MonoJob *job = new_job(cxt, kind, i);

	if (offset_column != NULL)
		set_list_call(job, cxt, path, i, offset_column);
	else
		mono_job_call(job, cxt, "GET", path, NULL);
	dlist_push_tail(jobs, &job->node);
}

/*
 * Claim the polling reads due, never more than budget requests: links by
 * their phone's list (Mono lists a beneficiary once linked, and no more
 * once unlinked), up to half of it; fund requests by id (two reads: with
 * their payments, page by page) once Mono's id is known, else in their
 * phone's list.
 */
static void
claim_polls(int budget, dlist_head *jobs, MemoryContext cxt)
{
	Datum args[3] = {Int32GetDatum((budget + 1) / 2), Int64GetDatum(mono_poll_base),
					 Int64GetDatum(mono_poll_max)};
	uint64 i;
	uint64 n = run(CLAIM_POLL_LINKS, args);

	for (i = 0; i < n; i++)
		poll_job(cxt, OWO_POLL_LINK, i,
				 psprintf("/owo/v1/beneficiaries?phone=%s", mono_spi_text(i, "phone")),
				 jobs, "list_offset");
	if ((budget - (int) n) / 2 <= 0)
		return;
	args[0] = Int32GetDatum((budget - (int) n) / 2);
	n = run(CLAIM_POLL_CHARGES, args);
	for (i = 0; i < n; i++)
	{
		char *mono_id = mono_spi_text(i, "mono_id");

		if (mono_id == NULL)
		{
			poll_job(cxt, OWO_POLL_CHARGE, i,
					 psprintf("/owo/v1/fund-requests?phone=%s", mono_spi_text(i, "phone")),
					 jobs, "list_offset");
			continue;
		}
		mono_id = mono_url_escape(mono_id);
		poll_job(cxt, OWO_POLL_CHARGE, i, psprintf("/owo/v1/fund-requests/%s", mono_id),
				 jobs, NULL);
		poll_job(cxt, OWO_POLL_PAYMENTS, i,
				 psprintf("/owo/v1/fund-requests/%s/payments", mono_id), jobs,
				 "payments_offset");
	}
}

/*
 * Claim up to limit due jobs: links first (rare, and a customer is waiting),
 * then charges, then settling reads; plus up to poll_budget reconciliation
 * reads. Returns the count (reads excluded).
 */
static int
owo_claim(int limit, int poll_budget, dlist_head *jobs, MemoryContext cxt)
{
	int n = 0;

	/* a refused key: nothing, or one probe, until Mono takes it (issue 22) */
	if (mono_key_is_refused(MONO_APP_PAYMENTS))
	{
		if (limit <= 0)
			return 0; /* a turn of reads only: the probe is a send's */
		limit = mono_key_allows(MONO_APP_PAYMENTS, Max(limit, 0));
		poll_budget = 0;
	}
	if (limit > 0)
		n += claim_links(limit, jobs, cxt);
	if (n < limit)
		n += claim_charges(limit - n, jobs, cxt);
	if (n < limit)
		n += claim_unknown(limit - n, jobs, cxt);
	if (poll_budget > 0)
		claim_polls(poll_budget, jobs, cxt);
	return n;
}

/*
 * At start-up, the fund requests and links the worker left in sending
 * become unknown: settled by a read, never re-sent blindly.
 */
static void
owo_recover(void)
{
	bool isnull;
	int64 charges,
		links;

	mono_spi_run(&statements[RECOVER_SENDS], NULL, NULL, 1);
	charges = DatumGetInt64(mono_spi_value(0, 1, &isnull));
	links = DatumGetInt64(mono_spi_value(0, 2, &isnull));
	if (charges + links > 0)
		ereport(LOG,
				(errmsg("mono_pay: " INT64_FORMAT " fund requests and " INT64_FORMAT " links were being sent when the worker stopped; they will be settled by reading Mono's state",
						charges, links)));
}

/* Record one group of Direct Charge outcomes with its statement. */
void
mono_owo_record(MonoGroupId group, json_t *outcomes)
{
	Datum args[2] = {mono_json_jsonb(outcomes), Int64GetDatum(mono_poll_base)};

	mono_spi_run(&statements[group == GROUP_CHARGES	  ? RECORD_CHARGES :
								 group == GROUP_LINKS ? RECORD_LINKS :
														RECORD_EVENTS],
				 args, NULL, 0);
}

/* Direct Charge, as the worker sees it. */
const MonoProduct mono_owo_product = {
	.name = "owo",
	.recover = owo_recover,
	.claim = owo_claim,
	.next_page = mono_owo_next_page,
	.outcome = mono_owo_outcome,
};

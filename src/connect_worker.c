/*
 * connect_worker.c
 *		Mono Connect's part of the background worker.
 *
 * A tracked account moves through steps, one HTTP call (one job) each:
 *
 *		details			GET /v2/accounts/{id}: data status, balance, ...
 *		refresh			GET /v2/accounts/{id}/transactions with x-realtime:
 *						true; x-has-new-data says whether Mono found any
 *		transactions	GET /v2/accounts/{id}/transactions?paginate=true&
 *						limit=100&page=N[&start=DD-MM-YYYY], page after page
 *
 * mono_connect_claim() claims due accounts (mono.accounts.next_sync_at,
 * next_step) in the worker's claim transaction and leases them, so that a
 * webhook or mono_account_sync() arriving meanwhile leaves the schedule to
 * the worker; mono_connect_outcome() turns each answer into a JSON outcome
 * without touching the database; mono_connect_record() hands the outcomes
 * to mono.record_account_outcomes(), which stores them and decides each
 * account's next step with mono.account_next_step() (the data_status rules
 * and the 5-minute real-time limit live there, in SQL, once).
 */
#include "connect.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"

/* The statements of Connect's part of the worker. */
static MonoStatement claim_stmt = {
	"claim due Connect accounts",
	"SELECT * FROM mono.claim_accounts(p_limit => $1, p_lease_ms => $2)",
	2,
	{INT4OID, INT8OID}};
static MonoStatement record_stmt = {
	"record Connect outcomes",
	"SELECT mono.record_account_outcomes($1, 'worker')",
	1,
	{JSONBOID}};

/* The path of a step's call (palloc'd). */
static char *
step_path(int step, const char *account_id, int page, const char *since)
{
	char *id = mono_url_escape(account_id);

	if (step == CONNECT_REFRESH)
		return psprintf("/v2/accounts/%s/transactions", id);
	if (step == CONNECT_TRANSACTIONS)
		return psprintf("/v2/accounts/%s/transactions?paginate=true&limit=%d&page=%d%s%s",
						id, CONNECT_PAGE_SIZE, Max(page, 1),
						since ? "&start=" : "", since ? since : "");
	return psprintf("/v2/accounts/%s", id);
}

/* A Connect job (in cxt) for row i of the claim's result. */
static MonoJob *
claimed_job(MemoryContext cxt, uint64 i)
{
	HeapTuple t = SPI_tuptable->vals[i];
	TupleDesc d = SPI_tuptable->tupdesc;
	MonoJob *job = MemoryContextAllocZero(cxt, sizeof(MonoJob));
	char *account_id = SPI_getvalue(t, d, 1);
	bool isnull;
	int page = DatumGetInt32(SPI_getbinval(t, d, 4, &isnull));

	job->product = &mono_connect_product;
	job->attempts = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
	job->kind = mono_connect_step_code(SPI_getvalue(t, d, 3));
	job->realtime = job->kind == CONNECT_REFRESH;
	job->account_id = MemoryContextStrdup(cxt, account_id);
	mono_job_call(job, cxt, "GET", step_path(job->kind, account_id, page, SPI_getvalue(t, d, 5)), NULL);
	return job;
}

/*
 * Claim up to limit (at most CONNECT_CLAIM_MAX) due Connect accounts
 * (inside the claim transaction) and append their jobs. The lease outlasts a request: a crashed worker's
 * accounts come back once it expires.
 */
static int
connect_claim(int limit, int poll_budget pg_attribute_unused(), dlist_head *jobs,
			  MemoryContext cxt)
{
	Datum args[2];
	uint64 i,
		n;

	if (limit <= 0)
		return 0;
	/* a refused key: nothing, or one probe, until Mono takes it (issue 22) */
	limit = mono_key_allows(MONO_APP_CONNECT, limit);
	if (limit <= 0)
		return 0;
	args[0] = Int32GetDatum(Min(limit, CONNECT_CLAIM_MAX));
	args[1] = Int64GetDatum((int64) mono_request_timeout + 60000);
	n = mono_spi_run(&claim_stmt, args, NULL, 0);
	for (i = 0; i < n; i++)
	{
		MonoJob *job = claimed_job(cxt, i);

		dlist_push_tail(jobs, &job->node);
	}
	return (int) n;
}

/* Set o.error (always valid UTF-8) and o.retry_ms (-1: none, wait a cycle). */
static void
set_error(json_t *o, const char *error, int64 retry_ms)
{
	json_t *v = json_string(error);

	if (v == NULL)
		v = json_string("Mono's answer could not be shown (not UTF-8)");
	json_object_set_new(o, "error", v);
	if (retry_ms >= 0)
		json_object_set_new(o, "retry_ms", json_integer(retry_ms));
}

/* A transfer that failed: retry after a backoff. */
static void
transport_error(MonoJob *job, json_t *o)
{
	const char *phase = mono_http_phase(job->http.easy, job->rc, job->http.resp.overflow);

	set_error(o, psprintf("request failed while %s: %s", phase, job->http.errbuf[0] ? job->http.errbuf : curl_easy_strerror(job->rc)),
			  mono_backoff_ms(job->attempts));
}

/*
 * An HTTP error: 429 and 5xx retry after a backoff, other 4xx wait a
 * cycle; 401 and 403 refuse the Connect app's key (issue 22): the account
 * keeps its step, is due again, and the attempt does not count
 * (key_refused), while common_key.c holds Connect's claims back.
 */
static void
http_error(MonoJob *job, json_t *o, long status, json_t *root)
{
	const char *message = mono_json_str(root, "message");
	char *error = psprintf("HTTP %ld from %s: %s", status,
						   mono_connect_step_name(job->kind),
						   message ? message :
									 mono_body_excerpt(job->http.resp.data, job->http.resp.len));

	if (mono_key_note(MONO_APP_CONNECT, status, message))
	{
		set_error(o, error, 0);
		json_object_set_new(o, "key_refused", json_true());
	}
	else if (status == 429 || status >= 500)
	{
		curl_off_t retry_after = 0;

		curl_easy_getinfo(job->http.easy, CURLINFO_RETRY_AFTER, &retry_after);
		set_error(o, error, Max(mono_backoff_ms(job->attempts), (int64) retry_after * 1000));
	}
	else
		set_error(o, error, -1);
}

/* The answer of a details or transactions call, parsed into o. */
static void
body_outcome(MonoJob *job, json_t *o, json_t *root)
{
	const char *what = job->kind == CONNECT_DETAILS ? "account details" : "transactions";
	json_t *facts = NULL;
	bool more = false;
	int skipped = 0;

	if (root != NULL && job->kind == CONNECT_DETAILS)
		facts = mono_connect_details(root);
	else if (root != NULL)
		facts = mono_connect_transactions(root, &more, &skipped);
	if (facts == NULL)
	{
		set_error(o, psprintf("unexpected %s answer: %s", what, mono_body_excerpt(job->http.resp.data, job->http.resp.len)),
				  mono_backoff_ms(job->attempts));
		return;
	}
	json_object_set_new(o, job->kind == CONNECT_DETAILS ? "account" : "transactions", facts);
	if (job->kind == CONNECT_TRANSACTIONS)
	{
		json_object_set_new(o, "more", json_boolean(more));
		json_object_set_new(o, "skipped", json_integer(skipped));
	}
}

/*
 * Append the outcome of a finished Connect job to its group:
 * {account_id, step, and error + retry_ms, or account | refresh |
 * transactions + more + skipped}. Runs outside any transaction.
 */
static void
connect_outcome(MonoJob *job, MonoOutcomes *out)
{
	json_t *o = mono_json_object();
	long status = 0;
	json_t *root;

	json_object_set_new(o, "account_id", json_string(job->account_id));
	json_object_set_new(o, "step", json_string(mono_connect_step_name(job->kind)));
	json_array_append_new(out->group[GROUP_ACCOUNTS], o);
	if (job->rc != CURLE_OK)
	{
		transport_error(job, o);
		return;
	}
	curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
	root = mono_json_try_parse(job->http.resp.data, job->http.resp.len);
	if (status >= 200 && status < 300)
		mono_key_answered(MONO_APP_CONNECT);
	if (status < 200 || status >= 300)
		http_error(job, o, status, root);
	else if (job->kind == CONNECT_REFRESH)
		json_object_set_new(o, "refresh", mono_connect_refresh(job->http.easy));
	else
		body_outcome(job, o, root);
	if (root != NULL)
		json_decref(root);
}

/*
 * Record Connect outcomes (inside the record transaction). When an account
 * is due at once (its next step follows), set our own latch so that the
 * loop claims again without waiting for the sweep.
 */
void
mono_connect_record(MonoGroupId group pg_attribute_unused(), json_t *accounts)
{
	Datum arg = mono_json_jsonb(accounts);
	bool isnull;
	int due;

	if (mono_spi_run(&record_stmt, &arg, NULL, 1) != 1)
		elog(ERROR, "mono.record_account_outcomes() returned no row");
	due = DatumGetInt32(mono_spi_value(0, 1, &isnull));
	if (!isnull && due > 0)
		SetLatch(MyLatch);
}

/* Connect, as the worker sees it. */
const MonoProduct mono_connect_product = {
	.name = "connect",
	.claim = connect_claim,
	.outcome = connect_outcome,
};

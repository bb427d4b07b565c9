/*
 * connect.c
 *		Mono Connect's part of the background worker, and its settings.
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
#include "worker.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

int			mono_account_refresh_interval = 3600;
bool		mono_track_webhook_accounts = false;

/* Claim due accounts: lease them and return what to call. */
static const char *const claim_sql =
"UPDATE mono.accounts a SET next_sync_at = now() + $2 * interval '1 millisecond',"
" claimed_until = now() + $2 * interval '1 millisecond',"
" transactions_since = CASE WHEN a.next_step <> 'transactions' THEN NULL"
"  WHEN a.transactions_page > 1 THEN a.transactions_since"
"  ELSE (SELECT (max(t.date) AT TIME ZONE 'UTC')::date - 1 FROM mono.transactions t"
"         WHERE t.account_id = a.account_id) END"
" WHERE a.account_id IN (SELECT account_id FROM mono.accounts"
"  WHERE tracked AND next_sync_at <= now()"
"  ORDER BY next_sync_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
" RETURNING a.account_id, a.attempts + 1,"
" CASE WHEN a.next_step = 'refresh' AND NOT mono.realtime_allowed(a.last_refresh_at)"
"  THEN 'details' ELSE a.next_step END,"
" a.transactions_page, to_char(a.transactions_since, 'DD-MM-YYYY')";

static const char *const record_sql =
"SELECT mono.record_account_outcomes($1, 'worker')";

static SPIPlanPtr plans[2];

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

/* The path of a step's call (palloc'd). */
static char *
step_path(int step, const char *account_id, int page, const char *since)
{
	char	   *id = mono_url_escape(account_id);

	if (step == CONNECT_REFRESH)
		return psprintf("/v2/accounts/%s/transactions", id);
	if (step == CONNECT_TRANSACTIONS)
		return psprintf("/v2/accounts/%s/transactions?paginate=true&limit=%d&page=%d%s%s",
						id, CONNECT_PAGE_SIZE, Max(page, 1),
						since ? "&start=" : "", since ? since : "");
	return psprintf("/v2/accounts/%s", id);
}

/* A JOB_CONNECT job (in cxt) for row i of the claim's result. */
static MonoJob *
claimed_job(MemoryContext cxt, uint64 i)
{
	HeapTuple	t = SPI_tuptable->vals[i];
	TupleDesc	d = SPI_tuptable->tupdesc;
	MonoJob    *job = MemoryContextAllocZero(cxt, sizeof(MonoJob));
	char	   *account_id = SPI_getvalue(t, d, 1);
	bool		isnull;
	int			page = DatumGetInt32(SPI_getbinval(t, d, 4, &isnull));

	job->kind = JOB_CONNECT;
	job->attempts = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
	job->step = mono_connect_step_code(SPI_getvalue(t, d, 3));
	job->realtime = job->step == CONNECT_REFRESH;
	job->account_id = MemoryContextStrdup(cxt, account_id);
	job->method = MemoryContextStrdup(cxt, "GET");
	job->path = MemoryContextStrdup(cxt, step_path(job->step, account_id, page,
												   SPI_getvalue(t, d, 5)));
	return job;
}

/*
 * Claim up to limit due Connect accounts (inside the claim transaction) and
 * append their jobs. The lease outlasts a request: a crashed worker's
 * accounts come back once it expires.
 */
int
mono_connect_claim(int limit, dlist_head *jobs, MemoryContext cxt)
{
	Oid			types[2] = {INT4OID, INT8OID};
	Datum		args[2];
	uint64		i;

	if (limit <= 0)
		return 0;
	args[0] = Int32GetDatum(limit);
	args[1] = Int64GetDatum((int64) mono_request_timeout + 60000);
	if (SPI_execute_plan(plan(0, claim_sql, 2, types), args, NULL, false, 0) !=
		SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not claim Connect accounts");
	for (i = 0; i < SPI_processed; i++)
	{
		MonoJob    *job = claimed_job(cxt, i);

		dlist_push_tail(jobs, &job->node);
	}
	return (int) SPI_processed;
}

/* Set o.error (always valid UTF-8) and o.retry_ms (-1: none, wait a cycle). */
static void
set_error(json_t *o, const char *error, int64 retry_ms)
{
	json_t	   *v = json_string(error);

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

	set_error(o, psprintf("request failed while %s: %s", phase,
						  job->http.errbuf[0] ? job->http.errbuf :
						  curl_easy_strerror(job->rc)),
			  mono_backoff_ms(job->attempts));
}

/* An HTTP error: 429 and 5xx retry after a backoff, other 4xx wait a cycle. */
static void
http_error(MonoJob *job, json_t *o, long status, json_t *root)
{
	const char *message = mono_json_str(root, "message");
	char	   *error = psprintf("HTTP %ld from %s: %s", status,
								 mono_connect_step_name(job->step),
								 message ? message :
								 mono_body_excerpt(job->http.resp.data, job->http.resp.len));

	if (status == 429 || status >= 500)
	{
		curl_off_t	retry_after = 0;

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
	const char *what = job->step == CONNECT_DETAILS ? "account details" : "transactions";
	json_t	   *facts = NULL;
	bool		more = false;
	int			skipped = 0;

	if (root != NULL && job->step == CONNECT_DETAILS)
		facts = mono_connect_details(root);
	else if (root != NULL)
		facts = mono_connect_transactions(root, &more, &skipped);
	if (facts == NULL)
	{
		set_error(o, psprintf("unexpected %s answer: %s", what,
							  mono_body_excerpt(job->http.resp.data, job->http.resp.len)),
				  mono_backoff_ms(job->attempts));
		return;
	}
	json_object_set_new(o, job->step == CONNECT_DETAILS ? "account" : "transactions", facts);
	if (job->step == CONNECT_TRANSACTIONS)
	{
		json_object_set_new(o, "more", json_boolean(more));
		json_object_set_new(o, "skipped", json_integer(skipped));
	}
}

/*
 * Append the outcome of a finished Connect job to out->accounts:
 * {account_id, step, and error + retry_ms, or account | refresh |
 * transactions + more + skipped}. Runs outside any transaction.
 */
void
mono_connect_outcome(MonoJob *job, MonoOutcomes *out)
{
	json_t	   *o = mono_json_object();
	long		status = 0;
	json_t	   *root;

	json_object_set_new(o, "account_id", json_string(job->account_id));
	json_object_set_new(o, "step", json_string(mono_connect_step_name(job->step)));
	json_array_append_new(out->accounts, o);
	if (job->rc != CURLE_OK)
	{
		transport_error(job, o);
		return;
	}
	curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
	root = mono_json_try_parse(job->http.resp.data, job->http.resp.len);
	if (status < 200 || status >= 300)
		http_error(job, o, status, root);
	else if (job->step == CONNECT_REFRESH)
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
mono_connect_record(json_t *accounts)
{
	Oid			types[1] = {JSONBOID};
	char	   *text = json_dumps(accounts, JSON_COMPACT);
	Datum		arg;
	bool		isnull;
	int			due;

	if (text == NULL)
		elog(ERROR, "out of memory serialising Connect outcomes");
	arg = DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
	free(text);
	if (SPI_execute_plan(plan(1, record_sql, 1, types), &arg, NULL, false, 1) !=
		SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not record Connect outcomes");
	due = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!isnull && due > 0)
		SetLatch(MyLatch);
}

/* Register Connect's settings (called from _PG_init). */
void
mono_connect_define_settings(void)
{
	DefineCustomIntVariable("mono_pay.account_refresh_interval",
							"Time between the worker's checks of each tracked Connect account.",
							"Each check reads the account's details and, when its data may be read, "
							"starts a real-time refresh; refreshes of one account are never closer "
							"than 5 minutes (Mono's limit), whatever this is set to.",
							&mono_account_refresh_interval, 3600, 1, 30 * 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomBoolVariable("mono_pay.track_webhook_accounts",
							 "Whether a Connect webhook naming an unknown account starts tracking it.",
							 "Tracking reads the account every mono_pay.account_refresh_interval and "
							 "starts real-time refreshes, which Mono bills when they find new data. "
							 "Off: the account is recorded, untracked, until mono_account_sync() is called.",
							 &mono_track_webhook_accounts, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
}

/*
 * connect_sql.c
 *		The synchronous Connect functions: mono_account_sync(),
 *		mono_inflow() and mono_outflow(); and two small helpers for the SQL
 *		side (mono.backoff(), mono.wake_worker()).
 *
 * Like mono_user_status(), these read from Mono while the caller waits
 * (interruptible by cancel and statement_timeout), then store what came
 * back. Anything unexpected raises an error before a row is written. A
 * real-time refresh (billed by Mono) is not a read: mono_account_sync()
 * only records the request, for the worker after COMMIT.
 */
#include "connect.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(mono_account_sync);
PG_FUNCTION_INFO_V1(mono_inflow);
PG_FUNCTION_INFO_V1(mono_outflow);
PG_FUNCTION_INFO_V1(mono_connect_backoff);
PG_FUNCTION_INFO_V1(mono_connect_wake);

/*
 * The statements of the synchronous Connect functions: calls of the SQL
 * functions of sql/parts/36_connect_flows.code.sql.
 */
typedef enum ConnectStatement
{
	LAST_REFRESH,
	MAY_REFRESH,
	RECORD_SYNC,
	STORE_FLOWS,
	NUM_STATEMENTS
} ConnectStatement;

static MonoStatement statements[NUM_STATEMENTS] = {
	[LAST_REFRESH] = {"find a real-time refresh of the last 5 minutes",
					  "SELECT * FROM mono.next_realtime_refresh($1)",
					  1,
					  {TEXTOID}},
	[MAY_REFRESH] = {"decide whether a real-time refresh may start",
					 "SELECT * FROM mono.sync_may_refresh($1::jsonb)",
					 1,
					 {TEXTOID}},
	[RECORD_SYNC] = {"record a sync",
					 "SELECT mono.record_sync($1, $2::jsonb, $3)",
					 3,
					 {TEXTOID, TEXTOID, BOOLOID}},
	[STORE_FLOWS] = {"store monthly flows and their totals",
					 "SELECT * FROM mono.store_account_flows($1, $2, $3, $4)",
					 4,
					 {TEXTOID, TEXTOID, JSONBOID, JSONBOID}},
};

/* Is id a plausible Mono account id: 1-64 of [A-Za-z0-9_-]? */
bool
mono_valid_account_id(const char *id)
{
	size_t len = id ? strlen(id) : 0;
	size_t i;

	if (len == 0 || len > CONNECT_ID_MAX)
		return false;
	for (i = 0; i < len; i++)
	{
		char c = id[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Stop unless a key for /v2 calls is set (the connect app's, or the payments app's). */
static void
require_connect_key(void)
{
	if (mono_secret_key_for("/v2/")[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("neither mono_pay.connect_secret_key nor mono_pay.secret_key is set"),
				 errhint("A superuser sets mono_pay.connect_secret_key to the secret key of Mono's connect app, in postgresql.conf (or with ALTER SYSTEM), and reloads.")));
}

/* The account_id argument, checked: 22023 with a hint when unusable. */
static char *
account_id_arg(FunctionCallInfo fcinfo)
{
	char *id = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (!mono_valid_account_id(id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 id == NULL ? errmsg("account_id must not be null") :
							  errmsg("invalid Mono account id \"%.80s%s\"", id,
									 strlen(id) > 80 ? "..." : ""),
				 errdetail("A Mono account id is 1 to %d letters, digits, \"_\" or \"-\".",
						   CONNECT_ID_MAX),
				 errhint("Use the id Mono gave the account, e.g. data.id of the mono.events.account_connected webhook.")));
	return id;
}

/* GET path now (never a real-time refresh: see mono_account_sync()); an error unless 2xx. */
static void
connect_get(const char *path, MonoAnswer *answer)
{
	mono_http_get(path, false, NULL, answer);
	if (answer->status < 200 || answer->status >= 300)
		mono_raise_http_error(answer->status, answer->body, answer->len);
}

/* Run one of the statements with text arguments; its first row or NULL. */
static HeapTuple
run1(ConnectStatement which, Datum *args, const char *nulls)
{
	return mono_spi_run(&statements[which], args, nulls, 1) > 0 ? SPI_tuptable->vals[0] : NULL;
}

/* Stop before calling Mono when a real-time refresh would break its 5-minute limit. */
static void
check_refresh_gap(const char *id)
{
	Datum args[1] = {CStringGetTextDatum(id)};
	HeapTuple row = run1(LAST_REFRESH, args, NULL);

	if (row != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("a real-time refresh of account \"%s\" was started less than 5 minutes ago", id),
				 errdetail("Mono allows one real-time refresh per account every 5 minutes; the next is allowed at %s.",
						   SPI_getvalue(row, SPI_tuptable->tupdesc, 1)),
				 errhint("Call mono_account_sync('%s') without realtime, or try again after that time.", id)));
}

/* Read the account's details; their facts as JSON text, or an error showing the body. */
static char *
sync_details(const char *id)
{
	MonoAnswer answer;
	json_t *root;
	json_t *facts;
	char *result;

	connect_get(psprintf("/v2/accounts/%s", mono_url_escape(id)), &answer);
	root = mono_json_parse(answer.body, answer.len, "the account details");
	facts = mono_connect_details(root);
	json_decref(root);
	if (facts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("Mono's answer for account \"%s\" has no account details", id),
				 errdetail("Expected data.account; the body began: \"%s\".",
						   mono_body_excerpt(answer.body, answer.len)),
				 errhint("Nothing was stored. Check mono_pay.api_url: it must point at Mono's API.")));
	result = mono_json_text(facts);
	json_decref(facts);
	return result;
}

/*
 * May a real-time refresh be asked for (mono.may_refresh(): not while Mono
 * is still linking the account; FAILED, UNAVAILABLE and PARTIAL accounts
 * leave those states by a sync)? When not, a NOTICE says why. What may be
 * read afterwards stays with the data_status rules.
 */
static bool
refresh_allowed(const char *id, const char *details)
{
	Datum args[1] = {CStringGetTextDatum(details)};
	HeapTuple row = run1(MAY_REFRESH, args, NULL);
	char *may = SPI_getvalue(row, SPI_tuptable->tupdesc, 1);
	char *status = SPI_getvalue(row, SPI_tuptable->tupdesc, 2);

	if (may != NULL && strcmp(may, "t") == 0)
		return true;
	ereport(NOTICE,
			(errmsg("real-time refresh of account \"%s\" not started", id),
			 errdetail("Its data_status is %s: a refresh starts once Mono has linked the account (AVAILABLE, PARTIAL, UNAVAILABLE or FAILED).",
					   status)));
	return false;
}

/* Store the facts of a sync (and a refresh asked for); the account's row (a datum outside SPI). */
static Datum
record_sync(const char *id, const char *details, bool refresh)
{
	Datum args[3] = {CStringGetTextDatum(id), CStringGetTextDatum(details),
					 BoolGetDatum(refresh)};
	HeapTuple row = run1(RECORD_SYNC, args, NULL);
	bool isnull;
	Datum account;

	account = row ? SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull) : (Datum) 0;
	if (row == NULL || isnull)
		elog(ERROR, "account \"%s\" vanished while it was being recorded", id);
	return SPI_datumTransfer(account, false, -1);
}

/*
 * mono_account_sync(account_id, realtime DEFAULT false) -> mono.accounts
 * Reads GET /v2/accounts/{id} now and upserts the account (tracked); with
 * realtime, also asks for a real-time refresh (refresh_requested_at). A
 * refresh is billed by Mono, so like every mutating call it only writes
 * the request: the worker makes it after COMMIT (woken then), and a
 * ROLLBACK sends nothing. The worker takes everything from there.
 */
Datum
mono_account_sync(PG_FUNCTION_ARGS)
{
	char *id;
	bool realtime;
	char *details;
	bool refresh;
	Datum result;

	mono_require_sql_version("mono_account_sync()");
	id = account_id_arg(fcinfo);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("realtime must not be null"),
				 errhint("Pass true to start a real-time refresh, false (the default) to read the stored data.")));
	realtime = PG_GETARG_BOOL(1);
	mono_require_writable("mono_account_sync()");
	require_connect_key();
	SPI_connect();
	if (realtime)
		check_refresh_gap(id);
	details = sync_details(id);
	refresh = realtime && refresh_allowed(id, details);
	result = record_sync(id, details, refresh);
	SPI_finish();
	mono_wake_at_commit();
	PG_RETURN_DATUM(result);
}

/* A jansson value as palloc'd JSON text; frees the value. */
static char *
json_text(json_t *v)
{
	char *result = mono_json_text(v);

	json_decref(v);
	return result;
}

/*
 * The months of a credits/debits answer as JSON text, or an error showing
 * the body; *totals: the answer's totals {amount, count} as JSON text.
 */
static char *
flows_months(const char *id, const char *direction, MonoAnswer *answer, char **totals)
{
	json_t *root = mono_json_parse(answer->body, answer->len,
								   psprintf("the %s of account \"%s\"", direction, id));
	const char *problem = "it is not the expected shape";
	json_t *months = mono_connect_flows(root, &problem);

	*totals = json_text(mono_connect_flow_totals(root));
	json_decref(root);
	if (months == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unexpected %s answer from Mono for account \"%s\"", direction, id),
				 errdetail("%c%s; the body began: \"%s\".", pg_toupper(problem[0]), problem + 1,
						   mono_body_excerpt(answer->body, answer->len)),
				 errhint("Nothing was stored. Monthly figures derived from synced transactions stay in mono.%s.",
						 direction)));
	return json_text(months);
}

/*
 * Upsert the months into mono.account_flows and the totals into
 * mono.account_flow_totals; return the months as the result set.
 */
static void
store_flows(ReturnSetInfo *rsinfo, const char *id, const char *direction, const char *months,
			const char *totals)
{
	Datum args[4] = {CStringGetTextDatum(id), CStringGetTextDatum(direction),
					 DirectFunctionCall1(jsonb_in, CStringGetDatum(months)),
					 DirectFunctionCall1(jsonb_in, CStringGetDatum(totals))};
	Datum *values;
	bool *nulls;
	uint64 i;

	SPI_connect();
	mono_spi_run(&statements[STORE_FLOWS], args, NULL, 0);
	values = palloc(sizeof(Datum) * SPI_tuptable->tupdesc->natts);
	nulls = palloc(sizeof(bool) * SPI_tuptable->tupdesc->natts);
	for (i = 0; i < SPI_processed; i++)
	{
		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
}

/* GET .../credits or .../debits now; store and return the months. */
static Datum
flows(FunctionCallInfo fcinfo, const char *direction, const char *endpoint)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char *id = account_id_arg(fcinfo);
	MonoAnswer answer;
	char *months;
	char *totals;

	require_connect_key();
	InitMaterializedSRF(fcinfo, 0);
	connect_get(psprintf("/v2/accounts/%s/%s", mono_url_escape(id), endpoint), &answer);
	months = flows_months(id, direction, &answer, &totals);
	store_flows(rsinfo, id, direction, months, totals);
	return (Datum) 0;
}

/* mono_inflow(account_id) -> SETOF mono.account_flows, from GET .../credits */
Datum
mono_inflow(PG_FUNCTION_ARGS)
{
	mono_require_sql_version("mono_inflow()");
	mono_require_writable("mono_inflow()");
	return flows(fcinfo, "inflow", "credits");
}

/* mono_outflow(account_id) -> SETOF mono.account_flows, from GET .../debits */
Datum
mono_outflow(PG_FUNCTION_ARGS)
{
	mono_require_sql_version("mono_outflow()");
	mono_require_writable("mono_outflow()");
	return flows(fcinfo, "outflow", "debits");
}

/* mono.backoff(attempts) -> interval: the worker's retry delay (mono_backoff_ms). */
Datum
mono_connect_backoff(PG_FUNCTION_ARGS)
{
	Interval *result = palloc0(sizeof(Interval));

	result->time = mono_backoff_ms(PG_ARGISNULL(0) ? 1 : Max(PG_GETARG_INT32(0), 1)) * 1000;
	PG_RETURN_INTERVAL_P(result);
}

/* mono.wake_worker(): wake the worker when the current transaction commits. */
Datum
mono_connect_wake(PG_FUNCTION_ARGS pg_attribute_unused())
{
	mono_wake_at_commit();
	PG_RETURN_VOID();
}

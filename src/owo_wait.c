/*
 * wait.c
 *		mono_wait(): wait, in a later transaction, for a fund request to leave
 *		the outbox; and mono_worker_status(): is the worker alive and busy.
 */
#include "mono_pay.h"

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/wait_event.h"

PG_FUNCTION_INFO_V1(mono_wait);
PG_FUNCTION_INFO_V1(mono_worker_status);

/* Fetch (row, xmin, still-in-outbox) of a fund request; false when absent. */
static bool
fetch_request(SPIPlanPtr plan, const char *reference, Datum *row,
			  TransactionId *xmin, bool *pending)
{
	Datum		arg = CStringGetTextDatum(reference);
	bool		isnull;

	if (SPI_execute_plan(plan, &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the fund request");
	if (SPI_processed == 0)
		return false;
	*row = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	*xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 2, &isnull));
	*pending = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 3, &isnull));
	return true;
}

/* Now plus an interval, in microseconds; huge intervals wait "forever" (no overflow). */
static TimestampTz
deadline_after(Interval *timeout)
{
	double		usecs = (double) timeout->time +
		((double) timeout->month * DAYS_PER_MONTH + timeout->day) * USECS_PER_DAY;

	if (usecs > (double) (PG_INT64_MAX / 4))
		return PG_INT64_MAX / 2;
	return GetCurrentTimestamp() + (int64) usecs;
}

/* Explain why waiting inside the queuing transaction cannot work. */
static void
refuse_same_transaction(const char *reference)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("mono_wait(\"%.64s\") called in the transaction that queued the request", reference),
			 errdetail("The worker sends a request only after the transaction that queued it commits."),
			 errhint("COMMIT first, then call mono_wait() in a new transaction, or LISTEN mono_pay.")));
}

/*
 * mono_wait(reference, timeout) -> mono.fund_requests
 * Returns the row once it left queued/sending, or as it is at the timeout.
 */
Datum
mono_wait(PG_FUNCTION_ARGS)
{
	Oid			types[1] = {TEXTOID};
	SPIPlanPtr	plan;
	char	   *reference;
	TimestampTz deadline;
	Datum		row;
	TransactionId xmin;
	bool		pending;
	long		sleep_ms = 1;
	Interval   *timeout;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mono_wait needs a reference and a timeout"),
				 errhint("Call mono_wait('<reference>', '10 seconds').")));
	reference = text_to_cstring(PG_GETARG_TEXT_PP(0));
	timeout = PG_GETARG_INTERVAL_P(1);
	deadline = deadline_after(timeout);
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mono_wait cannot see new commits under REPEATABLE READ or SERIALIZABLE"),
				 errhint("Call mono_wait() in a READ COMMITTED transaction.")));

	SPI_connect();
	plan = SPI_prepare("SELECT f, f.xmin, f.status IN ('queued', 'sending')"
					   " FROM mono.fund_requests f WHERE f.reference = $1", 1, types);
	for (;;)
	{
		if (!fetch_request(plan, reference, &row, &xmin, &pending))
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("no fund request with reference \"%.64s\"", reference),
					 errhint("mono.fund_requests lists the references; mono_charge() returns the one it queued.")));
		if (TransactionIdIsCurrentTransactionId(xmin) && pending)
			refuse_same_transaction(reference);
		if (!pending || GetCurrentTimestamp() >= deadline)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		sleep_ms = Min(sleep_ms * 2, 50);
	}
	row = SPI_datumTransfer(row, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(row);
}

/* Count outbox rows per status across links and fund requests. */
static void
count_queue(int64 *counts)
{
	int			i;

	if (SPI_execute("SELECT count(*) FILTER (WHERE status = 'queued'),"
					" count(*) FILTER (WHERE status = 'sending'),"
					" count(*) FILTER (WHERE status = 'unknown'),"
					" count(*) FILTER (WHERE status = 'awaiting_authorization')"
					" FROM (SELECT status FROM mono.fund_requests"
					" WHERE status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')"
					" UNION ALL SELECT status FROM mono.beneficiaries"
					" WHERE status IN ('queued', 'sending', 'unknown', 'awaiting_authorization')) s",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not count the queue");
	for (i = 0; i < 4; i++)
	{
		bool		isnull;

		counts[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, i + 1, &isnull));
	}
}

/*
 * Sum the worker processes into slot 0 of copy: requests in flight and
 * sent, how many run, and the oldest settings any of them holds.
 */
static int
sum_workers(MonoShared *copy)
{
	MonoWorkerSlot *w = &copy->workers[0];
	int			running = w->latch != NULL ? 1 : 0;
	int			i;

	for (i = 1; i < MONO_MAX_WORKERS; i++)
	{
		MonoWorkerSlot *s = &copy->workers[i];

		w->sent_total += s->sent_total;
		if (s->latch == NULL)
			continue;
		running++;
		w->in_flight += s->in_flight;
		w->config_loaded_at = Min(w->config_loaded_at, s->config_loaded_at);
	}
	return running;
}

/*
 * On a standby, or in a database no worker serves, say so (issue 12): the
 * workers' slots then describe nobody here.
 */
static void
describe_node(MonoShared *copy)
{
	char	   *db = get_database_name(MyDatabaseId);

	if (RecoveryInProgress())
		strlcpy(copy->state, "not running: this node is a standby; the worker starts when it is promoted",
				sizeof(copy->state));
	else if (db != NULL && strcmp(db, mono_database_name) != 0)
	{
		snprintf(copy->state, sizeof(copy->state),
				 "not serving this database: no worker serves it (mono_pay.database_name is \"%s\")",
				 mono_database_name);
		memset(copy->workers, 0, sizeof(copy->workers));
	}
}

/* mono_worker_status(): one row describing the workers and their queue. */
Datum
mono_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		v[14];
	bool		n[14];
	int64		counts[4];
	MonoShared	copy;
	MonoWorkerSlot *w = &copy.workers[0];
	int			running;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	memset(n, 0, sizeof(n));
	memset(&copy, 0, sizeof(copy));
	if (mono_shared != NULL)
	{
		SpinLockAcquire(&mono_shared->mutex);
		memcpy(&copy, mono_shared, sizeof(copy));
		SpinLockRelease(&mono_shared->mutex);
	}
	else
		strlcpy(copy.state, "not running: mono_pay is not in shared_preload_libraries",
				sizeof(copy.state));
	describe_node(&copy);
	running = sum_workers(&copy);
	SPI_connect();
	count_queue(counts);
	SPI_finish();
	v[0] = BoolGetDatum(w->latch != NULL);
	v[1] = Int32GetDatum(w->pid);
	n[1] = w->latch == NULL;
	v[2] = CStringGetTextDatum(copy.state);
	v[3] = CStringGetTextDatum(mono_database_name);
	for (i = 0; i < 4; i++)
		v[4 + i] = Int64GetDatum(counts[i]);
	v[8] = Int32GetDatum(w->in_flight);
	v[9] = Int64GetDatum((int64) w->sent_total);
	v[10] = CStringGetTextDatum(copy.last_error);
	n[10] = copy.last_error[0] == '\0';
	v[11] = TimestampTzGetDatum(copy.last_error_at);
	n[11] = copy.last_error_at == 0;
	v[12] = TimestampTzGetDatum(w->config_loaded_at);
	n[12] = w->latch == NULL;
	v[13] = Int32GetDatum(running);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	return (Datum) 0;
}

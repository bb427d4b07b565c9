/*
 * owo_wait.c
 *		mono_wait(): wait, in a later transaction, for a fund request to leave
 *		the outbox.
 */
#include "owo.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/wait_event.h"

PG_FUNCTION_INFO_V1(mono_wait);

/*
 * The request's row, its xmin, and whether it still waits to be sent. A
 * read of the table, not a call of an internal function: mono_wait() runs
 * with its caller's rights (SELECT on mono.fund_requests), and no one is
 * granted EXECUTE on schema mono's functions.
 */
static MonoStatement fetch_stmt = {
	"read the awaited fund request",
	"SELECT f, f.xmin, f.status IN ('queued', 'sending')"
	" FROM mono.fund_requests f WHERE f.reference = $1",
	1,
	{TEXTOID}};

/* Fetch (row, xmin, still-in-outbox) of a fund request; false when absent. */
static bool
fetch_request(const char *reference, Datum *row, TransactionId *xmin, bool *pending)
{
	Datum arg = CStringGetTextDatum(reference);
	bool isnull;

	if (mono_spi_run(&fetch_stmt, &arg, NULL, 1) == 0)
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
	double usecs = (double) timeout->time +
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
	char *reference;
	TimestampTz deadline;
	Datum row;
	TransactionId xmin;
	bool pending;
	long sleep_ms = 1;
	Interval *timeout;

	mono_require_sql_version("mono_wait()");
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
	for (;;)
	{
		if (!fetch_request(reference, &row, &xmin, &pending))
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

/*
 * batch.c
 *		Charges queued by mono_charge_trigger(), inserted in batches.
 *
 * A row trigger that ran its own INSERT per row would pay for a whole
 * executor start-up per order. Instead the trigger validates its row and
 * buffers the charge here; the buffer is inserted with one INSERT ... SELECT
 * FROM unnest(...) when the statement that fired the triggers finishes (the
 * ExecutorFinish hook), when it grows large, and at the latest before COMMIT
 * (deferred triggers). An aborted (sub)transaction drops what it buffered.
 * The rows are therefore in mono.fund_requests before the statement returns,
 * exactly as if each had been inserted by its trigger.
 */
#include "mono_pay.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#define FLUSH_AT 10000			/* rows buffered before an early flush */
#define NCOLS 10

typedef struct PendingCharge
{
	MonoCharge	a;
	int			level;			/* transaction nesting level that buffered it */
} PendingCharge;

static MemoryContext pending_cxt = NULL;
static List *pending = NIL;
static SPIPlanPtr used_plan = NULL;
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr schedule_plan = NULL;

/* Copy a string into the buffer's context (NULL stays NULL). */
static char *
keep(const char *s)
{
	return s ? MemoryContextStrdup(pending_cxt, s) : NULL;
}

/* Buffer a validated charge of the current statement. */
void
mono_buffer_charge(MonoCharge *a)
{
	PendingCharge *p;
	MemoryContext old;

	if (pending_cxt == NULL)
		pending_cxt = AllocSetContextCreate(TopMemoryContext, "mono_pay pending charges",
											ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(pending_cxt);
	p = palloc(sizeof(PendingCharge));
	p->a = *a;
	p->a.phone = keep(a->phone);
	p->a.description = keep(a->description);
	p->a.reference = keep(a->reference);
	p->a.period = keep(a->period);
	p->a.currency = keep(a->currency);
	p->level = GetCurrentTransactionNestLevel();
	pending = lappend(pending, p);
	MemoryContextSwitchTo(old);
	if (list_length(pending) >= FLUSH_AT)
		mono_flush_charges();
}

/* Prepare a statement once per backend and keep it. */
static SPIPlanPtr
prepare_kept(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	return plan;
}

/* Refuse the batch if a reference is used already, or twice in the batch. */
static void
check_references(Datum references)
{
	Oid			types[1] = {TEXTARRAYOID};

	if (used_plan == NULL)
		used_plan = prepare_kept(
			"(SELECT r FROM pg_catalog.unnest($1) r WHERE EXISTS"
			"  (SELECT 1 FROM mono.fund_requests f"
			"    WHERE f.reference::text OPERATOR(pg_catalog.=) r) LIMIT 1)"
			" UNION ALL"
			" (SELECT r FROM pg_catalog.unnest($1) r GROUP BY r"
			"   HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 LIMIT 1)"
			" LIMIT 1", 1, types);
	if (SPI_execute_plan(used_plan, &references, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not check references");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("reference \"%s\" is already used",
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errdetail("A reference identifies one fund request at Mono, forever."),
				 errhint("Give every order its own reference, or map none to have them generated.")));
}

/* Column i of the batch as an array datum. */
static Datum
column_array(List *batch, int col)
{
	static const Oid types[NCOLS] = {TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	ArrayBuildState *st = initArrayResult(types[col], CurrentMemoryContext, false);
	ListCell   *lc;

	foreach(lc, batch)
	{
		MonoCharge *a = &((PendingCharge *) lfirst(lc))->a;
		Datum		d = (Datum) 0;
		bool		isnull = false;

		switch (col)
		{
			case 0: d = CStringGetTextDatum(a->reference); break;
			case 1: d = CStringGetTextDatum(a->phone); break;
			case 2: d = Int64GetDatum(a->amount); break;
			case 3: d = CStringGetTextDatum(a->currency); break;
			case 4: d = CStringGetTextDatum(a->description); break;
			case 5: d = CStringGetTextDatum(a->period ? "recurring" : "onetime"); break;
			case 6: isnull = a->period == NULL;
				d = isnull ? 0 : CStringGetTextDatum(a->period); break;
			case 7: isnull = a->period == NULL; d = Int32GetDatum(a->interval); break;
			case 8: isnull = a->start_null; d = TimestampTzGetDatum(a->start_date); break;
			case 9: isnull = a->end_null; d = TimestampTzGetDatum(a->end_date); break;
		}
		st = accumArrayResult(st, d, isnull, types[col], CurrentMemoryContext);
	}
	return makeArrayResult(st, CurrentMemoryContext);
}

/*
 * Plan the instalments of the recurring requests among the references (a
 * text[]), a year ahead when open-ended. This is done here, not by a
 * trigger on mono.fund_requests, so that pg_restore's COPY of the requests
 * plans nothing: the dump brings their schedules, statuses included.
 */
void
mono_plan_schedules(Datum references)
{
	Oid			types[1] = {TEXTARRAYOID};

	if (schedule_plan == NULL)
		schedule_plan = prepare_kept(
			"SELECT pg_catalog.count(mono.plan_instalments(f.id,"
			"  GREATEST(pg_catalog.now(), f.start_date)"
			"  OPERATOR(pg_catalog.+) '1 year'::pg_catalog.interval))"
			" FROM mono.fund_requests f"
			" WHERE f.reference::text OPERATOR(pg_catalog.=) ANY ($1)"
			"  AND f.type::text OPERATOR(pg_catalog.=) 'recurring'", 1, types);
	if (SPI_execute_plan(schedule_plan, &references, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not plan the instalments of the new fund requests");
}

/* Does the batch hold a recurring charge? */
static bool
has_recurring(List *batch)
{
	ListCell   *lc;

	foreach(lc, batch)
		if (((PendingCharge *) lfirst(lc))->a.period != NULL)
			return true;
	return false;
}

/* Insert the batch in one statement. */
static void
insert_batch(List *batch)
{
	Oid			types[NCOLS] = {TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID, TIMESTAMPTZARRAYOID,
	TIMESTAMPTZARRAYOID};
	Datum		cols[NCOLS];
	int			i;

	for (i = 0; i < NCOLS; i++)
		cols[i] = column_array(batch, i);
	check_references(cols[0]);
	if (insert_plan == NULL)
		insert_plan = prepare_kept(
			"INSERT INTO mono.fund_requests (reference, phone, amount, currency,"
			" description, type, period, \"interval\", start_date, end_date)"
			" SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
			"  pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),"
			"  pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8),"
			"  pg_catalog.unnest($9), pg_catalog.unnest($10))",
			NCOLS, types);
	if (SPI_execute_plan(insert_plan, cols, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert the buffered fund requests");
	if (has_recurring(batch))
		mono_plan_schedules(cols[0]);
	mono_wake_at_commit();
}

/* The owner of schema mono: the extension's owner, who may write its tables. */
static Oid
mono_owner(void)
{
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(get_namespace_oid("mono", false)));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for schema mono");
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Insert every buffered charge now (statement end, a full buffer,
 * pre-commit), with the privileges of the extension's owner: the trigger's
 * user needs EXECUTE on mono_charge_trigger, not write access to mono.
 */
void
mono_flush_charges(void)
{
	List	   *batch = pending;
	Oid			save_user;
	int			save_sec;
	bool		pushed;
	int			save_nestlevel;

	if (batch == NIL)
		return;
	pending = NIL;				/* detach first: the insert must not see it */
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(mono_owner(), save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	/* the caller's search_path must not reach code run as the owner */
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	/* before COMMIT, or after a utility statement, no snapshot may be active */
	pushed = !ActiveSnapshotSet();
	if (pushed)
		PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		SPI_connect();
		insert_batch(batch);
		SPI_finish();
	}
	PG_FINALLY();
	{
		AtEOXact_GUC(true, save_nestlevel);
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PG_END_TRY();
	if (pushed)
		PopActiveSnapshot();
	if (pending == NIL)
		MemoryContextReset(pending_cxt);
}

/* Drop what (sub)transactions at nesting level >= level buffered: they aborted. */
void
mono_discard_charges(int level)
{
	List	   *kept = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (pending == NIL)
		return;
	if (level <= 1)
	{
		pending = NIL;
		MemoryContextReset(pending_cxt);
		return;
	}
	old = MemoryContextSwitchTo(pending_cxt);
	foreach(lc, pending)
		if (((PendingCharge *) lfirst(lc))->level < level)
			kept = lappend(kept, lfirst(lc));
	MemoryContextSwitchTo(old);
	pending = kept;
}

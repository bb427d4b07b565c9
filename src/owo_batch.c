/*
 * owo_batch.c
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
#include "owo.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "tcop/utility.h"
#include "miscadmin.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#define FLUSH_AT 10000 /* rows buffered before an early flush */

/* The arguments of mono.enqueue_fund_requests(), one array each. */
typedef enum BatchColumn
{
	COL_REFERENCE,
	COL_PHONE,
	COL_AMOUNT,
	COL_CURRENCY,
	COL_DESCRIPTION,
	COL_PERIOD,
	COL_INTERVAL,
	COL_START_DATE,
	COL_END_DATE,
	COL_LINK_ID,
	NCOLS
} BatchColumn;

typedef struct PendingCharge
{
	MonoCharge a;
	int level; /* transaction nesting level that buffered it */
} PendingCharge;

static MemoryContext pending_cxt = NULL;
static List *pending = NIL;
/*
 * The one INSERT of fund requests, for the trigger's batches and for
 * mono_charge() alike: the arrays are unnested in step by the SQL function.
 */
static MonoStatement insert_stmt = {
	"queue fund requests",
	"SELECT mono.enqueue_fund_requests($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
	NCOLS,
	{TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	 TEXTARRAYOID, INT4ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID}};
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

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

/*
 * The reference that a unique violation of the outbox's reference names:
 * the value in its detail "Key (reference)=(VALUE) already exists" (the
 * "(column)=(value)" part is not translated; a reference is alphanumeric).
 * NULL when the error is another one.
 */
static char *
reference_in_violation(ErrorData *e)
{
	const char *v;
	const char *end;

	if (e->sqlerrcode != ERRCODE_UNIQUE_VIOLATION || e->constraint_name == NULL ||
		strcmp(e->constraint_name, "fund_requests_reference_key") != 0 || e->detail == NULL)
		return NULL;
	v = strstr(e->detail, ")=(");
	end = v ? strchr(v + 3, ')') : NULL;
	return end ? pnstrdup(v + 3, end - v - 3) : pstrdup("?");
}

/*
 * Insert the batch in one statement. A reference used already, or twice
 * in the batch, is refused by the reference's unique index, and said with
 * the caller's hint.
 */
static void
insert_columns(Datum *cols, const char *nulls, const char *hint)
{
	MemoryContext cxt = CurrentMemoryContext;
	char *reference;

	PG_TRY();
	{
		mono_spi_run(&insert_stmt, cols, nulls, 0);
	}
	PG_CATCH();
	{
		ErrorData *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		if ((reference = reference_in_violation(e)) == NULL)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("reference \"%s\" is already used", reference),
				 errdetail("A reference identifies one fund request at Mono, forever."),
				 errhint("%s", hint)));
	}
	PG_END_TRY();
}

/* Column i of the batch as an array datum. */
static Datum
column_array(List *batch, BatchColumn col)
{
	static const Oid types[NCOLS] = {TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID,
									 TEXTOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID};
	ArrayBuildState *st = initArrayResult(types[col], CurrentMemoryContext, false);
	ListCell *lc;

	foreach(lc, batch)
	{
		MonoCharge *a = &((PendingCharge *) lfirst(lc))->a;
		Datum d = (Datum) 0;
		bool isnull = false;

		switch (col)
		{
			case COL_REFERENCE: d = CStringGetTextDatum(a->reference); break;
			case COL_PHONE: d = CStringGetTextDatum(a->phone); break;
			case COL_AMOUNT: d = Int64GetDatum(a->amount); break;
			case COL_CURRENCY: d = CStringGetTextDatum(a->currency); break;
			case COL_DESCRIPTION: d = CStringGetTextDatum(a->description); break;
			case COL_PERIOD:
				isnull = a->period == NULL;
				d = isnull ? 0 : CStringGetTextDatum(a->period);
				break;
			case COL_INTERVAL:
				isnull = a->period == NULL;
				d = Int32GetDatum(a->interval);
				break;
			case COL_START_DATE:
				isnull = a->start_null;
				d = TimestampTzGetDatum(a->start_date);
				break;
			case COL_END_DATE:
				isnull = a->end_null;
				d = TimestampTzGetDatum(a->end_date);
				break;
			case COL_LINK_ID:
				isnull = a->link_id == 0;
				d = Int64GetDatum(a->link_id);
				break;
			case NCOLS: break;
		}
		st = accumArrayResult(st, d, isnull, types[col], CurrentMemoryContext);
	}
	return makeArrayResult(st, CurrentMemoryContext);
}

/* Does a charge of the batch have a period (recurring), or a link? */
static bool
batch_has(List *batch, bool link)
{
	ListCell *lc;

	foreach(lc, batch)
	{
		MonoCharge *a = &((PendingCharge *) lfirst(lc))->a;

		if (link ? a->link_id != 0 : a->period != NULL)
			return true;
	}
	return false;
}

/*
 * Queue the batch through mono.enqueue_fund_requests() (SPI connected);
 * columns no charge uses go as NULL arrays.
 */
static void
insert_batch(List *batch, const char *hint)
{
	Datum cols[NCOLS];
	char nulls[NCOLS];
	bool recurring = batch_has(batch, false);
	bool linked = batch_has(batch, true);
	BatchColumn c;

	for (c = 0; c < NCOLS; c++)
	{
		bool unused = (c >= COL_PERIOD && c <= COL_END_DATE && !recurring) ||
			(c == COL_LINK_ID && !linked);

		nulls[c] = unused ? 'n' : ' ';
		cols[c] = unused ? (Datum) 0 : column_array(batch, c);
	}
	insert_columns(cols, nulls, hint);
	mono_wake_at_commit();
}

/*
 * Queue one validated charge now, through the trigger's path (the caller
 * is connected to SPI and may write schema mono).
 */
void
mono_enqueue_charge(const MonoCharge *a)
{
	PendingCharge p;

	p.a = *a;
	p.level = GetCurrentTransactionNestLevel();
	insert_batch(list_make1(&p), "Pass a new reference, or NULL to have one generated.");
}

/* The owner of schema mono: the extension's owner, who may write its tables. */
static Oid
mono_owner(void)
{
	HeapTuple tup;
	Oid owner;

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
	List *batch = pending;
	Oid save_user;
	int save_sec;
	bool pushed;
	int save_nestlevel;

	if (batch == NIL)
		return;
	pending = NIL; /* detach first: the insert must not see it */
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(mono_owner(), save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
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
		insert_batch(batch, "Give every order its own reference, or map none to have them generated.");
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
	List *kept = NIL;
	ListCell *lc;
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

/* After a statement's AFTER triggers ran, insert the charges they buffered. */
static void
batch_executor_finish(QueryDesc *queryDesc)
{
	if (prev_executor_finish)
		prev_executor_finish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
	mono_flush_charges();
}

/* After a utility statement (COPY fires row triggers too), insert what it buffered. */
static void
batch_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
	mono_flush_charges();
}

/* Before commit, insert charges still buffered (deferred triggers); on abort, drop them. */
static void
batch_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
		mono_flush_charges();
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		mono_discard_charges(1);
}

/* A rolled-back subtransaction drops the charges it buffered. */
static void
batch_subxact_callback(SubXactEvent event, SubTransactionId mySubid pg_attribute_unused(),
					   SubTransactionId parentSubid pg_attribute_unused(),
					   void *arg pg_attribute_unused())
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		mono_discard_charges(GetCurrentTransactionNestLevel());
}

/* Flush the buffer at the end of each statement and before commit. */
void
mono_batch_init(void)
{
	RegisterXactCallback(batch_xact_callback, NULL);
	RegisterSubXactCallback(batch_subxact_callback, NULL);
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = batch_executor_finish;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = batch_process_utility;
}

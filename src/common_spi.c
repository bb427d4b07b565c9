/*
 * common_spi.c
 *		The one way mono_pay runs SQL from C: statements declared in tables
 *		(MonoStatement: a name, the SQL, its argument types), prepared once
 *		per process and kept; every result checked, and a failure reported
 *		with the statement's name. Also the workers' short transactions.
 */
#include "common.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tupconvert.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "funcapi.h"
#include "pgstat.h"
#include "storage/proc.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

/* Is an SPI result code a failure? */
static void
check_result(const char *name, int rc)
{
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("mono_pay could not run its statement \"%s\": %s",
						name, SPI_result_code_string(rc))));
}

/*
 * Run a declared statement (SPI connected), preparing it at first use.
 * Returns the rows it processed; its result is SPI_tuptable.
 */
uint64
mono_spi_run(MonoStatement *stmt, Datum *args, const char *nulls, long limit)
{
	if (stmt->plan == NULL)
	{
		SPIPlanPtr plan = SPI_prepare(stmt->sql, stmt->nargs, stmt->types);

		if (plan == NULL)
			check_result(stmt->name, SPI_result);
		check_result(stmt->name, SPI_keepplan(plan));
		stmt->plan = plan;
	}
	check_result(stmt->name, SPI_execute_plan(stmt->plan, args, nulls, stmt->read_only, limit));
	return SPI_processed;
}

/* Run a statement without arguments once (SPI connected); returns the rows processed. */
uint64
mono_spi_query(const char *name, const char *sql, bool read_only)
{
	check_result(name, SPI_execute(sql, read_only, 0));
	return SPI_processed;
}

/* Column col (1-based) of row row of the last result, as a datum. */
Datum
mono_spi_value(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

/* The named column of row row of the last result as text (palloc'd), or NULL. */
char *
mono_spi_text(int row, const char *column)
{
	int col = SPI_fnumber(SPI_tuptable->tupdesc, column);

	if (col <= 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/*
 * row (of desc, an SPI result) as the composite result of the function
 * called, copied out of SPI: matched by column name, so a table that an
 * upgrade left with a dropped column still gets its row type.
 */
Datum
mono_spi_return_row(FunctionCallInfo fcinfo, HeapTuple row, TupleDesc desc)
{
	TupleDesc result;
	TupleConversionMap *map;

	if (get_call_result_type(fcinfo, NULL, &result) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "mono_pay: function returning a row called in a context that cannot accept one");
	map = convert_tuples_by_name(desc, result);
	if (map != NULL)
		row = execute_attr_map_tuple(row, map);
	return PointerGetDatum(SPI_returntuple(row, result));
}

/* Open a worker's short transaction with SPI and a snapshot. */
void
mono_tx_begin(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/*
 * Commit the short transaction of mono_tx_begin(), with no lock_timeout: a
 * commit that sends NOTIFY takes the notification queue's lock, which every
 * other such commit (the other workers', applications') holds across its
 * WAL flush; on a busy disk that wait passed the worker's 100 ms, the
 * commit failed and the process exited with its sends in flight.
 */
void
mono_tx_commit(void)
{
	int saved = LockTimeout;
	char value[32];

	SPI_finish();
	PopActiveSnapshot();
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	CommitTransactionCommand();
	snprintf(value, sizeof(value), "%d", saved);
	SetConfigOption("lock_timeout", value, PGC_SUSET, PGC_S_OVERRIDE);
	pgstat_report_activity(STATE_IDLE, NULL);
	/*
	 * A background worker reports its table statistics itself (a backend
	 * does when idle), at most once a second: without it, autovacuum never
	 * learns of the rows the worker changes (pg_stat_user_tables, and the
	 * autoanalyze that gives a burst's claims their statistics).
	 */
	(void) pgstat_report_stat(false);
}

/*
 * Run step in the worker; an error is not fatal: it is reported (last_error
 * "<what> failed: ...", a WARNING with hint) and its transaction aborted,
 * so that one failing step never stops the others. True when step ran through.
 */
bool
mono_run_step(void (*step)(void), const char *what, const char *hint)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		step();
	}
	PG_CATCH();
	{
		ErrorData *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		mono_set_last_error(psprintf("%s failed: %s", what, edata->message));
		ereport(WARNING,
				(errmsg("mono_pay worker: %s failed: %s", what, edata->message),
				 hint ? errhint("%s", hint) : 0));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * The version of the extension mono_pay installed in this database
 * (palloc'd), or NULL; read from pg_extension directly, in the current
 * transaction.
 */
static char *
installed_version(void)
{
	Relation rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple tup;
	char *version = NULL;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("mono_pay"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool isnull;
		Datum d = heap_getattr(tup, Anum_pg_extension_extversion, RelationGetDescr(rel), &isnull);

		if (!isnull)
			version = text_to_cstring(DatumGetTextPP(d));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

/*
 * The version of the extension installed in this database (palloc'd in the
 * caller's context), or NULL when it is not installed; in a transaction of
 * its own (the worker, before it works).
 */
char *
mono_extension_version(void)
{
	MemoryContext caller = CurrentMemoryContext;
	char *version;

	mono_tx_begin("mono_pay: checking for the extension");
	version = installed_version();
	if (version != NULL)
		version = MemoryContextStrdup(caller, version);
	mono_tx_commit();
	return version;
}

/* The local transaction in which the SQL objects were last found current. */
static LocalTransactionId version_checked_in = InvalidLocalTransactionId;

/*
 * Refuse to run a function of this library against SQL objects of another
 * version (the library was replaced, ALTER EXTENSION UPDATE not yet run):
 * the C calls SQL functions that only this version's scripts create. Read
 * once per transaction. The extension's own scripts (CREATE and ALTER
 * EXTENSION, the released ones included) run before the version is set,
 * so they are let through.
 */
void
mono_require_sql_version(const char *function)
{
	char *version;

	if (MONO_LXID == version_checked_in || creating_extension)
		return;
	version = installed_version();
	if (version == NULL || strcmp(version, MONO_PAY_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s cannot run: the SQL objects of mono_pay do not match its library", function),
				 errdetail("The extension installed in this database is %s; the library is %s.",
						   version ? version : "not installed", MONO_PAY_VERSION),
				 errhint("Run ALTER EXTENSION mono_pay UPDATE.")));
	version_checked_in = MONO_LXID;
}

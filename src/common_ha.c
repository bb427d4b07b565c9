/*
 * common_ha.c
 *		High availability, restores and clones (issue 12): a claim is sent
 *		only once a standby named in mono_pay.standby_names has flushed it;
 *		a restored or cloned database (another system identifier or
 *		database) pauses until mono_resume(); a read-only node waits;
 *		functions that call Mono refuse on a standby before the call; DROP
 *		EXTENSION refuses while work is in flight.
 */
#include "common.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "catalog/namespace.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"

PG_FUNCTION_INFO_V1(mono_system_identifier);
PG_FUNCTION_INFO_V1(mono_resume);

static ProcessUtility_hook_type prev_process_utility = NULL;

/* Is mono_pay.standby_names set (the worker waits for a standby)? */
bool
mono_ha_waits_for_standby(void)
{
	return mono_standby_names != NULL && mono_standby_names[0] != '\0';
}

/* Every connected standby (not a base backup): its application_name and flush LSN. */
static MonoStatement ack_stmt = {
	"read pg_stat_replication for mono_pay.standby_names",
	"SELECT application_name, flush_lsn FROM mono.streaming_standbys() WHERE flush_lsn IS NOT NULL",
	0,
	{InvalidOid},
	true};

/* Sort LSNs from the furthest to the nearest. */
static int
lsn_desc(const void *a, const void *b)
{
	XLogRecPtr x = *(const XLogRecPtr *) a;
	XLogRecPtr y = *(const XLogRecPtr *) b;

	return x < y ? 1 : (x > y ? -1 : 0);
}

/*
 * The flush LSNs of the connected standbys that the quorum names (each
 * once), in the order of its list (a FIRST quorum's priority); returns
 * how many.
 */
static int
named_flushes(const MonoQuorum *q, XLogRecPtr *flushes, int max)
{
	bool *used = palloc0(sizeof(bool) * (SPI_processed + 1));
	int n = 0;
	int i;
	uint64 r;

	for (i = 0; i < q->count; i++)
		for (r = 0; r < SPI_processed && n < max; r++)
		{
			bool isnull;
			char *name = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);

			if (used[r] || name == NULL || !mono_quorum_names(q, i, name))
				continue;
			used[r] = true;
			flushes[n++] = DatumGetLSN(mono_spi_value(r, 2, &isnull));
		}
	return n;
}

/*
 * A node never streams from itself: a standby promoted with the settings
 * of a pg_basebackup (issue 23) finds its own application_name in
 * mono_pay.standby_names. Drop it from the quorum, and lower the count to
 * the names left; false when none is left.
 */
static bool
forget_self(MonoQuorum *q)
{
	char *self = mono_seal_own_name();
	int i;
	int kept = 0;

	for (i = 0; i < q->count; i++)
		if (strcmp(q->names[i], "*") == 0 || pg_strcasecmp(q->names[i], self) != 0)
			memmove(q->names[kept++], q->names[i], NAMEDATALEN);
	q->count = kept;
	q->num = Min(q->num, kept);
	return kept > 0;
}

/*
 * How far have the standbys of mono_pay.standby_names flushed the WAL, as
 * its quorum counts: a plain list, the furthest of them; FIRST n, the
 * nearest of its n first connected standbys; ANY n, the n-th furthest.
 * InvalidXLogRecPtr while fewer than needed are connected (or the value is
 * invalid). *connected and *needed say how many are and must be.
 */
XLogRecPtr
mono_ha_flushed(int *connected, int *needed)
{
	MonoQuorum q;
	const char *err;
	XLogRecPtr flushes[MONO_QUORUM_MAX];
	XLogRecPtr flushed = InvalidXLogRecPtr;
	int n;

	*connected = 0;
	*needed = 1;
	if (!mono_quorum_parse(mono_standby_names, &q, &err))
		return InvalidXLogRecPtr;
	if (!forget_self(&q))
		return PG_UINT64_MAX; /* it named only this node: no standby to wait for */
	*needed = q.num;
	mono_tx_begin("mono_pay: waiting for a standby to flush the claim");
	mono_spi_run(&ack_stmt, NULL, NULL, 0);
	n = named_flushes(&q, flushes, MONO_QUORUM_MAX);
	mono_tx_commit();
	*connected = n;
	if (n < q.num)
		return InvalidXLogRecPtr;
	if (!q.quorum || q.any)
		qsort(flushes, n, sizeof(XLogRecPtr), lsn_desc);
	else
		qsort(flushes, q.num, sizeof(XLogRecPtr), lsn_desc);
	flushed = flushes[q.num - 1];
	return flushed;
}

/* How many standbys stream from this node (base backups aside)? */
int
mono_ha_streaming_standbys(void)
{
	bool isnull;
	int n;

	mono_tx_begin("mono_pay: counting streaming standbys");
	mono_spi_query("count the streaming standbys",
				   "SELECT pg_catalog.count(*)::int4 FROM mono.streaming_standbys()",
				   true);
	n = DatumGetInt32(mono_spi_value(0, 1, &isnull));
	mono_tx_commit();
	return n;
}

/*
 * The identities recorded in mono.node_identity that are not this node's,
 * or that pg_restore or restored rows recorded: how many, and the first.
 */
static MonoStatement foreign_stmt = {
	"look for a foreign identity in mono.node_identity",
	"SELECT * FROM mono.foreign_identities($1, $2)",
	2,
	{TEXTOID, OIDOID},
	true};

/* Record this cluster and database as the only identity (mono_resume()). */
static MonoStatement resume_stmt = {
	"record the node's identity",
	"SELECT mono.record_node_identity($1)",
	1,
	{TEXTOID}};

/*
 * Run foreign_stmt for this node (SPI connected): the count of foreign
 * identities, and with none recorded at all (when want_some) one more.
 */
static int64
foreign_identities(bool want_some)
{
	Datum args[2];
	bool isnull;

	args[0] = CStringGetTextDatum(psprintf(UINT64_FORMAT, GetSystemIdentifier()));
	args[1] = ObjectIdGetDatum(MyDatabaseId);
	mono_spi_run(&foreign_stmt, args, NULL, 1);
	return DatumGetInt64(mono_spi_value(0, 1, &isnull)) +
		(want_some && DatumGetInt64(mono_spi_value(0, 2, &isnull)) == 0 ? 1 : 0);
}

/*
 * In the worker's claiming transaction, before its claims (issue 23): may
 * it claim? Not while a transaction inserts restored rows (mono.restored_rows()
 * holds a lock on mono.node_identity that this one conflicts with), nor once
 * one has committed them with its mark, or any foreign identity is recorded.
 * The check runs after the lock, so a claim can never see restored rows
 * without also seeing their mark.
 */
bool
mono_ha_may_claim(void)
{
	Oid rel = RangeVarGetRelid(makeRangeVar("mono", "node_identity", -1), NoLock, true);

	if (!OidIsValid(rel))
		return false;
	if (!ConditionalLockRelationOid(rel, RowExclusiveLock))
		return false;
	return foreign_identities(false) == 0;
}

/*
 * Is this the database that talked to Mono? It is when every identity
 * recorded in mono.node_identity (at CREATE EXTENSION, at the upgrade, by
 * mono_resume()) is this cluster's system identifier and this database. A
 * restore or clone brings the old identity along: then why explains it.
 */
bool
mono_ha_identity_ok(char *why, size_t len)
{
	bool ok;

	mono_tx_begin("mono_pay: checking the node's identity");
	ok = foreign_identities(true) == 0;
	if (!ok)
	{
		char *was = mono_spi_text(0, "first_foreign");

		snprintf(why, len, "paused: a restored or cloned copy (recorded by %s; this is system identifier " UINT64_FORMAT ", database %s); a superuser's SELECT mono_resume() lets it work",
				 was ? was : "no identity", GetSystemIdentifier(), get_database_name(MyDatabaseId));
	}
	mono_tx_commit();
	return ok;
}

/* mono.system_identifier() -> text: this cluster's system identifier. */
Datum
mono_system_identifier(PG_FUNCTION_ARGS pg_attribute_unused())
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf(UINT64_FORMAT, GetSystemIdentifier())));
}

/*
 * mono_resume() -> text: a superuser confirms that this database may talk
 * to Mono: the identity of this cluster and database replaces every one
 * recorded, and the worker is woken.
 */
Datum
mono_resume(PG_FUNCTION_ARGS pg_attribute_unused())
{
	char *sysid = psprintf(UINT64_FORMAT, GetSystemIdentifier());
	Datum arg = CStringGetTextDatum(sysid);

	mono_require_sql_version("mono_resume()");
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may call mono_resume()"),
				 errdetail("It lets a restored or cloned database send charges to Mono.")));
	mono_require_writable("mono_resume()");
	SPI_connect();
	mono_spi_run(&resume_stmt, &arg, NULL, 0);
	SPI_finish();
	mono_seal_resume();
	mono_wake_at_commit();
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("resumed: this database (system identifier %s, database %s) may talk to Mono",
											  sysid, get_database_name(MyDatabaseId))));
}

/*
 * Refuse, before any call to Mono, a function that writes what it does on
 * a standby or in a read-only transaction.
 */
void
mono_require_writable(const char *function)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s cannot run on a standby", function),
				 errdetail("It records what it does in mono's tables, and a standby cannot write; nothing was sent to Mono."),
				 errhint("Call it on the primary (e.g. connect with target_session_attrs=read-write).")));
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s cannot run in a read-only transaction", function),
				 errdetail("It records what it does in mono's tables; nothing was sent to Mono."),
				 errhint("Call it in a read-write transaction on the primary (default_transaction_read_only may be on while the node is demoted).")));
}

/* Does the utility statement drop the extension mono_pay? */
static bool
drops_mono_pay(Node *stmt)
{
	DropStmt *drop;
	ListCell *lc;

	if (stmt == NULL || !IsA(stmt, DropStmt))
		return false;
	drop = (DropStmt *) stmt;
	if (drop->removeType != OBJECT_EXTENSION)
		return false;
	foreach(lc, drop->objects)
		if (strcmp(strVal(lfirst(lc)), "mono_pay") == 0)
			return true;
	return false;
}

/*
 * DROP EXTENSION mono_pay would discard the outbox: refuse it while rows
 * are queued, sending or unknown (the superuser who means it deletes them
 * first).
 */
static void
check_drop(Node *stmt)
{
	int64 pending = 0;
	bool isnull;

	if (!drops_mono_pay(stmt))
		return;
	SPI_connect();
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'mono_pay'"
					" AND pg_catalog.to_regclass('mono.fund_requests') IS NOT NULL"
					" AND pg_catalog.to_regclass('mono.beneficiaries') IS NOT NULL",
					true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1 &&
		SPI_execute("SELECT (SELECT pg_catalog.count(*) FROM mono.fund_requests"
					"  WHERE status IN ('queued', 'sending', 'unknown'))"
					" OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM mono.beneficiaries"
					"  WHERE status IN ('queued', 'sending', 'unknown'))",
					true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		pending = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (pending > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot drop extension mono_pay: " INT64_FORMAT " links or fund requests are queued, sending or unknown",
						pending),
				 errdetail("Dropping it would discard them silently, and Mono may hold charges this database would no longer know."),
				 errhint("Wait until mono_worker_status() shows no queued, sending or unknown rows, or delete those rows of mono.fund_requests and mono.beneficiaries to discard them.")));
}

/* Check DROP EXTENSION before PostgreSQL runs it. */
static void
ha_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	check_drop(pstmt->utilityStmt);
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

/* Guard DROP EXTENSION mono_pay. */
void
mono_ha_init(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = ha_process_utility;
}

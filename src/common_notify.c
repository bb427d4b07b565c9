/*
 * common_notify.c
 *		NOTIFY mono_pay. The row trigger behind it: every status change of a
 *		link or fund request, and every payment, sends {"table", "id",
 *		"reference", "status"} and the columns named in the trigger's
 *		arguments, whoever made the change (application, worker, webhook,
 *		polling); a fund request adds "mono_status" once Mono reported one
 *		(and a change of it alone notifies too). Ids and statuses only: any
 *		role may LISTEN.
 *
 *		Who sends them: the committing transaction itself, or, with
 *		mono_pay.notify_by_worker, the first worker just after that commit.
 *		PostgreSQL lets one notifying transaction at a time through its
 *		commit (the notification queue's lock is held across the WAL flush),
 *		which caps webhook ingest; handed over, a transaction only copies its
 *		notifications into a ring in shared memory at pre-commit, and the
 *		worker sends those of committed transactions in one transaction of
 *		its own, in ring order, skipping those of aborted ones. A
 *		transaction sends its own when the worker is not running in its
 *		database, when the ring stays full for a second, or when they are
 *		larger than a quarter of the ring.
 */
#include "common.h"

#include "access/parallel.h"
#include "access/transam.h"
#include "access/xact.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#define NOTIFY_CHANNEL "mono_pay"
#define RING_SIZE (1024 * 1024)
#define RING_UNIT 64 /* entries are multiples of it: room for a padding entry is always left */
#define RING_WAIT_MS 1000
/* PostgreSQL's limit of a payload (async.c): longer ones get its error at once */
#define PAYLOAD_MAX (BLCKSZ - NAMEDATALEN - 128)

/*
 * The ring: head and tail only grow (their offset in data is modulo
 * RING_SIZE). Backends reserve at tail under the mutex, then fill their
 * entry and mark it written; only the first worker consumes at head.
 */
typedef struct NotifyRing
{
	slock_t mutex;
	uint64 head;
	uint64 tail;
	char data[RING_SIZE];
} NotifyRing;

/* One transaction's notifications in the ring, followed by count NUL-terminated payloads. */
typedef struct NotifyEntry
{
	uint32 size;			  /* of the whole entry, a multiple of RING_UNIT */
	uint32 count;			  /* 0: padding up to the end of the ring */
	TransactionId xid;		  /* sent once committed, skipped once aborted */
	Oid database;			  /* the worker's: only its database hands over */
	pg_atomic_uint32 written; /* 1 once the payloads are in */
} NotifyEntry;

/* A notification of the current transaction not yet handed over. */
typedef struct PendingNotify
{
	SubTransactionId subid; /* dropped when this subtransaction aborts */
	char *payload;
} PendingNotify;

static NotifyRing *ring = NULL;
static List *pending = NIL; /* of PendingNotify, in TopTransactionContext */
static Size pending_bytes = 0;
static bool past_pre_commit = false; /* a notification from later code is sent here */
static bool hand_over_here = true;	 /* false in the workers: their commits already batch */
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Ask for the ring (PostgreSQL 15's shmem_request_hook). */
static void
notify_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(NotifyRing)));
}

/* Create or attach the ring. */
static void
notify_shmem_startup(void)
{
	bool found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ring = ShmemInitStruct("mono_pay notifications", sizeof(NotifyRing), &found);
	if (!found)
	{
		SpinLockInit(&ring->mutex);
		ring->head = ring->tail = 0;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* The entry at ring position pos. */
static NotifyEntry *
entry_at(uint64 pos)
{
	return (NotifyEntry *) (ring->data + pos % RING_SIZE);
}

/*
 * Reserve an entry of size bytes at the tail (a padding entry first when it
 * would cross the end of the ring). Returns NULL when there is no room.
 */
static NotifyEntry *
reserve(uint32 size)
{
	NotifyEntry *e = NULL;
	uint64 pad;

	SpinLockAcquire(&ring->mutex);
	pad = RING_SIZE - ring->tail % RING_SIZE;
	if (pad >= size)
		pad = 0;
	if (RING_SIZE - (ring->tail - ring->head) >= pad + size)
	{
		if (pad > 0)
		{
			NotifyEntry *p = entry_at(ring->tail);

			p->size = (uint32) pad;
			p->count = 0;
			p->xid = InvalidTransactionId;
			pg_atomic_write_u32(&p->written, 1);
			ring->tail += pad;
		}
		e = entry_at(ring->tail);
		e->size = size;
		pg_atomic_write_u32(&e->written, 0);
		ring->tail += size;
	}
	SpinLockRelease(&ring->mutex);
	return e;
}

/* Is the first worker running in this database (it sends what is handed over)? */
static bool
worker_here(void)
{
	bool here;

	if (mono_shared == NULL)
		return false;
	SpinLockAcquire(&mono_shared->mutex);
	here = mono_shared->workers[0].latch != NULL && mono_shared->workers[0].database == MyDatabaseId;
	SpinLockRelease(&mono_shared->mutex);
	return here;
}

/* Send the pending notifications in this transaction's own commit. */
static void
send_pending_here(void)
{
	ListCell *lc;

	foreach(lc, pending)
		Async_Notify(NOTIFY_CHANNEL, ((PendingNotify *) lfirst(lc))->payload);
}

/*
 * Copy the pending notifications into a ring entry, waiting up to a second
 * for room (waking the worker) while it runs. Returns false when they must
 * be sent here.
 */
static bool
hand_over(void)
{
	TransactionId xid = GetTopTransactionIdIfAny();
	uint32 size = TYPEALIGN(RING_UNIT, sizeof(NotifyEntry) + pending_bytes);
	NotifyEntry *e = NULL;
	char *p;
	ListCell *lc;

	if (!TransactionIdIsValid(xid) || size > RING_SIZE / 4)
		return false;
	for (int waited = 0; waited <= RING_WAIT_MS && worker_here(); waited++)
	{
		if ((e = reserve(size)) != NULL)
			break;
		mono_wake_worker();
		pg_usleep(1000L);
	}
	if (e == NULL)
		return false;
	e->count = list_length(pending);
	e->xid = xid;
	e->database = MyDatabaseId;
	p = (char *) e + sizeof(NotifyEntry);
	foreach(lc, pending)
	{
		const char *payload = ((PendingNotify *) lfirst(lc))->payload;
		size_t len = strlen(payload) + 1;

		memcpy(p, payload, len);
		p += len;
	}
	pg_write_barrier();
	pg_atomic_write_u32(&e->written, 1);
	return true;
}

/*
 * At pre-commit, hand the transaction's notifications to the worker (woken
 * at commit) or send them here; at PREPARE send them here too, so that
 * PREPARE TRANSACTION refuses them as it refuses NOTIFY. At the end, forget
 * them (their memory goes with the transaction).
 */
static void
notify_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			past_pre_commit = true;
			if (pending == NIL)
				break;
			if (worker_here() && hand_over())
				mono_wake_at_commit();
			else
				send_pending_here();
			pending = NIL;
			break;
		case XACT_EVENT_PRE_PREPARE:
			past_pre_commit = true;
			send_pending_here();
			pending = NIL;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			pending = NIL;
			pending_bytes = 0;
			past_pre_commit = false;
			break;
		default:
			break;
	}
}

/* A subtransaction rolled back: drop what it (and its children) pended, the newest ones. */
static void
notify_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid pg_attribute_unused(),
						void *arg pg_attribute_unused())
{
	int keep = 0;
	ListCell *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB || pending == NIL)
		return;
	foreach(lc, pending)
	{
		PendingNotify *n = lfirst(lc);

		if (n->subid >= mySubid)
			break;
		keep++;
	}
	for (int i = keep; i < list_length(pending); i++)
		pending_bytes -= strlen(((PendingNotify *) list_nth(pending, i))->payload) + 1;
	pending = keep > 0 ? list_truncate(pending, keep) : NIL;
}

/*
 * Send NOTIFY mono_pay with payload: in this transaction's commit, or
 * handed to the worker (mono_pay.notify_by_worker).
 */
void
mono_notify(const char *payload)
{
	MemoryContext old;
	PendingNotify *n;

	if (!mono_notify_by_worker || !hand_over_here || past_pre_commit || IsParallelWorker() ||
		strlen(payload) >= PAYLOAD_MAX)
	{
		Async_Notify(NOTIFY_CHANNEL, payload); /* also its checks and errors */
		return;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	n = palloc(sizeof(PendingNotify));
	n->subid = GetCurrentSubTransactionId();
	n->payload = pstrdup(payload);
	pending = lappend(pending, n);
	pending_bytes += strlen(payload) + 1;
	MemoryContextSwitchTo(old);
}

/* The workers send their own notifications: their commits already carry many. */
void
mono_notify_in_own_commit(void)
{
	hand_over_here = false;
}

/*
 * The first worker: send the notifications of committed transactions from
 * the head of the ring, in one transaction, up to the first entry whose
 * transaction is still committing; skip those of aborted ones. The head
 * moves on only once that transaction committed (a failure resends).
 */
void
mono_notify_flush(void)
{
	uint64 pos;
	uint64 tail;

	SpinLockAcquire(&ring->mutex);
	pos = ring->head;
	tail = ring->tail;
	SpinLockRelease(&ring->mutex);
	if (pos == tail)
		return;
	mono_tx_begin("mono_pay: sending notifications");
	for (; pos < tail; pos += entry_at(pos)->size)
	{
		NotifyEntry *e = entry_at(pos);
		const char *p = (const char *) e + sizeof(NotifyEntry);

		if (pg_atomic_read_u32(&e->written) == 0)
			break;
		pg_read_barrier();
		if (e->count == 0 || e->database != MyDatabaseId)
			continue;
		if (TransactionIdIsInProgress(e->xid))
			break;
		if (!TransactionIdDidCommit(e->xid))
			continue;
		for (uint32 i = 0; i < e->count; i++, p += strlen(p) + 1)
			Async_Notify(NOTIFY_CHANNEL, p);
	}
	mono_tx_commit();
	SpinLockAcquire(&ring->mutex);
	ring->head = pos;
	SpinLockRelease(&ring->mutex);
}

/* _PG_init's part for notifications: the ring in shared memory, the transaction callbacks. */
void
mono_notify_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = notify_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = notify_shmem_startup;
	RegisterXactCallback(notify_xact_callback, NULL);
	RegisterSubXactCallback(notify_subxact_callback, NULL);
}

PG_FUNCTION_INFO_V1(mono_notify_status);

/* Append a text column of the row as a JSON string (null when NULL or absent). */
static void
append_text_column(StringInfo s, HeapTuple tuple, TupleDesc desc, const char *column)
{
	int attnum = SPI_fnumber(desc, column);
	bool isnull = true;
	Datum d = 0;

	if (attnum > 0)
		d = heap_getattr(tuple, attnum, desc, &isnull);
	if (isnull)
		appendStringInfoString(s, "null");
	else
		escape_json(s, TextDatumGetCString(d));
}

/* Append a column of the row as JSON: integers as numbers, the rest as strings. */
static void
append_column(StringInfo s, HeapTuple tuple, TupleDesc desc, const char *column)
{
	int attnum = SPI_fnumber(desc, column);
	Oid type = attnum > 0 ? getBaseType(SPI_gettypeid(desc, attnum)) : InvalidOid;
	bool isnull;

	if (type != INT8OID && type != INT4OID && type != INT2OID)
	{
		append_text_column(s, tuple, desc, column);
		return;
	}
	(void) heap_getattr(tuple, attnum, desc, &isnull);
	if (isnull)
		appendStringInfoString(s, "null");
	else
		appendStringInfoString(s, SPI_getvalue(tuple, desc, attnum));
}

/* AFTER INSERT OR UPDATE ... FOR EACH ROW [(extra column, ...)]: send the notification. */
Datum
mono_notify_status(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple row;
	TupleDesc desc;
	StringInfoData s;
	bool isnull;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mono_notify_status() must be called as a trigger")));
	row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	desc = RelationGetDescr(td->tg_relation);
	initStringInfo(&s);
	appendStringInfo(&s, "{\"table\":\"%s\",\"id\":" INT64_FORMAT ",\"reference\":",
					 RelationGetRelationName(td->tg_relation),
					 DatumGetInt64(heap_getattr(row, 1, desc, &isnull)));
	append_text_column(&s, row, desc, "reference");
	appendStringInfoString(&s, ",\"status\":");
	append_text_column(&s, row, desc, "status");
	for (int i = 0; i < td->tg_trigger->tgnargs; i++)
	{
		appendStringInfoChar(&s, ',');
		escape_json(&s, td->tg_trigger->tgargs[i]);
		appendStringInfoChar(&s, ':');
		append_column(&s, row, desc, td->tg_trigger->tgargs[i]);
	}
	/* what Mono last reported of a fund request, when it said anything */
	if (SPI_fnumber(desc, "mono_status") > 0 &&
		!heap_attisnull(row, SPI_fnumber(desc, "mono_status"), desc))
	{
		appendStringInfoString(&s, ",\"mono_status\":");
		append_text_column(&s, row, desc, "mono_status");
	}
	appendStringInfoChar(&s, '}');
	mono_notify(s.data);
	pfree(s.data);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(mono_notify_sql);

/* mono.notify(payload text), STRICT: NOTIFY mono_pay for the SQL triggers, by the same road. */
Datum
mono_notify_sql(PG_FUNCTION_ARGS)
{
	mono_notify(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

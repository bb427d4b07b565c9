/*
 * webhook_receiver.c
 *		The webhook receiver's shared counters, its registration as
 *		background workers, and mono_receiver_status(). The server itself
 *		is webhook_server.c; its settings are in common_settings.c.
 */
#include "webhook.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

PG_FUNCTION_INFO_V1(mono_receiver_status);

ReceiverShared *mono_receiver_shared = NULL;

static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;

/* Ask for the receiver's shared struct. */
static void
receiver_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(MAXALIGN(sizeof(ReceiverShared)));
}

/* Create or attach the receiver's shared struct. */
static void
receiver_shmem_startup(void)
{
	bool found;
	int i;

	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mono_receiver_shared = ShmemInitStruct("mono_pay receiver", sizeof(ReceiverShared), &found);
	if (!found)
	{
		memset(mono_receiver_shared, 0, sizeof(ReceiverShared));
		SpinLockInit(&mono_receiver_shared->mutex);
		pg_atomic_init_u32(&mono_receiver_shared->open, 0);
		for (i = 0; i < RC_NCOUNTS; i++)
			pg_atomic_init_u64(&mono_receiver_shared->counts[i], 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Register mono_pay.webhook_receivers "mono_pay receiver"s, each restarted 5 s after it stops. */
static void
register_receivers(void)
{
	int i;

	for (i = 0; i < mono_webhook_receivers; i++)
		mono_register_worker(i, "mono_receiver_main",
							 i == 0 ? "mono_pay receiver" : psprintf("mono_pay receiver %d", i),
							 "mono_pay receiver", 5);
}

/* _PG_init's part for the receiver: shared memory, and the workers when listening. */
void
mono_receiver_init(void)
{
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = receiver_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = receiver_shmem_startup;
	if (mono_webhook_listen != NULL && mono_webhook_listen[0] != '\0')
		register_receivers();
}

/* mono_receiver_status(): one row, the receivers' state and their summed counters. */
Datum
mono_receiver_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum v[7 + RC_NCOUNTS];
	bool n[7 + RC_NCOUNTS];
	ReceiverShared *rs = mono_receiver_shared;
	pid_t pid = 0;
	int running = 0;
	bool tls = false;
	int i;

	InitMaterializedSRF(fcinfo, 0);
	memset(n, 0, sizeof(n));
	if (rs != NULL)
	{
		SpinLockAcquire(&rs->mutex);
		for (i = MONO_MAX_RECEIVERS - 1; i >= 0; i--)
			if (rs->pids[i] != 0)
			{
				pid = rs->pids[i]; /* the lowest-numbered one's */
				running++;
			}
		tls = rs->tls;
		SpinLockRelease(&rs->mutex);
	}
	v[0] = BoolGetDatum(pid != 0);
	v[1] = Int32GetDatum(pid);
	n[1] = pid == 0;
	v[2] = CStringGetTextDatum(mono_webhook_listen);
	n[2] = mono_webhook_listen[0] == '\0';
	v[3] = CStringGetTextDatum(mono_webhook_path);
	v[4] = BoolGetDatum(tls);
	v[5] = Int32GetDatum(rs ? (int32) pg_atomic_read_u32(&rs->open) : 0);
	for (i = 0; i < RC_NCOUNTS; i++)
		v[6 + i] = Int64GetDatum(rs ? (int64) pg_atomic_read_u64(&rs->counts[i]) : 0);
	v[6 + RC_NCOUNTS] = Int32GetDatum(running);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	return (Datum) 0;
}

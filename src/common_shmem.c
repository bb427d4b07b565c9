/*
 * common_shmem.c
 *		What the workers share with every backend: their latches, state and
 *		latest error; and the commit-time wake (a transaction that queued
 *		work wakes the first worker when it commits, never before).
 */
#include "common.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

MonoShared *mono_shared = NULL;

/* This process's number: 0 does everything, the others send charges. */
int mono_worker_number = 0;

static bool wake_pending = false;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Ask for the shared struct (PostgreSQL 15's shmem_request_hook). */
static void
shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(MonoShared)));
}

/* Create or attach the shared struct. */
static void
shmem_startup(void)
{
	bool found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mono_shared = ShmemInitStruct("mono_pay", sizeof(MonoShared), &found);
	if (!found)
	{
		memset(mono_shared, 0, sizeof(MonoShared));
		SpinLockInit(&mono_shared->mutex);
		strlcpy(mono_shared->state, "not started", sizeof(mono_shared->state));
		/* connect at once; a missing database is found by that attempt */
		mono_shared->database_seen = true;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Set the latches of the running worker processes numbered first to last. */
static void
wake_range(int first, int last)
{
	Latch *latches[MONO_MAX_WORKERS];
	int i;

	if (mono_shared == NULL)
		return;
	SpinLockAcquire(&mono_shared->mutex);
	for (i = first; i <= last; i++)
		latches[i] = mono_shared->workers[i].latch;
	SpinLockRelease(&mono_shared->mutex);
	for (i = first; i <= last; i++)
		if (latches[i] != NULL)
			SetLatch(latches[i]);
}

/* Wake the senders: the first worker found more work than it can take. */
void
mono_wake_senders(void)
{
	wake_range(1, MONO_MAX_WORKERS - 1);
}

/* Wake the first worker now (notifications wait for it). */
void
mono_wake_worker(void)
{
	wake_range(0, 0);
}

/*
 * At commit of a transaction that queued work, wake the first worker (one
 * process, so that a lone charge is not raced for by all of them); it wakes
 * the senders if need be. On abort, or at PREPARE (the worker's sweep finds
 * a prepared transaction's work once it commits), wake nobody.
 */
static void
wake_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (!wake_pending)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			wake_range(0, 0);
			wake_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			wake_pending = false;
			break;
		default:
			break;
	}
}

/* Ask for one wake of the worker when the current transaction commits. */
void
mono_wake_at_commit(void)
{
	wake_pending = true;
}

/* Record what the worker is doing, for mono_worker_status(). */
void
mono_set_state(const char *state)
{
	if (mono_shared == NULL || mono_worker_number != 0)
		return;
	SpinLockAcquire(&mono_shared->mutex);
	strlcpy(mono_shared->state, state, sizeof(mono_shared->state));
	SpinLockRelease(&mono_shared->mutex);
}

/* Record the worker's latest error, for mono_worker_status(). */
void
mono_set_last_error(const char *error)
{
	if (mono_shared == NULL)
		return;
	SpinLockAcquire(&mono_shared->mutex);
	strlcpy(mono_shared->last_error, error, sizeof(mono_shared->last_error));
	mono_shared->last_error_at = GetCurrentTimestamp();
	SpinLockRelease(&mono_shared->mutex);
}

/*
 * Register background worker number (its main_arg) of mono_pay: its entry
 * point, the name and type pg_stat_activity shows, and how many seconds
 * after it stops the postmaster restarts it.
 */
void
mono_register_worker(int number, const char *function, const char *name, const char *type,
					 int restart_s)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = restart_s;
	worker.bgw_main_arg = Int32GetDatum(number);
	strlcpy(worker.bgw_library_name, "mono_pay", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker.bgw_name, name, BGW_MAXLEN);
	strlcpy(worker.bgw_type, type, BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* Ask for the shared struct and wake the worker at commits. */
void
mono_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shmem_startup;
	RegisterXactCallback(wake_callback, NULL);
}

/*
 * common_shmem.c
 *		What the worker shares with every backend: its latch, state and
 *		latest error; and the commit-time wake (a transaction that queued
 *		work wakes the worker when it commits, never before).
 */
#include "common.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

MonoShared *mono_shared = NULL;

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

/* Wake the worker now, if it runs (commits, notifications wait for it). */
void
mono_wake_worker(void)
{
	Latch *latch;

	if (mono_shared == NULL)
		return;
	SpinLockAcquire(&mono_shared->mutex);
	latch = mono_shared->worker.latch;
	SpinLockRelease(&mono_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * At commit of a transaction that queued work, wake the worker. On abort,
 * or at PREPARE (the worker's sweep finds a prepared transaction's work
 * once it commits), do not.
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
			mono_wake_worker();
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
	if (mono_shared == NULL)
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
 * Register a background worker of mono_pay: its entry point, the name and
 * type pg_stat_activity shows, and how many seconds after it stops the
 * postmaster restarts it.
 */
void
mono_register_worker(const char *function, const char *name, const char *type, int restart_s)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = restart_s;
	worker.bgw_main_arg = (Datum) 0;
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

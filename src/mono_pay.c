/*
 * mono_pay.c
 *		Module initialisation: each family registers its own settings,
 *		shared memory, hooks and background workers (see common.h for the
 *		layers). Nothing else lives here.
 */
#include "common.h"
#include "owo.h"
#include "webhook.h"
#include "worker.h"

#include "miscadmin.h"

PG_MODULE_MAGIC;

void _PG_init(void);

/*
 * Module load, from shared_preload_libraries only (the worker
 * and shared memory need the postmaster): settings, libcurl, shared memory
 * and the commit-time wake, the DROP EXTENSION guard, the trigger buffer's
 * flush, and the background worker. Under pg_upgrade (binary-upgrade
 * mode) no worker is registered, and the node seal is left
 * alone: nothing may run, read or write there.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mono_pay must be loaded via shared_preload_libraries"),
				 errhint("Add mono_pay to shared_preload_libraries in postgresql.conf and restart PostgreSQL.")));
	mono_settings_init();
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialise libcurl")));
	mono_shmem_init();
	/* the flush first: the DROP guard's hook runs before it, and wraps it */
	mono_batch_init();
	mono_ha_init();
	if (IsBinaryUpgrade)
		return;
	if (IsPostmasterEnvironment && !IsUnderPostmaster)
		mono_seal_at_start();
	mono_worker_init();
}

/*
 * compat.h
 *		What differs between the PostgreSQL major versions mono_pay builds
 *		against (15, 17, 18), in one place. Included at the end of the
 *		PostgreSQL includes of common.h.
 */
#ifndef MONO_COMPAT_H
#define MONO_COMPAT_H

#include "postgres.h"

#include "storage/latch.h"
#include "utils/memutils.h"

/* PG16 moved the varlena macros (VARDATA_ANY, ...) out of postgres.h */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * A WaitEventSet that lives as long as the process. PG17 takes a
 * ResourceOwner instead of a memory context and allocates in
 * TopMemoryContext; NULL leaves the set to its creator, as before.
 */
#if PG_VERSION_NUM >= 170000
#define mono_create_wait_event_set(nevents) CreateWaitEventSet(NULL, (nevents))
#else
#define mono_create_wait_event_set(nevents) CreateWaitEventSet(TopMemoryContext, (nevents))
#endif

/*
 * Every GUC and their count (utils/guc_tables.h): PG16's
 * get_guc_variables() returns the count, and GetNumConfigOptions() is gone.
 */
#if PG_VERSION_NUM >= 160000
#define mono_guc_variables(count) get_guc_variables(count)
#else
#define mono_guc_variables(count) (*(count) = GetNumConfigOptions(), get_guc_variables())
#endif

/*
 * PG18 replaced the suffix pg_attribute_noreturn() by the prefix pg_noreturn
 * (C11 _Noreturn). The fuzz shim (test/fuzz/shim) still uses the suffix.
 */
#ifndef pg_attribute_noreturn
#define pg_attribute_noreturn() __attribute__((noreturn))
#endif

/*
 * The wait event the worker reports in pg_stat_activity: waiting on Mono
 * (requests in flight) or idle (only the latch, a commit, can wake it).
 * PG17's custom wait events name them MonoPayNetwork and MonoPayIdle;
 * before, both are PostgreSQL's one "Extension".
 */
#if PG_VERSION_NUM >= 170000
#include "utils/wait_event.h"
static inline uint32
mono_wait_event(bool network)
{
	static uint32 network_event = 0;
	static uint32 idle_event = 0;

	if (network && network_event == 0)
		network_event = WaitEventExtensionNew("MonoPayNetwork");
	if (!network && idle_event == 0)
		idle_event = WaitEventExtensionNew("MonoPayIdle");
	return network ? network_event : idle_event;
}
#else
#define mono_wait_event(network) ((void) (network), PG_WAIT_EXTENSION)
#endif

/* This backend's local transaction id: PG17 moved it into MyProc->vxid */
#include "storage/proc.h"
#if PG_VERSION_NUM >= 170000
#define MONO_LXID (MyProc->vxid.lxid)
#else
#define MONO_LXID (MyProc->lxid)
#endif

#endif /* MONO_COMPAT_H */

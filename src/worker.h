/*
 * worker.h
 *		The background worker's files:
 *
 *	worker_main.c		the loop: keeps the multi handle full, records
 *						outcomes, sleeps on latch, sockets and timer at once
 *	worker_dispatch.c	the curl multi handle driven by a WaitEventSet
 *	worker_queue.c		one short transaction per turn: record the outcomes
 *						of finished jobs, claim new ones from each product
 *	worker_status.c		mono_worker_status()
 *	worker_settings.c	ignores settings made per database or per role
 *	worker_reconcile.c	after a promotion, lists what Mono holds and the
 *						database does not know
 */
#ifndef MONO_WORKER_H
#define MONO_WORKER_H

#include "common.h"

/* worker_main.c */
extern void mono_worker_init(void);
PGDLLEXPORT void mono_worker_main(Datum main_arg);

/* worker_queue.c */
extern void mono_queue_recover(void);
extern int mono_send_limit(int free, int reading, bool reads);
extern int mono_queue_exchange(MonoOutcomes *out, bool sweep, int limit, int read_free,
							   dlist_head *jobs, MemoryContext cxt);
extern void mono_queue_maintain(void);
extern void mono_queue_outcome(MonoJob *job, MonoOutcomes *out);

/* worker_settings.c */
extern void mono_settings_keep(void);
extern void mono_settings_ignore_per_database(void);

/* worker_reconcile.c */
extern void mono_reconcile_if_due(void);

/* worker_dispatch.c */
extern void mono_dispatch_init(void);
extern void mono_dispatch_add(MonoJob *job);
extern bool mono_dispatch_wait(long timeout_ms);
extern int mono_dispatch_collect(dlist_head *done);
extern int mono_dispatch_in_flight(void);
extern int mono_dispatch_reads_in_flight(void);

#endif /* MONO_WORKER_H */

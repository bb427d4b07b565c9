/*
 * worker_main.c
 *		The background worker: keeps the curl multi handle full of due work,
 *		records outcomes as transfers finish, and sleeps on its latch, curl's
 *		sockets and timer at once. Network I/O never happens inside a
 *		transaction.
 */
#include "worker.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "tcop/tcopprot.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#define HTTP_POOL_SIZE 1024

static MemoryContext job_cxt = NULL;
static MonoHttp http_pool[HTTP_POOL_SIZE];
static int http_pooled = 0;

static MonoWorkerSlot *my_slot = NULL;

/* Forget the worker's latch in shared memory when it exits. */
static void
unpublish(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	SpinLockAcquire(&mono_shared->mutex);
	my_slot->latch = NULL;
	my_slot->pid = 0;
	my_slot->database = InvalidOid;
	my_slot->in_flight = 0;
	strlcpy(mono_shared->state, "stopped", sizeof(mono_shared->state));
	SpinLockRelease(&mono_shared->mutex);
}

/* Publish the worker's latch so committing backends can wake it. */
static void
publish(void)
{
	my_slot = &mono_shared->worker;
	SpinLockAcquire(&mono_shared->mutex);
	my_slot->latch = MyLatch;
	my_slot->pid = MyProcPid;
	my_slot->database = MyDatabaseId;
	my_slot->config_loaded_at = GetCurrentTimestamp();
	SpinLockRelease(&mono_shared->mutex);
	on_shmem_exit(unpublish, (Datum) 0);
}

/* Reload the configuration after SIGHUP. */
static void
reload_if_asked(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		SpinLockAcquire(&mono_shared->mutex);
		my_slot->config_loaded_at = GetCurrentTimestamp();
		SpinLockRelease(&mono_shared->mutex);
	}
}

/*
 * Idle until the worker's database has the extension at the library's
 * version (one warning per cause): a new library waits for ALTER EXTENSION
 * UPDATE instead of running its SQL against older objects.
 */
static void
wait_for_extension(void)
{
	char *version;
	char *warned = NULL;
	char state[128];

	while ((version = mono_extension_version()) == NULL ||
		   strcmp(version, MONO_PAY_VERSION) != 0)
	{
		/* one warning per thing to do */
		if (warned == NULL || strcmp(warned, version ? version : "") != 0)
		{
			if (version == NULL)
				ereport(WARNING,
						(errmsg("mono_pay worker: extension \"mono_pay\" is not installed in database \"%s\"",
								mono_database_name),
						 errhint("Run CREATE EXTENSION mono_pay in that database; the worker waits for it.")));
			else
				ereport(WARNING,
						(errmsg("mono_pay worker: extension \"mono_pay\" %s is installed in database \"%s\", the library is %s",
								version, mono_database_name, MONO_PAY_VERSION),
						 errdetail("The worker sends nothing until the SQL objects match the library."),
						 errhint("Run ALTER EXTENSION mono_pay UPDATE in that database; the worker waits for it.")));
			warned = MemoryContextStrdup(TopMemoryContext, version ? version : "");
		}
		if (version == NULL)
			snprintf(state, sizeof(state), "waiting for CREATE EXTENSION mono_pay");
		else
			snprintf(state, sizeof(state), "waiting for ALTER EXTENSION mono_pay UPDATE (%s installed, library %s)",
					 version, MONO_PAY_VERSION);
		mono_set_state(state);
		if (version)
			pfree(version);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(mono_poll_interval, 1000), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		reload_if_asked();
	}
	pfree(version);
}

static bool connected = false; /* to mono_pay.database_name */

/* A worker that could not connect (its database was dropped) looks for it again next time. */
static void
forget_database(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	if (!connected)
	{
		SpinLockAcquire(&mono_shared->mutex);
		mono_shared->database_seen = false;
		SpinLockRelease(&mono_shared->mutex);
	}
}

/*
 * Does mono_pay.database_name exist? Connected to no database, only the
 * shared catalogs' tables are usable, not their indexes (as for the
 * autovacuum launcher): a heap scan of pg_database.
 */
static bool
database_exists(void)
{
	Relation rel;
	SysScanDesc scan;
	ScanKeyData key;
	bool exists;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_database_datname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(mono_database_name));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	exists = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return exists;
}

/*
 * Wait, connected to no database, until mono_pay.database_name exists,
 * with one warning for all the workers' lives (not a FATAL a second);
 * then exit so that the postmaster starts the worker again to connect.
 */
static void
wait_for_database(void)
{
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	while (!database_exists())
	{
		bool warn;

		SpinLockAcquire(&mono_shared->mutex);
		warn = !mono_shared->database_warned;
		mono_shared->database_warned = true;
		SpinLockRelease(&mono_shared->mutex);
		if (warn)
			ereport(WARNING,
					(errmsg("mono_pay worker: database \"%s\" does not exist", mono_database_name),
					 errhint("Create it, or set mono_pay.database_name and restart; the worker waits for it.")));
		mono_set_state("waiting for database mono_pay.database_name to exist");
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(mono_poll_interval, 1000), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	SpinLockAcquire(&mono_shared->mutex);
	mono_shared->database_seen = true;
	SpinLockRelease(&mono_shared->mutex);
	proc_exit(1);
}

/* Connect to the worker's database, or wait for it to exist. */
static void
connect_to_database(void)
{
	bool seen;

	SpinLockAcquire(&mono_shared->mutex);
	seen = mono_shared->database_seen;
	SpinLockRelease(&mono_shared->mutex);
	if (!seen)
		wait_for_database();
	before_shmem_exit(forget_database, (Datum) 0);
	BackgroundWorkerInitializeConnection(mono_database_name, NULL, 0);
	connected = true;
}

/* Give the job an easy handle, reusing a pooled one when there is one. */
static void
attach_http(MonoJob *job)
{
	if (http_pooled > 0)
		job->http = http_pool[--http_pooled];
	else
		mono_http_init(&job->http);
}

/* Free a string of a job (NULL is fine). */
static void
free_str(char *s)
{
	if (s != NULL)
		pfree(s);
}

/* Return the job's easy handle to the pool and free the job and its strings. */
static void
release_job(MonoJob *job)
{
	free_str(job->reference);
	free_str(job->phone);
	free_str(job->mono_id);
	free_str(job->account_id);
	free_str(job->method);
	free_str(job->path);
	free_str(job->body);
	free_str(job->type);
	free_str(job->list_path);
	if (job->items != NULL)
		json_decref(job->items);
	if (job->page_log != NULL)
		json_decref(job->page_log);
	mono_http_reset(&job->http);
	if (http_pooled < HTTP_POOL_SIZE)
		http_pool[http_pooled++] = job->http;
	else
		mono_http_free(&job->http);
	pfree(job);
}

/* Start the transfers of newly claimed jobs. */
static void
start_jobs(dlist_head *jobs)
{
	dlist_mutable_iter it;

	dlist_foreach_modify(it, jobs)
	{
		MonoJob *job = dlist_container(MonoJob, node, it.cur);

		dlist_delete(&job->node);
		attach_http(job);
		mono_dispatch_add(job);
	}
}

/* sends (not reads) finished since the last report: what drains the queue */
static int sends_finished = 0;

/* Turn every finished transfer into an outcome and free its job. */
static int
collect_outcomes(MonoOutcomes *out)
{
	dlist_head done;
	dlist_mutable_iter it;
	int n = 0;

	dlist_init(&done);
	mono_dispatch_collect(&done);
	dlist_foreach_modify(it, &done)
	{
		MonoJob *job = dlist_container(MonoJob, node, it.cur);

		dlist_delete(&job->node);
		/* an Owo list read goes on with its next page at once */
		if (job->product->next_page != NULL && job->product->next_page(job, job_cxt))
		{
			mono_dispatch_add(job);
			continue;
		}
		if (job->method != NULL && strcmp(job->method, "GET") != 0)
			sends_finished++;
		mono_queue_outcome(job, out);
		release_job(job);
		n++;
	}
	return n;
}

/* the send rate's window (issue 25): its start and the sends finished since */
#define RATE_WINDOW_MS 10000
#define PROGRESS_LOG_MS 60000
static TimestampTz rate_start = 0;
static uint64 rate_finished = 0;
static TimestampTz log_start = 0;
static uint64 log_finished = 0;
static bool backlog_seen = false; /* a full claim or pipe since the last log */

/*
 * While a backlog drains, say once a minute how fast: the sends (POST,
 * DELETE: rows leaving the queue; reads not counted) of the last minute
 * and their rate (mono_worker_status() adds the time left).
 */
static void
log_progress(TimestampTz now)
{
	long ms = TimestampDifferenceMilliseconds(log_start, now);

	if (ms < PROGRESS_LOG_MS)
		return;
	if (backlog_seen && log_finished > 0)
		ereport(LOG,
				(errmsg("mono_pay worker: %llu requests sent in the last %ld s (%.1f a second); the queue is not empty",
						(unsigned long long) log_finished, ms / 1000,
						log_finished * 1000.0 / ms),
				 errhint("SELECT queued, send_rate, seconds_left FROM mono_worker_status() shows the time left.")));
	log_start = now;
	log_finished = 0;
	backlog_seen = false;
}

/* Publish progress for mono_worker_status(): in flight, sent, the send rate. */
static void
report_progress(int finished)
{
	TimestampTz now = GetCurrentTimestamp();
	long ms;
	double rate = -1;

	if (rate_start == 0)
		rate_start = log_start = now;
	rate_finished += sends_finished;
	log_finished += sends_finished;
	sends_finished = 0;
	ms = TimestampDifferenceMilliseconds(rate_start, now);
	if (ms >= RATE_WINDOW_MS)
	{
		rate = rate_finished * 1000.0 / ms;
		rate_start = now;
		rate_finished = 0;
	}
	SpinLockAcquire(&mono_shared->mutex);
	my_slot->in_flight = mono_dispatch_in_flight();
	my_slot->sent_total += finished;
	if (rate >= 0)
		my_slot->send_rate = rate;
	SpinLockRelease(&mono_shared->mutex);
	log_progress(now);
}

/*
 * Claimed jobs waiting until a standby has flushed their claim (issue 12),
 * oldest claim first.
 */
static dlist_head held = DLIST_STATIC_INIT(held);
static int held_count = 0;
static int held_polls = 0; /* checks since jobs were last released */

/*
 * A WARNING, at most once a minute, while claims wait because too few
 * standbys of mono_pay.standby_names are connected (after a failover: no
 * standby follows the new primary yet); the runbook is in the README.
 */
static void
warn_waiting(const char *why)
{
	static TimestampTz last = 0;
	TimestampTz now = GetCurrentTimestamp();

	if (last != 0 && !TimestampDifferenceExceeds(last, now, 60000))
		return;
	last = now;
	ereport(WARNING,
			(errmsg("mono_pay worker: %d claimed requests are %s", held_count, why),
			 errdetail("A claim is sent only once the standbys of mono_pay.standby_names have flushed it."),
			 errhint("Connect a standby to this primary, or, once sure that no other node took the primary's role, set mono_pay.standby_names to the standbys that follow this node (ALTER SYSTEM, reload).")));
}

/*
 * Start the held jobs whose claim a standby of mono_pay.standby_names has
 * flushed; say why the others wait in the state (a cancelled or failed
 * check sends nothing). Returns how long to wait before the next check
 * (-1: nothing held): 1 ms for 20 checks without progress, then doubling
 * to 16 ms, and 200 ms while no named standby is connected.
 */
static long
release_held(void)
{
	char why[256];
	int streaming = 1;
	int needed = 1;
	XLogRecPtr flushed;
	XLogRecPtr oldest;
	dlist_head ready;
	dlist_mutable_iter it;

	if (dlist_is_empty(&held))
		return -1;
	flushed = PG_UINT64_MAX; /* mono_pay.standby_names emptied (a reload): nothing waits */
	if (mono_ha_waits_for_standby())
		flushed = mono_ha_flushed(&streaming, &needed);
	dlist_init(&ready);
	dlist_foreach_modify(it, &held)
	{
		MonoJob *job = dlist_container(MonoJob, node, it.cur);

		if (job->claim_lsn > flushed)
			break;
		dlist_delete(it.cur);
		dlist_push_tail(&ready, it.cur);
		held_count--;
	}
	if (!dlist_is_empty(&ready))
		held_polls = 0; /* progress: poll closely again */
	start_jobs(&ready);
	if (dlist_is_empty(&held))
	{
		held_polls = 0;
		mono_set_state("running");
		return -1;
	}
	oldest = dlist_container(MonoJob, node, dlist_head_node(&held))->claim_lsn;
	if (streaming < needed)
	{
		snprintf(why, sizeof(why), "waiting for a standby: %d of mono_pay.standby_names (%s) connected, %d needed; nothing is sent",
				 streaming, mono_standby_names, needed);
		warn_waiting(why);
	}
	else
		snprintf(why, sizeof(why), "waiting for a standby of mono_pay.standby_names to flush %X/%X (flushed: %X/%X)",
				 LSN_FORMAT_ARGS(oldest), LSN_FORMAT_ARGS(flushed));
	mono_set_state(why);
	held_polls++;
	if (streaming < needed)
		return 200;
	return held_polls < 20 ? 1 : Min(1L << Min(held_polls - 20, 4), 16);
}

/* Start newly claimed jobs, or hold them until a standby has their claim (checked by the loop at once). */
static void
start_or_hold(dlist_head *jobs)
{
	dlist_mutable_iter it;

	if (dlist_is_empty(jobs))
		return;
	if (!mono_ha_waits_for_standby())
	{
		start_jobs(jobs);
		return;
	}
	dlist_foreach_modify(it, jobs)
	{
		MonoJob *job = dlist_container(MonoJob, node, it.cur);

		/* the claim's commit record: every row it claimed is before it */
		job->claim_lsn = XactLastCommitEnd;
		dlist_delete(it.cur);
		dlist_push_tail(&held, it.cur);
		held_count++;
	}
}

/*
 * One turn: record what finished and, when wanted, claim up to the free
 * slots, in one transaction; start what was claimed (or hold it for a
 * standby). Returns true when the claim filled every free slot (there may
 * be more). Held jobs count as in flight; no polling reads are claimed
 * while jobs are held.
 */
static bool
exchange(bool want_claim, bool sweep)
{
	MonoOutcomes out;
	int g;
	dlist_head jobs;
	int room = 0;
	int free;
	/* a sweep of the first worker reads, unless it holds claims for a standby */
	bool reads = sweep && mono_enabled && dlist_is_empty(&held);
	int finished;
	int claimed;

	for (g = 0; g < NUM_GROUPS; g++)
		out.group[g] = json_array();
	finished = collect_outcomes(&out);
	free = mono_max_in_flight - mono_dispatch_in_flight() - held_count;
	if (want_claim && mono_enabled)
		room = mono_send_limit(free, mono_dispatch_reads_in_flight(), reads);
	dlist_init(&jobs);
	claimed = mono_queue_exchange(&out, sweep, room, reads ? Max(free, 0) : 0,
								  &jobs, job_cxt);
	for (g = 0; g < NUM_GROUPS; g++)
		json_decref(out.group[g]);
	start_or_hold(&jobs);
	report_progress(finished);
	if (!mono_enabled)
		return false;
	/* a full pipe or a full claim: there is a backlog, the senders may help */
	if (want_claim && (room <= 0 || claimed == room))
		backlog_seen = true;
	if (room <= 0)
		return want_claim; /* the pipe is full: claim as soon as it drains */
	return claimed == room;
}

/*
 * Log, once per change, what the first worker does: sends (and where),
 * sends nothing because mono_pay.enabled is off, or waits or pauses (and
 * why). The state of mono_worker_status() says the same at every turn.
 */
static void
say(const char *what)
{
	static char said[256] = "";

	if (strcmp(said, what) == 0)
		return;
	strlcpy(said, what, sizeof(said));
	if (strcmp(what, "sending") == 0)
		ereport(LOG,
				(errmsg("mono_pay worker: sending to %s", mono_api_url)));
	else
		ereport(LOG,
				(errmsg("mono_pay worker: %s", what)));
}

/*
 * May the worker touch its queue at all? Not on a read-only node (a
 * primary being demoted), nor in a restored or cloned copy until
 * mono_resume() (a physical copy by its node seal, a dump by the identity
 * recorded in the database): it then sends nothing, reads nothing and
 * records nothing, and says why in its state and, once, in the log.
 */
static bool
ready_to_work(void)
{
	char why[256];

	if (DefaultXactReadOnly)
		strlcpy(why, "waiting: default_transaction_read_only is on (a read-only or demoted node sends nothing)", sizeof(why));
	else if (mono_seal_ok(why, sizeof(why)) && mono_ha_identity_ok(why, sizeof(why)))
	{
		say(mono_enabled ? "sending" : "paused: mono_pay.enabled is off; nothing is sent");
		return true;
	}
	mono_set_state(why);
	say(why);
	return false;
}

/*
 * Wait on the latch, curl's sockets and timer for up to timeout_ms while
 * the worker may not work (transfers under way still progress; their
 * outcomes wait to be recorded). Returns true when woken.
 */
static bool
idle_turn(void)
{
	return mono_dispatch_wait(Max(mono_poll_interval, 10));
}

/*
 * How long the loop may sleep: not at all while it wants to claim and the
 * pipe has room; else until the next sweep, or the next check of the
 * claims held for a standby (hold_ms; -1: none held).
 */
static long
sleep_for(bool want_claim, TimestampTz next_sweep, long hold_ms)
{
	long sleep_ms = 0;

	if (!want_claim || mono_dispatch_in_flight() + held_count >= mono_max_in_flight)
		sleep_ms = (long) Max((next_sweep - GetCurrentTimestamp()) / 1000, 0);
	if (hold_ms >= 0)
		sleep_ms = Min(sleep_ms, hold_ms);
	return sleep_ms;
}

/*
 * The state of a sweep with nothing held: running, or paused when
 * mono_pay.enabled is off. With mono_pay.standby_names empty while
 * standbys stream from this node, the state says so, and a WARNING (at
 * most once an hour): a failover may then leave charges at Mono that the
 * new primary lacks.
 */
static void
set_running_state(void)
{
	static TimestampTz warned = 0;
	char state[256];
	int n = 0;

	if (!mono_enabled)
	{
		mono_set_state("paused: mono_pay.enabled is off");
		return;
	}
	if (!mono_ha_waits_for_standby())
		n = mono_ha_streaming_standbys();
	if (n == 0)
	{
		mono_set_state("running");
		return;
	}
	snprintf(state, sizeof(state), "running (warning: %d standbys stream from this node and mono_pay.standby_names is empty: a failover may leave charges at Mono that the new primary lacks)", n);
	mono_set_state(state);
	if (warned != 0 && !TimestampDifferenceExceeds(warned, GetCurrentTimestamp(), 3600000))
		return;
	warned = GetCurrentTimestamp();
	ereport(WARNING,
			(errmsg("mono_pay worker: %d standbys stream from this node and mono_pay.standby_names is empty", n),
			 errdetail("The worker sends a claim as soon as this node commits it: after a failover, Mono may hold charges that the new primary lacks."),
			 errhint("Set mono_pay.standby_names to the standbys' application_name, e.g. ANY 1 (s1, s2), in postgresql.conf or with ALTER SYSTEM, and reload.")));
}

/*
 * The loop: claim when woken, when the last claim was full or when the
 * sweep is due; record what finished; sleep on the latch, curl's sockets
 * and timer at once. Interrupted sends are marked once the worker may
 * work (not on a read-only node, not in a paused copy).
 */
static void
run(void)
{
	MemoryContext loop_cxt = AllocSetContextCreate(TopMemoryContext, "mono_pay loop",
												   ALLOCSET_DEFAULT_SIZES);
	TimestampTz next_sweep = 0;
	bool want_claim = true;
	bool ready = false;
	bool recovered = false;

	mono_set_state("running");
	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		bool sweep = now >= next_sweep;
		long hold_ms;

		MemoryContextSwitchTo(loop_cxt);
		CHECK_FOR_INTERRUPTS();
		reload_if_asked();
		/* read-only is checked every turn (a reload may have just set it) */
		if (sweep || !ready || DefaultXactReadOnly)
		{
			bool was_ready = ready;

			ready = ready_to_work();
			if (ready && !was_ready)
				sweep = true; /* the state says running again at once */
		}
		if (!ready)
		{
			(void) idle_turn();
			MemoryContextReset(loop_cxt);
			continue;
		}
		if (!recovered)
		{
			mono_queue_recover();
			/* from here on, the worker never waits long on an application's lock */
			SetConfigOption("lock_timeout", "100", PGC_SUSET, PGC_S_OVERRIDE);
			recovered = true;
		}
		if (sweep)
		{
			want_claim = true;
			next_sweep = TimestampTzPlusMilliseconds(now, mono_poll_interval);
			if (mono_enabled)
			{
				/* upkeep (schedules, approval window, log retention): its failure
				 * must not stop sending */
				(void) mono_run_step(mono_queue_maintain, "upkeep", NULL);
				mono_reconcile_if_due();
			}
		}
		if (sweep && dlist_is_empty(&held))
			set_running_state();
		if (sweep)
			say(mono_enabled ? "sending" : "paused: mono_pay.enabled is off; nothing is sent");
		want_claim = exchange(want_claim, sweep);
		hold_ms = release_held();
		if (mono_dispatch_wait(sleep_for(want_claim, next_sweep, hold_ms)))
			want_claim = true;
		MemoryContextReset(loop_cxt);
	}
}

/* Entry point of the background worker. */
void
mono_worker_main(Datum main_arg pg_attribute_unused())
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	mono_settings_keep();
	connect_to_database();
	mono_settings_ignore_per_database();
	/* pg_stat_activity.application_name: "mono_pay worker" */
	SetConfigOption("application_name", MyBgworkerEntry->bgw_name, PGC_USERSET, PGC_S_OVERRIDE);
	/*
	 * The worker runs as a superuser: no search_path set on the database may
	 * choose the code it runs; and its claims must be durable before it sends
	 * (which also makes the committed charges they read durable).
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
	pgstat_report_appname("mono_pay worker");
	publish();
	job_cxt = AllocSetContextCreate(TopMemoryContext, "mono_pay jobs",
									ALLOCSET_DEFAULT_SIZES);
	wait_for_extension();
	mono_dispatch_init();
	/* where it sends is logged once it may (see say()) */
	ereport(LOG,
			(errmsg("mono_pay worker started in database \"%s\"", mono_database_name)));
	run();
}

/*
 * Register the background worker, "mono_pay worker" (restarted a second
 * after it stops).
 */
void
mono_worker_init(void)
{
	mono_register_worker("mono_worker_main", "mono_pay worker", "mono_pay worker", 1);
}

/*
 * worker_queue.c
 *		The worker's side of the outbox, in short transactions: at start-up
 *		each product recovers the rows this process left mid-send; then, once
 *		per turn of the loop, the outcomes of finished jobs are recorded (one
 *		statement per group) and new jobs claimed from each product. The
 *		claim is committed before any of its requests is sent.
 */
#include "worker.h"
#include "connect.h"
#include "owo.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

/* The products, in the order their jobs are claimed. */
static const MonoProduct *const products[] = {&mono_owo_product, &mono_connect_product};

/* What to do with an outcome that cannot be recorded at all. */
typedef enum SetAside
{
	SET_ASIDE_ROW,	 /* a row after a call: unrecordable, settled by a read */
	SET_ASIDE_EVENT, /* a polled event: kept aside as rejected */
	SET_ASIDE_DROP	 /* reported and dropped (a log row; a Connect lease lapses) */
} SetAside;

/* One group of outcomes: its name, who records it, and its set-aside policy. */
typedef struct MonoGroup
{
	const char *name;
	void (*record)(MonoGroupId group, json_t *outcomes);
	SetAside set_aside;
} MonoGroup;

static void record_log(MonoGroupId group, json_t *rows);

static const MonoGroup groups[NUM_GROUPS] = {
	[GROUP_CHARGES] = {"fund request outcomes", mono_owo_record, SET_ASIDE_ROW},
	[GROUP_LINKS] = {"link outcomes", mono_owo_record, SET_ASIDE_ROW},
	[GROUP_EVENTS] = {"polled events", mono_owo_record, SET_ASIDE_EVENT},
	[GROUP_ACCOUNTS] = {"Connect outcomes", mono_connect_record, SET_ASIDE_DROP},
	[GROUP_LOG] = {"HTTP log rows", record_log, SET_ASIDE_DROP},
};

static MonoStatement log_stmt = {
	"record HTTP log rows",
	"SELECT mono.record_http_log(p_rows => $1)",
	1,
	{JSONBOID}};

static MonoStatement maintain_stmt = {
	"maintain schedules and the approval window",
	"SELECT mono.maintain()",
	0,
	{InvalidOid}};

/* Outcomes whose rows another transaction held: tried again at the next sweep. */
static json_t *carried[NUM_GROUPS];

/* At start-up, each product's rows this process left mid-send. */
void
mono_queue_recover(void)
{
	int i;

	mono_tx_begin("mono_pay: recovering interrupted sends");
	for (i = 0; i < (int) lengthof(products); i++)
		if (products[i]->recover != NULL)
			products[i]->recover();
	mono_tx_commit();
}

/* Record mono.http_log rows. */
static void
record_log(MonoGroupId group pg_attribute_unused(), json_t *rows)
{
	Datum arg = mono_json_jsonb(rows);

	mono_spi_run(&log_stmt, &arg, NULL, 0);
}

/*
 * A finished job: its mono.http_log rows (one per call: the earlier pages of
 * a list read too) when mono_pay.http_log is on, then its product's outcome.
 * Runs outside any transaction.
 */
void
mono_queue_outcome(MonoJob *job, MonoOutcomes *out)
{
	if (mono_http_log)
	{
		if (job->page_log != NULL)
			json_array_extend(out->group[GROUP_LOG], job->page_log);
		mono_job_log(job, out->group[GROUP_LOG]);
	}
	job->product->outcome(job, out);
}

/* Periodic upkeep (schedules, approval window) in its own transaction. */
void
mono_queue_maintain(void)
{
	mono_tx_begin("mono_pay: maintaining schedules");
	mono_spi_run(&maintain_stmt, NULL, NULL, 0);
	mono_tx_commit();
}

/*
 * Record outcomes in a subtransaction: true when done; else false with the
 * error, and nothing of it kept. FATAL errors (shutdown) pass through.
 */
static bool
try_record(MonoGroupId g, json_t *outcomes, ErrorData **error)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		groups[g].record(g, outcomes);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		*error = CopyErrorData();
		if ((*error)->elevel >= FATAL)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}

/* Is the error one that passes (a lock held by another transaction, a deadlock, a cancel)? */
static bool
passing_error(ErrorData *e)
{
	return e->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		e->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
		e->sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE ||
		e->sqlerrcode == ERRCODE_QUERY_CANCELED;
}

/*
 * The outcome that stands in for one that cannot be recorded: for a row,
 * the verdict "unrecordable" (SQL makes the row unknown, settled later by
 * a read, never re-sent blindly) with the reason; for a polled event, the
 * event marked rejected; else nothing.
 */
static json_t *
stand_in(MonoGroupId g, json_t *o, const char *why)
{
	json_t *u;

	if (groups[g].set_aside == SET_ASIDE_ROW)
	{
		u = mono_json_object();
		json_object_set_new(u, "id", json_deep_copy(json_object_get(o, "id")));
		json_object_set_new(u, "verdict", json_string("unrecordable"));
		json_object_set_new(u, "of", json_deep_copy(json_object_get(o, "verdict")));
		json_object_set_new(u, "last_error", json_string(why));
		json_object_set_new(u, "retry_ms", json_integer(mono_backoff_ms(1)));
		return u;
	}
	if (groups[g].set_aside == SET_ASIDE_EVENT)
	{
		u = json_deep_copy(o);
		json_object_set_new(u, "reject", json_string(why));
		return u;
	}
	return NULL;
}

/* An outcome that cannot be recorded, for a reason that will not pass: set it aside. */
static void
set_aside(MonoGroupId g, json_t *o, ErrorData *e)
{
	char *why = psprintf("mono_pay could not record this: %s", e->message);
	json_t *u = stand_in(g, o, why);
	json_t *one = json_array();
	ErrorData *again;

	mono_set_last_error(psprintf("%s: %s", groups[g].name, why));
	ereport(WARNING,
			(errmsg("mono_pay worker: an outcome could not be recorded: %s", e->message),
			 errdetail("It was among the %s; the others were recorded.", groups[g].name)));
	if (u != NULL)
		json_array_append_new(one, u);
	if (json_array_size(one) > 0 && !try_record(g, one, &again))
		ereport(WARNING,
				(errmsg("mono_pay worker: could not set the outcome aside either: %s",
						again->message)));
	json_decref(one);
}

/* Record a group one outcome at a time: one bad outcome never stops the others. */
static void
record_one_by_one(MonoGroupId g, json_t *outcomes)
{
	size_t i;
	json_t *o;
	ErrorData *e;

	json_array_foreach(outcomes, i, o)
	{
		json_t *one = json_array();

		json_array_append(one, o);
		if (!try_record(g, one, &e))
		{
			if (!passing_error(e))
				set_aside(g, o, e);
			else
			{
				if (carried[g] == NULL)
					carried[g] = json_array();
				json_array_append(carried[g], o);
			}
		}
		json_decref(one);
	}
}

/*
 * Record each group of outcomes. A group whose statement fails is recorded
 * one outcome at a time: an outcome whose row another transaction holds
 * waits for the next sweep (the worker never waits on an application's
 * lock), and one that cannot be recorded at all is set aside with its
 * reason.
 */
static void
record_all(MonoOutcomes *out)
{
	MonoGroupId g;
	ErrorData *e;

	for (g = 0; g < NUM_GROUPS; g++)
		if (json_array_size(out->group[g]) > 0 && !try_record(g, out->group[g], &e))
			record_one_by_one(g, out->group[g]);
}

/* At a sweep, add the carried outcomes to this turn's. */
static void
take_carried(MonoOutcomes *out)
{
	MonoGroupId g;

	for (g = 0; g < NUM_GROUPS; g++)
		if (carried[g] != NULL)
		{
			json_array_extend(out->group[g], carried[g]);
			json_decref(carried[g]);
			carried[g] = NULL;
		}
}

/* Does the set hold any outcome? */
static bool
has_outcomes(MonoOutcomes *out)
{
	MonoGroupId g;

	for (g = 0; g < NUM_GROUPS; g++)
		if (json_array_size(out->group[g]) > 0)
			return true;
	return false;
}

/*
 * How reads and sends share the pipe (mono_pay.max_in_flight): the one
 * home of that decision. Reads count in the pipe like sends. On a turn
 * that may read (a sweep of the first worker), the reads' share is kept
 * from the sends: at most MONO_POLL_BUDGET, the free slots, and what keeps
 * the reads in flight within half the pipe. Sends are claimed first; the
 * reads then get what the sends left, within MONO_POLL_BUDGET: while sends
 * wait (their claim was full) that is the reads' share, so reads never
 * hold more than half the pipe while sends wait, and never starve them.
 */

/* The most sends a turn may claim: free slots, reads in flight, whether it reads. */
int
mono_send_limit(int free, int reading, bool reads)
{
	int reads_share = 0;

	if (reads)
		reads_share = Max(Min(Min(MONO_POLL_BUDGET, free), mono_max_in_flight / 2 - reading), 0);
	return Min(free - reads_share, MONO_BATCH_SIZE);
}

/* The most reads one turn may claim, given its free slots and the sends it claimed. */
static int
read_budget(int free, int sent)
{
	return Max(Min(MONO_POLL_BUDGET, free - sent), 0);
}

/*
 * Claim up to limit sends, product after product; then, when the turn
 * reads (free > 0), the reads within read_budget(). Returns the sends.
 */
static int
claim(int limit, int free, dlist_head *jobs, MemoryContext cxt)
{
	int n = 0;
	int budget;
	int i;

	for (i = 0; i < (int) lengthof(products); i++)
		n += products[i]->claim(limit - n, 0, jobs, cxt);
	budget = free > 0 ? read_budget(free, n) : 0;
	for (i = 0; i < (int) lengthof(products) && budget > 0; i++)
		products[i]->claim(0, budget, jobs, cxt);
	return n;
}

/*
 * One short transaction per turn of the worker's loop: record the outcomes
 * of finished jobs, then claim up to limit sends (mono_send_limit()) and,
 * when read_free (the pipe's free slots on a turn that reads) is above 0,
 * the polling reads within it. Returns the number of sends claimed.
 */
int
mono_queue_exchange(MonoOutcomes *out, bool sweep, int limit, int read_free,
					dlist_head *jobs, MemoryContext cxt)
{
	int n;

	if (sweep)
		take_carried(out);
	if (!has_outcomes(out) && limit <= 0 && read_free <= 0)
		return 0;
	mono_tx_begin("mono_pay: recording and claiming");
	record_all(out);
	/* a restore's rows are never claimable: see mono_ha_may_claim() */
	n = (limit > 0 || read_free > 0) && mono_ha_may_claim() ?
		claim(limit, read_free, jobs, cxt) :
		0;
	mono_tx_commit();
	return n;
}

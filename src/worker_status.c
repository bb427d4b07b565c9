/*
 * worker_status.c
 *		mono_worker_status(): one row saying whether the worker runs, what
 *		it does or why it waits, its queue and its latest error.
 */
#include "worker.h"

#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(mono_worker_status);
PG_FUNCTION_INFO_V1(mono_worker_counters);

/*
 * Count outbox rows per status across links and fund requests, and how
 * long the next sendable row has been due (*oldest).
 */
static void
count_queue(int64 *counts, Datum *oldest, bool *oldest_null)
{
	int i;
	bool isnull;

	mono_spi_query("count the outbox", "SELECT * FROM mono.worker_queue_status()", true);
	for (i = 0; i < 4; i++)
		counts[i] = DatumGetInt64(mono_spi_value(0, i + 1, &isnull));
	*oldest = mono_spi_value(0, 5, oldest_null);
}

/*
 * On a standby, or in a database no worker serves, say so (issue 12): the
 * worker's slot then describes nobody here.
 */
static void
describe_node(MonoShared *copy)
{
	char *db = get_database_name(MyDatabaseId);

	if (RecoveryInProgress())
		strlcpy(copy->state, "not running: this node is a standby; the worker starts when it is promoted",
				sizeof(copy->state));
	else if (db != NULL && strcmp(db, mono_database_name) != 0)
	{
		snprintf(copy->state, sizeof(copy->state),
				 "not serving this database: no worker serves it (mono_pay.database_name is \"%s\")",
				 mono_database_name);
		memset(&copy->worker, 0, sizeof(copy->worker));
	}
}

/* A refused key (issue 22) is what the worker is doing for that app's product: waiting. */
static void
describe_key(MonoShared *copy)
{
	char state[256];
	int app;

	if (copy->worker.latch == NULL)
		return;
	for (app = 0; app < MONO_APPS; app++)
	{
		if (copy->key_refused_at[app] == 0)
			continue;
		snprintf(state, sizeof(state),
				 "waiting for a key Mono takes: Mono refused the %s since %s; %s calls wait (reload with a new key, or a probe)",
				 copy->key_refused[app], timestamptz_to_str(copy->key_refused_at[app]),
				 mono_app_product((MonoApp) app));
		strlcpy(copy->state, state, sizeof(copy->state));
		return;
	}
}

/*
 * mono.worker_counters(): the worker's figures for mono.metrics (issue
 * 22): key_refused (1 while Mono refuses the payments app's key),
 * key_refusals (its outages so far), connect_key_refused and
 * connect_key_refusals (the same for the Connect app's key),
 * list_pages_read (the cost of Owo list reads) and phone_filter_ignored
 * (pages where Mono ignored ?phone=).
 */
Datum
mono_worker_counters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MonoShared copy;
	const char *names[6] = {"key_refused", "key_refusals", "connect_key_refused",
							"connect_key_refusals", "list_pages_read", "phone_filter_ignored"};
	double values[6];
	int i;

	mono_require_sql_version("mono.worker_counters()");
	InitMaterializedSRF(fcinfo, 0);
	memset(&copy, 0, sizeof(copy));
	if (mono_shared != NULL)
	{
		SpinLockAcquire(&mono_shared->mutex);
		memcpy(&copy, mono_shared, sizeof(copy));
		SpinLockRelease(&mono_shared->mutex);
	}
	values[0] = copy.key_refused_at[MONO_APP_PAYMENTS] != 0 ? 1 : 0;
	values[1] = (double) copy.key_refusals[MONO_APP_PAYMENTS];
	values[2] = copy.key_refused_at[MONO_APP_CONNECT] != 0 ? 1 : 0;
	values[3] = (double) copy.key_refusals[MONO_APP_CONNECT];
	values[4] = (double) copy.list_pages_read;
	values[5] = (double) copy.phone_filter_ignored;
	for (i = 0; i < 6; i++)
	{
		Datum v[2] = {CStringGetTextDatum(names[i]), Float8GetDatum(values[i])};
		bool n[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}

/* mono_worker_status(): one row describing the worker and its queue. */
Datum
mono_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum v[17];
	bool n[17];
	int64 counts[4];
	MonoShared copy;
	MonoWorkerSlot *w = &copy.worker;
	int i;

	mono_require_sql_version("mono_worker_status()");
	InitMaterializedSRF(fcinfo, 0);
	memset(n, 0, sizeof(n));
	memset(&copy, 0, sizeof(copy));
	if (mono_shared != NULL)
	{
		SpinLockAcquire(&mono_shared->mutex);
		memcpy(&copy, mono_shared, sizeof(copy));
		SpinLockRelease(&mono_shared->mutex);
	}
	else
		strlcpy(copy.state, "not running: mono_pay is not in shared_preload_libraries",
				sizeof(copy.state));
	describe_node(&copy);
	describe_key(&copy);
	if (w->latch == NULL)
		w->send_rate = 0;
	SPI_connect();
	count_queue(counts, &v[14], &n[14]);
	SPI_finish();
	v[0] = BoolGetDatum(w->latch != NULL);
	v[1] = Int32GetDatum(w->pid);
	n[1] = w->latch == NULL;
	v[2] = CStringGetTextDatum(copy.state);
	v[3] = CStringGetTextDatum(mono_database_name);
	for (i = 0; i < 4; i++)
		v[4 + i] = Int64GetDatum(counts[i]);
	v[8] = Int32GetDatum(w->in_flight);
	v[9] = Int64GetDatum((int64) w->sent_total);
	v[10] = CStringGetTextDatum(copy.last_error);
	n[10] = copy.last_error[0] == '\0';
	v[11] = TimestampTzGetDatum(copy.last_error_at);
	n[11] = copy.last_error_at == 0;
	v[12] = TimestampTzGetDatum(w->config_loaded_at);
	n[12] = w->latch == NULL;
	v[13] = Int32GetDatum(w->latch != NULL ? 1 : 0);
	/* the rate over the worker's last window, and the queue's time left at it */
	v[15] = Float8GetDatum(w->send_rate);
	v[16] = Float8GetDatum(w->send_rate > 0 ? counts[0] / w->send_rate : 0);
	n[16] = counts[0] > 0 && w->send_rate <= 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	return (Datum) 0;
}

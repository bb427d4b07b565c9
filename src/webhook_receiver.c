/*
 * receiver.c
 *		The webhook receiver's settings, its shared counters, its
 *		registration as a background worker, and mono_receiver_status().
 *		The server itself is receiver_server.c.
 */
#include "receiver.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

PG_FUNCTION_INFO_V1(mono_receiver_status);

char	   *mono_webhook_listen = NULL;
char	   *mono_webhook_path = NULL;
char	   *mono_webhook_tls_cert = NULL;
char	   *mono_webhook_tls_key = NULL;
int			mono_webhook_max_connections = 100;
int			mono_webhook_max_header_size = 16384;
int			mono_webhook_read_timeout = 10000;
int			mono_webhook_idle_timeout = 30;
int			mono_webhook_receivers = 1;

ReceiverShared *mono_receiver_shared = NULL;

static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;

/* Accept "" or "host:port" / "[v6 address]:port" with a port of 1 to 65535. */
static bool
check_listen(char **newval, void **extra pg_attribute_unused(),
			 GucSource source pg_attribute_unused())
{
	const char *v = *newval;
	const char *colon;
	char	   *end;
	long		port;

	if (v == NULL || v[0] == '\0')
		return true;
	colon = strrchr(v, ':');
	if (colon == NULL || colon == v || (v[0] == '[' && colon[-1] != ']'))
	{
		GUC_check_errdetail("mono_pay.webhook_listen takes host:port, e.g. 127.0.0.1:8787 or [::1]:8787.");
		return false;
	}
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port < 1 || port > 65535)
	{
		GUC_check_errdetail("The port of mono_pay.webhook_listen must be a number from 1 to 65535.");
		return false;
	}
	return true;
}

/* Accept a path that starts with a slash. */
static bool
check_path(char **newval, void **extra pg_attribute_unused(),
		   GucSource source pg_attribute_unused())
{
	if (*newval == NULL || (*newval)[0] != '/')
	{
		GUC_check_errdetail("mono_pay.webhook_path must start with a slash, e.g. /mono/webhooks.");
		return false;
	}
	return true;
}

/* Register the receiver's string settings (all need a restart). */
static void
define_string_settings(void)
{
	DefineCustomStringVariable("mono_pay.webhook_listen",
							   "Address and port the webhook receiver listens on (empty: no receiver).",
							   "For example 127.0.0.1:8787 behind a reverse proxy.",
							   &mono_webhook_listen, "",
							   PGC_POSTMASTER, 0, check_listen, NULL, NULL);
	DefineCustomStringVariable("mono_pay.webhook_path",
							   "The one path the webhook receiver serves.",
							   NULL, &mono_webhook_path, "/mono/webhooks",
							   PGC_POSTMASTER, 0, check_path, NULL, NULL);
	DefineCustomStringVariable("mono_pay.webhook_tls_cert",
							   "PEM certificate (chain) file of the receiver's TLS (empty: plain HTTP).",
							   NULL, &mono_webhook_tls_cert, "",
							   PGC_POSTMASTER, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("mono_pay.webhook_tls_key",
							   "PEM private key file of the receiver's TLS; no group or other access.",
							   NULL, &mono_webhook_tls_key, "",
							   PGC_POSTMASTER, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
}

/* Register the receiver's bounds on its clients. */
static void
define_limit_settings(void)
{
	DefineCustomIntVariable("mono_pay.webhook_max_connections",
							"Most connections the webhook receiver keeps open; more are closed at once.",
							NULL, &mono_webhook_max_connections, 100, 1, 10000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.webhook_max_header_size",
							"Memory of one receiver connection for its request line and headers.",
							"Requests whose headers do not fit are answered 431.",
							&mono_webhook_max_header_size, 16384, 4096, 1048576,
							PGC_POSTMASTER, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.webhook_read_timeout",
							"Time a client has to send a whole request (headers and body) to the receiver.",
							NULL, &mono_webhook_read_timeout, 10000, 100, 600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.webhook_receivers",
							"Receiver processes sharing mono_pay.webhook_listen (SO_REUSEPORT): more cores for webhooks.",
							NULL, &mono_webhook_receivers, 1, 1, MONO_MAX_RECEIVERS,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.webhook_idle_timeout",
							"Time the receiver keeps a silent connection open.",
							NULL, &mono_webhook_idle_timeout, 30, 1, 3600,
							PGC_POSTMASTER, GUC_UNIT_S, NULL, NULL, NULL);
}

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
	bool		found;
	int			i;

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
	BackgroundWorker worker;
	int			i;

	for (i = 0; i < mono_webhook_receivers; i++)
	{
		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = 5;
		worker.bgw_main_arg = Int32GetDatum(i);
		strlcpy(worker.bgw_library_name, "mono_pay", BGW_MAXLEN);
		strlcpy(worker.bgw_function_name, "mono_receiver_main", BGW_MAXLEN);
		if (i == 0)
			strlcpy(worker.bgw_name, "mono_pay receiver", BGW_MAXLEN);
		else
			snprintf(worker.bgw_name, BGW_MAXLEN, "mono_pay receiver %d", i);
		strlcpy(worker.bgw_type, "mono_pay receiver", BGW_MAXLEN);
		RegisterBackgroundWorker(&worker);
	}
}

/* _PG_init's part for the receiver: settings, shared memory, the worker when listening. */
void
mono_receiver_init(void)
{
	define_string_settings();
	define_limit_settings();
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
	Datum		v[7 + RC_NCOUNTS];
	bool		n[7 + RC_NCOUNTS];
	ReceiverShared *rs = mono_receiver_shared;
	pid_t		pid = 0;
	int			running = 0;
	bool		tls = false;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	memset(n, 0, sizeof(n));
	if (rs != NULL)
	{
		SpinLockAcquire(&rs->mutex);
		for (i = MONO_MAX_RECEIVERS - 1; i >= 0; i--)
			if (rs->pids[i] != 0)
			{
				pid = rs->pids[i];	/* the lowest-numbered one's */
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

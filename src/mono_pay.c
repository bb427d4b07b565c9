/*
 * mono_pay.c
 *		Module initialisation: settings, shared memory, the background
 *		worker's registration and the commit-time wake.
 */
#include "mono_pay.h"

#include "access/xact.h"
#include "executor/executor.h"
#include "tcop/utility.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

PG_MODULE_MAGIC;

char	   *mono_api_url = NULL;
char	   *mono_secret_key = NULL;
char	   *mono_webhook_secret = NULL;
char	   *mono_connect_secret_key = NULL;
char	   *mono_connect_webhook_secret = NULL;
char	   *mono_database_name = NULL;
char	   *mono_ca_bundle = NULL;
bool		mono_enabled = true;
int			mono_workers = 1;
int			mono_max_in_flight = 64;
int			mono_batch_size = 500;
int			mono_poll_interval = 1000;
int			mono_connect_timeout = 5000;
int			mono_request_timeout = 30000;
int			mono_max_attempts = 10;
int			mono_retry_base = 1000;
int			mono_retry_max = 300000;
int			mono_max_response_size = 1048576;
int			mono_webhook_max_size = 262144;
int			mono_poll_budget = 100;
int			mono_poll_base = 60000;
int			mono_poll_max = 21600000;
int			mono_list_pages = 10;
bool		mono_one_prompt_per_phone = true;
char	   *mono_schedule_grace = NULL;
char	   *mono_approval_window = NULL;
bool		mono_http_log = false;
char	   *mono_http_log_retention = NULL;

MonoShared *mono_shared = NULL;

static bool wake_pending = false;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

/* Accept only http(s) URLs without a trailing slash for mono_pay.api_url. */
static bool
check_api_url(char **newval, void **extra pg_attribute_unused(),
			  GucSource source pg_attribute_unused())
{
	const char *url = *newval;
	size_t		len;

	if (url == NULL || (strncmp(url, "https://", 8) != 0 &&
						strncmp(url, "http://", 7) != 0))
	{
		GUC_check_errdetail("mono_pay.api_url must start with https:// or http://.");
		return false;
	}
	len = strlen(url);
	if (url[len - 1] == '/')
	{
		GUC_check_errdetail("mono_pay.api_url must not end with a slash.");
		return false;
	}
	return true;
}

/* Accept only a positive interval, e.g. '1 day' or '48 hours'. */
static bool
check_interval(char **newval, void **extra pg_attribute_unused(),
			   GucSource source pg_attribute_unused())
{
	Interval   *iv;

	if (*newval == NULL)
		return false;
	iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(*newval),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(iv->month == 0 && iv->day == 0 && iv->time == 0))
	{
		GUC_check_errdetail("The value must be a positive interval such as '1 day'.");
		return false;
	}
	return true;
}

/*
 * A secret may come from postgresql.conf, ALTER SYSTEM or a superuser's SET,
 * never from ALTER ROLE/DATABASE ... SET: every user can read those values
 * in pg_db_role_setting. (Validating such a command is PGC_S_TEST.)
 */
static bool
check_secret(char **newval, void **extra pg_attribute_unused(), GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (source == PGC_S_TEST || source == PGC_S_GLOBAL || source == PGC_S_DATABASE ||
		source == PGC_S_USER || source == PGC_S_DATABASE_USER)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("mono_pay's secrets cannot be set per role or per database");
		GUC_check_errdetail("Every user can read such settings in pg_db_role_setting.");
		GUC_check_errhint("Set it in postgresql.conf or with ALTER SYSTEM, and reload.");
		return false;
	}
	return true;
}

/* SHOW and current_setting() of the API key: whether it is set, never its value. */
static const char *
show_secret_key(void)
{
	return (mono_secret_key && mono_secret_key[0]) ? "********" : "";
}

/* SHOW and current_setting() of the webhook secret: whether it is set, never its value. */
static const char *
show_webhook_secret(void)
{
	return (mono_webhook_secret && mono_webhook_secret[0]) ? "********" : "";
}

/* SHOW and current_setting() of the Connect app's key: whether it is set, never its value. */
static const char *
show_connect_secret_key(void)
{
	return (mono_connect_secret_key && mono_connect_secret_key[0]) ? "********" : "";
}

/* SHOW and current_setting() of the Connect app's webhook secret: whether it is set. */
static const char *
show_connect_webhook_secret(void)
{
	return (mono_connect_webhook_secret && mono_connect_webhook_secret[0]) ? "********" : "";
}

/*
 * Register the secrets of the Connect app (issue 11: Connect needs a
 * connect app, with its own key and webhook secret). Empty: the payments
 * app's settings serve Connect too.
 */
static void
define_connect_secrets(void)
{
	DefineCustomStringVariable("mono_pay.connect_secret_key",
							   "Secret key of Mono's connect app, sent as mono-sec-key on /v2 calls.",
							   "Empty: mono_pay.secret_key is used.",
							   &mono_connect_secret_key, "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_secret, NULL, show_connect_secret_key);
	DefineCustomStringVariable("mono_pay.connect_webhook_secret",
							   "Webhook secret of Mono's connect app: verifies mono.* events.",
							   "Empty: mono_pay.webhook_secret verifies them.",
							   &mono_connect_webhook_secret, "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_secret, NULL, show_connect_webhook_secret);
}

/*
 * Register the string settings. The secrets are superuser-only, hidden
 * from pg_settings, and shown masked even to superusers and members of
 * pg_read_all_settings.
 */
static void
define_string_settings(void)
{
	DefineCustomStringVariable("mono_pay.api_url",
							   "Base URL of Mono's API.",
							   "Only a superuser may change it: the secret key is sent there.",
							   &mono_api_url, "https://api.withmono.com",
							   PGC_SUSET, 0, check_api_url, NULL, NULL);
	DefineCustomStringVariable("mono_pay.secret_key",
							   "Mono secret key sent as mono-sec-key.",
							   NULL, &mono_secret_key, "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_secret, NULL, show_secret_key);
	DefineCustomStringVariable("mono_pay.webhook_secret",
							   "Shared secret Mono sends in the mono-webhook-secret header.",
							   NULL, &mono_webhook_secret, "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   check_secret, NULL, show_webhook_secret);
	define_connect_secrets();
	DefineCustomStringVariable("mono_pay.database_name",
							   "Database the background worker connects to.",
							   NULL, &mono_database_name, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("mono_pay.ca_bundle",
							   "File of CA certificates used to verify Mono's TLS certificate (empty: the system's).",
							   NULL, &mono_ca_bundle, "",
							   PGC_SUSET, 0, NULL, NULL, NULL);
}

/* Register the worker's numeric settings and the HTTP timeouts. */
static void
define_numeric_settings(void)
{
	DefineCustomBoolVariable("mono_pay.enabled",
							 "Whether the background worker sends queued work.",
							 NULL, &mono_enabled, true, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.workers",
							"Worker processes: the first does everything, the others also send charges.",
							NULL, &mono_workers, 1, 1, MONO_MAX_WORKERS,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.max_in_flight",
							"Maximum concurrent requests of each worker process.",
							NULL, &mono_max_in_flight, 64, 1, 1024,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.batch_size",
							"Maximum rows the worker claims or records per statement.",
							NULL, &mono_batch_size, 500, 1, 10000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.poll_interval",
							"Time between the worker's sweeps for due work.",
							NULL, &mono_poll_interval, 1000, 10, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.connect_timeout",
							"Time allowed to connect to Mono (TCP and TLS).",
							NULL, &mono_connect_timeout, 5000, 1, 600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.request_timeout",
							"Time allowed for a whole request to Mono.",
							NULL, &mono_request_timeout, 30000, 1, 3600000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.max_attempts",
							"Attempts before a retryable failure becomes final.",
							NULL, &mono_max_attempts, 10, 1, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.retry_base",
							"First retry delay; doubles on each attempt.",
							NULL, &mono_retry_base, 1000, 1, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.retry_max",
							"Longest retry delay.",
							NULL, &mono_retry_max, 300000, 1, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.max_response_size",
							"Largest response body accepted from Mono.",
							NULL, &mono_max_response_size, 1048576, 1024, 1073741823,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
}

/* Register the settings of webhooks, polling and schedules. */
static void
define_outcome_settings(void)
{
	DefineCustomIntVariable("mono_pay.webhook_max_size",
							"Largest webhook body mono_handle_webhook accepts.",
							NULL, &mono_webhook_max_size, 262144, 1024, 16777216,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.poll_budget",
							"Most reconciliation reads (GET) the worker makes per sweep.",
							NULL, &mono_poll_budget, 100, 0, 10000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.poll_base",
							"First delay before reading back a request that waits on Mono; doubles with each read.",
							NULL, &mono_poll_base, 60000, 10, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("mono_pay.poll_max",
							"Longest delay between two reads of the same request.",
							NULL, &mono_poll_max, 21600000, 10, 604800000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	/* fidelity to Mono's documented reads and prompts (issue 11) */
	DefineCustomIntVariable("mono_pay.list_pages",
							"Most pages of 100 items one read of an Owo list fetches; the next read goes on from there.",
							NULL, &mono_list_pages, 10, 1, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("mono_pay.one_prompt_per_phone",
							 "A phone's next request waits until the customer has acted on its previous prompt (not only until Mono answered it).",
							 NULL, &mono_one_prompt_per_phone, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("mono_pay.schedule_grace",
							   "How long after its due date an instalment without a successful payment becomes missed.",
							   NULL, &mono_schedule_grace, "1 day",
							   PGC_SIGHUP, 0, check_interval, NULL, NULL);
	DefineCustomBoolVariable("mono_pay.http_log",
							 "Whether the worker writes one row per API call to mono.http_log.",
							 "Method, path, status, duration and error; never headers or bodies.",
							 &mono_http_log, false, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("mono_pay.http_log_retention",
							   "How long rows of mono.http_log are kept.",
							   NULL, &mono_http_log_retention, "7 days",
							   PGC_SIGHUP, 0, check_interval, NULL, NULL);
	DefineCustomStringVariable("mono_pay.approval_window",
							   "How long a fund request may await the customer's authorisation before it expires.",
							   NULL, &mono_approval_window, "48 hours",
							   PGC_SIGHUP, 0, check_interval, NULL, NULL);
}

/* Ask for the shared struct (PostgreSQL 15's shmem_request_hook). */
static void
mono_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(MonoShared)));
}

/* Create or attach the shared struct. */
static void
mono_shmem_startup(void)
{
	bool		found;

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

/*
 * Register the background workers (restarted by the postmaster if they
 * die): "mono_pay worker", and mono_pay.workers - 1 "mono_pay sender"s.
 */
static void
register_workers(void)
{
	BackgroundWorker worker;
	int			i;

	for (i = 0; i < mono_workers; i++)
	{
		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = 1;
		worker.bgw_main_arg = Int32GetDatum(i);
		strlcpy(worker.bgw_library_name, "mono_pay", BGW_MAXLEN);
		strlcpy(worker.bgw_function_name, "mono_worker_main", BGW_MAXLEN);
		if (i == 0)
			strlcpy(worker.bgw_name, "mono_pay worker", BGW_MAXLEN);
		else
			snprintf(worker.bgw_name, BGW_MAXLEN, "mono_pay sender %d", i);
		strlcpy(worker.bgw_type, i == 0 ? "mono_pay worker" : "mono_pay sender", BGW_MAXLEN);
		RegisterBackgroundWorker(&worker);
	}
}

/* After a statement's AFTER triggers ran, insert the charges they buffered. */
static void
mono_executor_finish(QueryDesc *queryDesc)
{
	if (prev_executor_finish)
		prev_executor_finish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
	mono_flush_charges();
}

/*
 * After a utility statement (COPY fires row triggers too), insert what it
 * buffered. DROP EXTENSION mono_pay is checked first (ha.c, issue 12).
 */
static void
mono_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	mono_ha_check_drop(pstmt->utilityStmt);
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
	mono_flush_charges();
}

/* The settings whose values no log line may show. */
static const char *const secret_settings[] = {
	"\"mono_pay.secret_key\"", "\"mono_pay.webhook_secret\"",
	"\"mono_pay.connect_secret_key\"", "\"mono_pay.connect_webhook_secret\""
};

/*
 * PostgreSQL logs 'parameter "x" changed to "value"' when a reload changes a
 * setting, secrets included, and quotes a refused value. Any message about
 * a parameter (known by its untranslated text, so that lc_messages does not
 * matter) that names one of our secrets is replaced before it is written.
 */
static void
mono_emit_log(ErrorData *edata)
{
	int			i;

	const char *param = edata->message_id ? strstr(edata->message_id, "parameter \"%s\"") : NULL;

	/* only messages that quote a value after the parameter's name */
	for (i = 0; edata->message && param != NULL && strstr(param + 14, "%s") != NULL &&
		 i < (int) lengthof(secret_settings); i++)
		if (strstr(edata->message, secret_settings[i]) != NULL)
		{
			edata->message = psprintf("parameter %s: value hidden by mono_pay",
									  secret_settings[i]);
			edata->detail = NULL;
			break;
		}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* A rolled-back subtransaction drops the charges it buffered. */
static void
mono_subxact_callback(SubXactEvent event, SubTransactionId mySubid pg_attribute_unused(),
					  SubTransactionId parentSubid pg_attribute_unused(),
					  void *arg pg_attribute_unused())
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		mono_discard_charges(GetCurrentTransactionNestLevel());
}

/* Set the latches of the running worker processes numbered first to last. */
static void
wake_range(int first, int last)
{
	Latch	   *latches[MONO_MAX_WORKERS];
	int			i;

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

/*
 * Before commit: insert charges still buffered (deferred triggers). At
 * commit of a transaction that queued work: wake the first worker (one
 * process, so a lone charge is not raced for by all of them). On abort:
 * drop buffered charges, wake nobody.
 */
static void
mono_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
		mono_flush_charges();
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		mono_discard_charges(1);
	if (!wake_pending)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			wake_range(0, 0);	/* the worker; it wakes the senders if need be */
			wake_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction is found by the worker's sweep */
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

/* Module load: settings everywhere; shared memory and worker when preloaded. */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mono_pay must be loaded via shared_preload_libraries"),
				 errhint("Add mono_pay to shared_preload_libraries in postgresql.conf and restart PostgreSQL.")));
	define_string_settings();
	define_numeric_settings();
	define_outcome_settings();
	mono_connect_define_settings();
	mono_receiver_init();
	mono_ha_define_settings();
	MarkGUCPrefixReserved("mono_pay");

	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialise libcurl")));

	RegisterXactCallback(mono_xact_callback, NULL);
	RegisterSubXactCallback(mono_subxact_callback, NULL);
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = mono_executor_finish;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = mono_process_utility;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = mono_emit_log;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mono_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = mono_shmem_startup;
	register_workers();
}

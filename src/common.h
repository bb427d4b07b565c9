/*
 * common.h
 *		The layers of mono_pay, and the declarations of its lowest layer.
 *
 * Files are named by family; a family uses only the families below it
 * (test/lint/cycles checks that no file depends on one above it, and that
 * files of one family have no cycle among them):
 *
 *	mono_pay.c		module init: calls each family's init, nothing else
 *	    |
 *	worker_*		the background worker: its loop (worker_main), the curl
 *	    |			multi handle (worker_dispatch), the short transactions
 *	    |			that record outcomes and claim jobs (worker_queue), and
 *	    |			mono_worker_status() (worker_status). It reaches the
 *	    |			products only through their MonoProduct callbacks.
 *	    |
 *	owo_*  connect_*  webhook_*	the products, side by side, none using another:
 *	    |	owo_*		Direct Charge: argument checks, the outbox insert and
 *	    |			its trigger, request bodies, claims and what each
 *	    |			answer of Mono means (owo_outcome), mono_wait()
 *	    |	connect_*	Mono Connect: claims, Mono's bodies as facts, the
 *	    |			SQL functions that call Mono
 *	    |	webhook_*	mono_handle_webhook() (the HTTP receiver: receiver/)
 *	    |
 *	common_*		what every layer uses:
 *		common_settings.c	every mono_pay.* setting, in one table
 *		common_shmem.c	shared memory, the commit-time wake, worker registration
 *		common_spi.c	statements prepared once, every result checked
 *		common_http.c	libcurl: requests, phases of failure, the synchronous GET
 *		common_json.c	jansson, Mono's envelope, the one serialisation policy
 *		common_values.c	values checked before SQL casts them
 *		common_retry.c	backoff of retries and reads
 *		common_key.c	a refused key: an app's calls wait, rows are kept
 *		common_job.c	a job's HTTP call and its mono.http_log row
 *		common_ha.c		standbys, restored copies, read-only nodes, DROP EXTENSION
 *		common_notify.c	NOTIFY mono_pay, sent at commit
 *
 * Each family's header (owo.h, connect.h, webhook.h, worker.h) lists its files.
 *
 * Statuses are decided in SQL (sql/parts/20_owo_statuses.code.sql to
 * 26_owo_intake.code.sql, the SQL layers of doc/design.md): C reports what
 * Mono answered, as a verdict, and SQL turns it into a status; the worker
 * names no status. The C runs SQL only as calls of named SQL functions.
 * Every SQL-callable function that reaches them first checks that the
 * installed extension is the library's version (mono_require_sql_version()),
 * as the worker waits for it: a new library never runs against older
 * objects. Only two read tables themselves: the DROP EXTENSION guard
 * (common_ha.c: it must work at any installed version) and mono_wait()
 * (owo_wait.c: it runs with its caller's rights, and no role is granted
 * EXECUTE on schema mono).
 */
#ifndef MONO_COMMON_H
#define MONO_COMMON_H

#include "postgres.h"

#include <curl/curl.h>

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
/* fmgrprotos.h declares a json_object() of its own: hide it from jansson's */
#define json_object pg_fmgr_json_object
#include "utils/builtins.h"
#undef json_object
#include <jansson.h>
/*
 * At run time the postgres binary's json_object() (the SQL function) shadows
 * jansson's: our calls would bind to it. Create objects with
 * mono_json_object(); the poison turns a slip into a compile error.
 */
#pragma GCC poison json_object
#include "access/xlogdefs.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/timestamp.h"
#include "compat.h"

/* what were settings until 0.3.0 (CHANGELOG.md says why each is fixed) */
#define MONO_MAX_RESPONSE_SIZE (1024 * 1024) /* largest response body from Mono */
#define MONO_POLL_BUDGET 100				 /* reconciliation reads (GET) per sweep */
#define MONO_LIST_PAGES 10					 /* pages of 100 items one read of an Owo list fetches */
#define MONO_BATCH_SIZE 500					 /* rows claimed or recorded per statement */
#define MONO_CONNECT_TIMEOUT_MS 5000		 /* TCP and TLS connect to Mono */

/* common_settings.c: every mono_pay.* setting */
extern char *mono_api_url;
extern char *mono_secret_key;
extern char *mono_webhook_secret;
extern char *mono_connect_secret_key;
extern char *mono_connect_webhook_secret;
extern char *mono_database_name;
extern char *mono_ca_bundle;
extern bool mono_enabled;
extern int mono_max_in_flight;
extern int mono_poll_interval;
extern int mono_request_timeout;
extern int mono_max_attempts;
extern int mono_retry_base;
extern int mono_retry_max;
extern int mono_poll_base;
extern int mono_poll_max;
extern char *mono_schedule_grace;
extern char *mono_approval_window;
extern bool mono_http_log;
extern char *mono_http_log_retention;
extern int mono_account_refresh_interval;
extern bool mono_track_webhook_accounts;
extern char *mono_standby_names;
extern int mono_webhook_max_size;

extern void mono_settings_init(void);

/* common_shmem.c: what the worker shares with every backend */

/* The worker process, as backends see it. */
typedef struct MonoWorkerSlot
{
	Latch *latch; /* NULL when not running */
	pid_t pid;
	int in_flight;
	uint64 sent_total;
	TimestampTz config_loaded_at; /* its last read of its settings */
	Oid database;				  /* the database it works in */
	double send_rate;			  /* sends (not reads) a second, last window */
} MonoWorkerSlot;

/* Mono's two apps, each with its own key (common_key.c) */
typedef enum MonoApp
{
	MONO_APP_PAYMENTS, /* Direct Charge: mono_pay.secret_key */
	MONO_APP_CONNECT,  /* Connect: mono_pay.connect_secret_key */
	MONO_APPS
} MonoApp;

typedef struct MonoShared
{
	slock_t mutex;
	char state[256];	  /* what the worker is doing, or why it idles */
	char last_error[256]; /* the worker's latest error */
	TimestampTz last_error_at;
	bool database_seen;	  /* false once a worker found its database missing */
	bool database_warned; /* its absence was reported once */
	MonoWorkerSlot worker;
	/* issue 22: each app whose key Mono refused ("" when none), and the cost of reads */
	char key_refused[MONO_APPS][128];	   /* what Mono said, e.g. "payments app: HTTP 401 ..." */
	TimestampTz key_refused_at[MONO_APPS]; /* since when (0: the key is taken) */
	uint64 key_refusals[MONO_APPS];		   /* outages so far */
	uint64 list_pages_read;				   /* pages of Owo lists read */
	uint64 phone_filter_ignored;		   /* list pages where Mono ignored ?phone= */
} MonoShared;

extern MonoShared *mono_shared;

extern void mono_shmem_init(void);
extern void mono_register_worker(const char *function, const char *name,
								 const char *type, int restart_s);
extern void mono_wake_at_commit(void);
extern void mono_wake_worker(void);
extern void mono_set_state(const char *state);
extern void mono_set_last_error(const char *error);

/* common_notify.c: NOTIFY mono_pay, sent at commit */
extern void mono_notify(const char *payload);

/* common_spi.c: statements prepared once, every result checked */
#define MONO_STATEMENT_ARGS 12

typedef struct MonoStatement
{
	const char *name; /* what it does, for errors */
	const char *sql;  /* calls a named SQL function where it decides */
	int nargs;
	Oid types[MONO_STATEMENT_ARGS];
	bool read_only;	 /* runs on the caller's snapshot */
	SPIPlanPtr plan; /* prepared at first use, kept */
} MonoStatement;

extern uint64 mono_spi_run(MonoStatement *stmt, Datum *args, const char *nulls,
						   long limit);
extern uint64 mono_spi_query(const char *name, const char *sql, bool read_only);
extern Datum mono_spi_value(int row, int col, bool *isnull);
extern char *mono_spi_text(int row, const char *column);
extern Datum mono_spi_return_row(FunctionCallInfo fcinfo, HeapTuple row, TupleDesc desc);
extern void mono_tx_begin(const char *activity);
extern void mono_tx_commit(void);
extern bool mono_run_step(void (*step)(void), const char *what, const char *hint);
extern char *mono_extension_version(void);
extern void mono_require_sql_version(const char *function);

/* common_http.c: a response body held outside PostgreSQL's memory contexts */
typedef struct MonoBuf
{
	char *data;
	size_t len;
	size_t cap;
	bool overflow;
} MonoBuf;

typedef struct MonoHttp
{
	CURL *easy;
	struct curl_slist *headers;
	MonoBuf resp;
	char errbuf[CURL_ERROR_SIZE];
	char *body; /* request body (malloc'd), or NULL */
} MonoHttp;

/* The answer of a synchronous call (mono_http_get), palloc'd. */
typedef struct MonoAnswer
{
	long status;
	char *body;
	size_t len;
	json_t *headers; /* what the caller's reader took of the headers, or NULL */
} MonoAnswer;

typedef json_t *(*MonoHeaderReader)(CURL *easy);

extern void mono_http_init(MonoHttp *http);
extern void mono_http_prepare(MonoHttp *http, const char *method,
							  const char *path, const char *body,
							  bool realtime);
extern void mono_http_reset(MonoHttp *http);
extern void mono_http_free(MonoHttp *http);
extern long mono_http_perform(MonoHttp *http);
extern void mono_http_get(const char *path, bool realtime, MonoHeaderReader reader,
						  MonoAnswer *answer);
extern const char *mono_http_phase(CURL *easy, CURLcode rc, bool overflow);
extern bool mono_http_reached_server(CURL *easy, CURLcode rc);
extern char *mono_http_header(CURL *easy, const char *name);
extern char *mono_url_escape(const char *value);
extern const char *mono_secret_key_for(const char *path);

/* common_json.c: jansson, Mono's envelope, and the one serialisation policy */
extern json_t *mono_json_object(void);
extern json_t *mono_json_parse(const char *text, size_t len, const char *what);
extern char *mono_body_excerpt(const char *text, size_t len);
extern json_t *mono_json_try_parse(const char *text, size_t len);
extern json_t *mono_json_data(json_t *root);
extern const char *mono_json_str(json_t *obj, const char *key);
extern char *mono_json_text(json_t *value);
extern Datum mono_json_jsonb(json_t *value);
extern char *mono_error_summary(json_t *root, char **trace_id,
								char **field_errors);
extern void mono_raise_http_error(long status, const char *body, size_t len);

/* common_values.c: values checked so that SQL casts them without error */
extern bool mono_json_int(json_t *v, json_int_t *out);
extern char *mono_iso_timestamp(const char *in);
extern bool mono_read_digits(const char *s, int n, int *v);
extern bool mono_valid_date(int y, int m, int d);
extern bool mono_is_blank(const char *value);
extern char *mono_shown(const char *value);

/* common_retry.c: backoff of retries and reads */
extern int64 mono_backoff_ms(int attempts);

/* common_key.c: a refused key, per app (issue 22) */
extern const char *mono_app_product(MonoApp app);
extern void mono_key_refused(MonoApp app, long status, const char *message);
extern void mono_key_answered(MonoApp app);
extern int mono_key_allows(MonoApp app, int limit);
extern bool mono_key_is_refused(MonoApp app);
extern bool mono_key_note(MonoApp app, long status, const char *message);

/* common_quorum.c: the forms of mono_pay.standby_names */
#define MONO_QUORUM_MAX 32
typedef struct MonoQuorum
{
	bool quorum; /* FIRST n (...) or ANY n (...) */
	bool any;	 /* ANY (a plain list is ANY 1) */
	int num;	 /* how many must have flushed */
	int count;	 /* how many names */
	char names[MONO_QUORUM_MAX][NAMEDATALEN];
} MonoQuorum;
extern bool mono_quorum_parse(const char *value, MonoQuorum *q, const char **err);
extern bool mono_quorum_names(const MonoQuorum *q, int i, const char *application_name);

/* common_ha.c: high availability, restores and clones */
extern void mono_ha_init(void);
extern void mono_require_writable(const char *function);
extern bool mono_ha_waits_for_standby(void);
extern XLogRecPtr mono_ha_flushed(int *connected, int *needed);
extern bool mono_ha_identity_ok(char *why, size_t len);
extern bool mono_ha_may_claim(void);
extern int mono_ha_streaming_standbys(void);

/* common_seal.c: the node seal (physical copies pause) */
extern void mono_seal_at_start(void);
extern void mono_seal_resume(void);
extern bool mono_seal_ok(char *why, size_t len);
extern char *mono_seal_own_name(void);
extern bool mono_seal_reconcile_due(void);
extern bool mono_seal_reconciled(void);

/*
 * common_job.c: a job is one HTTP call for one row. A product (owo_*,
 * connect_*) claims its jobs, the worker runs them, and the product reads
 * each finished one into outcomes, grouped by the statement that records
 * them.
 */
typedef enum MonoGroupId
{
	GROUP_CHARGES,	/* owo: mono.fund_requests after a send or settling read */
	GROUP_LINKS,	/* owo: mono.beneficiaries likewise */
	GROUP_EVENTS,	/* owo: what polling read, as webhook events */
	GROUP_ACCOUNTS, /* connect: what Mono said of an account */
	GROUP_LOG,		/* mono.http_log rows */
	NUM_GROUPS
} MonoGroupId;

typedef struct MonoOutcomes
{
	json_t *group[NUM_GROUPS]; /* one JSON array each */
} MonoOutcomes;

struct MonoProduct;

typedef struct MonoJob
{
	dlist_node node;
	const struct MonoProduct *product; /* whose job it is */
	int kind;						   /* the product's own kind of call */
	int64 id;						   /* row id in the product's table */
	int attempts;					   /* attempts including this one */
	char *reference;				   /* fund request reference (charges) */
	char *phone;
	char *mono_id;	  /* Mono's id of the row's object */
	char *account_id; /* Connect account */
	bool realtime;	  /* send x-realtime: true */
	char *method;
	char *path;
	char *body; /* JSON request body, or NULL for GET */
	/* what identifies our object in a read */
	int64 amount; /* a charge's amount */
	char *type;	  /* a charge's type (onetime, recurring) */
	bool linked;  /* a polled link is linked (else it waits) */
	/* an Owo list read page by page (limit 100, offset), bounded by MONO_LIST_PAGES */
	char *list_path;	 /* the list's path and query without limit/offset */
	int first_offset;	 /* where this read started */
	int offset;			 /* the page being read */
	int pages;			 /* pages read so far */
	bool more;			 /* stopped at the bound: Mono has more */
	bool list_failed;	 /* a page could not be read */
	bool filter_ignored; /* Mono ignored the list's ?phone= filter (issue 22) */
	json_t *items;		 /* the items of the pages read so far */
	json_t *page_log;	 /* mono.http_log rows of the pages before the last */
	MonoHttp http;
	CURLcode rc;
	TimestampTz started;
	XLogRecPtr claim_lsn; /* end of its claim's commit record */
} MonoJob;

/* What the worker calls of a product. */
typedef struct MonoProduct
{
	const char *name;
	/* at start-up, in a transaction: rows this process left mid-send */
	void (*recover)(void);
	/* in the claim transaction: append up to limit jobs (and reads within poll_budget) */
	int (*claim)(int limit, int poll_budget, dlist_head *jobs, MemoryContext cxt);
	/* outside any transaction: true when the job goes on (its next page) */
	bool (*next_page)(MonoJob *job, MemoryContext cxt);
	/* outside any transaction: append the finished job's outcome */
	void (*outcome)(MonoJob *job, MonoOutcomes *out);
} MonoProduct;

extern void mono_job_log(MonoJob *job, json_t *log);
extern void mono_job_call(MonoJob *job, MemoryContext cxt, const char *method,
						  const char *path, const char *body);

#endif /* MONO_COMMON_H */

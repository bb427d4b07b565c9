/*
 * mono_pay.h
 *		Declarations shared by the files of mono_pay.
 *
 * One concept per file:
 *	mono_pay.c	module init, settings, shared memory, commit-time wake
 *	validate.c	argument checks and normalisation (phones, references, ...)
 *	http.c		libcurl easy handles, response buffers, synchronous calls
 *	json.c		jansson helpers: parse, Mono's error envelope
 *	owo.c		Direct Charge request bodies and mono_user_status()
 *	enqueue.c	mono_charge(), mono_link/unlink_beneficiary(), the trigger
 *	wait.c		mono_wait() and mono_worker_status()
 *	queue.c		the worker's claims and outcome records (SPI plans)
 *	dispatch.c	the worker's curl multi handle driven by a WaitEventSet
 *	worker.c	the background worker's main loop
 *	webhook.c	mono_handle_webhook(): secret, body checks, ingest
 *	receiver.c	the webhook receiver: a worker serving HTTP (libmicrohttpd)
 *	ha.c		standbys, restored copies, read-only nodes, DROP EXTENSION
 */
#ifndef MONO_PAY_H
#define MONO_PAY_H

#include "postgres.h"

#include <curl/curl.h>

#include "fmgr.h"
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
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/timestamp.h"
#include "compat.h"

/* settings (mono_pay.c) */
extern char *mono_api_url;
extern char *mono_secret_key;
extern char *mono_webhook_secret;
extern char *mono_connect_secret_key;
extern char *mono_connect_webhook_secret;
extern char *mono_database_name;
extern char *mono_ca_bundle;
extern bool mono_enabled;
extern int	mono_workers;
extern int	mono_max_in_flight;
extern int	mono_batch_size;
extern int	mono_poll_interval;
extern int	mono_connect_timeout;
extern int	mono_request_timeout;
extern int	mono_max_attempts;
extern int	mono_retry_base;
extern int	mono_retry_max;
extern int	mono_max_response_size;
extern int	mono_webhook_max_size;
extern int	mono_poll_budget;
extern int	mono_poll_base;
extern int	mono_poll_max;
extern int	mono_list_pages;
extern bool mono_one_prompt_per_phone;
extern char *mono_schedule_grace;
extern char *mono_approval_window;
extern bool mono_http_log;
extern char *mono_http_log_retention;

/* state the worker shares with every backend (mono_pay.c) */
#define MONO_MAX_WORKERS 8

/* One worker process: number 0 does everything, the others send charges. */
typedef struct MonoWorkerSlot
{
	Latch	   *latch;			/* NULL when not running */
	pid_t		pid;
	int			in_flight;
	uint64		sent_total;
	TimestampTz config_loaded_at;	/* its last read of its settings */
} MonoWorkerSlot;

typedef struct MonoShared
{
	slock_t		mutex;
	char		state[256];		/* what worker 0 is doing, or why it idles */
	char		last_error[256];	/* the latest error of any worker */
	TimestampTz last_error_at;
	bool		database_seen;	/* false once a worker found its database missing */
	bool		database_warned;	/* its absence was reported once */
	MonoWorkerSlot workers[MONO_MAX_WORKERS];
} MonoShared;

extern MonoShared *mono_shared;
extern int	mono_worker_number;	/* worker.c: 0 in backends and the first worker */

extern void mono_wake_at_commit(void);
extern void mono_wake_senders(void);
extern void mono_set_state(const char *state);
extern void mono_set_last_error(const char *error);

/* connect.c */
extern void mono_connect_define_settings(void);

/* ha.c: high availability, restores and clones (issue 12) */
extern char *mono_standby_names;
extern bool mono_allow_drop_with_work;
extern void mono_ha_define_settings(void);
extern void mono_require_writable(const char *function);
struct Node;
extern void mono_ha_check_drop(struct Node *stmt);

/* a fund request to queue (enqueue.c validates it, batch.c buffers it) */
typedef struct MonoCharge
{
	char	   *phone;
	int64		amount;
	char	   *description;
	char	   *reference;
	char	   *period;			/* NULL: one-time */
	int			interval;
	TimestampTz start_date;
	bool		start_null;
	TimestampTz end_date;
	bool		end_null;
	char	   *currency;
	int64		link_id;		/* 0: sent on its own */
} MonoCharge;

/* enqueue.c */
extern void mono_validate_charge(MonoCharge *a);

/* batch.c */
extern void mono_buffer_charge(MonoCharge *a);
extern void mono_flush_charges(void);
extern void mono_plan_schedules(Datum references);
extern void mono_discard_charges(int level);

/* validate.c */
extern char *mono_normalize_phone(const char *phone);
extern char *mono_shown(const char *value);
extern bool mono_is_blank(const char *value);
extern void mono_check_reference(const char *reference);
extern void mono_check_amount(int64 amount);
extern void mono_check_description(const char *description);
extern void mono_check_period(const char *period, int interval);
extern void mono_check_dates(TimestampTz start, bool start_null,
							 TimestampTz end, bool end_null);
extern void mono_check_currency(const char *currency);
extern void mono_check_digits(const char *what, const char *value, int len,
							  const char *hint);
extern void mono_check_account_name(const char *name);
extern char *mono_generate_reference(void);

/* http.c: a response body held outside PostgreSQL's memory contexts */
typedef struct MonoBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		overflow;
} MonoBuf;

typedef struct MonoHttp
{
	CURL	   *easy;
	struct curl_slist *headers;
	MonoBuf		resp;
	char		errbuf[CURL_ERROR_SIZE];
	char	   *body;			/* request body (malloc'd), or NULL */
} MonoHttp;

extern void mono_http_init(MonoHttp *http);
extern void mono_http_prepare(MonoHttp *http, const char *method,
							  const char *path, const char *body,
							  bool realtime);
extern void mono_http_reset(MonoHttp *http);
extern void mono_http_free(MonoHttp *http);
extern long mono_http_perform(MonoHttp *http);
extern const char *mono_http_phase(CURL *easy, CURLcode rc, bool overflow);
extern bool mono_http_reached_server(CURL *easy, CURLcode rc);
extern char *mono_http_header(CURL *easy, const char *name);
extern char *mono_url_escape(const char *value);
extern const char *mono_secret_key_for(const char *path);

/* json.c */
extern json_t *mono_json_object(void);
extern json_t *mono_json_parse(const char *text, size_t len, const char *what);
extern char *mono_body_excerpt(const char *text, size_t len);
extern json_t *mono_json_try_parse(const char *text, size_t len);
extern json_t *mono_json_data(json_t *root);
extern const char *mono_json_str(json_t *obj, const char *key);
extern char *mono_error_summary(json_t *root, char **trace_id,
								char **field_errors);
extern void mono_raise_http_error(long status, const char *body, size_t len);

/* connect_parse.c: values checked so that SQL casts them without error */
extern bool mono_json_int(json_t *v, json_int_t *out);
extern char *mono_iso_timestamp(const char *in);

/* webhook.c: which secret verifies an event (setting: its name) */
extern const char *mono_webhook_secret_for(const char *event, const char **setting);

/* owo.c */
extern const char *mono_user_status_name(const char *status);
extern void mono_require_secret_key(void);

/* webhook.c: what mono_handle_webhook() and the receiver (receiver.c) share */
typedef enum MonoSecretCheck
{
	MONO_SECRET_MATCH,
	MONO_SECRET_MISMATCH,
	MONO_SECRET_UNSET			/* the product's secret is not set */
} MonoSecretCheck;

extern MonoSecretCheck mono_webhook_check_secret(const char *given, const char *event);
extern void mono_webhook_read_event(char *body, size_t len, char **event, char **event_id);
extern Datum mono_webhook_ingest(const char *event_id, const char *event, const char *body);

/* receiver.c */
extern void mono_receiver_init(void);

/* queue.c and dispatch.c are used by worker.c only; see their headers */

#endif							/* MONO_PAY_H */

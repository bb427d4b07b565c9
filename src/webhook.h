/*
 * webhook.h
 *		Webhooks, from Mono to the database:
 *
 *	webhook_ingest.c	mono_handle_webhook(): the secret, the body's checks,
 *						and the ingest (SQL applies the event)
 *	webhook_receiver.c	the receiver's shared counters, its registration as
 *						background workers, and mono_receiver_status()
 *	webhook_server.c	the receiver itself: libmicrohttpd serving
 *						mono_pay.webhook_path, storing each event
 */
#ifndef MONO_WEBHOOK_H
#define MONO_WEBHOOK_H

#include "common.h"

#include "port/atomics.h"

/* What the receiver counts: answers by kind, and refusals by reason. */
typedef enum ReceiverCount
{
	RC_CONNECTIONS,		 /* connections accepted */
	RC_APPLIED,			 /* 200 applied */
	RC_DUPLICATE,		 /* 200 duplicate */
	RC_IGNORED,			 /* 200 ignored */
	RC_UNAUTHORIZED,	 /* 401: wrong or missing mono-webhook-secret */
	RC_TOO_LARGE,		 /* 413: body past mono_pay.webhook_max_size */
	RC_NOT_JSON,		 /* 400: not JSON, or not an event */
	RC_METHOD,			 /* 405: not POST */
	RC_NOT_FOUND,		 /* 404: another path */
	RC_UNAVAILABLE,		 /* 503: the database could not take it */
	RC_CONNECTION_LIMIT, /* closed at accept: too many connections */
	RC_TIMEOUT,			 /* closed: request not read in time */
	RC_HEADER_TOO_LARGE, /* 431: headers past webhook_max_header_size */
	RC_NCOUNTS
} ReceiverCount;

typedef struct ReceiverShared
{
	slock_t mutex;
	pid_t pids[MONO_MAX_RECEIVERS]; /* of each process; 0 when not running */
	bool tls;
	pg_atomic_uint32 open; /* connections open now */
	pg_atomic_uint64 counts[RC_NCOUNTS];
} ReceiverShared;

extern ReceiverShared *mono_receiver_shared;

/* webhook_ingest.c: what mono_handle_webhook() and the receiver share */
typedef enum MonoSecretCheck
{
	MONO_SECRET_MATCH,
	MONO_SECRET_MISMATCH,
	MONO_SECRET_UNSET /* the product's secret is not set */
} MonoSecretCheck;

extern const char *mono_webhook_secret_for(const char *event, const char **setting);
extern MonoSecretCheck mono_webhook_check_secret(const char *given, const char *event);
extern void mono_webhook_read_event(char *body, size_t len, char **event, char **event_id);
extern Datum mono_webhook_ingest(const char *event_id, const char *event, const char *body);

/* webhook_receiver.c */
extern void mono_receiver_init(void);

/* Count one event of the receiver. */
static inline void
mono_receiver_count(ReceiverCount what)
{
	if (mono_receiver_shared != NULL)
		pg_atomic_fetch_add_u64(&mono_receiver_shared->counts[what], 1);
}

/* webhook_server.c */
PGDLLEXPORT void mono_receiver_main(Datum main_arg);

#endif /* MONO_WEBHOOK_H */

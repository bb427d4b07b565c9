/*
 * receiver.h
 *		The webhook receiver: a background worker ("mono_pay receiver")
 *		serving mono_pay.webhook_path over HTTP(S) with libmicrohttpd.
 *		receiver.c owns its settings, shared counters and the SQL view of
 *		them; receiver_server.c runs the server and stores each event.
 */
#ifndef MONO_RECEIVER_H
#define MONO_RECEIVER_H

#include "mono_pay.h"

#include "port/atomics.h"

/* What the receiver counts: answers by kind, and refusals by reason. */
typedef enum ReceiverCount
{
	RC_CONNECTIONS,				/* connections accepted */
	RC_APPLIED,					/* 200 applied */
	RC_DUPLICATE,				/* 200 duplicate */
	RC_IGNORED,					/* 200 ignored */
	RC_UNAUTHORIZED,			/* 401: wrong or missing mono-webhook-secret */
	RC_TOO_LARGE,				/* 413: body past mono_pay.webhook_max_size */
	RC_NOT_JSON,				/* 400: not JSON, or not an event */
	RC_METHOD,					/* 405: not POST */
	RC_NOT_FOUND,				/* 404: another path */
	RC_UNAVAILABLE,				/* 503: the database could not take it */
	RC_CONNECTION_LIMIT,		/* closed at accept: too many connections */
	RC_TIMEOUT,					/* closed: request not read in time */
	RC_HEADER_TOO_LARGE,		/* 431: headers past webhook_max_header_size */
	RC_NCOUNTS
} ReceiverCount;

#define MONO_MAX_RECEIVERS 8

typedef struct ReceiverShared
{
	slock_t		mutex;
	pid_t		pids[MONO_MAX_RECEIVERS];	/* of each process; 0 when not running */
	bool		tls;
	pg_atomic_uint32 open;		/* connections open now */
	pg_atomic_uint64 counts[RC_NCOUNTS];
} ReceiverShared;

extern ReceiverShared *mono_receiver_shared;

/* settings (receiver.c) */
extern char *mono_webhook_listen;
extern char *mono_webhook_path;
extern char *mono_webhook_tls_cert;
extern char *mono_webhook_tls_key;
extern int	mono_webhook_max_connections;
extern int	mono_webhook_max_header_size;
extern int	mono_webhook_read_timeout;
extern int	mono_webhook_idle_timeout;
extern int	mono_webhook_receivers;

/* Count one event of the receiver. */
static inline void
mono_receiver_count(ReceiverCount what)
{
	if (mono_receiver_shared != NULL)
		pg_atomic_fetch_add_u64(&mono_receiver_shared->counts[what], 1);
}

/* receiver_server.c */
PGDLLEXPORT void mono_receiver_main(Datum main_arg);

#endif							/* MONO_RECEIVER_H */

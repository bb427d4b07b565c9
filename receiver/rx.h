/*
 * rx.h
 *		mono_pay_receiver: Mono's webhooks over HTTP, handed to the database's
 *		mono_handle_webhook() through libpq. A program of its own, beside the
 *		database or on an edge host: its crash costs only itself.
 *
 *	rx_main.c	options (flags and a config file), signals, start and stop
 *	rx_http.c	libmicrohttpd: the webhook path, the request limits, and the
 *				loopback-only /healthz and /metrics
 *	rx_db.c		one libpq connection per HTTP thread, the outage log and
 *				the reconnect backoff, and the answer for each SQLSTATE
 *	rx_common.c	the options' values and the log line, used by all three
 *
 * Calls go down this list only: main -> http -> db -> common.
 */
#ifndef MONO_RX_H
#define MONO_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The program's options: defaults in rx_common.c, set by rx_main.c. */
typedef struct RxConfig
{
	char *listen;		  /* host:port of the webhook path */
	char *path;			  /* the one path served */
	char *conninfo;		  /* libpq connection string ("": PG* variables) */
	char *status_listen;  /* loopback host:port of /healthz and /metrics, or "" */
	long max_body;		  /* bytes; past it: 413 */
	long max_header;	  /* bytes of request line and headers; past it: 431 */
	long read_timeout;	  /* ms a client has for a whole request */
	long idle_timeout;	  /* s a silent connection stays open */
	long max_connections; /* open connections in all */
	long max_per_address; /* open connections of one client address */
	long threads;		  /* HTTP threads, each with one database connection */
	long backoff_max;	  /* ms: the longest wait between reconnect attempts */
} RxConfig;

/* What the receiver counts (the /metrics page shows them). */
typedef enum RxCount
{
	RX_CONNECTIONS,	 /* connections accepted */
	RX_APPLIED,		 /* 200 applied */
	RX_DUPLICATE,	 /* 200 duplicate */
	RX_IGNORED,		 /* 200 ignored */
	RX_UNAUTHORIZED, /* 401: the database refused the secret */
	RX_TOO_LARGE,	 /* 413 */
	RX_NOT_JSON,	 /* 400 */
	RX_METHOD,		 /* 405 */
	RX_NOT_FOUND,	 /* 404 */
	RX_UNAVAILABLE,	 /* 503: the database could not take it */
	RX_FAILED,		 /* 500: another error of the database */
	RX_TIMEOUT,		 /* closed: the request was not read in time */
	RX_REFUSED,		 /* closed at accept: past --max-per-address or --max-connections */
	RX_NCOUNTS
} RxCount;

extern RxConfig rx_config;
extern const char *const rx_count_names[RX_NCOUNTS];

/* Count one event. */
void rx_count(RxCount what);
/* The value of one counter. */
uint64_t rx_counter(RxCount what);
/* Connections open now (rx_http.c keeps it). */
long rx_open_connections(void);

/* One line to stderr (the journal under systemd): level and message. */
void rx_log(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* rx_db.c: the database's verdict on one body */
typedef struct RxVerdict
{
	int status;			/* HTTP status */
	RxCount count;		/* what it counts as */
	const char *answer; /* the response body (static) */
} RxVerdict;

void rx_db_ingest(const char *body, size_t len, const char *signature, RxVerdict *v);
/* Is the database reachable, as last seen (for /healthz)? */
bool rx_db_up(void);
/* Close this thread's connection. */
void rx_db_close(void);
/* Try a connection now (unless in backoff); true when the database took it. */
bool rx_db_probe(void);

/* rx_http.c */
struct MHD_Daemon;
struct sockaddr_storage;
/* The webhook daemon on addr (NULL: no listening socket; the fuzzer adds connections). */
struct MHD_Daemon *rx_http_daemon_start(const struct sockaddr_storage *addr);
bool rx_http_start(void);
void rx_http_stop(void);
/* "hmac-sha256:<hex>" of body keyed with secret, into out (12 + 64 + 1 bytes). */
bool rx_sign(const char *secret, const char *body, size_t len, char *out);
#define RX_SIGNATURE_LEN (12 + 64 + 1)
/* Parse "host:port" or "[v6]:port" into a socket address; false when bad. */
bool rx_parse_address(const char *text, void *addr, unsigned *addrlen);
/* Is text a usable host:port (and loopback, when asked)? Logs why not. */
bool rx_address_ok(const char *text, bool loopback, const char *option);

#endif /* MONO_RX_H */

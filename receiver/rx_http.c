/*
 * rx_http.c
 *		The HTTP side of mono_pay_receiver: libmicrohttpd with a pool of
 *		threads (each with its own database connection, rx_db.c) serving one
 *		path. A request: path (404), method (405) and Content-Length (413)
 *		are judged from the headers; the body is read up to --max-body
 *		(413), and handed with "hmac-sha256:<hex>" (HMAC-SHA256 of the body
 *		keyed with the mono-webhook-secret header, GnuTLS) to
 *		mono_handle_webhook(), whose verdict is the answer (28000: 401).
 *
 * Hostile clients: at most --max-per-address connections of one address
 * and --max-connections in all (libmicrohttpd refuses more at accept); a
 * sweeper closes any connection that has not sent a whole request within
 * --read-timeout of its start or of its last answer (headers trickled a
 * byte at a time included); --idle-timeout closes silent ones.
 * /healthz and /metrics live on another, loopback-only address.
 */
#include "rx.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <microhttpd.h>

#define SWEEP_MS 100

/* One open connection; in a list the sweeper walks. */
typedef struct RxConn
{
	struct RxConn *prev;
	struct RxConn *next;
	int fd;
	long long since; /* ms: start of the connection, or its last answer */
	bool busy;		 /* its request is with the database: not swept */
	bool swept;		 /* closed by the sweeper */
} RxConn;

/* One request being read. */
typedef struct RxRequest
{
	char *body;
	size_t len;
	size_t cap;
	bool too_large;
} RxRequest;

const char *const rx_count_names[RX_NCOUNTS] = {
	"connections", "applied", "duplicate", "ignored", "unauthorized", "too_large",
	"not_json", "method", "not_found", "unavailable", "failed", "timeout", "refused"};

static _Atomic uint64_t counts[RX_NCOUNTS];
static atomic_long open_connections;
static struct MHD_Daemon *daemon_main;
static struct MHD_Daemon *daemon_status;
static pthread_mutex_t conns_mutex = PTHREAD_MUTEX_INITIALIZER;
static RxConn conns = {.prev = &conns, .next = &conns, .fd = -1};
static pthread_t sweeper;
static atomic_bool stopping;

/* Count one event. */
void
rx_count(RxCount what)
{
	atomic_fetch_add(&counts[what], 1);
}

/* The value of one counter. */
uint64_t
rx_counter(RxCount what)
{
	return atomic_load(&counts[what]);
}

/* Connections open now. */
long
rx_open_connections(void)
{
	return atomic_load(&open_connections);
}

/* Milliseconds of the monotonic clock. */
static long long
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "hmac-sha256:<hex>" of body keyed with secret, into out. */
bool
rx_sign(const char *secret, const char *body, size_t len, char *out)
{
	unsigned char mac[32];
	int i;

	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, strlen(secret), body, len, mac) < 0)
		return false;
	memcpy(out, "hmac-sha256:", 12);
	for (i = 0; i < 32; i++)
		sprintf(out + 12 + 2 * i, "%02x", mac[i]);
	return true;
}

/* Queue a static answer (JSON or text); closes the connection when asked. */
static enum MHD_Result
answer(struct MHD_Connection *c, int status, const char *text, const char *type, bool close)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	if (close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Refuse a request from its headers alone (counted); NULL when it may go on. */
static const char *
judge_headers(struct MHD_Connection *c, const char *url, const char *method, int *status)
{
	const char *cl;

	if (strcmp(url, rx_config.path) != 0)
	{
		*status = MHD_HTTP_NOT_FOUND;
		rx_count(RX_NOT_FOUND);
		return "{\"error\":\"not found\"}\n";
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
	{
		*status = MHD_HTTP_METHOD_NOT_ALLOWED;
		rx_count(RX_METHOD);
		return "{\"error\":\"method not allowed: POST only\"}\n";
	}
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoll(cl, NULL, 10) > rx_config.max_body)
	{
		*status = 413;
		rx_count(RX_TOO_LARGE);
		return "{\"error\":\"body too large\"}\n";
	}
	return NULL;
}

/* Keep a piece of the body (past --max-body: remember only that it was). */
static bool
take_body(RxRequest *req, const char *data, size_t n)
{
	if (req->too_large || req->len + n > (size_t) rx_config.max_body)
	{
		req->too_large = true;
		return true;
	}
	if (req->len + n + 1 > req->cap)
	{
		size_t cap = req->cap ? req->cap : 4096;
		char *grown;

		while (cap < req->len + n + 1)
			cap *= 2;
		if ((grown = realloc(req->body, cap)) == NULL)
			return false;
		req->body = grown;
		req->cap = cap;
	}
	memcpy(req->body + req->len, data, n);
	req->len += n;
	req->body[req->len] = '\0';
	return true;
}

/* This connection's RxConn. */
static RxConn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? (RxConn *) info->socket_context : NULL;
}

/* Mark a connection as with the database (not swept) or not. */
static void
set_busy(struct MHD_Connection *c, bool busy)
{
	RxConn *rc = conn_of(c);

	if (rc == NULL)
		return;
	pthread_mutex_lock(&conns_mutex);
	rc->busy = busy;
	pthread_mutex_unlock(&conns_mutex);
}

/* The whole body is read: the database's verdict is the answer. */
static enum MHD_Result
deliver(struct MHD_Connection *c, RxRequest *req)
{
	const char *secret;
	char signature[RX_SIGNATURE_LEN];
	RxVerdict v;

	if (req->too_large)
	{
		rx_count(RX_TOO_LARGE);
		return answer(c, 413, "{\"error\":\"body too large\"}\n", "application/json", true);
	}
	secret = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "mono-webhook-secret");
	if (secret == NULL || secret[0] == '\0')
	{
		/* what the database answers a missing secret, without asking it */
		rx_count(RX_UNAUTHORIZED);
		return answer(c, MHD_HTTP_UNAUTHORIZED, "{\"error\":\"invalid webhook secret\"}\n", "application/json", false);
	}
	if (!rx_sign(secret, req->body ? req->body : "", req->len, signature))
		return MHD_NO;
	set_busy(c, true);
	rx_db_ingest(req->body ? req->body : "", req->len, signature, &v);
	set_busy(c, false);
	rx_count(v.count);
	return answer(c, v.status, v.answer, "application/json", false);
}

/* libmicrohttpd's request callback: headers, each piece of the body, the end. */
static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	RxRequest *req = *req_cls;
	const char *refusal;
	int status;

	(void) cls;
	(void) version;
	if (req == NULL)
	{
		if ((refusal = judge_headers(c, url, method, &status)) != NULL)
			return answer(c, status, refusal, "application/json", true);
		if ((req = calloc(1, sizeof(RxRequest))) == NULL)
			return MHD_NO;
		*req_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size > 0)
	{
		if (!take_body(req, upload_data, *upload_data_size))
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return deliver(c, req);
}

/* A request ends: free it; the connection's next request has its own time. */
static void
completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	RxRequest *req = *req_cls;
	RxConn *rc = conn_of(c);

	(void) cls;
	(void) toe;
	if (req != NULL)
	{
		free(req->body);
		free(req);
		*req_cls = NULL;
	}
	if (rc != NULL)
	{
		pthread_mutex_lock(&conns_mutex);
		rc->since = clock_ms();
		pthread_mutex_unlock(&conns_mutex);
	}
}

/* A connection opens (into the sweeper's list) or closes (out of it). */
static void
notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
				  enum MHD_ConnectionNotificationCode code)
{
	RxConn *rc = *socket_context;

	(void) cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
	{
		const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		if ((rc = calloc(1, sizeof(RxConn))) == NULL)
			return;
		rc->fd = info ? info->connect_fd : -1;
		rc->since = clock_ms();
		pthread_mutex_lock(&conns_mutex);
		rc->next = conns.next;
		rc->prev = &conns;
		conns.next->prev = rc;
		conns.next = rc;
		pthread_mutex_unlock(&conns_mutex);
		*socket_context = rc;
		rx_count(RX_CONNECTIONS);
		atomic_fetch_add(&open_connections, 1);
		return;
	}
	if (rc == NULL)
		return;
	/* before libmicrohttpd closes the socket: the sweeper cannot touch a reused fd */
	pthread_mutex_lock(&conns_mutex);
	rc->prev->next = rc->next;
	rc->next->prev = rc->prev;
	pthread_mutex_unlock(&conns_mutex);
	if (rc->swept)
		rx_count(RX_TIMEOUT);
	free(rc);
	*socket_context = NULL;
	atomic_fetch_sub(&open_connections, 1);
}

/* The sweeper: shut down connections past --read-timeout (not while with the database). */
static void *
sweep(void *arg)
{
	(void) arg;
	while (!atomic_load(&stopping))
	{
		long long now = clock_ms();
		RxConn *rc;

		pthread_mutex_lock(&conns_mutex);
		for (rc = conns.next; rc != &conns; rc = rc->next)
			if (!rc->busy && !rc->swept && rc->fd >= 0 && now - rc->since > rx_config.read_timeout)
			{
				rc->swept = true;
				shutdown(rc->fd, SHUT_RDWR);
			}
		pthread_mutex_unlock(&conns_mutex);
		usleep(SWEEP_MS * 1000);
	}
	return NULL;
}

/* Parse "host:port" or "[v6]:port" into a socket address; false when bad. */
bool
rx_parse_address(const char *text, void *addr, unsigned *addrlen)
{
	char host[256];
	const char *colon = strrchr(text, ':');
	struct addrinfo hints = {0};
	struct addrinfo *ai;
	size_t n;

	if (colon == NULL || colon == text || colon[1] == '\0' || (size_t) (colon - text) >= sizeof(host))
		return false;
	n = colon - text;
	if (text[0] == '[' && colon[-1] == ']')
		memcpy(host, text + 1, n - 2), host[n - 2] = '\0';
	else
		memcpy(host, text, n), host[n] = '\0';
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return false;
	memcpy(addr, ai->ai_addr, ai->ai_addrlen);
	*addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return true;
}

/* Is the address a loopback one (127.0.0.0/8, ::1)? */
static bool
is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *) ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *) ss)->sin6_addr, &in6addr_loopback, 16) == 0;
	return false;
}

/* Is text a usable host:port (and loopback, when asked)? Logs why not. */
bool
rx_address_ok(const char *text, bool loopback, const char *option)
{
	struct sockaddr_storage ss;
	unsigned len;

	if (!rx_parse_address(text, &ss, &len))
	{
		rx_log("FATAL", "%s takes host:port (e.g. 127.0.0.1:8787 or [::1]:8787), not \"%s\"", option, text);
		return false;
	}
	if (loopback && !is_loopback(&ss))
	{
		rx_log("FATAL", "%s must be a loopback host:port (127.0.0.1:PORT or [::1]:PORT), not \"%s\"", option, text);
		return false;
	}
	return true;
}

/* The /metrics page (Prometheus text format), into buf. */
static void
metrics(char *buf, size_t size)
{
	size_t n = 0;
	int i;

	n += snprintf(buf + n, size - n,
				  "# HELP mono_pay_receiver_database_up Whether the database took the last request.\n"
				  "# TYPE mono_pay_receiver_database_up gauge\n"
				  "mono_pay_receiver_database_up %d\n"
				  "# HELP mono_pay_receiver_connections_open Connections open now.\n"
				  "# TYPE mono_pay_receiver_connections_open gauge\n"
				  "mono_pay_receiver_connections_open %ld\n"
				  "# HELP mono_pay_receiver_events_total Connections accepted, and requests by outcome.\n"
				  "# TYPE mono_pay_receiver_events_total counter\n",
				  rx_db_up() ? 1 : 0, rx_open_connections());
	for (i = 0; i < RX_NCOUNTS && n < size; i++)
		n += snprintf(buf + n, size - n, "mono_pay_receiver_events_total{kind=\"%s\"} %llu\n",
					  rx_count_names[i], (unsigned long long) rx_counter(i));
}

/* The status address: GET /healthz (200 or 503) and GET /metrics. */
static enum MHD_Result
handle_status(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			  const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	char page[4096];
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void) cls, (void) version, (void) upload_data, (void) req_cls;
	if (*upload_data_size > 0 || strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n", "text/plain", true);
	if (strcmp(url, "/healthz") == 0)
		return rx_db_up() || rx_db_probe() ? answer(c, MHD_HTTP_OK, "ok\n", "text/plain", false) :
											 answer(c, MHD_HTTP_SERVICE_UNAVAILABLE, "database unavailable\n", "text/plain", false);
	if (strcmp(url, "/metrics") != 0)
		return answer(c, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain", false);
	metrics(page, sizeof(page));
	r = MHD_create_response_from_buffer(strlen(page), page, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * libmicrohttpd's messages: a connection refused at accept (past a limit)
 * is counted, not logged (a flood would fill the log); the rest are logged.
 */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	char *nl;

	(void) cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (strstr(line, "connection limit") != NULL || strstr(line, "per IP") != NULL)
	{
		rx_count(RX_REFUSED);
		return;
	}
	if ((nl = strchr(line, '\n')) != NULL)
		*nl = '\0';
	rx_log("LOG", "http: %s", line);
}

/* Start the webhook daemon on addr (NULL: no listening socket, for the fuzzer). */
struct MHD_Daemon *
rx_http_daemon_start(const struct sockaddr_storage *addr)
{
	unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (addr == NULL)
		flags |= MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
	else if (addr->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
							MHD_OPTION_SOCK_ADDR, addr,
							MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) rx_config.threads,
							MHD_OPTION_CONNECTION_LIMIT, (unsigned int) rx_config.max_connections,
							MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) rx_config.max_per_address,
							MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) rx_config.idle_timeout,
							MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) rx_config.max_header,
							MHD_OPTION_LISTEN_BACKLOG_SIZE, 256u,
							MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
							MHD_OPTION_NOTIFY_CONNECTION, notify_connection, NULL,
							MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
							MHD_OPTION_END);
}

/* The status daemon, on a loopback address only. */
static bool
start_status(void)
{
	struct sockaddr_storage ss;
	unsigned len;

	if (rx_config.status_listen[0] == '\0')
		return true;
	if (!rx_parse_address(rx_config.status_listen, &ss, &len) || !is_loopback(&ss))
		return false; /* (rx_address_ok said why at start) */
	daemon_status = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
										 (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
									 0, NULL, NULL, handle_status, NULL,
									 MHD_OPTION_SOCK_ADDR, &ss,
									 MHD_OPTION_CONNECTION_LIMIT, 16u,
									 MHD_OPTION_CONNECTION_TIMEOUT, 5u,
									 MHD_OPTION_END);
	if (daemon_status == NULL)
		rx_log("FATAL", "could not listen on %s (--status-listen)", rx_config.status_listen);
	return daemon_status != NULL;
}

/* Listen on --listen (and --status-listen), start the sweeper. */
bool
rx_http_start(void)
{
	struct sockaddr_storage ss;
	unsigned len;

	if (!rx_parse_address(rx_config.listen, &ss, &len))
		return false; /* (rx_address_ok said why at start) */
	if (!start_status())
		return false;
	if ((daemon_main = rx_http_daemon_start(&ss)) == NULL)
	{
		rx_log("FATAL", "could not listen on %s (--listen)", rx_config.listen);
		return false;
	}
	if (pthread_create(&sweeper, NULL, sweep, NULL) != 0)
		return false;
	rx_log("LOG", "listening on http://%s%s (threads %ld, per address %ld, in all %ld)",
		   rx_config.listen, rx_config.path, rx_config.threads, rx_config.max_per_address,
		   rx_config.max_connections);
	return true;
}

/* Stop listening; requests in progress finish first. */
void
rx_http_stop(void)
{
	atomic_store(&stopping, true);
	if (daemon_main != NULL)
	{
		MHD_stop_daemon(daemon_main);
		pthread_join(sweeper, NULL);
	}
	if (daemon_status != NULL)
		MHD_stop_daemon(daemon_status);
}

/*
 * webhook_server.c
 *		The webhook receiver's process: libmicrohttpd in external-select mode
 *		(MHD_USE_EPOLL, no thread of its own), driven by this process's
 *		WaitEventSet (latch, postmaster death, MHD's epoll fd, MHD_get_timeout),
 *		so only this one thread ever runs, and it alone calls PostgreSQL.
 *
 * A request: path (404), method (405), secret (401) and Content-Length
 * (413) are judged from the headers; the body is then read (413 past
 * mono_pay.webhook_max_size), checked (400), secret-checked again against
 * its event's product, and stored and applied by mono.ingest_webhook() in a
 * transaction of its own (503 if that fails). Commits are asynchronous; the
 * connection is suspended until one XLogFlush (and synchronous replication,
 * when configured) covers every commit of the loop's turn: 200 only once the
 * event is durable, and many events share one WAL flush.
 */
#include "webhook.h"

#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "lib/ilist.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/syncrep.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/wait_event.h"

/* The longest sleep between two looks at the connections' deadlines. */
#define SWEEP_MS 200
/* Statement (ms) and lock timeouts of one event's transaction (then 503). */
#define INGEST_STATEMENT_TIMEOUT_MS 10000
#define INGEST_LOCK_TIMEOUT "2s"

/* One open connection. */
typedef struct Conn
{
	dlist_node node;
	struct MHD_Connection *mhd;
	TimestampTz deadline; /* the next request must be read by then */
	int requests;		  /* requests answered so far */
	bool in_request;	  /* headers of a request were read */
	bool suspended;		  /* waiting for the WAL flush */
	bool closed_by_us;	  /* its deadline passed */
} Conn;

/* One request being read or answered. */
typedef struct Req
{
	Conn *conn;
	char *body; /* malloc'd, up to cap bytes */
	size_t len;
	size_t cap; /* webhook_max_size when the request began */
	bool too_large;
	int status; /* 0 until decided */
	struct MHD_Response *answer;
} Req;

/* The canned answers (MHD responses are reference counted and reusable). */
typedef enum Answer
{
	ANS_APPLIED,
	ANS_DUPLICATE,
	ANS_IGNORED,
	ANS_401,
	ANS_413,
	ANS_400,
	ANS_405,
	ANS_404,
	ANS_503,
	ANS_N
} Answer;

static const struct
{
	int status;
	ReceiverCount count;
	const char *body;
} answers[ANS_N] = {
	{200, RC_APPLIED, "{\"result\":\"applied\"}\n"},
	{200, RC_DUPLICATE, "{\"result\":\"duplicate\"}\n"},
	{200, RC_IGNORED, "{\"result\":\"ignored\"}\n"},
	{401, RC_UNAUTHORIZED, "{\"error\":\"invalid webhook secret\"}\n"},
	{413, RC_TOO_LARGE, "{\"error\":\"body larger than mono_pay.webhook_max_size\"}\n"},
	{400, RC_NOT_JSON, "{\"error\":\"body is not a JSON webhook event\"}\n"},
	{405, RC_METHOD, "{\"error\":\"method not allowed: POST only\"}\n"},
	{404, RC_NOT_FOUND, "{\"error\":\"not found\"}\n"},
	{503, RC_UNAVAILABLE, "{\"error\":\"the database cannot take the event now; retry\"}\n"},
};

static struct MHD_Response *responses[ANS_N];
static struct MHD_Daemon *daemon_handle = NULL;
static dlist_head conns = DLIST_STATIC_INIT(conns);
static struct MHD_Connection **pending = NULL; /* suspended until the flush */
static int npending = 0;
static XLogRecPtr pending_lsn = InvalidXLogRecPtr;
static char *commit_setting = NULL; /* synchronous_commit a 200 waits for */
static MemoryContext request_cxt = NULL;
static bool secret_unset_warned = false;
static char *tls_cert_pem = NULL;
static char *tls_key_pem = NULL;
static int receiver_number = 0; /* of this process, 0 .. webhook_receivers - 1 */
static uint32 my_open = 0;		/* connections this process holds open */

/* ---- answers ---------------------------------------------------------- */

/* Build the canned answers once. */
static void
make_answers(void)
{
	int i;

	for (i = 0; i < ANS_N; i++)
	{
		responses[i] = MHD_create_response_from_buffer(strlen(answers[i].body),
													   (void *) answers[i].body,
													   MHD_RESPMEM_PERSISTENT);
		if (responses[i] == NULL)
			elog(ERROR, "could not create a libmicrohttpd response");
		MHD_add_response_header(responses[i], "Content-Type", "application/json");
		if (answers[i].status == 405)
			MHD_add_response_header(responses[i], "Allow", "POST");
		if (answers[i].status == 503)
			MHD_add_response_header(responses[i], "Retry-After", "5");
	}
}

/* Send a canned answer now, and count it. */
static enum MHD_Result
answer_now(struct MHD_Connection *connection, Answer a)
{
	mono_receiver_count(answers[a].count);
	return MHD_queue_response(connection, answers[a].status, responses[a]);
}

/* ---- the secret, the one check (webhook_ingest.c decides) ---------------------- */

/*
 * The verdict on the mono-webhook-secret header for an event (NULL while
 * only the headers are known): ANS_N when it matches.
 */
static Answer
secret_verdict(struct MHD_Connection *connection, const char *event)
{
	const char *given = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
													"mono-webhook-secret");
	MonoSecretCheck check = mono_webhook_check_secret(given, event);

	if (check == MONO_SECRET_MATCH)
		return ANS_N;
	if (check == MONO_SECRET_MISMATCH)
		return ANS_401;
	if (!secret_unset_warned)
		ereport(WARNING,
				(errmsg("mono_pay receiver: mono_pay.webhook_secret is not set; webhooks are answered 503"),
				 errhint("A superuser sets it to the webhook secret of Mono's dashboard, in postgresql.conf, and reloads.")));
	secret_unset_warned = true;
	return ANS_503;
}

/* ---- storing an event ------------------------------------------------- */

/*
 * Check the body (text in the database's encoding, then webhook_ingest.c's checks);
 * false, and nothing raised, when it is not a JSON event.
 */
static bool
read_body(Req *req, char **event, char **event_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	if (req->body == NULL || !pg_verifymbstr(req->body, req->len, true))
		return false;
	PG_TRY();
	{
		mono_webhook_read_event(req->body, req->len, event, event_id);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* Log why an event could not be stored (its message names no secret). */
static Answer
ingest_failed(ErrorData *edata)
{
	bool bad_input = ERRCODE_TO_CATEGORY(edata->sqlerrcode) ==
		ERRCODE_DATA_EXCEPTION;

	ereport(bad_input ? LOG : WARNING,
			(errmsg("mono_pay receiver: could not store a webhook (answered %d): %s",
					bad_input ? 400 : 503, edata->message)));
	mono_set_last_error(psprintf("receiver: %s", edata->message));
	return bad_input ? ANS_400 : ANS_503;
}

/*
 * Store and apply the event in a transaction of its own, committed
 * asynchronously; the WAL written so far (its commit, or for a duplicate
 * the commit it found) joins pending_lsn. A background worker has no
 * statement_timeout of its own: the timer is armed here.
 */
static Answer
ingest(const char *event_id, const char *event, const char *body)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile Answer a = ANS_503;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "mono_pay receiver: storing a webhook");
	enable_timeout_after(STATEMENT_TIMEOUT, INGEST_STATEMENT_TIMEOUT_MS);
	PG_TRY();
	{
		char *result = TextDatumGetCString(mono_webhook_ingest(event_id, event, body));

		a = strcmp(result, "applied") == 0	 ? ANS_APPLIED :
			strcmp(result, "duplicate") == 0 ? ANS_DUPLICATE :
											   ANS_IGNORED;
		disable_timeout(STATEMENT_TIMEOUT, false);
		PopActiveSnapshot();
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
		pending_lsn = Max(pending_lsn, GetXLogInsertRecPtr());
	}
	PG_CATCH();
	{
		ErrorData *edata;

		MemoryContextSwitchTo(cxt);
		disable_timeout(STATEMENT_TIMEOUT, false);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		a = ingest_failed(edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return a;
}

/* Judge a fully read request: 413, 400, 401, or store it. */
static Answer
judge_body(struct MHD_Connection *connection, Req *req)
{
	char *event = NULL;
	char *event_id = NULL;
	bool parsed;
	Answer a;

	if (req->too_large)
		return ANS_413;
	parsed = read_body(req, &event, &event_id);
	if ((a = secret_verdict(connection, parsed ? event : NULL)) != ANS_N)
		return a;
	if (!parsed)
		return ANS_400;
	return ingest(event_id, event, req->body);
}

/* ---- the request handler ---------------------------------------------- */

/* The connection's own record (set when it opened). */
static Conn *
conn_of(struct MHD_Connection *connection)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? (Conn *) info->socket_context : NULL;
}

/* Judge a request from its headers: ANS_N to read its body. */
static Answer
judge_headers(struct MHD_Connection *connection, const char *url, const char *method)
{
	const char *length;
	Answer a;

	if (strcmp(url, mono_webhook_path) != 0)
		return ANS_404;
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return ANS_405;
	if ((a = secret_verdict(connection, NULL)) != ANS_N)
		return a;
	length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
										 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (length != NULL && strtoull(length, NULL, 10) > (unsigned long long) mono_webhook_max_size)
		return ANS_413;
	return ANS_N;
}

/* Append a piece of the body, or only note that it is too large. */
static void
take_body(Req *req, const char *data, size_t size)
{
	if (req->too_large || req->len + size > req->cap)
	{
		req->too_large = true;
		return;
	}
	if (req->body == NULL)
		req->body = malloc(req->cap + 1);
	if (req->body == NULL)
	{
		req->too_large = true;
		return;
	}
	memcpy(req->body + req->len, data, size);
	req->len += size;
	req->body[req->len] = '\0';
}

/* Hold the answer until the WAL flush (receiver_flush) covers the commit. */
static enum MHD_Result
hold_answer(struct MHD_Connection *connection, Req *req, Answer a)
{
	req->status = answers[a].status;
	req->answer = responses[a];
	mono_receiver_count(answers[a].count);
	if (req->conn != NULL)
		req->conn->suspended = true;
	pending[npending++] = connection;
	MHD_suspend_connection(connection);
	return MHD_YES;
}

/* One call of the access handler (see on_request), in request_cxt. */
static enum MHD_Result
handle_request(struct MHD_Connection *connection, const char *url, const char *method,
			   const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	Req *req = *con_cls;
	Answer a;

	if (req == NULL)
	{
		Conn *conn = conn_of(connection);

		if (conn != NULL)
			conn->in_request = true;
		if ((a = judge_headers(connection, url, method)) != ANS_N)
			return answer_now(connection, a);
		if ((req = calloc(1, sizeof(Req))) == NULL)
			return MHD_NO;
		req->conn = conn;
		req->cap = (size_t) mono_webhook_max_size; /* a reload may change it */
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size > 0)
	{
		take_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->answer != NULL) /* resumed after the flush */
		return MHD_queue_response(connection, req->status, req->answer);
	a = judge_body(connection, req);
	if (a <= ANS_IGNORED)
		return hold_answer(connection, req, a);
	return answer_now(connection, a);
}

/*
 * libmicrohttpd's access handler: called once the headers are read, then
 * with each piece of the body, then with none (the request is complete),
 * and again after a resume. What a call allocates in PostgreSQL's memory
 * is freed when it returns (the body and the request's state are malloc'd).
 */
static enum MHD_Result
on_request(void *cls pg_attribute_unused(), struct MHD_Connection *connection,
		   const char *url, const char *method,
		   const char *version pg_attribute_unused(),
		   const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	MemoryContext old = MemoryContextSwitchTo(request_cxt);
	enum MHD_Result r = handle_request(connection, url, method, upload_data,
									   upload_data_size, con_cls);

	MemoryContextSwitchTo(old);
	MemoryContextReset(request_cxt);
	return r;
}

/* A request ended (answered, or its connection failed): free it. */
static void
on_completed(void *cls pg_attribute_unused(), struct MHD_Connection *connection,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	Req *req = *con_cls;
	Conn *conn = conn_of(connection);

	if (conn != NULL)
	{
		if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED && !conn->closed_by_us)
			mono_receiver_count(RC_TIMEOUT);
		conn->in_request = false;
		conn->requests++;
		conn->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													 mono_webhook_idle_timeout * 1000 +
														 mono_webhook_read_timeout);
	}
	if (req != NULL)
	{
		free(req->body);
		free(req);
	}
	*con_cls = NULL;
}

/* ---- connections ------------------------------------------------------ */

/* Refuse a connection past mono_pay.webhook_max_connections. */
static enum MHD_Result
on_accept(void *cls pg_attribute_unused(), const struct sockaddr *addr pg_attribute_unused(),
		  socklen_t addrlen pg_attribute_unused())
{
	if (pg_atomic_read_u32(&mono_receiver_shared->open) >= (uint32) mono_webhook_max_connections)
	{
		mono_receiver_count(RC_CONNECTION_LIMIT);
		return MHD_NO;
	}
	return MHD_YES;
}

/* Track a connection from its opening to its close. */
static void
on_connection(void *cls pg_attribute_unused(), struct MHD_Connection *connection,
			  void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	Conn *conn = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
	{
		if ((conn = calloc(1, sizeof(Conn))) == NULL)
			return;
		conn->mhd = connection;
		conn->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													 mono_webhook_read_timeout);
		dlist_push_tail(&conns, &conn->node);
		*socket_context = conn;
		pg_atomic_fetch_add_u32(&mono_receiver_shared->open, 1);
		my_open++;
		mono_receiver_count(RC_CONNECTIONS);
	}
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && conn != NULL)
	{
		dlist_delete(&conn->node);
		free(conn);
		*socket_context = NULL;
		pg_atomic_fetch_sub_u32(&mono_receiver_shared->open, 1);
		my_open--;
	}
}

/*
 * Close the connections whose request was not read in time (slow or
 * half-open clients): shut their socket down, libmicrohttpd then closes it.
 * A kept-alive connection with no request under way is only closed.
 */
static void
sweep_connections(void)
{
	TimestampTz now = GetCurrentTimestamp();
	dlist_iter it;

	dlist_foreach(it, &conns)
	{
		Conn *conn = dlist_container(Conn, node, it.cur);
		const union MHD_ConnectionInfo *info;

		if (conn->suspended || conn->closed_by_us || now < conn->deadline)
			continue;
		info = MHD_get_connection_info(conn->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (info == NULL)
			continue;
		conn->closed_by_us = true;
		if (conn->in_request || conn->requests == 0)
			mono_receiver_count(RC_TIMEOUT);
		shutdown(info->connect_fd, SHUT_RDWR);
	}
}

/* libmicrohttpd's own messages, at DEBUG1; a refused header is counted. */
static void on_log(void *cls, const char *fmt, va_list ap) pg_attribute_printf(2, 0);

static void
on_log(void *cls pg_attribute_unused(), const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "431") != NULL || strstr(msg, "too large") != NULL ||
		strstr(msg, "too big") != NULL)
		mono_receiver_count(RC_HEADER_TOO_LARGE);
	ereport(DEBUG1, (errmsg_internal("mono_pay receiver: libmicrohttpd: %s", msg)));
}

/* ---- the WAL flush ------------------------------------------------------ */

/*
 * Make every commit of this turn durable (and replicated, if the cluster
 * waits for synchronous standbys), then let the held answers go. True when
 * it resumed connections (libmicrohttpd must run again to answer them).
 */
static bool
receiver_flush(void)
{
	int i;

	if (npending == 0)
		return false;
	if (!XLogRecPtrIsInvalid(pending_lsn))
	{
		XLogFlush(pending_lsn);
		if (SyncRepStandbyNames != NULL && SyncRepStandbyNames[0] != '\0' &&
			strcmp(commit_setting, "local") != 0)
		{
			/* the assign hook sets the mode SyncRepWaitForLSN waits in */
			SetConfigOption("synchronous_commit", commit_setting, PGC_SUSET, PGC_S_OVERRIDE);
			SyncRepWaitForLSN(pending_lsn, true);
			SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
		}
	}
	for (i = 0; i < npending; i++)
	{
		Conn *conn = NULL;
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(pending[i], MHD_CONNECTION_INFO_SOCKET_CONTEXT);

		if (info != NULL && (conn = info->socket_context) != NULL)
			conn->suspended = false;
		MHD_resume_connection(pending[i]);
	}
	npending = 0;
	pending_lsn = InvalidXLogRecPtr;
	pgstat_report_stat(false);
	return true;
}

/* ---- starting the server ---------------------------------------------- */

/* Read a PEM file into memory (malloc'd); the key must not be readable by others. */
static char *
read_pem(const char *path, bool is_key)
{
	struct stat st;
	FILE *f;
	char *buf;

	if (stat(path, &st) != 0 || (f = fopen(path, "r")) == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("mono_pay receiver: could not read \"%s\": %m", path)));
	if (is_key && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("mono_pay receiver: private key file \"%s\" has group or world access", path),
				 errdetail("The file must be readable by the database's operating system user only."),
				 errhint("Run chmod 0600 on the file.")));
	buf = malloc(st.st_size + 1);
	if (buf == NULL || fread(buf, 1, st.st_size, f) != (size_t) st.st_size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("mono_pay receiver: could not read \"%s\"", path)));
	buf[st.st_size] = '\0';
	fclose(f);
	return buf;
}

/* Resolve mono_pay.webhook_listen ("host:port", "[v6]:port") into an address. */
static struct addrinfo *
listen_address(void)
{
	char *spec = pstrdup(mono_webhook_listen);
	char *colon = strrchr(spec, ':');
	char *host = spec;
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	int rc;

	*colon = '\0';
	if (host[0] == '[')
	{
		host++;
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] && strcmp(host, "*") != 0 ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0 || res == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("mono_pay receiver: cannot resolve mono_pay.webhook_listen \"%s\": %s",
						mono_webhook_listen, gai_strerror(rc))));
	return res;
}

/*
 * The options given only when wanted: SO_REUSEPORT when several receivers
 * share the port (passing the option at all, even as 0, turns off
 * libmicrohttpd's default SO_REUSEADDR: a restart could not bind while old
 * connections linger), and the TLS certificate and key.
 */
static struct MHD_OptionItem *
optional_options(bool tls)
{
	static struct MHD_OptionItem opts[4];
	int n = 0;

	if (mono_webhook_receivers > 1)
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
	if (tls)
	{
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key_pem};
	}
	opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	return opts;
}

/* Start libmicrohttpd on mono_pay.webhook_listen, with TLS when configured. */
static void
start_server(void)
{
	struct addrinfo *ai = listen_address();
	bool tls = mono_webhook_tls_cert[0] != '\0' || mono_webhook_tls_key[0] != '\0';
	unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
		(ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0) | (tls ? MHD_USE_TLS : 0);

	if (tls)
	{
		if (mono_webhook_tls_cert[0] == '\0' || mono_webhook_tls_key[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("mono_pay receiver: TLS needs both mono_pay.webhook_tls_cert and mono_pay.webhook_tls_key")));
		tls_cert_pem = read_pem(mono_webhook_tls_cert, false);
		tls_key_pem = read_pem(mono_webhook_tls_key, true);
	}
	daemon_handle = MHD_start_daemon(flags, 0, on_accept, NULL, on_request, NULL,
									 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
									 MHD_OPTION_CONNECTION_LIMIT, (unsigned int) mono_webhook_max_connections + 16,
									 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) mono_webhook_idle_timeout,
									 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) mono_webhook_max_header_size,
									 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
									 MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
									 MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
									 MHD_OPTION_ARRAY, optional_options(tls),
									 MHD_OPTION_END);
	freeaddrinfo(ai);
	if (daemon_handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("mono_pay receiver: could not listen on \"%s\"", mono_webhook_listen),
				 errhint("Check that the address is free and local, and the TLS files are PEM (the server log's previous lines may say more).")));
	SpinLockAcquire(&mono_receiver_shared->mutex);
	mono_receiver_shared->tls = tls;
	SpinLockRelease(&mono_receiver_shared->mutex);
}

/* ---- the process ------------------------------------------------------ */

/* Forget the process's pid and its connections in shared memory when it exits. */
static void
unpublish(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	SpinLockAcquire(&mono_receiver_shared->mutex);
	mono_receiver_shared->pids[receiver_number] = 0;
	SpinLockRelease(&mono_receiver_shared->mutex);
	pg_atomic_fetch_sub_u32(&mono_receiver_shared->open, my_open);
	my_open = 0;
}

/*
 * Settings of the process: fixed search_path, short waits, asynchronous
 * commits. A 200 waits for what the configured synchronous_commit asks,
 * and at least for the local flush (as the worker's claims do).
 */
static void
set_session(void)
{
	const char *configured = GetConfigOption("synchronous_commit", false, false);

	commit_setting = MemoryContextStrdup(TopMemoryContext,
										 strcmp(configured, "off") == 0 ? "on" : configured);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", INGEST_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
	pgstat_report_appname("mono_pay receiver");
}

/*
 * Sleep on the latch, postmaster death and MHD's epoll fd, at most MHD's
 * timeout; only look, without sleeping, while answers are held.
 */
static void
wait_for_work(WaitEventSet *set)
{
	WaitEvent ev;
#if MHD_VERSION >= 0x00097701
	int64_t mhd_ms = MHD_get_timeout_i(daemon_handle);
#else
	MHD_UNSIGNED_LONG_LONG t;
	int64 mhd_ms = MHD_get_timeout(daemon_handle, &t) == MHD_YES ? (int64) t : -1;
#endif
	long timeout = (mhd_ms >= 0 && mhd_ms < SWEEP_MS) ? (long) mhd_ms : SWEEP_MS;

	if (npending > 0)
		timeout = 0;

	if (WaitEventSetWait(set, timeout, &ev, 1, PG_WAIT_EXTENSION) > 0 &&
		(ev.events & WL_LATCH_SET))
		ResetLatch(MyLatch);
}

/* The loop: wait, reload when asked, run MHD, flush, close the late. */
static void
serve(void)
{
	WaitEventSet *set = mono_create_wait_event_set(3);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_EPOLL_FD);

	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(set, WL_SOCKET_READABLE, info->epoll_fd, NULL, NULL);
	for (;;)
	{
		wait_for_work(set);
		/* a cancel (pg_cancel_backend, a late statement timer) only ever stops an event */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			secret_unset_warned = false;
		}
		MHD_run(daemon_handle);

		/*
		 * A resumed connection is not woken by libmicrohttpd: answer now.
		 * That run may store new events: they are held until the next turn,
		 * which then does not sleep (and gathers what arrived meanwhile).
		 */
		if (receiver_flush())
			MHD_run(daemon_handle);
		sweep_connections();
	}
}

/* Entry point of "mono_pay receiver". */
void
mono_receiver_main(Datum main_arg)
{
	receiver_number = DatumGetInt32(main_arg);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(mono_database_name, NULL, 0);
	set_session();
	request_cxt = AllocSetContextCreate(TopMemoryContext, "mono_pay receiver request",
										ALLOCSET_DEFAULT_SIZES);
	pending = MemoryContextAlloc(TopMemoryContext,
								 sizeof(*pending) * (mono_webhook_max_connections + 16));
	MemoryContextSwitchTo(TopMemoryContext);
	make_answers();
	start_server();
	SpinLockAcquire(&mono_receiver_shared->mutex);
	mono_receiver_shared->pids[receiver_number] = MyProcPid;
	SpinLockRelease(&mono_receiver_shared->mutex);
	on_shmem_exit(unpublish, (Datum) 0);
	ereport(LOG,
			(errmsg("mono_pay receiver %d of %d listening on %s%s in database \"%s\"",
					receiver_number + 1, mono_webhook_receivers, mono_webhook_listen,
					mono_receiver_shared->tls ? " (TLS)" : "", mono_database_name)));
	serve();
}

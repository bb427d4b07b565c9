/*
 * rx_db.c
 *		The database side of mono_pay_receiver: each HTTP thread owns one
 *		libpq connection and calls SELECT mono_handle_webhook($1, $2) in
 *		autocommit, so a result means the event's transaction committed
 *		(200); an error is mapped by its SQLSTATE (28000: 401). While the
 *		database is down or read-only every request is answered 503 at once,
 *		reconnects wait with an exponential backoff, and one line is logged
 *		when an outage starts and one when it ends.
 */
#include "rx.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define STATEMENT "mono_pay_receiver_ingest"
#define FIRST_BACKOFF_MS 100

/* This thread's connection (NULL: none yet, or lost), closed at the thread's end. */
static __thread PGconn *conn;
static pthread_key_t conn_key;
static pthread_once_t conn_key_once = PTHREAD_ONCE_INIT;

/* The outage state all threads share. */
static pthread_mutex_t outage_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool down;			   /* an outage is going on */
static long long down_since;   /* ms, when it started */
static long long next_attempt; /* ms, the next reconnect may start then */
static long backoff = FIRST_BACKOFF_MS;

/* The answers, by kind. */
static const RxVerdict verdict_applied = {200, RX_APPLIED, "{\"result\":\"applied\"}\n"};
static const RxVerdict verdict_duplicate = {200, RX_DUPLICATE, "{\"result\":\"duplicate\"}\n"};
static const RxVerdict verdict_ignored = {200, RX_IGNORED, "{\"result\":\"ignored\"}\n"};
static const RxVerdict verdict_unauthorized = {401, RX_UNAUTHORIZED, "{\"error\":\"invalid webhook secret\"}\n"};
static const RxVerdict verdict_not_json = {400, RX_NOT_JSON, "{\"error\":\"body is not a JSON webhook event\"}\n"};
static const RxVerdict verdict_too_large = {413, RX_TOO_LARGE, "{\"error\":\"body too large\"}\n"};
static const RxVerdict verdict_unavailable = {503, RX_UNAVAILABLE, "{\"error\":\"the database cannot take the event now; retry\"}\n"};
static const RxVerdict verdict_failed = {500, RX_FAILED, "{\"error\":\"the database could not store the event; retry\"}\n"};

/* Milliseconds of the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An outage starts (logged once) or goes on; the next attempt waits longer. */
static void
mark_down(const char *why)
{
	long long now = now_ms();
	char reason[256];
	char *nl;

	snprintf(reason, sizeof(reason), "%s", why && why[0] ? why : "unknown error");
	if ((nl = strchr(reason, '\n')) != NULL)
		*nl = '\0';
	pthread_mutex_lock(&outage_mutex);
	if (!down)
	{
		down = true;
		down_since = now;
		backoff = FIRST_BACKOFF_MS;
		rx_log("LOG", "database unavailable, answering 503 until it is back: %s", reason);
	}
	else if (next_attempt <= now)
		backoff = backoff * 2 > rx_config.backoff_max ? rx_config.backoff_max : backoff * 2;
	if (next_attempt <= now)
		next_attempt = now + backoff;
	pthread_mutex_unlock(&outage_mutex);
}

/* A connection worked: an outage, if any, ends (logged once). */
static void
mark_up(void)
{
	pthread_mutex_lock(&outage_mutex);
	if (down)
	{
		down = false;
		rx_log("LOG", "database available again after %.1f s", (now_ms() - down_since) / 1000.0);
	}
	next_attempt = 0;
	backoff = FIRST_BACKOFF_MS;
	pthread_mutex_unlock(&outage_mutex);
}

/* May this thread try to connect now (no outage, or its backoff is over)? */
static bool
may_connect(void)
{
	bool ok;

	pthread_mutex_lock(&outage_mutex);
	ok = !down || next_attempt <= now_ms();
	pthread_mutex_unlock(&outage_mutex);
	return ok;
}

/* Is the database reachable, as last seen? */
bool
rx_db_up(void)
{
	bool up;

	pthread_mutex_lock(&outage_mutex);
	up = !down;
	pthread_mutex_unlock(&outage_mutex);
	return up;
}

/* A thread ends: its connection ends cleanly (the server logs no lost client). */
static void
finish_at_exit(void *c)
{
	PQfinish((PGconn *) c);
}

/* Make the key whose destructor closes a thread's connection. */
static void
make_conn_key(void)
{
	pthread_key_create(&conn_key, finish_at_exit);
}

/* Close this thread's connection. */
void
rx_db_close(void)
{
	pthread_once(&conn_key_once, make_conn_key);
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
	pthread_setspecific(conn_key, NULL);
}

/* Connect and prepare the statement; false (connection closed) on failure. */
static bool
connect_db(void)
{
	/* defaults the connection string may override: an event that waits on a lock or takes long is 503 */
	const char *keys[] = {"connect_timeout", "fallback_application_name", "options", "dbname", NULL};
	const char *values[] = {"5", "mono_pay_receiver", "-c lock_timeout=2s -c statement_timeout=10s",
							rx_config.conninfo, NULL};
	PGresult *res;
	bool ok;

	pthread_once(&conn_key_once, make_conn_key);
	conn = PQconnectdbParams(keys, values, 1);
	pthread_setspecific(conn_key, conn);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		mark_down(PQerrorMessage(conn));
		rx_db_close();
		return false;
	}
	res = PQprepare(conn, STATEMENT, "SELECT mono_handle_webhook($1::text, $2::text)", 2, NULL);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		mark_down(PQresultErrorMessage(res));
	PQclear(res);
	if (!ok)
		rx_db_close();
	return ok;
}

/* Try a connection now (unless in backoff); true when the database took it. */
bool
rx_db_probe(void)
{
	if (!may_connect() || !connect_db())
		return false;
	rx_db_close();
	mark_up();
	return true;
}

/* The answer to an error of the call, by its SQLSTATE. */
static const RxVerdict *
verdict_of_error(const char *state, const char *message)
{
	if (strcmp(state, "28000") == 0)
		return &verdict_unauthorized;
	if (strncmp(state, "22", 2) == 0)
		return &verdict_not_json;
	if (strcmp(state, "54000") == 0)
		return &verdict_too_large;
	/* a lock or the statement timed out: this event only (Mono retries it) */
	if (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
		return &verdict_unavailable;
	/* read-only (a standby), shutting down, the extension or role not ready */
	if (strcmp(state, "25006") == 0 || strncmp(state, "57", 2) == 0 ||
		strncmp(state, "08", 2) == 0 || strcmp(state, "55000") == 0 ||
		strcmp(state, "42883") == 0 || strcmp(state, "42501") == 0 ||
		strcmp(state, "26000") == 0 || strcmp(state, "3F000") == 0)
	{
		mark_down(message);
		rx_db_close(); /* the next connection may reach the new primary */
		return &verdict_unavailable;
	}
	rx_log("WARNING", "mono_handle_webhook() failed (SQLSTATE %s): %s", state, message);
	return &verdict_failed;
}

/* Run the call once; NULL when the connection broke (the event may be stored or not). */
static const RxVerdict *
call_once(const char *body, const char *signature)
{
	const char *params[2] = {body, signature};
	PGresult *res = PQexecPrepared(conn, STATEMENT, 2, params, NULL, NULL, 0);
	const RxVerdict *v;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
	{
		const char *outcome = PQgetvalue(res, 0, 0);

		v = strcmp(outcome, "applied") == 0	  ? &verdict_applied :
			strcmp(outcome, "duplicate") == 0 ? &verdict_duplicate :
												&verdict_ignored;
	}
	else if (PQstatus(conn) == CONNECTION_BAD)
	{
		/* no outage yet: the caller connects again at once, and that says */
		rx_db_close();
		v = NULL;
	}
	else
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		v = verdict_of_error(state ? state : "XX000", PQresultErrorMessage(res));
	}
	PQclear(res);
	return v;
}

/*
 * Hand one body and its signature to the database and say what to answer.
 * A connection found broken is made again at once, and the call repeated
 * (the same event twice is a duplicate: nothing is stored twice); else 503.
 */
void
rx_db_ingest(const char *body, size_t len, const char *signature, RxVerdict *v)
{
	const RxVerdict *r = NULL;
	int attempt;

	if (memchr(body, '\0', len) != NULL)
	{
		*v = verdict_not_json; /* text cannot hold it: not a JSON event */
		return;
	}
	for (attempt = 0; attempt < 2 && r == NULL; attempt++)
	{
		/* a connection that just broke is made again without waiting */
		if (conn == NULL && ((attempt == 0 && !may_connect()) || !connect_db()))
			break;
		r = call_once(body, signature);
		if (r != NULL && r->status < 500)
			mark_up();
	}
	*v = r ? *r : verdict_unavailable;
}

/*
 * outcome.c
 *		What a finished HTTP call means for its row. The rules, in one place:
 *
 *		2xx with a JSON body	accepted: awaiting_authorization (links, charges)
 *								or unlinked (unlinks)
 *		409, or 400 naming a	an earlier send of this reference (a charge's, or
 *								the first charge inside a link) reached Mono
 *		duplicate reference		(a retry, or libcurl's own re-send on a dead
 *								keep-alive connection): awaiting_authorization.
 *								Never failed: the application might then charge
 *								again under a new reference.
 *		429, 5xx				retry after backoff (Retry-After honoured)
 *		other 4xx				failed, with Mono's message, trace_id and fields
 *		transport error before	retry after backoff
 *		  reaching Mono
 *		transport error after	unknown: settled later by a read (GET), never by
 *		  reaching Mono, or a	  a blind re-send
 *		  2xx that is not JSON
 *
 *		Retries end after mono_pay.max_attempts in failed, with a message
 *		saying so. Settling reads (GET) never give up: they back off.
 *
 * Each outcome is a JSON object appended to the array of its table; queue.c
 * applies the arrays in one statement each.
 */
#include "worker.h"

#include "common/pg_prng.h"

/* Exponential backoff with jitter: base * 2^(attempts-1), capped, half random. */
int64
mono_backoff_ms(int attempts)
{
	int64		delay = mono_retry_base;
	int			i;

	for (i = 1; i < attempts && delay < mono_retry_max; i++)
		delay *= 2;
	delay = Min(delay, (int64) mono_retry_max);
	return delay / 2 + (int64) (pg_prng_double(&pg_global_prng_state) * (delay / 2 + 1));
}

/* Start an outcome object for the job's row, expecting the row's current status. */
static json_t *
new_outcome(MonoJob *job, json_t *array, const char *expect, const char *status)
{
	json_t	   *o = mono_json_object();

	json_object_set_new(o, "id", json_integer(job->id));
	json_object_set_new(o, "expect", json_string(expect));
	json_object_set_new(o, "status", json_string(status));
	json_array_append_new(array, o);
	return o;
}

/* Set a string member unless the value is NULL. */
static void
set_str(json_t *o, const char *key, const char *value)
{
	if (value != NULL)
		json_object_set_new(o, key, json_string(value));
}

/* The array (table) a job's outcome belongs to. */
static json_t *
array_for(MonoJob *job, MonoOutcomes *out)
{
	return (job->kind == JOB_CHARGE || job->kind == JOB_SETTLE_CHARGE) ?
		out->charges : out->links;
}

/* A send that will be tried again later, or has run out of attempts. */
static void
retry_or_give_up(MonoJob *job, json_t *array, const char *error, int64 min_delay_ms)
{
	json_t	   *o;

	mono_set_last_error(error);
	if (job->attempts >= mono_max_attempts)
	{
		o = new_outcome(job, array, "sending", "failed");
		json_object_set_new(o, "last_error",
							json_sprintf("gave up after %d attempts: %s",
										 job->attempts, error));
		json_object_set_new(o, "erase_bvn", json_true());
		return;
	}
	o = new_outcome(job, array, "sending", "queued");
	set_str(o, "last_error", error);
	json_object_set_new(o, "retry_ms",
						json_integer(Max(mono_backoff_ms(job->attempts), min_delay_ms)));
}

/* The request may have reached Mono but we cannot tell: settle by a read. */
static void
mark_unknown(MonoJob *job, json_t *array, const char *error)
{
	json_t	   *o = new_outcome(job, array, "sending", "unknown");

	mono_set_last_error(error);
	set_str(o, "last_error", error);
	json_object_set_new(o, "retry_ms", json_integer(mono_backoff_ms(1)));
}

/* Does Mono's error say the reference was used already? */
static bool
is_duplicate_reference(long status, json_t *root)
{
	json_t	   *errors = json_object_get(root, "errors");
	const char *message = mono_json_str(root, "message");
	size_t		i;
	json_t	   *e;

	if (status == 409)
		return true;
	if (status != 400)
		return false;
	if (message && (strcasestr(message, "duplicate") || strcasestr(message, "already")))
		return true;
	json_array_foreach(errors, i, e)
	{
		const char *m = mono_json_str(e, "message");
		const char *f = mono_json_str(e, "field");

		if (f && strstr(f, "reference") && m &&
			(strcasestr(m, "duplicate") || strcasestr(m, "already")))
			return true;
	}
	return false;
}

/* A final 4xx: failed, keeping Mono's message, trace_id and field errors. */
static void
mark_failed(MonoJob *job, json_t *array, long status, json_t *root)
{
	json_t	   *o = new_outcome(job, array, "sending", "failed");
	char	   *trace_id = NULL;
	char	   *fields = NULL;
	char	   *message = mono_error_summary(root, &trace_id, &fields);

	mono_set_last_error(psprintf("HTTP %ld: %s", status, message));
	json_object_set_new(o, "http_status", json_integer(status));
	set_str(o, "trace_id", trace_id);
	json_object_set_new(o, "last_error",
						fields ? json_sprintf("%s (%s)", message, fields) :
						json_string(message));
	if (json_is_array(json_object_get(root, "errors")))
		json_object_set(o, "error_details", json_object_get(root, "errors"));
	json_object_set_new(o, "erase_bvn", json_true());
}

/* The answer to a link, unlink or charge POST. */
static void
send_outcome(MonoJob *job, json_t *array, long status, json_t *root)
{
	json_t	   *o;

	if (status >= 200 && status < 300)
	{
		o = new_outcome(job, array, "sending",
						job->kind == JOB_UNLINK ? "unlinked" : "awaiting_authorization");
		json_object_set_new(o, "http_status", json_integer(status));
		set_str(o, "redirect_url", mono_json_str(mono_json_data(root), "redirect_url"));
		json_object_set_new(o, "erase_bvn", json_true());
	}
	else if (job->kind != JOB_UNLINK && is_duplicate_reference(status, root))
	{
		o = new_outcome(job, array, "sending", "awaiting_authorization");
		json_object_set_new(o, "http_status", json_integer(status));
		json_object_set_new(o, "last_error", json_string(
			"Mono already had this reference from an earlier attempt; its redirect_url was not received"));
		json_object_set_new(o, "erase_bvn", json_true());
	}
	else if (status == 429 || status >= 500)
	{
		int64		retry_after = 0;
		char	   *message = psprintf("HTTP %ld: %s", status,
									   mono_json_str(root, "message") ?
									   mono_json_str(root, "message") : "no message");

		curl_easy_getinfo(job->http.easy, CURLINFO_RETRY_AFTER, &retry_after);
		retry_or_give_up(job, array, message, retry_after * 1000);
	}
	else
		mark_failed(job, array, status, root);
}

/*
 * Mono's status of a fund request as mono.fund_requests can hold it (its
 * domain); anything else Mono may say means at least "created".
 */
static const char *
charge_status(const char *status)
{
	static const char *const known[] = {"created", "approved", "processing", "active",
	"completed", "expired", "cancelled"};
	int			i;

	for (i = 0; status != NULL && i < (int) lengthof(known); i++)
		if (strcmp(status, known[i]) == 0)
			return known[i];
	return "created";
}

/* Find our row in a list read from Mono: by reference, or the live link. */
static json_t *
find_in_list(MonoJob *job, json_t *list)
{
	size_t		i;
	json_t	   *item;

	json_array_foreach(list, i, item)
	{
		const char *ref = mono_json_str(item, "reference");
		const char *status = mono_json_str(item, "status");

		if (job->kind == JOB_SETTLE_CHARGE && ref && strcmp(ref, job->reference) == 0)
			return item;
		if (job->kind == JOB_SETTLE_LINK && status && strcmp(status, "linked") == 0)
			return item;
	}
	return NULL;
}

/* The answer to a settling read: Mono's state, or re-queue when Mono has none. */
static void
settle_outcome(MonoJob *job, json_t *array, long status, json_t *root)
{
	json_t	   *data = mono_json_data(root);
	json_t	   *found = NULL;
	json_t	   *o;

	if (job->kind == JOB_SETTLE_UNLINK)
	{
		const char *s = status == 200 ? mono_json_str(data, "status") : NULL;

		o = new_outcome(job, array, "unknown",
						(status == 404 || (s && strcmp(s, "unlinked") == 0)) ?
						"unlinked" : "queued");
		json_object_set_new(o, "retry_ms", json_integer(0));
		return;
	}
	if (json_is_array(data))
		found = find_in_list(job, data);
	if (found == NULL)
	{
		/* Mono has no such request: sending again (same reference) is safe */
		o = new_outcome(job, array, "unknown", "queued");
		json_object_set_new(o, "retry_ms", json_integer(0));
		json_object_set_new(o, "last_error", json_string(
			"Mono had no record after an ambiguous attempt; sending again"));
		return;
	}
	o = new_outcome(job, array, "unknown",
					job->kind == JOB_SETTLE_LINK ? "linked" :
					charge_status(mono_json_str(found, "status")));
	set_str(o, "mono_id", mono_json_str(found, "id"));
	json_object_set_new(o, "erase_bvn", json_true());
}

/* A settling read that failed: keep the row unknown and read again later. */
static void
settle_later(MonoJob *job, json_t *array, const char *error)
{
	json_t	   *o = new_outcome(job, array, "unknown", "unknown");

	set_str(o, "last_error", error);
}

/* Append a synthetic owo event (what a webhook would have said). */
static void
add_event(json_t *events, const char *event, json_t *data)
{
	json_t	   *e = mono_json_object();

	json_object_set_new(e, "event", json_string(event));
	json_object_set(e, "data", data);
	json_array_append_new(events, e);
}

/*
 * The event a linked beneficiary read by its id stands for: only an explicit
 * "unlinked" (the customer ended it in WhatsApp) changes anything.
 */
static void
link_events(json_t *events, json_t *obj)
{
	const char *status = mono_json_str(obj, "status");

	if (status != NULL && strcmp(status, "unlinked") == 0 && mono_json_str(obj, "id") != NULL)
		add_event(events, "owo.beneficiary.unlinked", obj);
}

/* The events a fund request object read from Mono stands for. */
static void
fund_request_events(json_t *events, json_t *obj)
{
	const char *status = mono_json_str(obj, "status");

	if (mono_json_str(obj, "reference") != NULL)
		add_event(events, "owo.fundrequest.created", obj);
	if (status != NULL)
	{
		char	   *event = psprintf("owo.fundrequest.%s", status);

		add_event(events, event, obj);
	}
}

/*
 * Can mono.apply_payment() store this payment read from Mono without an
 * error (mono_id NOT NULL, amount bigint >= 0, processed_at timestamptz)?
 * Normalises amount to a JSON integer and processed_at to ISO 8601 with a
 * zone (UTC when Mono gives none), as connect_parse.c does for Connect.
 */
static bool
storable_payment(json_t *item)
{
	const char *id = mono_json_str(item, "id");
	json_t	   *at = json_object_get(item, "processed_at");
	json_int_t	amount;
	char	   *iso;

	if (id == NULL || id[0] == '\0' ||
		!mono_json_int(json_object_get(item, "amount"), &amount) || amount < 0)
		return false;
	if (at != NULL && !json_is_null(at))
	{
		iso = json_is_string(at) ? mono_iso_timestamp(json_string_value(at)) : NULL;
		if (iso == NULL)
			return false;
		json_object_set_new(item, "processed_at", json_string(iso));
	}
	json_object_set_new(item, "amount", json_integer(amount));
	return true;
}

/*
 * A polling read: turn what Mono shows into the events its webhooks would
 * have carried, applied by the same state machine. Failed reads are left
 * for the next poll (the claim already moved next_poll_at on).
 */
static void
poll_outcome(MonoJob *job, json_t *events)
{
	long		status = 0;
	json_t	   *root;
	json_t	   *data;
	size_t		i;
	json_t	   *item;

	if (job->rc != CURLE_OK)
		return;
	curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
	root = status == 200 ? mono_json_try_parse(job->http.resp.data, job->http.resp.len) : NULL;
	if (root == NULL)
		return;
	data = mono_json_data(root);
	if (job->kind == JOB_POLL_CHARGE && json_is_object(data))
		fund_request_events(events, data);
	if (job->kind == JOB_POLL_LINK && json_is_object(data))
		link_events(events, data);
	json_array_foreach(json_is_array(data) ? data : NULL, i, item)
	{
		const char *ref = mono_json_str(item, "reference");
		const char *st = mono_json_str(item, "status");

		if (job->kind == JOB_POLL_CHARGE && ref && strcmp(ref, job->reference) == 0)
			fund_request_events(events, item);
		else if (job->kind == JOB_POLL_PAYMENTS && st && storable_payment(item))
			add_event(events, psprintf("owo.payment.%s", st), item);
		else if (job->kind == JOB_POLL_LINK && st && strcmp(st, "linked") == 0)
			add_event(events, "owo.beneficiary.linked", item);
	}
	json_decref(root);
}

/* A mono.http_log row for the call: method, path, status, duration, error. */
static void
log_call(MonoJob *job, json_t *log)
{
	json_t	   *row = mono_json_object();
	long		status = 0;

	curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
	json_object_set_new(row, "at", json_string(timestamptz_to_str(job->started)));
	json_object_set_new(row, "method", json_string(job->method));
	json_object_set_new(row, "path", json_string(job->path));
	if (status > 0)
		json_object_set_new(row, "http_status", json_integer(status));
	json_object_set_new(row, "duration_ms",
						json_real((GetCurrentTimestamp() - job->started) / 1000.0));
	if (job->rc != CURLE_OK)
		json_object_set_new(row, "error", json_string(curl_easy_strerror(job->rc)));
	json_array_append_new(log, row);
}

/*
 * Append the outcome of a finished job to the array of its table.
 * Runs outside any transaction: must not touch the database.
 */
void
mono_outcome(MonoJob *job, MonoOutcomes *out)
{
	json_t	   *array = array_for(job, out);
	bool		settle = job->kind >= JOB_SETTLE_CHARGE;
	long		status = 0;
	json_t	   *root;

	if (mono_http_log)
		log_call(job, out->log);

	if (job->kind == JOB_CONNECT)
	{
		mono_connect_outcome(job, out);
		return;
	}
	if (job->kind >= JOB_POLL_CHARGE)
	{
		poll_outcome(job, out->events);
		return;
	}

	if (job->rc != CURLE_OK)
	{
		const char *phase = mono_http_phase(job->http.easy, job->rc, job->http.resp.overflow);
		char	   *error = psprintf("request failed while %s: %s", phase,
									 job->http.errbuf[0] ? job->http.errbuf :
									 curl_easy_strerror(job->rc));

		if (settle)
			settle_later(job, array, error);
		else if (mono_http_reached_server(job->http.easy, job->rc))
			mark_unknown(job, array, error);
		else
			retry_or_give_up(job, array, error, 0);
		return;
	}
	curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
	root = mono_json_try_parse(job->http.resp.data, job->http.resp.len);
	if (root == NULL && (status < 400 || status == 409))
	{
		char	   *error = psprintf("HTTP %ld with a body that is not JSON", status);

		if (settle)
			settle_later(job, array, error);
		else
			mark_unknown(job, array, error);
		return;
	}
	if (root == NULL)
		root = mono_json_object();
	if (settle && status != 200 && !(status == 404 && job->kind == JOB_SETTLE_UNLINK))
		settle_later(job, array, psprintf("HTTP %ld while settling", status));
	else if (settle)
		settle_outcome(job, array, status, root);
	else
		send_outcome(job, array, status, root);
	json_decref(root);
}

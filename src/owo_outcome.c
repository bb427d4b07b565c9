/*
 * owo_outcome.c
 *		What a finished Direct Charge call says, as a verdict for SQL: the
 *		status it makes is decided by mono.charge_verdict() and
 *		mono.link_verdict() (sql/parts/23_owo_outcomes.code.sql; the verdicts
 *		are the enum mono.verdict, so SQL refuses one it does not know), never
 *		here. The verdicts:
 *
 *		2xx with a JSON body	accepted
 *		409, or 400 naming		reference_named: perhaps an earlier send of this
 *		the reference			reference (a charge's, or the first charge
 *								inside a link) reached Mono (a retry, or
 *								libcurl's own re-send on a dead keep-alive
 *								connection). Never refused on the wording: the
 *								application might then charge again under a
 *								new reference.
 *		429, 5xx				retry, after backoff (Retry-After honoured)
 *		401, 403				key_refused: about the key, not the request; the
 *								row goes back to the queue, the attempt does not
 *								count, and Direct Charge calls wait (common_key.c)
 *		other 4xx of a re-send	refused_resend: an earlier attempt may have
 *		  of a charge			reached Mono; whatever the wording, a read decides
 *		other 4xx				refused, with Mono's message, trace_id and fields
 *		transport error before	retry
 *		  reaching Mono
 *		transport error after	ambiguous: settled later by a read (GET), never
 *		  reaching Mono, or a	  by a blind re-send
 *		  2xx that is not JSON
 *
 *		Settling reads of an unknown row: found (a charge by its reference,
 *		phone, amount and type, with Mono's status; a link by its phone),
 *		foreign (Mono holds our reference for a request that is not ours),
 *		partial (stopped at MONO_LIST_PAGES pages), absent (not in the whole
 *		list), read_failed; an unlink's read: gone or present.
 *
 *		Polling reads become the events Mono's webhooks would have carried,
 *		applied by the same state machine as webhooks.
 *
 * Each outcome is a JSON object appended to the array of its group; the
 * worker records each array with one statement.
 */
#include "owo.h"

/* What each kind of call is, and where its outcome goes. */
const OwoKindInfo owo_kinds[OWO_NUM_KINDS] = {
	[OWO_CHARGE] = {OWO_SEND, GROUP_CHARGES},
	[OWO_LINK] = {OWO_SEND, GROUP_LINKS},
	[OWO_UNLINK] = {OWO_SEND, GROUP_LINKS},
	[OWO_SETTLE_CHARGE] = {OWO_SETTLE, GROUP_CHARGES},
	[OWO_SETTLE_LINK] = {OWO_SETTLE, GROUP_LINKS},
	[OWO_SETTLE_UNLINK] = {OWO_SETTLE, GROUP_LINKS},
	[OWO_POLL_CHARGE] = {OWO_POLL, GROUP_EVENTS},
	[OWO_POLL_PAYMENTS] = {OWO_POLL, GROUP_EVENTS},
	[OWO_POLL_LINK] = {OWO_POLL, GROUP_EVENTS},
};

/* Start an outcome object for the job's row: its verdict. */
static json_t *
new_outcome(MonoJob *job, json_t *array, const char *verdict)
{
	json_t *o = mono_json_object();

	json_object_set_new(o, "id", json_integer(job->id));
	json_object_set_new(o, "verdict", json_string(verdict));
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

/* The array (group) a job's outcome belongs to. */
static json_t *
array_for(MonoJob *job, MonoOutcomes *out)
{
	return out->group[owo_kinds[job->kind].group];
}

/* A send to try again later (SQL gives up after mono_pay.max_attempts). */
static void
retry(MonoJob *job, json_t *array, const char *error, int64 min_delay_ms)
{
	json_t *o = new_outcome(job, array, "retry");

	mono_set_last_error(error);
	set_str(o, "last_error", error);
	json_object_set_new(o, "retry_ms",
						json_integer(Max(mono_backoff_ms(job->attempts), min_delay_ms)));
}

/* The request may have reached Mono but we cannot tell: settle by a read. */
static void
mark_ambiguous(MonoJob *job, json_t *array, const char *error)
{
	json_t *o = new_outcome(job, array, "ambiguous");

	mono_set_last_error(error);
	set_str(o, "last_error", error);
	json_object_set_new(o, "retry_ms", json_integer(mono_backoff_ms(1)));
}

/* Does the text mention the reference (the word, or our reference's value)? */
static bool
mentions_reference(const char *text, const char *reference)
{
	return text != NULL && (strcasestr(text, "reference") != NULL || (reference != NULL && strstr(text, reference) != NULL));
}

/*
 * Does Mono's error name the reference: any 409, or a 400 whose field
 * errors or message name it? Such an answer may mean that Mono holds the
 * reference from an earlier attempt: a read decides, not the wording.
 */
static bool
names_reference(long status, json_t *root, const char *reference)
{
	json_t *errors = json_object_get(root, "errors");
	size_t i;
	json_t *e;

	if (status == 409)
		return true;
	if (status != 400)
		return false;
	if (mentions_reference(mono_json_str(root, "message"), reference))
		return true;
	json_array_foreach(errors, i, e)
	{
		const char *f = mono_json_str(e, "field");

		if ((f && strstr(f, "reference")) ||
			mentions_reference(mono_json_str(e, "message"), reference))
			return true;
	}
	return false;
}

/* A final 4xx: refused, keeping Mono's message, trace_id and field errors. */
static void
mark_refused(MonoJob *job, json_t *array, long status, json_t *root)
{
	json_t *o = new_outcome(job, array, "refused");
	char *trace_id = NULL;
	char *fields = NULL;
	char *message = mono_error_summary(root, &trace_id, &fields);

	mono_set_last_error(psprintf("HTTP %ld: %s", status, message));
	json_object_set_new(o, "http_status", json_integer(status));
	set_str(o, "trace_id", trace_id);
	json_object_set_new(o, "last_error",
						fields ? json_sprintf("%s (%s)", message, fields) :
								 json_string(message));
	if (json_is_array(json_object_get(root, "errors")))
		json_object_set(o, "error_details", json_object_get(root, "errors"));
}

/*
 * A re-send refused (any 4xx): an earlier attempt of the same body may have
 * reached Mono (issue 22: "Duplicate transaction" came as a 400 with no
 * field errors), so no wording decides: a read of Mono's state does.
 */
static void
refused_resend(MonoJob *job, json_t *array, long status, json_t *root)
{
	char *trace_id = NULL;
	char *fields = NULL;
	char *message = mono_error_summary(root, &trace_id, &fields);
	json_t *o = new_outcome(job, array, "refused_resend");

	json_object_set_new(o, "http_status", json_integer(status));
	set_str(o, "trace_id", trace_id);
	json_object_set_new(o, "last_error", json_sprintf("HTTP %ld refusing attempt %d (%s%s%s): an earlier attempt may have reached Mono; settled by reading Mono's state", status, job->attempts, message, fields ? ": " : "", fields ? fields : ""));
	if (json_is_array(json_object_get(root, "errors")))
		json_object_set(o, "error_details", json_object_get(root, "errors"));
	json_object_set_new(o, "retry_ms", json_integer(0));
}

/* The answer to a link, unlink or charge POST. */
static void
send_outcome(MonoJob *job, json_t *array, long status, json_t *root)
{
	json_t *o;

	if (status == 401 || status == 403)
	{
		o = new_outcome(job, array, "key_refused");
		json_object_set_new(o, "last_error",
							json_sprintf("HTTP %ld: Mono refused the payments app's key (%s); not an attempt of this request: it waits in the queue",
										 status, mono_json_str(root, "message") ? mono_json_str(root, "message") : "no message"));
		json_object_set_new(o, "retry_ms", json_integer(0));
	}
	else if (status >= 200 && status < 300)
	{
		o = new_outcome(job, array, "accepted");
		json_object_set_new(o, "http_status", json_integer(status));
		set_str(o, "redirect_url", mono_json_str(mono_json_data(root), "redirect_url"));
	}
	else if (job->kind != OWO_UNLINK && names_reference(status, root, job->reference))
	{
		char *trace_id = NULL;
		char *fields = NULL;
		char *message = mono_error_summary(root, &trace_id, &fields);

		o = new_outcome(job, array, "reference_named");
		json_object_set_new(o, "http_status", json_integer(status));
		set_str(o, "trace_id", trace_id);
		json_object_set_new(o, "last_error", json_sprintf("HTTP %ld naming the reference (%s%s%s): settled by reading Mono's state", status, message, fields ? ": " : "", fields ? fields : ""));
		if (json_is_array(json_object_get(root, "errors")))
			json_object_set(o, "error_details", json_object_get(root, "errors"));
		json_object_set_new(o, "retry_ms", json_integer(0));
	}
	else if (status == 429 || status >= 500)
	{
		int64 retry_after = 0;
		char *message = psprintf("HTTP %ld: %s", status,
								 mono_json_str(root, "message") ?
									 mono_json_str(root, "message") :
									 "no message");

		curl_easy_getinfo(job->http.easy, CURLINFO_RETRY_AFTER, &retry_after);
		retry(job, array, message, retry_after * 1000);
	}
	else if (job->kind == OWO_CHARGE && job->attempts > 1)
		refused_resend(job, array, status, root);
	else
		mark_refused(job, array, status, root);
}

/* Is the string member key of obj equal to value (both present)? */
static bool
str_is(json_t *obj, const char *key, const char *value)
{
	const char *v = mono_json_str(obj, key);

	return v != NULL && value != NULL && strcmp(v, value) == 0;
}

/*
 * Is this fund request object ours in every field that identifies it:
 * reference, phone, amount and (when Mono shows it) type?
 */
static bool
charge_is_ours(MonoJob *job, json_t *item)
{
	json_int_t amount;

	return str_is(item, "reference", job->reference) && str_is(item, "phone", job->phone) &&
		mono_json_int(json_object_get(item, "amount"), &amount) && amount == job->amount &&
		(mono_json_str(item, "type") == NULL ||
		 (job->type != NULL && pg_strcasecmp(mono_json_str(item, "type"), job->type) == 0));
}

/*
 * Find our object in a list read from Mono: a fund request by reference,
 * phone, amount and type; a beneficiary by phone (Mono's items are
 * {id, phone, name}: being listed means linked). *foreign is set when
 * Mono holds our reference for a request that is not ours.
 */
static json_t *
find_in_list(MonoJob *job, json_t *list, bool *foreign)
{
	size_t i;
	json_t *item;

	*foreign = false;
	json_array_foreach(list, i, item)
	{
		if (job->kind == OWO_SETTLE_CHARGE || job->kind == OWO_POLL_CHARGE)
		{
			if (charge_is_ours(job, item))
				return item;
			if (str_is(item, "reference", job->reference))
				*foreign = true;
		}
		else if (str_is(item, "phone", job->phone) && mono_json_str(item, "id") != NULL)
			return item;
	}
	return NULL;
}

/* Is the beneficiary with Mono id mono_id among the items? */
static bool
listed(json_t *list, const char *mono_id)
{
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item) if (str_is(item, "id", mono_id)) return true;
	return false;
}

/* A settling read of an unlink: 404 or "unlinked" ends the link. */
static void
settle_unlink(MonoJob *job, json_t *array, long status, json_t *root)
{
	const char *s = status == 200 ? mono_json_str(mono_json_data(root), "status") : NULL;

	new_outcome(job, array, (status == 404 || (s && pg_strcasecmp(s, "unlinked") == 0)) ? "gone" : "present");
}

/* A settling read that stopped at MONO_LIST_PAGES pages: go on from there soon. */
static void
settle_more(MonoJob *job, json_t *array)
{
	json_t *o = new_outcome(job, array, "partial");

	json_object_set_new(o, "read_offset", json_integer(job->more ? job->offset : 0));
	/* Mono ignored ?phone=: the whole list is read, page by page, not at once */
	if (job->filter_ignored)
		json_object_set_new(o, "retry_ms", json_integer(mono_backoff_ms(4)));
}

/* The answer to a charge's settling read, over the pages read. */
static void
settle_charge(MonoJob *job, json_t *array)
{
	bool foreign;
	json_t *found = find_in_list(job, job->items, &foreign);
	json_t *o;

	if (found != NULL)
	{
		o = new_outcome(job, array, "found");
		set_str(o, "mono_id", mono_json_str(found, "id"));
		set_str(o, "mono_status", mono_json_str(found, "status"));
		json_object_set_new(o, "read_offset", json_integer(0));
	}
	else if (foreign)
		new_outcome(job, array, "foreign");
	else if (job->more || job->first_offset > 0)
		settle_more(job, array);
	else
	{
		/* Mono shows no such request: SQL decides from the attempt that made it unknown */
		o = new_outcome(job, array, "absent");
		json_object_set_new(o, "read_offset", json_integer(0));
	}
}

/*
 * The answer to a link's settling read: listed under its phone means
 * linked; absent from the whole list, the customer may still hold the
 * prompt of the ambiguous attempt: wait for the customer, never send the
 * link again (it carries no reference: a second POST prompts again).
 */
static void
settle_link(MonoJob *job, json_t *array)
{
	bool foreign;
	json_t *found = find_in_list(job, job->items, &foreign);
	json_t *o;

	if (found != NULL)
	{
		o = new_outcome(job, array, "found");
		set_str(o, "mono_id", mono_json_str(found, "id"));
		json_object_set_new(o, "read_offset", json_integer(0));
	}
	else if (job->more || job->first_offset > 0)
		settle_more(job, array);
	else
		new_outcome(job, array, "absent");
}

/* A settling read that failed: keep the row unknown and read again later. */
static void
settle_later(MonoJob *job, json_t *array, const char *error)
{
	json_t *o = new_outcome(job, array, "read_failed");

	set_str(o, "last_error", error);
}

/* Append a synthetic owo event (what a webhook would have said). */
static void
add_event(json_t *events, const char *event, json_t *data)
{
	json_t *e = mono_json_object();

	json_object_set_new(e, "event", json_string(event));
	json_object_set(e, "data", data);
	json_array_append_new(events, e);
}

/* Append the event that keeps where the next read of a row's list starts. */
static void
add_offset_event(json_t *events, MonoJob *job, const char *column)
{
	json_t *d = mono_json_object();
	int next = job->more ? job->offset : 0;

	if (next == job->first_offset)
	{
		json_decref(d);
		return;
	}
	json_object_set_new(d, "table", json_string(job->kind == OWO_POLL_LINK ? "beneficiaries" : "fund_requests"));
	json_object_set_new(d, "column", json_string(column));
	json_object_set_new(d, "id", json_integer(job->id));
	json_object_set_new(d, "offset", json_integer(next));
	json_object_set_new(d, "back_off", json_boolean(job->filter_ignored));
	add_event(events, "mono_pay.read_offset", d);
	json_decref(d);
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
		char *event = psprintf("owo.fundrequest.%s", status);

		add_event(events, event, obj);
	}
}

/*
 * Is a fund request object read by our Mono id someone else's (issue 22)?
 * NULL when ours; else why not: it names another id, reference, phone,
 * amount or type.
 */
static char *
not_ours(MonoJob *job, json_t *obj)
{
	const char *type = mono_json_str(obj, "type");
	const char *reference = mono_json_str(obj, "reference");
	const char *phone = mono_json_str(obj, "phone");
	json_t *amount_v = json_object_get(obj, "amount");
	json_int_t amount = 0;

	if (!str_is(obj, "id", job->mono_id))
		return psprintf("Mono's answer for fund request %s names another id", job->mono_id);
	if ((reference && !str_is(obj, "reference", job->reference)) ||
		(phone && !str_is(obj, "phone", job->phone)) ||
		(type && job->type && pg_strcasecmp(type, job->type) != 0) ||
		(amount_v && !(mono_json_int(amount_v, &amount) && amount == job->amount)))
		return psprintf("Mono's answer for fund request %s (reference %s) names another reference, phone, amount or type: not applied",
						job->mono_id, job->reference ? job->reference : "");
	return NULL;
}

/* Append an event the worker refuses to apply: kept aside as rejected, with why. */
static void
reject_event(json_t *events, const char *event, json_t *data, const char *why)
{
	json_t *e = mono_json_object();

	json_object_set_new(e, "event", json_string(event));
	json_object_set(e, "data", data);
	json_object_set_new(e, "reject", json_string(why));
	json_array_append_new(events, e);
	mono_set_last_error(why);
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
	json_t *at = json_object_get(item, "processed_at");
	json_int_t amount;
	char *iso;

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
 * A link's polling read of its phone's list: a waiting link listed there is
 * linked; a linked one missing from the whole list was unlinked (in
 * WhatsApp, its webhook lost).
 */
static void
poll_link(MonoJob *job, json_t *events)
{
	bool foreign;
	json_t *found;

	add_offset_event(events, job, "list_offset");
	if (job->linked)
	{
		if (job->mono_id != NULL && !job->more && job->first_offset == 0 &&
			!listed(job->items, job->mono_id))
		{
			json_t *d = mono_json_object();

			json_object_set_new(d, "id", json_string(job->mono_id));
			json_object_set_new(d, "phone", json_string(job->phone));
			add_event(events, "owo.beneficiary.unlinked", d);
			json_decref(d);
		}
		return;
	}
	found = find_in_list(job, job->items, &foreign);
	if (found != NULL)
	{
		json_t *d = json_deep_copy(found);

		json_object_set_new(d, "phone", json_string(job->phone));
		add_event(events, "owo.beneficiary.linked", d);
		json_decref(d);
	}
}

/*
 * Mono holds our reference for a request that is not ours: its created
 * event, which mono.apply_created() refuses (our request fails, saying so).
 */
static void
foreign_event(MonoJob *job, json_t *events)
{
	size_t i;
	json_t *item;

	json_array_foreach(job->items, i, item) if (str_is(item, "reference", job->reference))
	{
		add_event(events, "owo.fundrequest.created", item);
		return;
	}
}

/*
 * A list read that went through (each page 200 with a list): what the
 * items mean for the row. Polling reads become the events Mono's webhooks
 * would have carried, applied by the same state machine.
 */
static void
list_outcome(MonoJob *job, MonoOutcomes *out)
{
	size_t i;
	json_t *item;
	bool foreign;
	json_t *events = out->group[GROUP_EVENTS];

	switch (job->kind)
	{
		case OWO_SETTLE_CHARGE:
			settle_charge(job, out->group[GROUP_CHARGES]);
			break;
		case OWO_SETTLE_LINK:
			settle_link(job, out->group[GROUP_LINKS]);
			break;
		case OWO_POLL_LINK:
			poll_link(job, events);
			break;
		case OWO_POLL_CHARGE:
			add_offset_event(events, job, "list_offset");
			item = find_in_list(job, job->items, &foreign);
			if (item != NULL)
				fund_request_events(events, item);
			else if (foreign)
				foreign_event(job, events);
			break;
		case OWO_POLL_PAYMENTS:
			add_offset_event(events, job, "payments_offset");
			json_array_foreach(job->items, i, item)
			{
				const char *st = mono_json_str(item, "status");
				const char *fr = mono_json_str(item, "fund_request");

				if (fr != NULL && job->mono_id != NULL && strcmp(fr, job->mono_id) != 0)
					reject_event(events, psprintf("owo.payment.%s", st ? st : "unknown"), item,
								 psprintf("a payment read under fund request %s names fund request %s: not applied",
										  job->mono_id, fr));
				else if (st && storable_payment(item))
					add_event(events, psprintf("owo.payment.%s", st), item);
			}
			break;
		default:
			break;
	}
}

/* A polling read of one object (a fund request by its id). */
static void
poll_outcome(MonoJob *job, json_t *events)
{
	long status = 0;
	json_t *root;
	json_t *data;

	if (job->rc != CURLE_OK)
		return;
	curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
	root = status == 200 ? mono_json_try_parse(job->http.resp.data, job->http.resp.len) : NULL;
	if (root == NULL)
		return;
	data = mono_json_data(root);
	if (job->kind == OWO_POLL_CHARGE && json_is_object(data))
	{
		char *why = not_ours(job, data);

		if (why != NULL)
			reject_event(events, "owo.fundrequest.created", data, why);
		else
			fund_request_events(events, data);
	}
	json_decref(root);
}

/*
 * What the answer says of the payments app's key: 401 and 403 refuse it
 * (every role of call: reads too), any other HTTP answer takes it.
 */
static void
note_key(MonoJob *job)
{
	long status = 0;
	json_t *root;

	if (job->rc != CURLE_OK)
		return;
	curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 401 && status != 403)
	{
		mono_key_note(MONO_APP_PAYMENTS, status, NULL);
		return;
	}
	root = mono_json_try_parse(job->http.resp.data, job->http.resp.len);
	mono_key_note(MONO_APP_PAYMENTS, status, root ? mono_json_str(root, "message") : NULL);
	if (root)
		json_decref(root);
}

/* The path of one page of an Owo list: limit 100 and the offset. */
char *
mono_page_path(const char *list_path, int offset)
{
	return psprintf("%s%climit=%d&offset=%d", list_path,
					strchr(list_path, '?') ? '&' : '?', MONO_PAGE_SIZE, offset);
}

/* Does Mono say the list goes on after this page (has_more; else a full page)? */
static bool
page_has_more(json_t *root, size_t n)
{
	json_t *has_more = json_object_get(json_object_get(root, "pagination"), "has_more");

	if (n == 0)
		return false;
	if (json_is_boolean(has_more))
		return json_is_true(has_more);
	return n >= MONO_PAGE_SIZE;
}

/* Count a page read, and whether Mono ignored its ?phone= filter, for mono_worker_status(). */
static void
count_page(bool filter_ignored)
{
	if (mono_shared == NULL)
		return;
	SpinLockAcquire(&mono_shared->mutex);
	mono_shared->list_pages_read++;
	if (filter_ignored)
		mono_shared->phone_filter_ignored++;
	SpinLockRelease(&mono_shared->mutex);
}

/*
 * Keep only the items of a page that can matter to the job (issue 22: a
 * hostile or unfiltered page must not cost its size for the whole read):
 * a charge's items naming its reference, a link's naming its phone or Mono
 * id; payments (of one fund request) all. Notes a ?phone= filter ignored.
 */
static void
keep_items(MonoJob *job, json_t *data)
{
	size_t i;
	json_t *item;
	bool ignored = false;
	bool is_charge = job->kind == OWO_SETTLE_CHARGE || job->kind == OWO_POLL_CHARGE;

	json_array_foreach(data, i, item)
	{
		const char *phone = mono_json_str(item, "phone");

		if (phone != NULL && job->phone != NULL && strcmp(phone, job->phone) != 0 &&
			strstr(job->list_path, "phone=") != NULL)
			ignored = true;
		if (job->kind == OWO_POLL_PAYMENTS ||
			(is_charge && str_is(item, "reference", job->reference)) ||
			(!is_charge && (str_is(item, "phone", job->phone) || str_is(item, "id", job->mono_id))))
			json_array_append(job->items, item);
	}
	if (ignored)
		job->filter_ignored = true;
	count_page(ignored);
}

/*
 * A page of a list read has finished: keep its items. True when the next
 * page is to be read now (the job has its path); false when the read is
 * over: at the list's end, at MONO_LIST_PAGES pages (more set), or failed
 * (list_failed set: the outcome is the failure's).
 */
bool
mono_owo_next_page(MonoJob *job, MemoryContext cxt)
{
	long status = 0;
	json_t *root = NULL;
	json_t *data;
	bool more;

	if (job->list_path == NULL)
		return false;
	if (job->rc == CURLE_OK)
		curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200)
		root = mono_json_try_parse(job->http.resp.data, job->http.resp.len);
	data = json_is_object(root) ? json_object_get(root, "data") : NULL;
	if (!json_is_array(data))
	{
		job->list_failed = true;
		json_decref(root);
		return false;
	}
	if (job->items == NULL)
		job->items = json_array();
	keep_items(job, data);
	more = page_has_more(root, json_array_size(data));
	job->pages++;
	job->offset += (int) json_array_size(data);
	json_decref(root);
	if (!more)
		return false;
	if (job->pages >= MONO_LIST_PAGES)
	{
		job->more = true;
		return false;
	}
	if (mono_http_log)
	{
		if (job->page_log == NULL)
			job->page_log = json_array();
		mono_job_log(job, job->page_log);
	}
	pfree(job->path);
	job->path = MemoryContextStrdup(cxt, mono_page_path(job->list_path, job->offset));
	return true;
}

/*
 * Append the verdict (or polled events) of a finished job to its group.
 * Runs outside any transaction: must not touch the database.
 */
void
mono_owo_outcome(MonoJob *job, MonoOutcomes *out)
{
	json_t *array = array_for(job, out);
	bool settle = owo_kinds[job->kind].role == OWO_SETTLE;
	long status = 0;
	json_t *root;

	note_key(job);
	if (job->list_path != NULL && !job->list_failed)
	{
		list_outcome(job, out);
		return;
	}
	if (owo_kinds[job->kind].role == OWO_POLL)
	{
		/* a list read that failed is left for the next poll */
		if (job->list_path == NULL)
			poll_outcome(job, out->group[GROUP_EVENTS]);
		return;
	}

	if (job->rc != CURLE_OK)
	{
		const char *phase = mono_http_phase(job->http.easy, job->rc, job->http.resp.overflow);
		char *error = psprintf("request failed while %s: %s", phase,
							   job->http.errbuf[0] ? job->http.errbuf :
													 curl_easy_strerror(job->rc));

		if (settle)
			settle_later(job, array, error);
		else if (mono_http_reached_server(job->http.easy, job->rc))
			mark_ambiguous(job, array, error);
		else
			retry(job, array, error, 0);
		return;
	}
	curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
	root = mono_json_try_parse(job->http.resp.data, job->http.resp.len);
	if (root == NULL && (status < 400 || status == 409))
	{
		char *error = psprintf("HTTP %ld with a body that is not JSON", status);

		if (settle)
			settle_later(job, array, error);
		else
			mark_ambiguous(job, array, error);
		return;
	}
	if (root == NULL)
		root = mono_json_object();
	if (settle && status != 200 && !(status == 404 && job->kind == OWO_SETTLE_UNLINK))
		settle_later(job, array, psprintf("HTTP %ld while settling", status));
	else if (settle && job->kind == OWO_SETTLE_UNLINK)
		settle_unlink(job, array, status, root);
	else if (settle)
		settle_later(job, array, "HTTP 200 without a list while settling");
	else
		send_outcome(job, array, status, root);
	json_decref(root);
}

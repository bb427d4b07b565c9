/*
 * connect_parse.c
 *		Mono Connect's answers as normalised JSON (jansson), for
 *		mono.record_account_outcomes() and mono.account_flows:
 *
 *		account details		{name, account_number, type, currency, balance,
 *							 institution{name, bank_code, type}, customer_id,
 *							 ref, auth_method, data_status, retrieved_data}
 *		refresh headers		{called, job_id, job_status, has_new_data}
 *		transactions		[{id, narration, amount, type, balance, date,
 *							 category}], bad items skipped and counted
 *		credits/debits		[{period "YYYY-MM-01", amount, count}], and the
 *							 totals {amount, count}
 *
 * Values are checked here so that the SQL casts that follow cannot fail:
 * integers are integers, dates are valid ISO 8601 with a time zone.
 * Case normalisation (data_status upper, retrieved_data lower) is SQL's.
 */
#include "connect.h"

#include <math.h>

static const char *const step_names[] = {NULL, "details", "refresh", "transactions"};

/* The name of a step code (mono.accounts.next_step). */
const char *
mono_connect_step_name(int step)
{
	if (step < CONNECT_DETAILS || step > CONNECT_TRANSACTIONS)
		return "details";
	return step_names[step];
}

/* The code of a step name; unknown names are details. */
int
mono_connect_step_code(const char *name)
{
	int i;

	for (i = CONNECT_DETAILS; i <= CONNECT_TRANSACTIONS; i++)
		if (name && strcmp(name, step_names[i]) == 0)
			return i;
	return CONNECT_DETAILS;
}

/* The first of several members that is a non-empty string, or NULL. */
static const char *
first_str(json_t *obj, const char *a, const char *b)
{
	const char *v = mono_json_str(obj, a);

	if ((v == NULL || v[0] == '\0') && b != NULL)
		v = mono_json_str(obj, b);
	return (v && v[0]) ? v : NULL;
}

/* Set facts[key] to a string unless it is NULL. */
static void
put_str(json_t *facts, const char *key, const char *value)
{
	if (value != NULL)
		json_object_set_new(facts, key, json_string(value));
}

/* The institution, normalised to {name, bank_code, type}. */
static json_t *
institution(json_t *inst)
{
	json_t *out = mono_json_object();

	put_str(out, "name", first_str(inst, "name", NULL));
	put_str(out, "bank_code", first_str(inst, "bank_code", "bankCode"));
	put_str(out, "type", first_str(inst, "type", NULL));
	return out;
}

/* retrieved_data: its string items only. */
static json_t *
string_array(json_t *list)
{
	json_t *out = json_array();
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item)
	{
		if (json_is_string(item))
			json_array_append(out, item);
	}
	return out;
}

/*
 * The facts of GET /v2/accounts/{id} (data.account, data.customer,
 * data.meta), or NULL when the body has no account object.
 */
json_t *
mono_connect_details(json_t *root)
{
	json_t *data = mono_json_data(root);
	json_t *account = json_object_get(data, "account");
	json_t *meta = json_object_get(data, "meta");
	json_t *customer = json_object_get(data, "customer");
	json_t *facts;
	json_int_t balance;

	if (!json_is_object(account))
		return NULL;
	facts = mono_json_object();
	put_str(facts, "name", first_str(account, "name", NULL));
	put_str(facts, "account_number", first_str(account, "account_number", "accountNumber"));
	put_str(facts, "type", first_str(account, "type", NULL));
	put_str(facts, "currency", first_str(account, "currency", NULL));
	if (mono_json_int(json_object_get(account, "balance"), &balance))
		json_object_set_new(facts, "balance", json_integer(balance));
	if (json_is_object(json_object_get(account, "institution")))
		json_object_set_new(facts, "institution",
							institution(json_object_get(account, "institution")));
	if (json_is_string(customer))
		put_str(facts, "customer_id", json_string_value(customer));
	else
		put_str(facts, "customer_id", first_str(customer, "id", "_id"));
	put_str(facts, "ref", first_str(meta, "ref", NULL));
	put_str(facts, "auth_method", first_str(meta, "auth_method", NULL) ? first_str(meta, "auth_method", NULL) : first_str(account, "auth_method", "authMethod"));
	put_str(facts, "data_status", first_str(meta, "data_status", NULL) ? first_str(meta, "data_status", NULL) : first_str(account, "data_status", NULL));
	if (json_is_array(json_object_get(meta, "retrieved_data")))
		json_object_set_new(facts, "retrieved_data",
							string_array(json_object_get(meta, "retrieved_data")));
	return facts;
}

/*
 * The facts of a real-time refresh, from its headers: x-job-id,
 * x-job-status, and x-has-new-data (present and true only when Mono found
 * new data; absent means none).
 */
json_t *
mono_connect_refresh(CURL *easy)
{
	json_t *facts = mono_json_object();
	char *job_id = mono_http_header(easy, "x-job-id");
	char *job_status = mono_http_header(easy, "x-job-status");
	char *new_data = mono_http_header(easy, "x-has-new-data");

	json_object_set_new(facts, "called", json_true());
	put_str(facts, "job_id", job_id);
	put_str(facts, "job_status", job_status);
	json_object_set_new(facts, "has_new_data",
						json_boolean(new_data != NULL &&
									 pg_strcasecmp(new_data, "true") == 0));
	return facts;
}

/* One transaction normalised, or NULL when it cannot be stored. */
static json_t *
transaction(json_t *item)
{
	json_t *t;
	json_int_t amount,
		balance,
		id_num;
	const char *type = mono_json_str(item, "type");
	const char *id = first_str(item, "id", "_id");
	char *date = mono_iso_timestamp(first_str(item, "date", "created_at"));

	if (id == NULL && mono_json_int(json_object_get(item, "id"), &id_num))
		id = psprintf(INT64_FORMAT, (int64) id_num);
	if (id == NULL || date == NULL || type == NULL ||
		(pg_strcasecmp(type, "debit") != 0 && pg_strcasecmp(type, "credit") != 0) ||
		!mono_json_int(json_object_get(item, "amount"), &amount) || amount < 0)
		return NULL;
	t = mono_json_object();
	put_str(t, "id", id);
	put_str(t, "narration", mono_json_str(item, "narration"));
	json_object_set_new(t, "amount", json_integer(amount));
	json_object_set_new(t, "type", json_string(pg_strcasecmp(type, "debit") == 0 ? "debit" : "credit"));
	if (mono_json_int(json_object_get(item, "balance"), &balance))
		json_object_set_new(t, "balance", json_integer(balance));
	put_str(t, "date", date);
	put_str(t, "category", mono_json_str(item, "category"));
	return t;
}

/*
 * The transactions of GET .../transactions (data: list or null; also a bare
 * list), or NULL when the body is neither. *more: meta.next names a further
 * page; *skipped: items that could not be stored.
 */
json_t *
mono_connect_transactions(json_t *root, bool *more, int *skipped)
{
	json_t *list = root;
	json_t *out;
	json_t *next;
	size_t i;
	json_t *item;

	*more = false;
	*skipped = 0;
	if (json_is_object(root))
	{
		list = json_object_get(root, "data");
		if (list == NULL)
			return NULL;
	}
	if (!json_is_array(list) && !json_is_null(list))
		return NULL;
	out = json_array();
	json_array_foreach(list, i, item)
	{
		json_t *t = transaction(item);

		if (t == NULL)
			(*skipped)++;
		else
			json_array_append_new(out, t);
	}
	next = json_object_get(json_object_get(root, "meta"), "next");
	*more = json_array_size(list) > 0 && json_is_string(next) &&
		json_string_length(next) > 0;
	return out;
}

/*
 * A month as "YYYY-MM-01" (palloc'd) from "YYYY-MM", "MM-YY" (legacy),
 * "MM-YYYY" or a "YYYY-MM-DD..." date; NULL when it is none of them.
 */
static char *
month_of(const char *s)
{
	int y = 0,
		m = 0,
		d = 1;
	size_t len = s ? strlen(s) : 0;
	bool ok;

	if (len == 5) /* MM-YY */
	{
		ok = mono_read_digits(s, 2, &m) && s[2] == '-' && mono_read_digits(s + 3, 2, &y);
		y += 2000;
	}
	else if (len == 7 && s[2] == '-') /* MM-YYYY */
		ok = mono_read_digits(s, 2, &m) && mono_read_digits(s + 3, 4, &y);
	else if (len == 7) /* YYYY-MM */
		ok = mono_read_digits(s, 4, &y) && s[4] == '-' && mono_read_digits(s + 5, 2, &m);
	else /* YYYY-MM-DD, maybe with a time */
		ok = len >= 10 && mono_read_digits(s, 4, &y) && s[4] == '-' &&
			mono_read_digits(s + 5, 2, &m) && s[7] == '-' && mono_read_digits(s + 8, 2, &d) &&
			(len == 10 || s[10] == 'T' || s[10] == ' ');
	if (!ok || !mono_valid_date(y, m, d))
		return NULL;
	return psprintf("%04d-%02d-01", y, m);
}

/* Where the monthly list is: data.history, data as a list, or the body itself. */
static json_t *
flows_list(json_t *root, const char **problem)
{
	json_t *data = root;
	json_t *history;

	if (json_is_object(root) && json_object_get(root, "data") != NULL)
		data = json_object_get(root, "data");
	if (json_is_null(data) || json_is_array(data))
		return data;
	if (!json_is_object(data))
	{
		*problem = "the body is not a JSON object";
		return NULL;
	}
	history = json_object_get(data, "history");
	if (history == NULL || (!json_is_array(history) && !json_is_null(history)))
	{
		*problem = "it has no \"history\" list of months";
		return NULL;
	}
	return history;
}

/*
 * The number of transactions of a month or of the whole answer: "count"
 * (doc/mono-api.md §3.6), or "transactions_count", the only public model of
 * the v2 body (§4), or "transaction_count"; NULL when none is there.
 */
static json_t *
flow_count(json_t *obj)
{
	static const char *const names[] = {"count", "transactions_count", "transaction_count"};
	int i;

	for (i = 0; i < (int) lengthof(names); i++)
	{
		json_t *v = json_object_get(obj, names[i]);

		if (v != NULL && !json_is_null(v))
			return v;
	}
	return NULL;
}

/* One month of credits or debits, or NULL (with *problem) when unusable. */
static json_t *
flow_month(json_t *item, const char **problem)
{
	json_t *row;
	json_int_t amount,
		count;
	char *period = month_of(mono_json_str(item, "period"));
	json_t *count_v = flow_count(item);

	if (period == NULL)
	{
		*problem = "a month's \"period\" is not YYYY-MM or MM-YY";
		return NULL;
	}
	if (!mono_json_int(json_object_get(item, "amount"), &amount) || amount < 0)
	{
		*problem = "a month's \"amount\" is not a whole number of kobo";
		return NULL;
	}
	if (count_v != NULL && !json_is_null(count_v) &&
		(!mono_json_int(count_v, &count) || count < 0 || count > PG_INT32_MAX))
	{
		*problem = "a month's \"count\" is not a whole number";
		return NULL;
	}
	row = mono_json_object();
	json_object_set_new(row, "period", json_string(period));
	json_object_set_new(row, "amount", json_integer(amount));
	if (count_v != NULL && !json_is_null(count_v))
		json_object_set_new(row, "count", json_integer(count));
	return row;
}

/*
 * The months of GET .../credits or .../debits (doc/mono-api.md §3.6: with or
 * without the envelope; data null is no month), or NULL with *problem
 * saying what is wrong.
 */
json_t *
mono_connect_flows(json_t *root, const char **problem)
{
	json_t *list = flows_list(root, problem);
	json_t *out;
	size_t i,
		j;
	json_t *item;

	if (list == NULL)
		return NULL;
	out = json_array();
	json_array_foreach(list, i, item)
	{
		json_t *row = flow_month(item, problem);

		if (row == NULL)
		{
			json_decref(out);
			return NULL;
		}
		for (j = 0; j < json_array_size(out); j++)
			if (strcmp(mono_json_str(json_array_get(out, j), "period"),
					   mono_json_str(row, "period")) == 0)
			{
				*problem = "a month appears twice";
				json_decref(row);
				json_decref(out);
				return NULL;
			}
		json_array_append_new(out, row);
	}
	return out;
}

/*
 * The totals of a credits/debits answer, {amount, count} with whichever of
 * them data carries as a whole number ("total", and "count" or
 * "transactions_count"); an empty object when the body has none.
 */
json_t *
mono_connect_flow_totals(json_t *root)
{
	json_t *data = root;
	json_t *out = mono_json_object();
	json_int_t amount,
		count;

	if (json_is_object(root) && json_is_object(json_object_get(root, "data")))
		data = json_object_get(root, "data");
	if (!json_is_object(data))
		return out;
	if (mono_json_int(json_object_get(data, "total"), &amount) && amount >= 0)
		json_object_set_new(out, "amount", json_integer(amount));
	if (mono_json_int(flow_count(data), &count) && count >= 0 && count <= PG_INT32_MAX)
		json_object_set_new(out, "count", json_integer(count));
	return out;
}

/*
 * common_json.c
 *		jansson helpers: parsing Mono's bodies, reaching into the envelope,
 *		turning Mono's error envelope into a PostgreSQL error, and the one
 *		policy for serialising: out of memory is an error, never a default.
 */
#include "common.h"

#include "mb/pg_wchar.h"

/* A new empty JSON object (jansson's json_object() is shadowed: see common.h). */
json_t *
mono_json_object(void)
{
	json_t *obj = json_pack("{}");

	if (obj == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory creating a JSON object")));
	return obj;
}

/* Parse a JSON body, or NULL when it is not JSON. */
json_t *
mono_json_try_parse(const char *text, size_t len)
{
	json_error_t err;

	if (text == NULL || len == 0)
		return NULL;
	return json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
}

/* The start of a body, printable and short, for error details. */
char *
mono_body_excerpt(const char *text, size_t len)
{
	StringInfoData s;
	size_t i;

	initStringInfo(&s);
	for (i = 0; text != NULL && i < len && i < 300; i++)
	{
		const unsigned char *p = (const unsigned char *) text + i;
		int n = *p < 0x80 ? 1 : pg_utf_mblen(p);

		/* whole valid UTF-8 characters as they are; other bytes as \xNN */
		if (*p >= 0x80 && i + n <= len && pg_utf8_islegal(p, n))
		{
			appendBinaryStringInfo(&s, text + i, n);
			i += n - 1;
		}
		else if (*p < 0x20 || *p >= 0x7f)
			appendStringInfo(&s, "\\x%02x", *p);
		else
			appendStringInfoChar(&s, (char) *p);
	}
	if (len > 300)
		appendStringInfoString(&s, "...");
	return s.data;
}

/* Parse a JSON body or raise an error showing what came back. */
json_t *
mono_json_parse(const char *text, size_t len, const char *what)
{
	json_t *root = mono_json_try_parse(text, len);

	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("Mono returned invalid JSON for %s", what),
				 errdetail("The body began: \"%s\".",
						   mono_body_excerpt(text, len)),
				 errhint("Check mono_pay.api_url: it must point at Mono's API.")));
	return root;
}

/* The "data" member of Mono's envelope, or the body itself without one. */
json_t *
mono_json_data(json_t *root)
{
	json_t *data;

	if (!json_is_object(root))
		return root;
	data = json_object_get(root, "data");
	if (data != NULL)
		return data;
	return root;
}

/* A string member, or NULL when missing or not a string. */
const char *
mono_json_str(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * Mono's error message, with its trace_id and field errors ("field:
 * message; ...") returned through the out parameters (NULL when absent).
 */
char *
mono_error_summary(json_t *root, char **trace_id, char **field_errors)
{
	const char *message = mono_json_str(root, "message");
	const char *trace = mono_json_str(root, "trace_id");
	json_t *errors = json_is_object(root) ? json_object_get(root, "errors") : NULL;

	*trace_id = trace ? pstrdup(trace) : NULL;
	*field_errors = NULL;
	if (json_is_array(errors) && json_array_size(errors) > 0)
	{
		StringInfoData s;
		size_t i;
		json_t *e;

		initStringInfo(&s);
		json_array_foreach(errors, i, e)
		{
			const char *f = mono_json_str(e, "field");
			const char *m = mono_json_str(e, "message");

			appendStringInfo(&s, "%s%s: %s", i ? "; " : "",
							 f ? f : "?", m ? m : "invalid");
		}
		*field_errors = s.data;
	}
	return pstrdup(message ? message : "no message");
}

/* The SQLSTATE for an HTTP error status from Mono. */
static int
http_errcode(long status)
{
	if (status == 401 || status == 403)
		return ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
	if (status == 400 || status == 422)
		return ERRCODE_INVALID_PARAMETER_VALUE;
	if (status == 404)
		return ERRCODE_NO_DATA_FOUND;
	if (status == 429)
		return ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
	return ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
}

/* Raise an error whose message is Mono's and whose detail has status, trace_id, fields. */
void
mono_raise_http_error(long status, const char *body, size_t len)
{
	json_t *root = mono_json_try_parse(body, len);
	char *trace_id = NULL;
	char *fields = NULL;
	char *message;

	if (root == NULL)
		ereport(ERROR,
				(errcode(http_errcode(status)),
				 errmsg("Mono API returned HTTP %ld", status),
				 errdetail("The body was not JSON: \"%s\".",
						   mono_body_excerpt(body, len))));
	message = mono_error_summary(root, &trace_id, &fields);
	json_decref(root);
	ereport(ERROR,
			(errcode(http_errcode(status)),
			 (status == 401 || status == 403) ?
				 errmsg("Mono API authentication failed: %s", message) :
				 errmsg("Mono API error: %s", message),
			 errdetail("HTTP status %ld, trace_id %s%s%s.", status,
					   trace_id ? trace_id : "(none)",
					   fields ? ", field errors: " : "", fields ? fields : ""),
			 (status == 401 || status == 403) ?
				 errhint("Check mono_pay.secret_key (test and live keys differ).") :
				 status == 429 ? errhint("Mono is rate limiting: retry later.") :
								 0));
}

/* The value as compact JSON text (palloc'd); out of memory is an error. */
char *
mono_json_text(json_t *value)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	char *copy;

	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory serialising JSON")));
	copy = pstrdup(text);
	free(text);
	return copy;
}

/* The value as a jsonb datum. */
Datum
mono_json_jsonb(json_t *value)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(mono_json_text(value)));
}

/*
 * owo_body.c
 *		Mono Direct Charge ("owo") specifics: request bodies built with
 *		jansson, and the synchronous mono_user_status() call.
 */
#include "owo.h"

#include "fmgr.h"
#include "executor/spi.h"
#include "funcapi.h"

#include "mb/pg_wchar.h"

PG_FUNCTION_INFO_V1(mono_user_status);

/* Map Mono's user status spellings to ours ("pending_activiation" is Mono's typo). */
const char *
mono_user_status_name(const char *status)
{
	if (status == NULL)
		return NULL;
	if (strcmp(status, "pending_activiation") == 0)
		return "pending_activation";
	return status;
}

/*
 * A text column of a claimed row as a JSON string (in UTF-8, whatever the
 * database encoding), or JSON null.
 */
static json_t *
text_field(HeapTuple tuple, TupleDesc desc, const char *column)
{
	char *value = SPI_getvalue(tuple, desc, SPI_fnumber(desc, column));

	if (value == NULL)
		return json_null();
	return json_string(pg_server_to_any(value, strlen(value), PG_UTF8));
}

/* Set a member; false when the value could not be made (NULL). */
static bool
put(json_t *obj, const char *key, json_t *value)
{
	return value != NULL && json_object_set_new(obj, key, value) == 0;
}

/* An integer column of a claimed row as a JSON integer. */
static json_t *
int_field(HeapTuple tuple, TupleDesc desc, const char *column)
{
	bool isnull;
	Datum d = SPI_getbinval(tuple, desc, SPI_fnumber(desc, column), &isnull);

	if (isnull)
		return json_null();
	if (SPI_gettypeid(desc, SPI_fnumber(desc, column)) == INT4OID)
		return json_integer(DatumGetInt32(d));
	return json_integer(DatumGetInt64(d));
}

/* Serialise and free a body object (palloc'd), or NULL when ok is false. */
static char *
finish_body(json_t *body, bool ok)
{
	char *text = ok ? mono_json_text(body) : NULL;

	json_decref(body);
	return text;
}

/*
 * The body of POST /owo/v1/fund-requests from a claimed row (columns
 * reference, phone, type, description, amount, currency, period, interval,
 * start_iso, end_iso); without phone when it travels inside a link. NULL
 * when the row cannot make a body Mono takes (a value too long for Mono,
 * or one jansson cannot encode): the caller fails that row alone.
 */
char *
mono_charge_body(HeapTuple tuple, TupleDesc desc, bool with_phone)
{
	json_t *body = mono_json_object();
	char *type = SPI_getvalue(tuple, desc, SPI_fnumber(desc, "type"));
	char *description = SPI_getvalue(tuple, desc, SPI_fnumber(desc, "description"));
	bool ok;

	ok = description != NULL && pg_mbstrlen(description) <= 255;
	if (ok && with_phone)
		ok = put(body, "phone", text_field(tuple, desc, "phone"));
	ok = ok && put(body, "reference", text_field(tuple, desc, "reference")) &&
		put(body, "type", text_field(tuple, desc, "type")) &&
		put(body, "description", text_field(tuple, desc, "description")) &&
		put(body, "amount", int_field(tuple, desc, "amount")) &&
		put(body, "currency", text_field(tuple, desc, "currency"));
	if (ok && type && strcmp(type, "recurring") == 0)
	{
		json_t *schedule = mono_json_object();

		ok = put(schedule, "period", text_field(tuple, desc, "period")) &&
			put(schedule, "interval", int_field(tuple, desc, "interval")) &&
			put(schedule, "start_date", text_field(tuple, desc, "start_iso"));
		if (ok && SPI_getvalue(tuple, desc, SPI_fnumber(desc, "end_iso")) != NULL)
			ok = put(schedule, "end_date", text_field(tuple, desc, "end_iso"));
		ok = put(body, "schedule", schedule) && ok;
	}
	return finish_body(body, ok);
}

/*
 * The body of POST /owo/v1/beneficiaries/link from a claimed row (phone,
 * bvn, and fund_beneficiary from account_name, nip_code, account_number:
 * the destination of the money, not the customer's bank), with an
 * optional first fund request body; NULL when the row cannot make one.
 */
char *
mono_link_body(HeapTuple tuple, TupleDesc desc, char *charge_body)
{
	json_t *body = mono_json_object();
	json_t *account = mono_json_object();
	char *name = SPI_getvalue(tuple, desc, SPI_fnumber(desc, "account_name"));
	bool ok;

	ok = name != NULL && pg_mbstrlen(name) <= 100 &&
		put(body, "phone", text_field(tuple, desc, "phone"));
	if (ok && SPI_getvalue(tuple, desc, SPI_fnumber(desc, "bvn")) != NULL)
		ok = put(body, "bvn", text_field(tuple, desc, "bvn"));
	ok = ok && put(account, "name", text_field(tuple, desc, "account_name")) &&
		put(account, "nip_code", text_field(tuple, desc, "nip_code")) &&
		put(account, "account_number", text_field(tuple, desc, "account_number"));
	ok = put(body, "fund_beneficiary", account) && ok;
	if (ok && charge_body != NULL)
		ok = put(body, "fund_request", json_loads(charge_body, 0, NULL));
	return finish_body(body, ok);
}

/* Refuse to call Mono before the secret key is configured. */
void
mono_require_secret_key(void)
{
	if (mono_secret_key == NULL || mono_secret_key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mono_pay.secret_key is not set"),
				 errhint("A superuser sets it in postgresql.conf (or with ALTER SYSTEM) and reloads.")));
}

/*
 * mono_user_status(phone_number) -> (phone, exists, status)
 * not_found (200 or 404 from Mono) is a result, not an error.
 */
Datum
mono_user_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char *phone;
	MonoAnswer answer;
	bool exists = false;
	char *status = "not_found";
	Datum values[3];
	bool nulls[3] = {false, false, false};

	mono_require_sql_version("mono_user_status()");
	phone = mono_normalize_phone(PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0)));
	mono_require_secret_key();
	InitMaterializedSRF(fcinfo, 0);
	mono_http_get(psprintf("/owo/v1/users/status?phone=%s", mono_url_escape(phone)), false,
				  NULL, &answer);
	if (answer.status != 200 && answer.status != 404)
		mono_raise_http_error(answer.status, answer.body, answer.len);
	if (answer.status == 200)
	{
		json_t *root = mono_json_parse(answer.body, answer.len, "the user status");
		json_t *data = mono_json_data(root);
		const char *s = mono_json_str(data, "status");

		exists = json_is_true(json_object_get(data, "exists"));
		if (s == NULL || s[0] == '\0')
		{
			json_decref(root);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("Mono's user status answer has no status"),
					 errdetail("The body was: \"%s\".", mono_body_excerpt(answer.body, answer.len))));
		}
		status = pstrdup(mono_user_status_name(s));
		json_decref(root);
	}
	values[0] = CStringGetTextDatum(phone);
	values[1] = BoolGetDatum(exists);
	values[2] = CStringGetTextDatum(status);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

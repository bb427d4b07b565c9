/*
 * owo.c
 *		Mono Direct Charge ("owo") specifics: request bodies built with
 *		jansson, and the synchronous mono_user_status() call.
 */
#include "mono_pay.h"

#include "fmgr.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "worker.h"


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

/* A text column of a claimed row as a JSON string, or JSON null. */
static json_t *
text_field(HeapTuple tuple, TupleDesc desc, const char *column)
{
	char	   *value = SPI_getvalue(tuple, desc, SPI_fnumber(desc, column));

	return value ? json_string(value) : json_null();
}

/* An integer column of a claimed row as a JSON integer. */
static json_t *
int_field(HeapTuple tuple, TupleDesc desc, const char *column)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, SPI_fnumber(desc, column), &isnull);

	if (isnull)
		return json_null();
	if (SPI_gettypeid(desc, SPI_fnumber(desc, column)) == INT4OID)
		return json_integer(DatumGetInt32(d));
	return json_integer(DatumGetInt64(d));
}

/* Serialise and free a body object; the result is palloc'd. */
static char *
finish_body(json_t *body)
{
	char	   *text = json_dumps(body, JSON_COMPACT);
	char	   *copy;

	json_decref(body);
	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building a request body")));
	copy = pstrdup(text);
	free(text);
	return copy;
}

/*
 * The body of POST /owo/v1/fund-requests from a claimed row (columns
 * reference, phone, type, description, amount, currency, period, interval,
 * start_iso, end_iso); without phone when it travels inside a link.
 */
char *
mono_charge_body(HeapTuple tuple, TupleDesc desc, bool with_phone)
{
	json_t	   *body = mono_json_object();
	char	   *type = SPI_getvalue(tuple, desc, SPI_fnumber(desc, "type"));

	if (with_phone)
		json_object_set_new(body, "phone", text_field(tuple, desc, "phone"));
	json_object_set_new(body, "reference", text_field(tuple, desc, "reference"));
	json_object_set_new(body, "type", text_field(tuple, desc, "type"));
	json_object_set_new(body, "description", text_field(tuple, desc, "description"));
	json_object_set_new(body, "amount", int_field(tuple, desc, "amount"));
	json_object_set_new(body, "currency", text_field(tuple, desc, "currency"));
	if (type && strcmp(type, "recurring") == 0)
	{
		json_t	   *schedule = mono_json_object();

		json_object_set_new(schedule, "period", text_field(tuple, desc, "period"));
		json_object_set_new(schedule, "interval", int_field(tuple, desc, "interval"));
		json_object_set_new(schedule, "start_date", text_field(tuple, desc, "start_iso"));
		if (SPI_getvalue(tuple, desc, SPI_fnumber(desc, "end_iso")) != NULL)
			json_object_set_new(schedule, "end_date", text_field(tuple, desc, "end_iso"));
		json_object_set_new(body, "schedule", schedule);
	}
	return finish_body(body);
}

/*
 * The body of POST /owo/v1/beneficiaries/link from a claimed row (phone,
 * bvn, account_name, nip_code, account_number), with an optional first
 * fund request body.
 */
char *
mono_link_body(HeapTuple tuple, TupleDesc desc, char *charge_body)
{
	json_t	   *body = mono_json_object();
	json_t	   *account = mono_json_object();

	json_object_set_new(body, "phone", text_field(tuple, desc, "phone"));
	if (SPI_getvalue(tuple, desc, SPI_fnumber(desc, "bvn")) != NULL)
		json_object_set_new(body, "bvn", text_field(tuple, desc, "bvn"));
	json_object_set_new(account, "name", text_field(tuple, desc, "account_name"));
	json_object_set_new(account, "nip_code", text_field(tuple, desc, "nip_code"));
	json_object_set_new(account, "account_number", text_field(tuple, desc, "account_number"));
	json_object_set_new(body, "fund_beneficiary", account);
	if (charge_body != NULL)
	{
		json_error_t err;
		json_t	   *charge = json_loads(charge_body, 0, &err);

		if (charge == NULL)
			elog(ERROR, "could not embed the first fund request: %s", err.text);
		json_object_set_new(body, "fund_request", charge);
	}
	return finish_body(body);
}

/* Call GET /owo/v1/users/status; returns the HTTP status and a palloc'd body. */
static long
fetch_user_status(const char *phone, char **body, size_t *len)
{
	MonoHttp	http;
	volatile long status = 0;
	char	   *path = psprintf("/owo/v1/users/status?phone=%s",
								mono_url_escape(phone));

	mono_http_init(&http);
	PG_TRY();
	{
		mono_http_prepare(&http, "GET", path, NULL, false);
		status = mono_http_perform(&http);
		*len = http.resp.len;
		*body = palloc(http.resp.len + 1);
		memcpy(*body, http.resp.data ? http.resp.data : "", http.resp.len);
		(*body)[http.resp.len] = '\0';
	}
	PG_FINALLY();
	{
		mono_http_free(&http);
	}
	PG_END_TRY();
	return status;
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
	char	   *phone = mono_normalize_phone(PG_ARGISNULL(0) ? NULL :
											 text_to_cstring(PG_GETARG_TEXT_PP(0)));
	char	   *body;
	size_t		len;
	long		http_status;
	bool		exists = false;
	char	   *status = "not_found";
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	mono_require_secret_key();
	InitMaterializedSRF(fcinfo, 0);
	http_status = fetch_user_status(phone, &body, &len);
	if (http_status != 200 && http_status != 404)
		mono_raise_http_error(http_status, body, len);
	if (http_status == 200)
	{
		json_t	   *root = mono_json_parse(body, len, "the user status");
		json_t	   *data = mono_json_data(root);
		const char *s = mono_json_str(data, "status");

		exists = json_is_true(json_object_get(data, "exists"));
		if (s == NULL || s[0] == '\0')
		{
			json_decref(root);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("Mono's user status answer has no status"),
					 errdetail("The body was: \"%s\".", mono_body_excerpt(body, len))));
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
